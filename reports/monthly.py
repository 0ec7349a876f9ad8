"""Gathers the report for the ward People's Committee from the tables: tips (counts and
deadlines only, never content), the police's work with tips and the indicator
(reports/tip_work.py), awareness coverage, subscribers, pledges, the quiz and the
drug-free TDPs. For a month, and as well for a quarter, six months ("sơ kết") or a year
("tổng kết", reports/periods.py): the ward's local calendar. Over several months a TDP's
coverage counts in TDP-months: each month it was reached, of each month of the period."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from broadcasts.calendar import at_local
from broadcasts.coverage import Row, month_table
from kernel import drug_free as rules
from kernel.categories import CATEGORIES
from kernel.config import Settings
from kernel.targets import Target
from reports.figures import (
    DrugFreeYear,
    GroupFigures,
    LabelledCount,
    MonthlyReport,
    OrganisationPledge,
    QuizFigures,
    Share,
    TipFigures,
    published,
)
from reports.periods import ReportPeriod, parse_report_period
from reports.tip_work import gather_tip_work
from storage import coverage as ledger
from storage import drug_free, pledges, quiz_answers, report_counts, wards
from storage.models import PledgeKind, ResidentialGroup, Ward
from storage.pledges import KIND_LABELS
from storage.session import AsyncSession


@dataclass(frozen=True)
class _Month:
    """The report's period in the ward's local calendar, and its bounds as instants."""

    label: str  # the period's key: 2026-11, 2026-Q3…
    year: int  # of the period's last day
    first_day: date
    last_day: date
    start: datetime  # the first day's local midnight
    end: datetime  # the local midnight after the last day
    months: tuple[str, ...]  # 2026-07, 2026-08, 2026-09


@dataclass(frozen=True)
class _Participation:
    """What residents did, at the month's end: per TDP and in total."""

    subscribers: dict[int, int]
    subscribers_new: int
    households: pledges.HouseholdCounts
    quiz: quiz_answers.Participation

    def quiz_figures(self) -> QuizFigures:
        quiz = self.quiz
        return QuizFigures(quiz.participants, quiz.answers, Share(quiz.correct, quiz.answers))


async def gather(
    session: AsyncSession,
    settings: Settings,
    ward: Ward,
    month: str,
    gettext: Callable[[str], str],
    language: str,
    now: datetime,
) -> MonthlyReport:
    """`month` like 2026-11, or any period: 2026-Q3, 2026-H1, 2026 (ValueError otherwise)."""
    _ = gettext
    asked = parse_report_period(month)
    period = _month(asked, settings.zone)
    every = await wards.list_groups(session, ward)
    groups = [g for g in every if g.active]
    names: dict[int | None, str] = {g.id: g.name for g in every}
    tips, categories, tip_groups = await _tips(session, ward.id, period, min(now, period.end))
    by_category, by_group = _published_tips(categories, tip_groups, names, _)
    coverage = await _coverage(session, ward.id, period)
    channels = await _channels_reached(session, ward.id, period)
    done = await _participation(session, ward.id, period)
    marks = await drug_free.marks_by_group(session, ward.id)
    group_lines = [
        _group_figures(group, coverage, channels, done, marks, period, _) for group in groups
    ]
    reached = sum(len(coverage.get(g.name, [])) for g in groups)
    report = MonthlyReport(
        ward=ward.name,
        city=ward.city,
        month=period.label,
        language=language,
        generated_at=now.astimezone(settings.zone).replace(microsecond=0),
        tips=tips,
        tips_by_category=by_category,
        tips_by_group=by_group,
        groups=group_lines,
        groups_reached=Share(reached, len(group_lines) * len(period.months)),
        subscribers=sum(done.subscribers.values()),
        subscribers_new=done.subscribers_new,
        household_pledges=done.households.total,
        household_pledges_new=done.households.new,
        organisation_pledges=await _organisations(session, ward.id, period, names, _),
        quiz=done.quiz_figures(),
        drug_free=_drug_free_years(marks, len(groups), settings.targets.get(ward.code, ()), period),
        tip_work=await gather_tip_work(
            session, ward, asked, zone=settings.zone, now=now, gettext=gettext
        ),
    )
    report.notes.extend(_notes(report, now, period, _))
    return report


def _month(period: ReportPeriod, zone: ZoneInfo) -> _Month:
    return _Month(
        label=period.key,
        year=period.last.year,
        first_day=period.first,
        last_day=period.last,
        start=at_local(period.first, "00:00", zone),
        end=at_local(period.last + timedelta(days=1), "00:00", zone),
        months=tuple(period.months()),
    )


async def _coverage(session: AsyncSession, ward_id: int, period: _Month) -> dict[str, list[Row]]:
    """Each TDP's coverage rows by name: one per month of the period it was reached in."""
    found: dict[str, list[Row]] = {}
    for month in period.months:
        for row in await month_table(session, ward_id, month):
            if row.covered:
                found.setdefault(row.group, []).append(row)
    return found


def _published_tips(
    categories: dict[str, int],
    groups: dict[int | None, int],
    names: dict[int | None, str],
    _: Callable[[str], str],
) -> tuple[list[LabelledCount], list[LabelledCount]]:
    """Tips by category and by TDP as published: small counts masked, or put together."""
    together = _("All, not broken down (too few to show without singling anyone out)")
    by_category = published(
        [(_(CATEGORIES.get(key, CATEGORIES["other"])), n) for key, n in categories.items()],
        together=together,
    )
    by_group = published(
        [(names.get(key) or _("TDP not given"), n) for key, n in groups.items()],
        together=together,
    )
    return by_category, by_group


async def _participation(session: AsyncSession, ward_id: int, month: _Month) -> _Participation:
    subscribers, subscribers_new = await _subscribers(
        session, ward_id, month.first_day, month.last_day
    )
    households = await pledges.household_counts(
        session, ward_id, on=month.last_day, since=month.first_day
    )
    quiz = await quiz_answers.participation(session, ward_id, month.first_day, month.last_day)
    return _Participation(subscribers, subscribers_new, households, quiz)


def _group_figures(
    group: ResidentialGroup,
    coverage: dict[str, list[Row]],
    channels: dict[int, set[str]],
    done: _Participation,
    marks: dict[int, list[rules.Mark]],
    period: _Month,
    _: Callable[[str], str],
) -> GroupFigures:
    """One TDP's line: reached or not (over several months: in how many), by what, and
    what its residents did."""
    rows = coverage.get(group.name, [])
    several = len(period.months) > 1
    return GroupFigures(
        name=group.name,
        reached=bool(rows),
        messages_delivered=sum(row.to_chats + row.to_subscribers for row in rows),
        channels=", ".join(sorted(channels.get(group.id, ()))),
        subscribers=done.subscribers.get(group.id, 0),
        household_pledges=done.households.by_group.get(group.id, 0),
        quiz_participants=done.quiz.by_group.get(group.id, 0),
        drug_free=_drug_free_status(marks.get(group.id, []), period.year, _),
        months_reached=Share(len(rows), len(period.months)) if several else None,
    )


def _drug_free_status(marks: list[rules.Mark], year: int, _: Callable[[str], str]) -> str:
    """The TDP's drug-free status at the end of `year`, with the year it was recorded
    for when that was earlier; empty if none was ever recorded."""
    mark = rules.status_at(marks, year)
    if mark is None:
        return ""
    status = _(rules.LABELS[mark.status])
    return f"{status} ({mark.year})" if mark.year < year else status


async def _organisations(
    session: AsyncSession,
    ward_id: int,
    month: _Month,
    names: dict[int | None, str],
    _: Callable[[str], str],
) -> list[OrganisationPledge]:
    """The organisations' pledges in force at the month's end."""
    return [
        OrganisationPledge(
            kind=_(KIND_LABELS.get(PledgeKind(p.kind), p.kind)),
            name=p.name or "",
            group=names.get(p.group_id, "") if p.group_id else "",
            signed_on=p.signed_on.isoformat(),
        )
        for p in await pledges.organisations(session, ward_id, on=month.last_day)
    ]


def _drug_free_years(
    marks: dict[int, list[rules.Mark]], groups: int, targets: Sequence[Target], month: _Month
) -> list[DrugFreeYear]:
    """Drug-free TDPs at the end of each year, against the ward's targets."""
    return [
        DrugFreeYear(
            year=p.year,
            achieved=p.achieved,
            total=p.total,
            target=p.required,
            target_label=p.target.label(p.total) if p.target else "",
        )
        for p in rules.progress(marks, groups, targets, month.year)
    ]


def _notes(
    report: MonthlyReport, now: datetime, month: _Month, _: Callable[[str], str]
) -> list[str]:
    """What the reader should know first: an empty period, a period not over yet."""
    notes = []
    monthly = len(month.months) == 1
    if report.empty:
        notes.append(
            _("No activity was recorded for this month.")
            if monthly
            else _("No activity was recorded for this period.")
        )
    if now < month.end:
        not_over = (
            _("The month is not over yet: figures are as of {time}.")
            if monthly
            else _("The period is not over yet: figures are as of {time}.")
        )
        notes.append(not_over.format(time=report.generated_at.strftime("%d/%m/%Y %H:%M")))
    return notes


async def _tips(
    session: AsyncSession, ward_id: int, month: _Month, as_of: datetime
) -> tuple[TipFigures, dict[str, int], dict[int | None, int]]:
    """Counts only: a tip's content is never read for the report. Also the tips by
    category and by TDP, before they are published."""
    start, end = month.start, month.end
    received = await report_counts.tips_received(session, ward_id, start, end)
    ack_due = ack_on_time = 0
    categories: dict[str, int] = {}
    groups: dict[int | None, int] = {}
    for category, group_id, _urgent, acknowledged, due in received:
        categories[category] = categories.get(category, 0) + 1
        groups[group_id] = groups.get(group_id, 0) + 1
        if acknowledged is not None or (due is not None and due < as_of):
            ack_due += 1
            ack_on_time += acknowledged is not None and (due is None or acknowledged <= due)
    closed = await report_counts.tips_closed(session, ward_id, start, end)
    open_at_end = await report_counts.tips_open_at(session, ward_id, end)
    figures = TipFigures(
        received=len(received),
        urgent=sum(1 for r in received if r[2]),
        acknowledged_on_time=Share(ack_on_time, ack_due),
        closed=len(closed),
        closed_on_time=Share(
            sum(1 for at, due in closed if due is None or (at is not None and at <= due)),
            len(closed),
        ),
        open_at_end=open_at_end,
    )
    return figures, categories, groups


async def _channels_reached(
    session: AsyncSession, ward_id: int, period: _Month
) -> dict[int, set[str]]:
    found: dict[int, set[str]] = {}
    for month in period.months:
        for group_id, channel in await ledger.channels_reached(session, ward_id, month):
            found.setdefault(group_id, set()).add(channel)
    return found


async def _subscribers(
    session: AsyncSession, ward_id: int, first: date, last: date
) -> tuple[dict[int, int], int]:
    """Subscribers at the month's end per TDP, and how many subscribed during it."""
    by_group: dict[int, int] = {}
    new = 0
    for group_id, subscribed_on in await report_counts.subscribed_on_at(session, ward_id, last):
        by_group[group_id] = by_group.get(group_id, 0) + 1
        new += subscribed_on >= first
    return by_group, new
