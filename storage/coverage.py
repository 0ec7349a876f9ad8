"""The coverage ledger's reads and the coverage alerts: what reached which TDP in a
month, over which channel, and which TDPs the commander was warned about.

The ledger is written by storage/deliveries.py as outcomes come in; the planner, the
coverage table and the monthly report read it through these functions so that only
storage/ speaks SQL (issue 17). Counts only: no recipient is named.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Row, func, select

from kernel.clock import utcnow
from storage.models import CoverageAlert, CoverageEntry, GroupChat, Subscriber
from storage.session import AsyncSession


async def covered_groups(session: AsyncSession, ward_id: int, period: str) -> set[int]:
    """TDPs that had at least one message delivered this month (any chat or subscriber)."""
    return set(
        (
            await session.scalars(
                select(CoverageEntry.group_id).where(
                    CoverageEntry.ward_id == ward_id,
                    CoverageEntry.period == period,
                    CoverageEntry.delivered > 0,
                )
            )
        ).all()
    )


async def reachable_counts(session: AsyncSession, ward_id: int) -> dict[int, int]:
    """Active targets (group chats and subscribers) per TDP."""
    counts: dict[int, int] = {}
    for model in (GroupChat, Subscriber):
        rows = await session.execute(
            select(model.group_id, func.count())
            .where(model.ward_id == ward_id, model.active.is_(True))
            .group_by(model.group_id)
        )
        for group_id, count in rows.all():
            counts[group_id] = counts.get(group_id, 0) + count
    return counts


async def active_chats(session: AsyncSession, ward_id: int, group_id: int | None) -> int:
    """Active group chats of the ward, or of one of its TDPs."""
    query = (
        select(func.count())
        .select_from(GroupChat)
        .where(GroupChat.ward_id == ward_id, GroupChat.active.is_(True))
    )
    if group_id is not None:
        query = query.where(GroupChat.group_id == group_id)
    return int(await session.scalar(query) or 0)


async def active_chats_by_group(session: AsyncSession, ward_id: int) -> dict[int, int]:
    """Active group chats per TDP of the ward."""
    return dict(
        (
            await session.execute(
                select(GroupChat.group_id, func.count())
                .where(GroupChat.ward_id == ward_id, GroupChat.active.is_(True))
                .group_by(GroupChat.group_id)
            )
        ).all()
    )


async def delivered_sums(
    session: AsyncSession, ward_id: int, period: str
) -> Sequence[Row[int, str, int | None, datetime | None]]:
    """(group, target kind, deliveries, first delivery) of the month, per TDP and kind;
    min() keeps the column's type: aware UTC."""
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
    return sums.all()


async def messages_delivered(session: AsyncSession, ward_id: int, period: str) -> dict[int, int]:
    """Distinct broadcasts that reached each TDP in the month."""
    return dict(
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


async def channels_reached(
    session: AsyncSession, ward_id: int, period: str
) -> Sequence[Row[int, str]]:
    """Distinct (TDP, channel) pairs over which something was delivered in the month."""
    rows = await session.execute(
        select(CoverageEntry.group_id, CoverageEntry.channel)
        .where(
            CoverageEntry.ward_id == ward_id,
            CoverageEntry.period == period,
            CoverageEntry.delivered > 0,
        )
        .distinct()
    )
    return rows.all()


async def alerts(session: AsyncSession, period: str, group_ids: list[int]) -> dict[int, str]:
    """Why the commander was warned about each of these TDPs this month, if they were."""
    return dict(
        (
            await session.execute(
                select(CoverageAlert.group_id, CoverageAlert.reason).where(
                    CoverageAlert.period == period,
                    CoverageAlert.group_id.in_(group_ids),
                )
            )
        ).all()
    )


async def claim_alert(session: AsyncSession, group_id: int, period: str, reason: str) -> bool:
    """Record the alert unless this TDP has one this month; True when it was new."""
    exists = await session.scalar(
        select(CoverageAlert.id).where(
            CoverageAlert.group_id == group_id, CoverageAlert.period == period
        )
    )
    if exists is not None:
        return False
    session.add(CoverageAlert(group_id=group_id, period=period, reason=reason, created_at=utcnow()))
    await session.flush()
    return True
