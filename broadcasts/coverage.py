"""The coverage table: per TDP and month, what reached it and where, read from the
coverage ledger. It is what the commander reports to the ward People's Committee
("100% of TDPs reached at least once a month", seed 001)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from broadcasts.planner import OPEN, reachable_counts
from storage.models import (
    Broadcast,
    CoverageAlert,
    CoverageEntry,
    GroupChat,
    ResidentialGroup,
)


@dataclass(frozen=True)
class Row:
    group: str
    chats: int  # group chats registered and active now
    subscribers: int  # active subscribers now
    to_chats: int  # deliveries to group chats this month
    to_subscribers: int
    messages: int  # distinct broadcasts that reached the TDP
    first: datetime | None
    planned: datetime | None  # the next broadcast on its way, if none reached it yet
    alert: str  # why the commander was warned, if they were

    @property
    def covered(self) -> bool:
        return self.to_chats + self.to_subscribers > 0


async def month_table(session: AsyncSession, ward_id: int, period: str) -> list[Row]:
    groups = (
        await session.scalars(
            select(ResidentialGroup)
            .where(ResidentialGroup.ward_id == ward_id, ResidentialGroup.active.is_(True))
            .order_by(ResidentialGroup.search_key)
        )
    ).all()
    sums = await session.execute(
        select(
            CoverageEntry.group_id,
            CoverageEntry.target_kind,
            func.sum(CoverageEntry.delivered),
            func.min(CoverageEntry.first_delivered_at),
        )
        .where(CoverageEntry.ward_id == ward_id, CoverageEntry.period == period)
        .group_by(CoverageEntry.group_id, CoverageEntry.target_kind)
    )
    delivered: dict[tuple[int, str], int] = {}
    first: dict[int, datetime] = {}
    for group_id, kind, total, earliest in sums.all():
        delivered[(group_id, kind)] = int(total or 0)
        if total and earliest is not None:  # min() keeps the column's type: aware UTC
            first[group_id] = min(first.get(group_id, earliest), earliest)
    messages = dict(
        (
            await session.execute(
                select(
                    CoverageEntry.group_id, func.count(func.distinct(CoverageEntry.broadcast_id))
                )
                .where(
                    CoverageEntry.ward_id == ward_id,
                    CoverageEntry.period == period,
                    CoverageEntry.delivered > 0,
                )
                .group_by(CoverageEntry.group_id)
            )
        ).all()
    )
    chats = dict(
        (
            await session.execute(
                select(GroupChat.group_id, func.count())
                .where(GroupChat.ward_id == ward_id, GroupChat.active.is_(True))
                .group_by(GroupChat.group_id)
            )
        ).all()
    )
    reach = await reachable_counts(session, ward_id)
    upcoming = await session.execute(
        select(Broadcast.group_id, func.min(Broadcast.scheduled_at))
        .where(Broadcast.ward_id == ward_id, Broadcast.period == period, Broadcast.status.in_(OPEN))
        .group_by(Broadcast.group_id)
    )
    planned = {group_id: at for group_id, at in upcoming.all()}
    alerts = dict(
        (
            await session.execute(
                select(CoverageAlert.group_id, CoverageAlert.reason).where(
                    CoverageAlert.period == period,
                    CoverageAlert.group_id.in_([g.id for g in groups]),
                )
            )
        ).all()
    )
    rows = []
    for group in groups:
        next_at = planned.get(group.id) or planned.get(None)
        rows.append(
            Row(
                group=group.name,
                chats=chats.get(group.id, 0),
                subscribers=reach.get(group.id, 0) - chats.get(group.id, 0),
                to_chats=delivered.get((group.id, "chat"), 0),
                to_subscribers=delivered.get((group.id, "subscriber"), 0),
                messages=messages.get(group.id, 0),
                first=first.get(group.id),
                planned=next_at,
                alert=alerts.get(group.id, ""),
            )
        )
    return rows


def render_table(
    rows: list[Row], ward: str, period: str, _: Callable[[str], str], zone: ZoneInfo
) -> str:
    covered = sum(1 for r in rows if r.covered)
    lines = [
        _(
            "Anti-drug messages in {ward}, {month}: {covered} of {total} residential groups reached"
        ).format(ward=ward, month=period, covered=covered, total=len(rows)),
        "",
        "\t".join(
            (
                _("TDP"),
                _("chats"),
                _("subscribers"),
                _("to chats"),
                _("to subscribers"),
                _("messages"),
                _("status"),
            )
        ),
    ]
    for row in rows:
        if row.covered:
            status = _("reached {date}").format(date=_day(row.first, zone))
        elif row.planned is not None:
            status = _("planned {date}").format(date=_day(row.planned, zone))
        elif row.alert == "no-target":
            status = _("cannot be reached: no chat, no subscriber")
        elif row.alert == "all-failed":
            status = _("cannot be reached: every delivery failed")
        else:
            status = _("not reached yet")
        lines.append("\t".join(str(v) for v in (
            row.group, row.chats, row.subscribers, row.to_chats, row.to_subscribers,
            row.messages, status)))  # fmt: skip
    return "\n".join(lines)


def _day(moment: datetime | None, zone: ZoneInfo) -> str:
    return "-" if moment is None else moment.astimezone(zone).strftime("%d/%m %H:%M")
