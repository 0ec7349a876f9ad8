"""Broadcast rows: drafts, planned and ad-hoc broadcasts, and the questions the
planner and the coverage table ask of them.

broadcasts/ decides what to plan, approve and send; the queries live here so that
only storage/ speaks SQL (issue 17). Statuses that count as "open" or "not sent" are
the caller's to pass: they are policy, not storage.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, func, or_, select

from storage.models import Broadcast, BroadcastKind, BroadcastStatus
from storage.session import AsyncSession


async def get(session: AsyncSession, broadcast_id: int) -> Broadcast | None:
    return await session.get(Broadcast, broadcast_id)


async def get_for_update(session: AsyncSession, broadcast_id: int) -> Broadcast | None:
    """The row locked until the transaction ends: two approvers cannot both decide it."""
    return await session.get(Broadcast, broadcast_id, with_for_update=True)


def add(session: AsyncSession, broadcast: Broadcast) -> None:
    """Keep a new broadcast row; written with the session's next flush."""
    session.add(broadcast)


async def flush(session: AsyncSession) -> None:
    await session.flush()


async def recent(session: AsyncSession, ward_id: int, limit: int = 10) -> Sequence[Broadcast]:
    """The ward's latest broadcasts, newest first."""
    return (
        await session.scalars(
            select(Broadcast)
            .where(Broadcast.ward_id == ward_id)
            .order_by(Broadcast.id.desc())
            .limit(limit)
        )
    ).all()


async def plan_key_taken(session: AsyncSession, key: str) -> bool:
    """Whether a broadcast was planned under this key already (plans are idempotent)."""
    return await session.scalar(select(Broadcast.id).where(Broadcast.plan_key == key)) is not None


async def ward_wide_open(
    session: AsyncSession, ward_id: int, period: str, statuses: Iterable[BroadcastStatus]
) -> int:
    """Ward-wide broadcasts to group chats of this month in one of `statuses`."""
    return (
        await session.scalar(
            select(func.count())
            .select_from(Broadcast)
            .where(
                Broadcast.ward_id == ward_id,
                Broadcast.group_id.is_(None),
                Broadcast.period == period,
                Broadcast.status.in_(statuses),
                Broadcast.to_groups.is_(True),
            )
        )
    ) or 0


async def monthly_attempts(
    session: AsyncSession, ward_id: int, period: str
) -> dict[int | None, int]:
    """Monthly broadcasts planned this month, per TDP (every status: each is a try)."""
    return dict(
        (
            await session.execute(
                select(Broadcast.group_id, func.count())
                .where(
                    Broadcast.ward_id == ward_id,
                    Broadcast.kind == BroadcastKind.MONTHLY,
                    Broadcast.period == period,
                )
                .group_by(Broadcast.group_id)
            )
        ).all()
    )


async def groups_with_open(
    session: AsyncSession, ward_id: int, period: str, statuses: Iterable[BroadcastStatus]
) -> set[int | None]:
    """TDPs with a broadcast of their own this month in one of `statuses`."""
    return set(
        (
            await session.scalars(
                select(Broadcast.group_id).where(
                    Broadcast.ward_id == ward_id,
                    Broadcast.group_id.is_not(None),
                    Broadcast.period == period,
                    Broadcast.status.in_(statuses),
                )
            )
        ).all()
    )


async def next_scheduled(
    session: AsyncSession, ward_id: int, period: str, statuses: Iterable[BroadcastStatus]
) -> dict[int | None, datetime]:
    """The earliest scheduled time per TDP (None: ward-wide) of this month's broadcasts
    in one of `statuses`."""
    upcoming = await session.execute(
        select(Broadcast.group_id, func.min(Broadcast.scheduled_at))
        .where(
            Broadcast.ward_id == ward_id, Broadcast.period == period, Broadcast.status.in_(statuses)
        )
        .group_by(Broadcast.group_id)
    )
    return {group_id: at for group_id, at in upcoming.all()}


async def messages_last_used(
    session: AsyncSession,
    ward_id: int,
    group_id: int | None,
    since: datetime,
    not_sent: Iterable[BroadcastStatus],
) -> dict[int | None, datetime]:
    """Library message id -> when a broadcast reaching this TDP (ward-wide ones reach
    every TDP; None asks for ward-wide only) last used it, since `since`, leaving out
    broadcasts in `not_sent`."""
    reaching: ColumnElement[bool] = Broadcast.group_id.is_(None)
    if group_id is not None:
        reaching = or_(Broadcast.group_id == group_id, reaching)
    history = (
        await session.execute(
            select(Broadcast.message_id, func.max(Broadcast.created_at))
            .where(
                Broadcast.ward_id == ward_id,
                reaching,
                Broadcast.created_at >= since,
                Broadcast.message_id.is_not(None),
                Broadcast.status.not_in(not_sent),
            )
            .group_by(Broadcast.message_id)
        )
    ).all()
    return {message_id: at for message_id, at in history}
