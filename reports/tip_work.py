"""The report's section on the police's work with tips, for any period: tips by source,
the indicator (received and handled in time, reports/indicator.py) overall and per
source, each miss, outcomes, tip boxes and boards per TDP and the boxes' openings, and
the commander's remarks. Counts follow the same small-count rule as every tip figure of
the report (reports/figures.py): a source's share and its misses' source are shown only
where that source's count is printed exactly."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from broadcasts.calendar import at_local
from kernel.tip_sources import SOURCE_LABELS
from reports.figures import BoxLine, MissLine, Share, SourceShare, TipWork, published
from reports.indicator import Deadline, TipTimes, compute
from reports.periods import ReportPeriod
from storage import report_counts, report_remarks, tip_boxes, wards
from storage.models import Ward
from storage.session import AsyncSession
from storage.triage import OUTCOME_LABELS

Translate = Callable[[str], str]
__all__ = ["BoxLine", "MissLine", "SourceShare", "TipWork", "gather_tip_work"]


async def gather_tip_work(
    session: AsyncSession,
    ward: Ward,
    period: ReportPeriod,
    *,
    zone: ZoneInfo,
    now: datetime,
    gettext: Translate,
) -> TipWork:
    _ = gettext
    start = at_local(period.first, "00:00", zone)
    end = at_local(period.last + timedelta(days=1), "00:00", zone)
    rows = await report_counts.tip_deadlines(session, ward.id, start, end)
    indicator = compute([TipTimes(*row) for row in rows], start, end, as_of=now)
    together = _("All, not broken down (too few to show without singling anyone out)")
    by_source = published(
        [(_(SOURCE_LABELS[f.source]), f.received) for f in indicator.by_source], together=together
    )
    exact = {line.label for line in by_source if not line.count.hidden}
    label = {f.source: _(SOURCE_LABELS[f.source]) for f in indicator.by_source}
    shares = [
        SourceShare(label[f.source], f.received_on_time, f.handled_on_time)
        for f in indicator.by_source
        if label[f.source] in exact
    ]
    misses = [
        MissLine(
            source=label[m.source] if label[m.source] in exact else "",
            deadline=_("received") if m.deadline is Deadline.ACKNOWLEDGE else _("handled"),
            late_by=_span(m.late_by, _),
            still_open=m.still_open,
        )
        for m in indicator.misses
    ]
    outcomes = published(
        [(_(OUTCOME_LABELS.get(k, k)), n) for k, n in indicator.outcomes.items()], together=together
    )
    boxes, with_box, with_board, openings, found = await _boxes(session, ward, period)
    return TipWork(
        received=indicator.received,
        received_on_time=indicator.received_on_time,
        handled_on_time=indicator.handled_on_time,
        met=indicator.met,
        by_source=by_source,
        source_shares=shares,
        misses=misses,
        outcomes=outcomes,
        boxes=boxes,
        groups_with_box=with_box,
        groups_with_board=with_board,
        openings=openings,
        tips_in_boxes=found,
        remarks=await report_remarks.read(session, ward.id, period.key),
    )


async def _boxes(
    session: AsyncSession, ward: Ward, period: ReportPeriod
) -> tuple[list[BoxLine], Share, Share, int, int]:
    groups = [g for g in await wards.list_groups(session, ward) if g.active]
    points = await tip_boxes.points_of_ward(session, ward.id)
    openings = await tip_boxes.openings_between(session, ward.id, period.first, period.last)
    per_group: dict[int, int] = {}
    for opening in openings:
        per_group[opening.group_id] = per_group.get(opening.group_id, 0) + 1
    lines = []
    boxes = boards = 0
    for group in groups:
        p = points.get(group.id)
        box = p.box_since if p and p.box_since and p.box_since <= period.last else None
        board = p.board_since if p and p.board_since and p.board_since <= period.last else None
        boxes += box is not None
        boards += board is not None
        lines.append(BoxLine(group.name, _day(box), _day(board), per_group.get(group.id, 0)))
    total = len(groups)
    found = sum(o.tips_found for o in openings)
    return lines, Share(boxes, total), Share(boards, total), len(openings), found


def _day(day: date | None) -> str:
    return day.strftime("%d/%m/%Y") if day else ""


def _span(late: timedelta, _: Translate) -> str:
    seconds = late.total_seconds()
    if seconds >= 86400:
        return _("{n} d").format(n=int(seconds // 86400))
    if seconds >= 3600:
        return _("{n} h").format(n=int(seconds // 3600))
    return _("{n} min").format(n=max(1, int(seconds // 60)))
