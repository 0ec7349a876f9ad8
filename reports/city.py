"""A city's view over its wards, for one period: one row per ward with the same
figures each ward reports (tips received, received and handled in time, TDPs reached by
awareness messages), masked as every tip figure is: a ward's tip count under three is
"<3" (reports/figures.py), and its in-time shares are then not shown either. Figures
only: nothing here reads a tip's content, code or TDP."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from broadcasts.calendar import at_local
from broadcasts.coverage import month_table
from reports.figures import Count, Share, published, sum_shares
from reports.indicator import TipTimes, compute
from reports.periods import ReportPeriod
from storage import report_counts, wards
from storage.session import AsyncSession

Translate = Callable[[str], str]


@dataclass(frozen=True)
class WardLine:
    ward: str
    received: Count
    received_on_time: Share | None  # None where the ward's count is not printed exactly
    handled_on_time: Share | None
    groups_reached: Share  # TDP-months reached of TDP-months in the period


@dataclass(frozen=True)
class CityReport:
    period: ReportPeriod
    lines: list[WardLine]
    received: int
    received_on_time: Share
    handled_on_time: Share
    groups_reached: Share


async def gather_city(
    session: AsyncSession,
    period: ReportPeriod,
    *,
    zone: ZoneInfo,
    now: datetime,
    gettext: Translate,
) -> CityReport:
    start = at_local(period.first, "00:00", zone)
    end = at_local(period.last + timedelta(days=1), "00:00", zone)
    figures = []
    for ward in await wards.wards_by_id(session):
        rows = await report_counts.tip_deadlines(session, ward.id, start, end)
        indicator = compute([TipTimes(*row) for row in rows], start, end, as_of=now)
        reached = whole = 0
        for month in period.months():
            table = await month_table(session, ward.id, month)
            reached += sum(1 for row in table if row.covered)
            whole += len(table)
        figures.append((ward.name, indicator, Share(reached, whole)))
    counts = {
        line.label: line.count
        for line in published(
            [(name, indicator.received) for name, indicator, _ in figures],
            together=gettext("All, not broken down (too few to show without singling anyone out)"),
        )
    }
    lines = []
    for name, indicator, reach in figures:
        # Left out (none) or merged with the others (too few to show apart).
        count = counts.get(name) or Count(0, withheld=indicator.received > 0)
        exact = not count.hidden
        lines.append(
            WardLine(
                ward=name,
                received=count,
                received_on_time=indicator.received_on_time if exact else None,
                handled_on_time=indicator.handled_on_time if exact else None,
                groups_reached=reach,
            )
        )
    return CityReport(
        period=period,
        lines=lines,
        received=sum(i.received for _, i, _ in figures),
        received_on_time=sum_shares(i.received_on_time for _, i, _ in figures),
        handled_on_time=sum_shares(i.handled_on_time for _, i, _ in figures),
        groups_reached=sum_shares(r for _, _, r in figures),
    )


def city_rows(city: CityReport, gettext: Translate) -> list[list[str]]:
    """The city's table as printed, header first, then one row per ward and the city's
    total: a ward's in-time shares are blank where its count is not printed exactly."""
    _ = gettext
    header = [
        _("Ward"),
        _("Tips received"),
        _("Received on time"),
        _("Handled on time"),
        _("Residential groups reached, in TDP-months"),
    ]
    rows = [header]
    for line in city.lines:
        rows.append(
            [
                line.ward,
                str(line.received),
                line.received_on_time.shown if line.received_on_time else "",
                line.handled_on_time.shown if line.handled_on_time else "",
                line.groups_reached.shown,
            ]
        )
    rows.append(
        [
            _("All wards"),
            str(city.received),
            city.received_on_time.shown,
            city.handled_on_time.shown,
            city.groups_reached.shown,
        ]
    )
    return rows
