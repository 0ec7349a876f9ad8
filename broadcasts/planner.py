"""The monthly coverage guarantee and the campaign calendar, planned from the database.

Every tick asks the same questions of the tables: which campaign dates are near, and
which TDP has had nothing delivered this month and nothing on the way. The answers
become broadcasts with a unique `plan_key`, so ticks run twice, missed while the bot
was down, or run after a crash plan nothing twice and skip nobody.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from broadcasts.calendar import QuietHours, at_local, campaign_days, parse_period, period_of
from broadcasts.library import GROUP_AUDIENCES
from kernel.clock import utcnow
from kernel.config import CampaignSettings, Settings
from storage import awareness, campaigns, coverage, wards
from storage import broadcasts as broadcast_rows
from storage.models import (
    AwarenessMessage,
    Broadcast,
    BroadcastKind,
    BroadcastStatus,
    Campaign,
    ResidentialGroup,
    Ward,
)
from storage.session import AsyncSession

log = logging.getLogger(__name__)

PLAN_AHEAD = timedelta(days=1)  # a campaign date is planned this long before it
LATE_GRACE = timedelta(days=2)  # and still sent this long after, if the bot was down
MONTHLY_ATTEMPTS = 3  # a TDP whose delivery failed is tried again, a day apart
OPEN = (BroadcastStatus.SCHEDULED, BroadcastStatus.SENDING)
NOT_SENT = (BroadcastStatus.REJECTED, BroadcastStatus.CANCELLED, BroadcastStatus.PENDING_APPROVAL)


def quiet_hours(settings: Settings) -> QuietHours:
    return QuietHours(settings.quiet_start, settings.quiet_end, settings.zone)


@dataclass(frozen=True)
class Unreachable:
    ward_id: int
    group: ResidentialGroup
    reason: str  # no-target (no chat, no subscriber) or all-failed


@dataclass
class Plan:
    planned: list[Broadcast] = field(default_factory=list)
    unreachable: list[Unreachable] = field(default_factory=list)


async def sync_campaigns(session: AsyncSession, configured: Sequence[CampaignSettings]) -> None:
    """Campaigns from the configuration, kept in the table next to those admins add; a
    campaign removed from the configuration stops (its past broadcasts stay)."""
    rows = {c.slug: c for c in await campaigns.all_campaigns(session)}
    for entry in configured:
        row = rows.get(entry.slug)
        if row is None:
            row = Campaign(slug=entry.slug, origin="config", created_at=utcnow())
            campaigns.add(session, row)
        elif row.origin != "config":
            continue  # an admin's campaign of the same name wins
        row.name, row.month, row.day, row.at_time = (
            entry.name,
            entry.month,
            entry.day,
            entry.at_time,
        )
        row.content, row.subscribers, row.active = entry.content, entry.subscribers, True
    for slug, row in rows.items():
        if row.origin == "config" and slug not in {c.slug for c in configured}:
            row.active = False
    await campaigns.flush(session)


async def plan(session: AsyncSession, settings: Settings, now: datetime | None = None) -> Plan:
    now = now or utcnow()
    result = Plan()
    active = await campaigns.active_campaigns(session)
    for ward in await wards.wards_by_id(session):
        for campaign in active:
            if campaign.ward_id in (None, ward.id):
                result.planned += await _plan_campaign(session, settings, ward, campaign, now)
        await _plan_monthly(session, settings, ward, now, result)
    return result


async def _plan_campaign(
    session: AsyncSession, settings: Settings, ward: Ward, campaign: Campaign, now: datetime
) -> list[Broadcast]:
    planned = []
    zone = settings.zone
    local_year = now.astimezone(zone).year
    for year in (local_year, local_year + 1):  # 1 January's plan-ahead reaches into the new year
        for number, day in campaign_days(year, campaign.month, campaign.day):
            at = at_local(day, campaign.at_time, zone)
            if not at - PLAN_AHEAD <= now <= at + LATE_GRACE:
                continue
            key = f"campaign:{campaign.slug}:{ward.id}:{day.isoformat()}"
            if await _exists(session, key):
                continue
            message = await campaign_message(session, ward, campaign, number, year)
            if message is None:
                log.warning("campaign %s: no active message to send", campaign.slug)
                continue
            broadcast = Broadcast(
                ward_id=ward.id,
                group_id=None,
                kind=BroadcastKind.CAMPAIGN,
                plan_key=key,
                period=period_of(at, zone),
                campaign_id=campaign.id,
                message_id=message.id,
                to_groups=True,
                to_subscribers=campaign.subscribers,
                status=BroadcastStatus.SCHEDULED,
                scheduled_at=quiet_hours(settings).next_allowed(max(at, now)),
                created_at=now,
            )
            broadcast_rows.add(session, broadcast)
            planned.append(broadcast)
    await broadcast_rows.flush(session)
    return planned


async def campaign_message(
    session: AsyncSession, ward: Ward, campaign: Campaign, number: int, year: int
) -> AwarenessMessage | None:
    """What the `number`th date of `campaign` in `year` sends the ward's TDPs: one of its
    own messages (campaign_turn), else a rotation one. The planner and the exports of a
    month (reports/exports.py) both ask here, so they agree."""
    if campaign.content:
        own = [
            m
            for m in await awareness.of_campaign(session, campaign.content)
            if m.audience in GROUP_AUDIENCES
        ]
        turn = campaign_turn(number, year, len(own))
        if turn is not None:
            return own[turn]
    return await pick_rotation(session, ward.id, None, f"{campaign.slug}:{year}:{number}")


def campaign_turn(number: int, year: int, count: int) -> int | None:
    """Which of a campaign's `count` messages its `number`th date of `year` sends: the
    first date always the first message (June's opening: "this month, every week…"),
    the next dates the rest in turn, starting one further each year; None once each was
    sent this year (that date takes a rotation message: none is sent twice a year)."""
    if count == 0:
        return None
    if number <= 1:
        return 0
    if number - 1 >= count:
        return None
    return 1 + (number - 2 + year) % (count - 1)


@dataclass(frozen=True)
class GroupMonth:
    """One TDP's month so far, as the monthly guarantee looks at it."""

    covered: bool  # something was delivered to it this month
    open_for_it: bool  # a broadcast to it is scheduled or sending this month
    ward_wide_open: bool  # so is one to the whole ward's group chats (a campaign date)
    targets: int  # active group chats and subscribers now
    attempts: int  # monthly broadcasts planned for it this month already


@dataclass(frozen=True)
class MonthlyTimes:
    """When the month's guaranteed message is due in the ward."""

    due: datetime  # the configured day and time of this month
    clock: str  # the configured time, "09:00": a second try comes the next day at it
    zone: ZoneInfo  # the ward's: its "next day"
    quiet: QuietHours


@dataclass(frozen=True)
class SendMonthly:
    attempt: int  # 1; 2 and 3 after broadcasts that reached no one
    at: datetime  # never in quiet hours, never before now


@dataclass(frozen=True)
class Skip:
    reason: Literal["covered", "on-its-way", "not-due"]  # not-due: no target, but still time


@dataclass(frozen=True)
class CannotReach:
    reason: Literal["no-target", "all-failed"]  # the commanders are told


def monthly_times(settings: Settings, period: str) -> MonthlyTimes:
    first = parse_period(period)
    due = at_local(first.replace(day=settings.monthly_day), settings.monthly_time, settings.zone)
    return MonthlyTimes(due, settings.monthly_time, settings.zone, quiet_hours(settings))


def decide_monthly(
    group: GroupMonth, times: MonthlyTimes, now: datetime
) -> SendMonthly | Skip | CannotReach:
    """What the monthly guarantee does for one TDP now: plan its message (for the due
    time, or tomorrow after a try that reached no one), nothing, or tell the commanders
    it cannot be reached. Reads no table."""
    if group.covered:
        return Skip("covered")
    if group.open_for_it or group.ward_wide_open:
        return Skip("on-its-way")
    if not group.targets:
        return CannotReach("no-target") if now >= times.due else Skip("not-due")
    if group.attempts >= MONTHLY_ATTEMPTS:
        return CannotReach("all-failed")
    when = times.due
    if group.attempts:  # the last one delivered nothing: again tomorrow at the usual time
        tomorrow = (now.astimezone(times.zone) + timedelta(days=1)).date()
        when = at_local(tomorrow, times.clock, times.zone)
    return SendMonthly(group.attempts + 1, times.quiet.next_allowed(max(when, now)))


async def _plan_monthly(
    session: AsyncSession, settings: Settings, ward: Ward, now: datetime, result: Plan
) -> None:
    """A broadcast of its own for every TDP of the ward that had nothing this month and
    has nothing on the way; those that cannot be reached go into `result.unreachable`."""
    period = period_of(now, settings.zone)
    times = monthly_times(settings, period)
    for group, month in await _group_months(session, ward.id, period):
        decision = decide_monthly(month, times, now)
        if isinstance(decision, CannotReach):
            result.unreachable.append(Unreachable(ward.id, group, decision.reason))
        elif isinstance(decision, SendMonthly):
            message = await pick_rotation(session, ward.id, group.id, f"{group.id}:{period}")
            if message is None:
                log.warning("monthly plan: the content library has no active message")
                return
            broadcast = _monthly_broadcast(group, period, message, decision, now)
            broadcast_rows.add(session, broadcast)
            result.planned.append(broadcast)
    await broadcast_rows.flush(session)


async def _group_months(
    session: AsyncSession, ward_id: int, period: str
) -> list[tuple[ResidentialGroup, GroupMonth]]:
    """The ward's active TDPs, each with its month so far."""
    groups = await wards.active_groups_by_id(session, ward_id)
    covered = await covered_groups(session, ward_id, period)
    ward_wide_open = await broadcast_rows.ward_wide_open(session, ward_id, period, OPEN) > 0
    reach = await reachable_counts(session, ward_id)
    tried = await broadcast_rows.monthly_attempts(session, ward_id, period)
    open_for = await broadcast_rows.groups_with_open(session, ward_id, period, OPEN)
    return [
        (
            group,
            GroupMonth(
                covered=group.id in covered,
                open_for_it=group.id in open_for,
                ward_wide_open=ward_wide_open,
                targets=reach.get(group.id, 0),
                attempts=tried.get(group.id, 0),
            ),
        )
        for group in groups
    ]


def _monthly_broadcast(
    group: ResidentialGroup,
    period: str,
    message: AwarenessMessage,
    decision: SendMonthly,
    now: datetime,
) -> Broadcast:
    return Broadcast(
        ward_id=group.ward_id,
        group_id=group.id,
        kind=BroadcastKind.MONTHLY,
        plan_key=f"monthly:{group.id}:{period}:{decision.attempt}",
        period=period,
        message_id=message.id,
        to_groups=True,
        to_subscribers=True,
        status=BroadcastStatus.SCHEDULED,
        scheduled_at=decision.at,
        created_at=now,
    )


async def covered_groups(session: AsyncSession, ward_id: int, period: str) -> set[int]:
    """TDPs that had at least one message delivered this month (any chat or subscriber)."""
    return await coverage.covered_groups(session, ward_id, period)


async def reachable_counts(session: AsyncSession, ward_id: int) -> dict[int, int]:
    """Active targets (group chats and subscribers) per TDP."""
    return await coverage.reachable_counts(session, ward_id)


async def pick_rotation(
    session: AsyncSession, ward_id: int, group_id: int | None, seed: str, on: date | None = None
) -> AwarenessMessage | None:
    """The rotation message for this TDP (or, for None, the ward) now: see
    `choose_rotation`. Only messages in force on `on` (default today) are candidates:
    one a legal change retired is never picked."""
    candidates = [m for m in await awareness.rotation(session, on) if m.audience in GROUP_AUDIENCES]
    if not candidates:
        return None
    since = utcnow() - timedelta(days=365)
    last_sent = await broadcast_rows.messages_last_used(session, ward_id, group_id, since, NOT_SENT)
    return choose_rotation(candidates, last_sent, since, seed)


def choose_rotation(
    candidates: Sequence[AwarenessMessage],
    last_sent: Mapping[int | None, datetime],
    since: datetime,
    seed: str,
) -> AwarenessMessage:
    """A message of `candidates` (not empty) not sent since `since` (`last_sent`: when
    each was last sent), from the topic gone longest without; when every message was
    used, the one used longest ago. `seed` spreads the choice so neighbouring TDPs
    differ. Reads no table."""
    by_id = {m.id: m for m in candidates}
    topic_last: dict[str, datetime] = {}
    for message_id, at in last_sent.items():
        message = by_id.get(message_id) if message_id is not None else None
        if message is not None and (
            message.topic not in topic_last or at > topic_last[message.topic]
        ):
            topic_last[message.topic] = at

    def spread(message: AwarenessMessage) -> str:
        return hashlib.sha256(f"{seed}:{message.slug}".encode()).hexdigest()

    unused = [m for m in candidates if m.id not in last_sent]
    if unused:
        return min(unused, key=lambda m: (topic_last.get(m.topic, since), spread(m)))
    return min(candidates, key=lambda m: (last_sent[m.id], spread(m)))


async def _exists(session: AsyncSession, key: str) -> bool:
    return await broadcast_rows.plan_key_taken(session, key)


async def claim_alert(session: AsyncSession, unreachable: Unreachable, period: str) -> bool:
    """True the first time this month that this TDP is found unreachable."""
    return await coverage.claim_alert(session, unreachable.group.id, period, unreachable.reason)
