"""Every button action the bot offers, one typed class each (kernel/callback_data.py
says how they are packed and parsed). A handler builds a button only from one of these
(`Button(label, ReportGroup(12))`) and registers for its class (`@router.action(...)`);
the wire strings are the ones the bot always used (`report:grp:12`), so options offered
before and notices waiting in the outbox still work.

`CATALOG` is every class here: tests check that each has a handler and round-trips."""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from kernel.callback_data import (
    MAX_BYTES,
    MAX_ID,
    Action,
    Choice,
    Field,
    Flag,
    Id,
    Invalid,
    Member,
    Number,
    OrNone,
    Text,
    check_prefixes,
    kind_of,
    parse,
    registered,
)
from kernel.categories import CATEGORIES, WHEN, Outcome, PledgeKind
from kernel.drug_free import DrugFreeStatus
from kernel.i18n import SUPPORTED
from kernel.tip_sources import RECORDED_BY_OFFICERS, TipSource

__all__ = ["CATALOG", "MAX_BYTES", "Action", "GroupAnswer", "kind_of", "parse"]

RecordId = Annotated[int, Id()]
# A page of a list: a page that is not there shows the first, so any number will do.
Page = Annotated[int, Number(0, MAX_ID)]
# A tip code as the bot writes it (storage/receipts.py); a forged one is not found.
Code = Annotated[str, Text(string.ascii_uppercase + string.digits, most=12)]
Year = Annotated[int, Number(2000, 2100)]


class QueueCursor(Field[tuple[int, datetime, int] | None]):
    """Where the triage queue's next page starts: a priority digit, an aware timestamp
    of 2000-2100 (its ISO form holds colons, so it is the last field) and a tip id; the
    empty text is the first page."""

    _FORM = re.compile(r"([1-9])\|([0-9T:.+-]{19,40})\|([0-9]{1,10})", re.ASCII)

    def _pack(self, value: tuple[int, datetime, int] | None) -> str:
        if value is None:
            return ""
        priority, moment, tip_id = value
        return f"{priority}|{moment.isoformat()}|{tip_id}"

    def check(self, value: Any) -> None:
        if value is None:
            return
        try:
            priority, moment, tip_id = value
        except (TypeError, ValueError):
            raise Invalid("not a cursor") from None
        if type(priority) is not int or not 1 <= priority <= 9:
            raise Invalid("not a priority")
        if not isinstance(moment, datetime) or moment.utcoffset() is None:
            raise Invalid("not an aware time")
        if not 2000 <= moment.astimezone(UTC).year <= 2100:
            raise Invalid("not a time of 2000-2100")
        Id().check(tip_id)

    def parse(self, text: str) -> tuple[int, datetime, int] | None:
        if not text:
            return None
        match = self._FORM.fullmatch(text)
        if match is None:
            raise Invalid("not a cursor")
        try:
            moment = datetime.fromisoformat(match[2])
        except (ValueError, OverflowError):
            raise Invalid("not a time") from None
        value = (int(match[1]), moment, Id().parse(match[3]))
        self.check(value)
        return value[0], moment.astimezone(UTC), value[2]


# ---- the menu, the ward, the language ---------------------------------------------------


@dataclass(frozen=True)
class MenuHome(Action, prefix="menu:home"):
    pass


@dataclass(frozen=True)
class MenuLanguage(Action, prefix="menu:language"):
    pass


@dataclass(frozen=True)
class LanguagePick(Action, prefix="lang"):
    code: Annotated[str, Choice(SUPPORTED)]


@dataclass(frozen=True)
class WardPick(Action, prefix="ward"):
    ward_id: RecordId


@dataclass(frozen=True)
class CleanupDelete(Action, prefix="cleanup:delete"):
    pass


# ---- the report wizard ------------------------------------------------------------------


@dataclass(frozen=True)
class ReportStart(Action, prefix="report:start"):
    pass


@dataclass(frozen=True)
class ReportDanger(Action, prefix="report:danger"):
    pass


@dataclass(frozen=True)
class ReportBack(Action, prefix="report:back"):
    pass


@dataclass(frozen=True)
class ReportCancel(Action, prefix="report:cancel"):
    pass


@dataclass(frozen=True)
class ReportContinue(Action, prefix="report:continue"):
    pass


@dataclass(frozen=True)
class ReportDiscard(Action, prefix="report:discard"):
    pass


DANGER_NOW = "danger-now"  # the first choice of the category list: danger, happening now
CATEGORY_CHOICES = (*CATEGORIES, DANGER_NOW)


@dataclass(frozen=True)
class ReportCategory(Action, prefix="report:cat"):
    category: Annotated[str, Choice(CATEGORY_CHOICES)]


@dataclass(frozen=True)
class ReportGroupOther(Action, prefix="report:grp-other"):
    pass


@dataclass(frozen=True)
class ReportGroupList(Action, prefix="report:list"):
    page: Page


@dataclass(frozen=True)
class ReportGroup(Action, prefix="report:grp"):
    group_id: Annotated[int | None, OrNone(Id())]  # None: "I don't know"


@dataclass(frozen=True)
class ReportWhereSkip(Action, prefix="report:where-skip"):
    pass


@dataclass(frozen=True)
class ReportWhen(Action, prefix="report:when"):
    when: Annotated[str, Choice(WHEN)]


@dataclass(frozen=True)
class ReportWhatDone(Action, prefix="report:what-done"):
    pass


@dataclass(frozen=True)
class ReportFilesDone(Action, prefix="report:files-done"):
    pass


@dataclass(frozen=True)
class ReportContact(Action, prefix="report:contact"):
    allowed: Annotated[bool, Flag()]


@dataclass(frozen=True)
class ReportSend(Action, prefix="report:send"):
    pass


# ---- checking a tip ---------------------------------------------------------------------


@dataclass(frozen=True)
class StatusStart(Action, prefix="status:start"):
    pass


@dataclass(frozen=True)
class StatusAdd(Action, prefix="status:add"):
    pass


@dataclass(frozen=True)
class StatusAnswer(Action, prefix="status:answer"):
    pass


@dataclass(frozen=True)
class StatusQuestion(Action, prefix="status:q"):
    question_id: RecordId


@dataclass(frozen=True)
class StatusView(Action, prefix="status:view"):
    pass


@dataclass(frozen=True)
class StatusStop(Action, prefix="status:stop"):
    pass


@dataclass(frozen=True)
class StatusStopYes(Action, prefix="status:stop-yes"):
    pass


@dataclass(frozen=True)
class StatusDone(Action, prefix="status:done"):
    pass


# ---- the campaign -----------------------------------------------------------------------


@dataclass(frozen=True)
class InfoCampaign(Action, prefix="info:campaign"):
    pass


@dataclass(frozen=True)
class InfoHotline(Action, prefix="info:hotline"):
    pass


@dataclass(frozen=True)
class InviteShow(Action, prefix="invite:show"):
    pass


@dataclass(frozen=True)
class GroupAnswer(Action):
    """A residential group chosen for a conversation that asked for one
    (handlers/resident/tdp_choice.py): each such conversation has its own."""

    group_id: RecordId


@dataclass(frozen=True)
class TdpAgain(Action, prefix="tdp:again"):
    pass


@dataclass(frozen=True)
class TdpList(Action, prefix="tdp:list"):
    page: Page


@dataclass(frozen=True)
class SubStart(Action, prefix="sub:start"):
    pass


@dataclass(frozen=True)
class SubOther(Action, prefix="sub:other"):
    pass


@dataclass(frozen=True)
class SubGroup(GroupAnswer, prefix="sub:grp"):
    pass


@dataclass(frozen=True)
class SubStop(Action, prefix="sub:stop"):
    pass


@dataclass(frozen=True)
class PledgeStart(Action, prefix="pledge:start"):
    pass


@dataclass(frozen=True)
class PledgeRead(Action, prefix="pledge:read"):
    pass


@dataclass(frozen=True)
class PledgeSign(Action, prefix="pledge:sign"):
    pass


@dataclass(frozen=True)
class PledgeOther(Action, prefix="pledge:other"):
    pass


@dataclass(frozen=True)
class PledgeGroup(GroupAnswer, prefix="pledge:grp"):
    pass


@dataclass(frozen=True)
class PledgeWithdraw(Action, prefix="pledge:withdraw"):
    pass


@dataclass(frozen=True)
class PledgeWithdrawYes(Action, prefix="pledge:withdraw-yes"):
    pass


@dataclass(frozen=True)
class QuizStart(Action, prefix="quiz:start"):
    pass


@dataclass(frozen=True)
class QuizAnswer(Action, prefix="quiz:a"):
    week: Annotated[str, Text(string.digits + "-W", most=8)]  # 2026-W49 (campaign/quiz.py)
    choice: Annotated[int, Number(1, 99)]


# ---- the police -------------------------------------------------------------------------


@dataclass(frozen=True)
class PoliceQueue(Action, prefix="police:queue"):
    after: Annotated[tuple[int, datetime, int] | None, QueueCursor()]


@dataclass(frozen=True)
class PoliceTip(Action, prefix="police:tip"):
    code: Code


@dataclass(frozen=True)
class PoliceClaim(Action, prefix="police:claim"):
    code: Code


@dataclass(frozen=True)
class PoliceClose(Action, prefix="police:close"):
    code: Code


@dataclass(frozen=True)
class PoliceCloseAs(Action, prefix="police:closeas"):
    code: Code
    outcome: Annotated[Outcome, Member(Outcome)]


@dataclass(frozen=True)
class DrugFreePick(Action, prefix="df:pick"):
    group_id: RecordId
    year: Year
    status: Annotated[DrugFreeStatus, Member(DrugFreeStatus)]


@dataclass(frozen=True)
class DrugFreeSave(Action, prefix="df:save"):
    group_id: RecordId
    year: Year
    status: Annotated[DrugFreeStatus, Member(DrugFreeStatus)]


@dataclass(frozen=True)
class DrugFreeCancel(Action, prefix="df:cancel"):
    pass


# A household signs its own pledge in the chat: not a kind an officer enters.
ORGANISATION_KINDS = (PledgeKind.SCHOOL, PledgeKind.BUSINESS, PledgeKind.GROUP)


@dataclass(frozen=True)
class OrgPledgeKind(Action, prefix="op:kind"):
    kind: Annotated[PledgeKind, Member(PledgeKind, ORGANISATION_KINDS)]


@dataclass(frozen=True)
class OrgPledgeWard(Action, prefix="op:ward"):
    pass


@dataclass(frozen=True)
class OrgPledgeSave(Action, prefix="op:save"):
    pass


@dataclass(frozen=True)
class OrgPledgeCancel(Action, prefix="op:cancel"):
    pass


@dataclass(frozen=True)
class BroadcastScope(Action, prefix="bc:scope"):
    scope: Annotated[str, Choice(["all", "one"])]


@dataclass(frozen=True)
class BroadcastAgain(Action, prefix="bc:again"):
    pass


@dataclass(frozen=True)
class BroadcastSubmit(Action, prefix="bc:submit"):
    pass


@dataclass(frozen=True)
class BroadcastCancel(Action, prefix="bc:cancel"):
    pass


@dataclass(frozen=True)
class BroadcastApprove(Action, prefix="bc:approve"):
    broadcast_id: RecordId


@dataclass(frozen=True)
class BroadcastReject(Action, prefix="bc:reject"):
    broadcast_id: RecordId


_PERIOD_CHARS = string.digits + "-QH"
NOT_A_MONTH = "-"  # what a typed month that cannot be one becomes (WardReportMonth.typed)


@dataclass(frozen=True)
class WardReportMonth(Action, prefix="wardreport:month"):
    """The report of `month`: a month (2026-11) or a longer period (2026-Q3, 2026-H1,
    2026); "" is last month's."""

    month: Annotated[str, Text(_PERIOD_CHARS, most=7, least=0)]

    @classmethod
    def typed(cls, text: str) -> WardReportMonth:
        """A commander's typed `/report TEXT`: the period as written when it could be
        one, otherwise one that is not, so the report answers how to write it."""
        month = text.strip().upper()[:7]
        return cls(month if set(month) <= set(_PERIOD_CHARS) else NOT_A_MONTH)


@dataclass(frozen=True)
class PoliceAck(Action, prefix="police:ack"):
    """From a new tip's notice: "seen, I am on it", without opening its content."""

    code: Code


# The prepared questions an officer can put to a reporter with one tap (handlers/police/triage.py).
PREPARED_QUESTIONS = 3


@dataclass(frozen=True)
class PoliceAskPrepared(Action, prefix="police:askq"):
    code: Code
    question: Annotated[int, Number(1, PREPARED_QUESTIONS)]


@dataclass(frozen=True)
class PoliceNote(Action, prefix="police:note"):
    code: Code


# ---- tips the police record, areas, tip boxes, the report's remarks --------------------


@dataclass(frozen=True)
class RecordSource(Action, prefix="rec:src"):
    source: Annotated[TipSource, Member(TipSource, only=RECORDED_BY_OFFICERS)]


@dataclass(frozen=True)
class RecordCategory(Action, prefix="rec:cat"):
    category: Annotated[str, Choice(CATEGORIES)]


@dataclass(frozen=True)
class RecordGroup(Action, prefix="rec:grp"):
    group_id: Annotated[int | None, OrNone(Id())]  # None: not known


@dataclass(frozen=True)
class RecordUrgent(Action, prefix="rec:urgent"):
    urgent: Annotated[bool, Flag()]


@dataclass(frozen=True)
class RecordSave(Action, prefix="rec:save"):
    pass


@dataclass(frozen=True)
class RecordCancel(Action, prefix="rec:cancel"):
    pass


@dataclass(frozen=True)
class AreaOfficer(Action, prefix="area:officer"):
    group_id: RecordId
    officer_id: RecordId


@dataclass(frozen=True)
class AreaDeputy(Action, prefix="area:deputy"):
    group_id: RecordId
    officer_id: RecordId
    deputy_id: Annotated[int | None, OrNone(Id())]  # None: no deputy


@dataclass(frozen=True)
class AreaClear(Action, prefix="area:clear"):
    group_id: RecordId


@dataclass(frozen=True)
class AreaCancel(Action, prefix="area:cancel"):
    pass


BOX_THINGS = ("box", "board")


@dataclass(frozen=True)
class BoxOpen(Action, prefix="box:open"):
    pass


@dataclass(frozen=True)
class BoxSet(Action, prefix="box:set"):
    thing: Annotated[str, Choice(BOX_THINGS)]


@dataclass(frozen=True)
class BoxUnset(Action, prefix="box:unset"):
    thing: Annotated[str, Choice(BOX_THINGS)]


@dataclass(frozen=True)
class BoxCancel(Action, prefix="box:cancel"):
    pass


@dataclass(frozen=True)
class RemarksCancel(Action, prefix="remarks:cancel"):
    pass


check_prefixes()
CATALOG: tuple[type[Action], ...] = registered()
