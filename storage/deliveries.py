"""The broadcast outbox's queries: delivery rows, their leases and outcomes, the
coverage ledger they are counted into, and the broadcasts' sending states.

broadcasts/deliveries.py decides what to send and when; the SQL it needs lives here so
that only storage/ speaks SQL (issue 17). Each function keeps the exact query it
replaced: recipients are read a batch at a time and only the columns a delivery row
needs, rows are locked with SKIP LOCKED so two senders never claim the same row.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, func, select, update

from storage.models import (
    Broadcast,
    BroadcastStatus,
    CoverageEntry,
    Delivery,
    DeliveryStatus,
    GroupChat,
    Subscriber,
)
from storage.session import AsyncSession

# Not finished: waiting for its time, or leased to a sender (whose lease may run out).
WAITING = (DeliveryStatus.PENDING, DeliveryStatus.SENDING)


def _of_broadcast(
    model: type[GroupChat] | type[Subscriber], broadcast: Broadcast
) -> ColumnElement[bool]:
    if broadcast.group_id is not None:
        return model.group_id == broadcast.group_id
    return model.ward_id == broadcast.ward_id


async def chats_after(
    session: AsyncSession, broadcast: Broadcast, after_id: int, limit: int
) -> Sequence[Row[int, str, int]]:
    """(id, channel, group_id) of the broadcast's active group chats past `after_id`,
    in id order, at most `limit`: one expansion batch, without the sealed routes."""
    return (
        await session.execute(
            select(GroupChat.id, GroupChat.channel, GroupChat.group_id)
            .where(
                _of_broadcast(GroupChat, broadcast),
                GroupChat.active.is_(True),
                GroupChat.id > after_id,
            )
            .order_by(GroupChat.id)
            .limit(limit)
        )
    ).all()


async def subscribers_after(
    session: AsyncSession, broadcast: Broadcast, after_id: int, limit: int
) -> Sequence[Row[int, str, int]]:
    """(id, channel, group_id) of the broadcast's active subscribers past `after_id`:
    like chats_after, the columns a delivery row needs and nothing sealed."""
    return (
        await session.execute(
            select(Subscriber.id, Subscriber.channel, Subscriber.group_id)
            .where(
                _of_broadcast(Subscriber, broadcast),
                Subscriber.active.is_(True),
                Subscriber.id > after_id,
            )
            .order_by(Subscriber.id)
            .limit(limit)
        )
    ).all()


def add_deliveries(
    session: AsyncSession,
    broadcast: Broadcast,
    target_kind: str,
    targets: Iterable[Row[int, str, int]],
) -> None:
    """One pending delivery row per target (id, channel, group_id), due when the
    broadcast is; written with the session's next flush."""
    session.add_all(
        Delivery(
            broadcast_id=broadcast.id,
            channel=t.channel,
            target_kind=target_kind,
            target_id=t.id,
            group_id=t.group_id,
            next_attempt_at=broadcast.scheduled_at,
        )
        for t in targets
    )


async def flush(session: AsyncSession) -> None:
    """Write what the session holds now (rows added, attributes changed)."""
    await session.flush()


async def lease_due(
    session: AsyncSession, channel: str, now: datetime, limit: int, until: datetime
) -> Sequence[Delivery]:
    """Due deliveries of this channel whose broadcast is sending, locked (skipping rows
    another sender holds) and leased until `until`."""
    rows = (
        await session.scalars(
            select(Delivery)
            .join(Broadcast, Broadcast.id == Delivery.broadcast_id)
            .where(
                Delivery.channel == channel,
                Delivery.status.in_(WAITING),
                Delivery.next_attempt_at <= now,
                Broadcast.status == BroadcastStatus.SENDING,
            )
            .order_by(Delivery.id)
            .limit(limit)
            .with_for_update(of=Delivery, skip_locked=True)
        )
    ).all()
    if not rows:
        return rows
    await session.execute(
        update(Delivery)
        .where(Delivery.id.in_([r.id for r in rows]))
        .values(status=DeliveryStatus.SENDING, next_attempt_at=until)
    )
    return rows


async def chats_by_id(session: AsyncSession, ids: list[int]) -> Sequence[GroupChat]:
    """The group chat rows with these ids, in one query (none for no ids)."""
    if not ids:
        return []
    return (await session.scalars(select(GroupChat).where(GroupChat.id.in_(ids)))).all()


async def subscribers_by_id(session: AsyncSession, ids: list[int]) -> Sequence[Subscriber]:
    """The subscriber rows with these ids, in one query (none for no ids)."""
    if not ids:
        return []
    return (await session.scalars(select(Subscriber).where(Subscriber.id.in_(ids)))).all()


async def periods_of(session: AsyncSession, broadcast_ids: Iterable[int]) -> dict[int, str]:
    """Broadcast id -> its period (the month it counts for), in one query."""
    return dict(
        (
            await session.execute(
                select(Broadcast.id, Broadcast.period).where(Broadcast.id.in_(set(broadcast_ids)))
            )
        ).all()
    )


async def channels_of(session: AsyncSession, delivery_ids: Iterable[int]) -> dict[int, str]:
    """Delivery id -> its channel, in one query."""
    return dict(
        (
            await session.execute(
                select(Delivery.id, Delivery.channel).where(Delivery.id.in_(list(delivery_ids)))
            )
        ).all()
    )


async def write_outcome(session: AsyncSession, delivery_id: int, values: dict[str, Any]) -> None:
    """Change a delivery only while it is still SENDING: a row cancelled meanwhile, or
    whose lease another sender took over, stays as it is."""
    await session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id, Delivery.status == DeliveryStatus.SENDING)
        .values(**values)
    )


async def subscriber(session: AsyncSession, subscriber_id: int) -> Subscriber | None:
    return await session.get(Subscriber, subscriber_id)


async def ledger_entry(
    session: AsyncSession, group_id: int, period: str, broadcast_id: int, channel: str, kind: str
) -> CoverageEntry:
    """The coverage ledger's row for this TDP, month, broadcast, channel and kind of
    target; a new one at zero (added to the session) when there is none yet."""
    entry = await session.scalar(
        select(CoverageEntry).where(
            CoverageEntry.group_id == group_id,
            CoverageEntry.period == period,
            CoverageEntry.broadcast_id == broadcast_id,
            CoverageEntry.channel == channel,
            CoverageEntry.target_kind == kind,
        )
    )
    if entry is None:
        ward_id = await session.scalar(
            select(Broadcast.ward_id).where(Broadcast.id == broadcast_id)
        )
        entry = CoverageEntry(
            ward_id=ward_id,
            group_id=group_id,
            period=period,
            broadcast_id=broadcast_id,
            channel=channel,
            target_kind=kind,
            delivered=0,
            blocked=0,
            failed=0,
        )
        session.add(entry)
    return entry


async def release_leases(session: AsyncSession, channel: str, now: datetime) -> int:
    """Every SENDING row of this channel made due again at once; returns how many."""
    result = await session.execute(
        update(Delivery)
        .where(Delivery.channel == channel, Delivery.status == DeliveryStatus.SENDING)
        .values(status=DeliveryStatus.PENDING, next_attempt_at=now)
    )
    return result.rowcount or 0  # type: ignore[attr-defined]


async def status_counts(session: AsyncSession, broadcast_id: int) -> dict[str, int]:
    """How many of the broadcast's deliveries are in each status."""
    return dict(
        (
            await session.execute(
                select(Delivery.status, func.count())
                .where(Delivery.broadcast_id == broadcast_id)
                .group_by(Delivery.status)
            )
        ).all()
    )


async def due_to_start(session: AsyncSession, now: datetime) -> Sequence[Broadcast]:
    """Scheduled broadcasts whose time came, locked (skipping those another holds)."""
    return (
        await session.scalars(
            select(Broadcast)
            .where(Broadcast.status == BroadcastStatus.SCHEDULED, Broadcast.scheduled_at <= now)
            .with_for_update(skip_locked=True)
        )
    ).all()


async def sent_out(session: AsyncSession) -> Sequence[Broadcast]:
    """Sending broadcasts with every recipient added and no delivery waiting, locked."""
    pending = select(Delivery.id).where(
        Delivery.broadcast_id == Broadcast.id, Delivery.status.in_(WAITING)
    )
    return (
        await session.scalars(
            select(Broadcast)
            .where(
                Broadcast.status == BroadcastStatus.SENDING,
                Broadcast.expanded.is_(True),
                ~pending.exists(),
            )
            .with_for_update(skip_locked=True)
        )
    ).all()


async def to_expand(session: AsyncSession) -> Sequence[Broadcast]:
    """Sending broadcasts some of whose recipients have no delivery row yet, locked."""
    return (
        await session.scalars(
            select(Broadcast)
            .where(Broadcast.status == BroadcastStatus.SENDING, Broadcast.expanded.is_(False))
            .order_by(Broadcast.id)
            .with_for_update(skip_locked=True)
        )
    ).all()
