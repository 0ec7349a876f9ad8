"""Gathers the monthly report for the ward People's Committee from the tables: tips (counts
and deadlines only, never content), awareness coverage, subscribers, pledges, the quiz
and the drug-free TDPs. Months are the ward's local calendar months."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

from broadcasts.calendar import at_local, month_end, parse_period
from broadcasts.coverage import month_table
from kernel import drug_free as rules
from kernel.categories import CATEGORIES
from kernel.config import Settings
from reports.figures import (
    DrugFreeYear,
    GroupFigures,
    MonthlyReport,
    OrganisationPledge,
    QuizFigures,
    Share,
    TipFigures,
    published,
)
from storage import coverage as ledger
from storage import drug_free, pledges, quiz_answers, report_counts, wards
from storage.models import PledgeKind, Ward
from storage.pledges import KIND_LABELS
from storage.session import AsyncSession


async def gather(
    session: AsyncSession,
    settings: Settings,
    ward: Ward,
    month: str,
    gettext: Callable[[str], str],
    language: str,
    now: datetime,
) -> MonthlyReport:
    """`month` like 2026-11 (ValueError otherwise)."""
    _ = gettext
    zone = settings.zone
    first_day = parse_period(month)
    last_day = month_end(first_day)
    month, year = first_day.strftime("%Y-%m"), first_day.year
    start = at_local(first_day, "00:00", zone)
    end = at_local(last_day + timedelta(days=1), "00:00", zone)
    every = await wards.list_groups(session, ward)
    groups = [g for g in every if g.active]
    names: dict[int | None, str] = {g.id: g.name for g in every}

    tips, categories, tip_groups = await _tips(session, ward.id, start, end, min(now, end))
    together = _("All, not broken down (too few to show without singling anyone out)")
    by_category = published(
        [(_(CATEGORIES.get(key, CATEGORIES["other"])), n) for key, n in categories.items()],
        together=together,
    )
    by_group = published(
        [(names.get(key) or _("TDP not given"), n) for key, n in tip_groups.items()],
        together=together,
    )
    coverage = {row.group: row for row in await month_table(session, ward.id, month)}
    channels = await _channels_reached(session, ward.id, month)
    subscribers, subscribers_new = await _subscribers(session, ward.id, first_day, last_day)
    households = await pledges.household_counts(session, ward.id, on=last_day, since=first_day)
    quiz = await quiz_answers.participation(session, ward.id, first_day, last_day)
    marks = await drug_free.marks_by_group(session, ward.id)
    targets = settings.targets.get(ward.code, ())

    group_lines = []
    for group in groups:
        row = coverage.get(group.name)
        mark = rules.status_at(marks.get(group.id, []), year)
        status = ""
        if mark is not None:
            status = _(rules.LABELS[mark.status])
            if mark.year < year:
                status = f"{status} ({mark.year})"
        group_lines.append(
            GroupFigures(
                name=group.name,
                reached=bool(row and row.covered),
                messages_delivered=(row.to_chats + row.to_subscribers) if row else 0,
                channels=", ".join(sorted(channels.get(group.id, ()))),
                subscribers=subscribers.get(group.id, 0),
                household_pledges=households.by_group.get(group.id, 0),
                quiz_participants=quiz.by_group.get(group.id, 0),
                drug_free=status,
            )
        )
    organisations = [
        OrganisationPledge(
            kind=_(KIND_LABELS.get(PledgeKind(p.kind), p.kind)),
            name=p.name or "",
            group=names.get(p.group_id, "") if p.group_id else "",
            signed_on=p.signed_on.isoformat(),
        )
        for p in await pledges.organisations(session, ward.id, on=last_day)
    ]
    progress = rules.progress(marks, len(groups), targets, year)
    report = MonthlyReport(
        ward=ward.name,
        city=ward.city,
        month=month,
        language=language,
        generated_at=now.astimezone(zone).replace(microsecond=0),
        tips=tips,
        tips_by_category=by_category,
        tips_by_group=by_group,
        groups=group_lines,
        groups_reached=Share(sum(1 for g in group_lines if g.reached), len(group_lines)),
        subscribers=sum(subscribers.values()),
        subscribers_new=subscribers_new,
        household_pledges=households.total,
        household_pledges_new=households.new,
        organisation_pledges=organisations,
        quiz=QuizFigures(quiz.participants, quiz.answers, Share(quiz.correct, quiz.answers)),
        drug_free=[
            DrugFreeYear(
                year=p.year,
                achieved=p.achieved,
                total=p.total,
                target=p.required,
                target_label=p.target.label(p.total) if p.target else "",
            )
            for p in progress
        ],
    )
    if report.empty:
        report.notes.append(_("No activity was recorded for this month."))
    if now < end:
        report.notes.append(_("The month is not over yet: figures are as of {time}.").format(
            time=report.generated_at.strftime("%d/%m/%Y %H:%M")))  # fmt: skip
    return report


async def _tips(
    session: AsyncSession, ward_id: int, start: datetime, end: datetime, as_of: datetime
) -> tuple[TipFigures, dict[str, int], dict[int | None, int]]:
    """Counts only: a tip's content is never read for the report."""
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


async def _channels_reached(session: AsyncSession, ward_id: int, month: str) -> dict[int, set[str]]:
    found: dict[int, set[str]] = {}
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
