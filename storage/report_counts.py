"""The monthly report's reads of tips and subscribers: columns for counting only.

reports/monthly.py turns these into figures; the queries live here so that only
storage/ speaks SQL (issue 17). No function reads a tip's content, its reporter's
route or a subscriber's route: only categories, TDPs, flags and timestamps.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import Row, func, select

from storage.models import Subscriber, Tip
from storage.session import AsyncSession


async def tips_received(
    session: AsyncSession, ward_id: int, start: datetime, end: datetime
) -> Sequence[Row[str, int | None, bool, datetime | None, datetime | None]]:
    """(category, group, urgent, acknowledged at, acknowledgement due) of each tip
    received in [start, end)."""
    return (
        await session.execute(
            select(
                Tip.category, Tip.group_id, Tip.urgent, Tip.acknowledged_at, Tip.ack_due_at
            ).where(Tip.ward_id == ward_id, Tip.created_at >= start, Tip.created_at < end)
        )
    ).all()


async def tips_closed(
    session: AsyncSession, ward_id: int, start: datetime, end: datetime
) -> Sequence[Row[datetime | None, datetime | None]]:
    """(closed at, close due) of each tip closed in [start, end)."""
    return (
        await session.execute(
            select(Tip.closed_at, Tip.close_due_at).where(
                Tip.ward_id == ward_id, Tip.closed_at >= start, Tip.closed_at < end
            )
        )
    ).all()


async def tips_open_at(session: AsyncSession, ward_id: int, end: datetime) -> int:
    """Tips received before `end` and not closed by then."""
    open_at_end = await session.scalar(
        select(func.count()).where(
            Tip.ward_id == ward_id,
            Tip.created_at < end,
            (Tip.closed_at.is_(None)) | (Tip.closed_at >= end),
        )
    )
    return int(open_at_end or 0)


async def subscribed_on_at(
    session: AsyncSession, ward_id: int, last: date
) -> Sequence[Row[int, date]]:
    """(group, subscribed on) of every subscription still running at the end of `last`."""
    return (
        await session.execute(
            select(Subscriber.group_id, Subscriber.subscribed_on).where(
                Subscriber.ward_id == ward_id,
                Subscriber.subscribed_on <= last,
                (Subscriber.active.is_(True) & Subscriber.stopped_on.is_(None))
                | (Subscriber.stopped_on > last),
            )
        )
    ).all()


async def tip_deadlines(
    session: AsyncSession, ward_id: int, start: datetime, end: datetime
) -> Sequence[
    Row[
        str,
        datetime,
        datetime | None,
        datetime | None,
        datetime | None,
        datetime | None,
        str | None,
    ]
]:
    """(source, received, acknowledged at, acknowledgement due, closed at, close due,
    outcome) of every tip that counts for the indicator of [start, end): received in it,
    closed in it, or whose closing deadline fell in it."""
    return (
        await session.execute(
            select(
                Tip.source,
                Tip.created_at,
                Tip.acknowledged_at,
                Tip.ack_due_at,
                Tip.closed_at,
                Tip.close_due_at,
                Tip.outcome,
            ).where(
                Tip.ward_id == ward_id,
                ((Tip.created_at >= start) & (Tip.created_at < end))
                | ((Tip.closed_at >= start) & (Tip.closed_at < end))
                | ((Tip.close_due_at >= start) & (Tip.close_due_at < end)),
            )
        )
    ).all()
