"""What each conversation keeps between messages, one dataclass each (engine/flows.py):
read with `ctx.flow(Kind)`, dropped with `ctx.end_flow(Kind)`, stored sealed under
its KEY in the conversation's state."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from engine.flows import Flow
from kernel.actions import Action, GroupAnswer, kind_of
from kernel.categories import CATEGORIES, WHEN, PledgeKind
from kernel.drug_free import DrugFreeStatus
from kernel.tip_sources import TipSource


@dataclass
class Resident(Flow):
    """Where this resident is: the ward (from a poster link, or chosen) and the
    residential group of the poster's QR code. Kept across /start."""

    KEY = "resident"
    ward_id: int | None = None
    preset_group: int | None = None


@dataclass
class AfterWard(Flow):
    """What the resident asked for before the ward was known: resumed once chosen."""

    KEY = "after_ward"
    then: Action | None = None


class DraftStep(StrEnum):
    CATEGORY = "category"
    GROUP = "group"
    WHERE = "where"
    WHEN = "when"
    WHAT = "what"
    FILES = "files"
    CONTACT = "contact"
    CONFIRM = "confirm"


@dataclass
class ReportDraft(Flow):
    """The tip being written (handlers/resident/report.py); its files are draft files of
    the conversation (storage/conversations.py)."""

    KEY = "draft"
    step: DraftStep = DraftStep.CATEGORY
    ward_id: int | None = None
    category: str | None = None
    urgent: bool = False
    group_id: int | None = None
    where: str = ""
    location: list[float] | None = None
    when: str | None = None
    what: list[str] = field(default_factory=list)
    contact: bool | None = None

    @property
    def empty(self) -> bool:
        """Nothing written yet (where the wizard stands aside)."""
        return self == ReportDraft(step=self.step)

    def valid(self) -> bool:
        return (
            (self.category is None or self.category in CATEGORIES)
            and (self.when is None or self.when in WHEN)
            and (self.location is None or len(self.location) == 2)
        )


@dataclass
class UnlockedTip(Flow):
    """The tip this chat opened with its receipt (kept only for a while, see
    handlers/resident/status.py), and the police question being answered."""

    KEY = "status"
    tip_id: int | None = None
    answering: int | None = None


@dataclass
class GroupQuestion(Flow):
    """A residential group being asked for (handlers/resident/tdp_choice.py): the
    question, and which conversation's answer the chosen group becomes."""

    KEY = "tdp"
    answer: str = ""  # the prefix of a GroupAnswer action: sub:grp, pledge:grp
    question: str = ""

    @property
    def answer_kind(self) -> type[GroupAnswer] | None:
        kind = kind_of(self.answer)
        return kind if kind is not None and issubclass(kind, GroupAnswer) else None

    def valid(self) -> bool:
        return not self.answer or self.answer_kind is not None


@dataclass
class BroadcastDraft(Flow):
    """An officer's broadcast being written (handlers/police/broadcast.py); `group_id`
    None is the whole ward once `scoped`."""

    KEY = "broadcast"
    text: str | None = None
    group_id: int | None = None


@dataclass
class OrgPledgeDraft(Flow):
    """An organisation's pledge being entered (handlers/police/org_pledge.py)."""

    KEY = "org_pledge"
    kind: PledgeKind | None = None
    name: str | None = None
    group_id: int | None = None


@dataclass
class DrugFreeChoice(Flow):
    """The drug-free status shown for confirmation (handlers/police/drug_free.py): only
    a confirm button matching it records anything."""

    KEY = "drug_free"
    group_id: int | None = None
    year: int | None = None
    status: DrugFreeStatus | None = None


@dataclass
class RecordedTip(Flow):
    """A tip an officer is recording (handlers/police/record.py): its text, sealed with
    the conversation until it is stored as a tip."""

    KEY = "recorded_tip"
    source: TipSource | None = None
    category: str | None = None
    group_id: int | None = None
    urgent: bool = False
    text: str = ""

    def valid(self) -> bool:
        return self.category is None or self.category in CATEGORIES


@dataclass
class BoxGroup(Flow):
    """The residential group whose tip box is being recorded (handlers/police/tip_boxes.py)."""

    KEY = "box_group"
    group_id: int | None = None


@dataclass
class RemarksPeriod(Flow):
    """The report period whose remarks the commander is writing (handlers/police/remarks.py)."""

    KEY = "remarks_period"
    period: str = ""


@dataclass
class NoteFor(Flow):
    """The tip whose note the officer is typing (handlers/police/triage.py)."""

    KEY = "note_for"
    code: str = ""
