"""A tip's audit history as sentences for the commander's `/audit`.

Each audit entry becomes one translated sentence with the local time ("03/12 14:00 — Trinh
sát Minh nhận xử lý tin."): no event names, no stored values as Python shows them. The
entries hold nothing about the reporter, and neither do the sentences.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import tzinfo

from kernel.categories import CATEGORIES
from kernel.i18n import N_
from kernel.tip_sources import SOURCE_LABELS, TipSource
from storage.models import AuditEntry, TipStatus
from storage.triage import OUTCOME_LABELS, STATUS_LABELS

Translate = Callable[[str], str]

# What each action on a tip says, with {who} the officer (or the system) who did it.
SENTENCES: dict[str, str] = {
    "view": N_("{who} read the tip."),
    "note": N_("{who} added an internal note."),
    "ask": N_("{who} asked the reporter a question."),
    "reply": N_("{who} wrote a public answer for the reporter."),
    "triage": N_("{who} set the category to {category} and the priority to {priority}."),
    "merge": N_("{who} merged the tip into tip {code}."),
    "received": N_("The tip was received: {category}."),
    "recorded": N_("{who} recorded the tip, received {source}: {category}."),
    "case_file": N_("{who} made the tip's record for the case file."),
    "escalated": N_("The commanders were told the tip is past a deadline."),
    "status": N_("{who} changed the tip to {status}."),
}
URGENT = N_("The tip was received as urgent: {category}.")
DEADLINES = {
    "ack": N_("The commanders were told the tip was not acknowledged in time."),
    "close": N_("The commanders were told the tip is past its closing deadline."),
}
STATUS_SENTENCES = {
    TipStatus.ACKNOWLEDGED: N_("{who} acknowledged the tip."),
    TipStatus.INVESTIGATING: N_("{who} started investigating the tip."),
}
TOOK = N_("{who} took the tip.")
ASSIGNED = N_("{who} assigned the tip to {assignee}.")
CLOSED = N_("{who} closed the tip: {outcome}.")
OTHER = N_("{who} made another change.")


def officer_name(_: Translate, officer_id: int | None, names: Mapping[int, str]) -> str:
    """An officer as colleagues know them; by number once they left; the system for none."""
    if officer_id is None:
        return _("The system")
    return names.get(officer_id) or _("Officer no. {id}").format(id=officer_id)


def line(
    _: Translate,
    entry: AuditEntry,
    zone: tzinfo,
    names: Mapping[int, str],
    codes: Mapping[int, str],
) -> str:
    """One entry as "dd/mm HH:MM — sentence". `names`: officer labels by id; `codes`:
    tip codes by id, for the tip a merge went into."""
    when = entry.created_at.astimezone(zone)
    return f"{when:%d/%m %H:%M} — {sentence(_, entry, names, codes)}"


def sentence(
    _: Translate, entry: AuditEntry, names: Mapping[int, str], codes: Mapping[int, str]
) -> str:
    detail = entry.detail or {}
    who = officer_name(_, entry.officer_id, names)
    if entry.action == "status":
        return _status(_, entry.officer_id, detail, names)
    if entry.action == "received":
        template = URGENT if detail.get("urgent") else SENTENCES["received"]
        return _(template).format(category=_category(_, detail.get("category")))
    if entry.action == "recorded":
        source = str(detail.get("source"))
        label = SOURCE_LABELS.get(TipSource(source)) if source in set(TipSource) else None
        return _(SENTENCES["recorded"]).format(
            who=who,
            source=_(label).lower() if label else "-",
            category=_category(_, detail.get("category")),
        )
    if entry.action == "escalated":
        return _(DEADLINES.get(str(detail.get("deadline")), SENTENCES["escalated"]))
    if entry.action == "triage":
        after = detail.get("after")
        chosen = after if isinstance(after, dict) else {}
        return _(SENTENCES["triage"]).format(
            who=who,
            category=_category(_, chosen.get("category")),
            priority=chosen.get("priority") if chosen.get("priority") in (1, 2, 3) else "-",
        )
    if entry.action == "merge":
        into = detail.get("into")
        code = codes.get(into, "-") if isinstance(into, int) else "-"
        return _(SENTENCES["merge"]).format(who=who, code=code)
    return _(SENTENCES.get(entry.action, OTHER)).format(who=who)


def _status(
    _: Translate, officer_id: int | None, detail: Mapping[str, object], names: Mapping[int, str]
) -> str:
    who = officer_name(_, officer_id, names)
    to = str(detail.get("to"))
    if to == TipStatus.ASSIGNED:
        assignee = detail.get("assignee")
        if not isinstance(assignee, int):
            return _(OTHER).format(who=who)
        if assignee == officer_id:
            return _(TOOK).format(who=who)
        return _(ASSIGNED).format(who=who, assignee=officer_name(_, assignee, names))
    if to == TipStatus.CLOSED:
        outcome = OUTCOME_LABELS.get(str(detail.get("outcome")))
        return _(CLOSED).format(who=who, outcome=_(outcome) if outcome else "-")
    if to in STATUS_SENTENCES:
        return _(STATUS_SENTENCES[TipStatus(to)]).format(who=who)
    if to in STATUS_LABELS:
        return _(SENTENCES["status"]).format(who=who, status=_(STATUS_LABELS[to]))
    return _(OTHER).format(who=who)


def _category(_: Translate, key: object) -> str:
    return _(CATEGORIES.get(str(key), CATEGORIES["other"]))
