"""The broadcast outbox: one row per broadcast and recipient, added in batches.

A sender claims due rows with a short lease (`next_attempt_at` moved ahead) in one
transaction and sends outside it; outcomes are written back in batches with the
coverage ledger in the same transaction. A sender killed at any moment leaves its
leased rows to be sent again: duplicates are at most the messages in flight, and
nothing is lost.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kernel.routes import Route
from storage import group_chats, subscribers
from storage.crypto import Vault
from storage.models import (
    Broadcast,
    BroadcastStatus,
    CoverageEntry,
    Delivery,
    DeliveryStatus,
    GroupChat,
    Subscriber,
)

CHAT = "chat"
SUBSCRIBER = "subscriber"
LEASE = timedelta(minutes=2)
# Not finished: waiting for its time, or leased to a sender (whose lease may run out).
WAITING = (DeliveryStatus.PENDING, DeliveryStatus.SENDING)


async def expand(session: AsyncSession, broadcast: Broadcast, batch: int = 250) -> int:
    """Add the next `batch` recipients of a broadcast; returns how many were added.
    Sets `expanded` once every recipient has a row. Only the columns a delivery row
    needs are read (not whole subscriber rows with their sealed routes), a batch at a
    time, so a ward-wide broadcast never holds its recipients in memory at once."""
    added = 0
    if broadcast.to_groups and broadcast.chats_after >= 0:
        chats = (
            await session.execute(
                select(GroupChat.id, GroupChat.channel, GroupChat.group_id)
                .where(
                    _of_broadcast(GroupChat, broadcast),
                    GroupChat.active.is_(True),
                    GroupChat.id > broadcast.chats_after,
                )
                .order_by(GroupChat.id)
                .limit(batch)
            )
        ).all()
        session.add_all(
            Delivery(broadcast_id=broadcast.id, channel=c.channel, target_kind=CHAT,
                     target_id=c.id, group_id=c.group_id, next_attempt_at=broadcast.scheduled_at)
            for c in chats
        )  # fmt: skip
        added += len(chats)
        broadcast.chats_after = chats[-1].id if len(chats) == batch else -1
        if len(chats) == batch:
            await session.flush()
            return added
    if broadcast.to_subscribers and broadcast.subscribers_after >= 0:
        people = (
            await session.execute(
                select(Subscriber.id, Subscriber.channel, Subscriber.group_id)
                .where(
                    _of_broadcast(Subscriber, broadcast),
                    Subscriber.active.is_(True),
                    Subscriber.id > broadcast.subscribers_after,
                )
                .order_by(Subscriber.id)
                .limit(batch - added)
            )
        ).all()
        session.add_all(
            Delivery(broadcast_id=broadcast.id, channel=s.channel, target_kind=SUBSCRIBER,
                     target_id=s.id, group_id=s.group_id, next_attempt_at=broadcast.scheduled_at)
            for s in people
        )  # fmt: skip
        broadcast.subscribers_after = people[-1].id if len(people) == batch - added else -1
        added += len(people)
        if broadcast.subscribers_after >= 0:
            await session.flush()
            return added
    broadcast.expanded = True
    await session.flush()
    return added


def _of_broadcast(model: type[GroupChat] | type[Subscriber], broadcast: Broadcast):  # type: ignore[no-untyped-def]
    if broadcast.group_id is not None:
        return model.group_id == broadcast.group_id
    return model.ward_id == broadcast.ward_id


@dataclass(frozen=True)
class Job:
    delivery_id: int
    broadcast_id: int
    target_kind: str
    target_id: int
    group_id: int
    attempts: int
    route: Route | None  # None: the recipient stopped or left since the row was added
    language: str


async def claim(
    session: AsyncSession, vault: Vault, channel: str, now: datetime, limit: int
) -> list[Job]:
    """Due deliveries of this channel, leased to the caller and ready to send."""
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
        return []
    await session.execute(
        update(Delivery)
        .where(Delivery.id.in_([r.id for r in rows]))
        .values(status=DeliveryStatus.SENDING, next_attempt_at=now + LEASE)
    )
    chat_ids = [r.target_id for r in rows if r.target_kind == CHAT]
    people_ids = [r.target_id for r in rows if r.target_kind == SUBSCRIBER]
    chats = {c.id: c for c in await _rows(session, GroupChat, chat_ids)}
    people = {s.id: s for s in await _rows(session, Subscriber, people_ids)}
    jobs = []
    for row in rows:
        route, language = None, ""
        if row.target_kind == CHAT:
            chat = chats.get(row.target_id)
            if chat is not None and chat.active:
                route = group_chats.read_route(vault, chat)
        else:
            person = people.get(row.target_id)
            if person is not None:
                route = subscribers.read_route(vault, person)
                language = person.language
        jobs.append(Job(row.id, row.broadcast_id, row.target_kind, row.target_id, row.group_id,
                        row.attempts, route, language))  # fmt: skip
    return jobs


async def _rows(session: AsyncSession, model, ids: list[int]):  # type: ignore[no-untyped-def]
    if not ids:
        return []
    return (await session.scalars(select(model).where(model.id.in_(ids)))).all()


@dataclass(frozen=True)
class Outcome:
    job: Job
    status: DeliveryStatus  # PENDING means: try again at `retry_at`
    retry_at: datetime | None = None
    counts_attempt: bool = True  # a 429 is the sender's pace, not the recipient's fault


async def record(session: AsyncSession, outcomes: Iterable[Outcome], now: datetime) -> None:
    """Write outcomes back, and count the finished ones into the coverage ledger."""
    ledger: Counter[tuple[int, int, str, str, str]] = Counter()
    outcomes = list(outcomes)
    periods = dict((await session.execute(select(Broadcast.id, Broadcast.period).where(
        Broadcast.id.in_({o.job.broadcast_id for o in outcomes})))).all())  # fmt: skip
    channel_of = dict((await session.execute(select(Delivery.id, Delivery.channel).where(
        Delivery.id.in_([o.job.delivery_id for o in outcomes])))).all())  # fmt: skip
    for outcome in outcomes:
        job = outcome.job
        values: dict[str, object] = {"status": outcome.status}
        if outcome.status is DeliveryStatus.PENDING:
            values["next_attempt_at"] = outcome.retry_at or now
            if outcome.counts_attempt:
                values["attempts"] = job.attempts + 1
        else:
            values["finished_at"] = now
            values["attempts"] = job.attempts + 1
        # Only a row this sender still holds is changed (not one cancelled meanwhile).
        await session.execute(
            update(Delivery)
            .where(Delivery.id == job.delivery_id, Delivery.status == DeliveryStatus.SENDING)
            .values(**values)
        )
        if outcome.status in (DeliveryStatus.SENT, DeliveryStatus.BLOCKED, DeliveryStatus.FAILED):
            key = (job.group_id, job.broadcast_id, periods[job.broadcast_id],
                   channel_of[job.delivery_id], job.target_kind)  # fmt: skip
            ledger[(*key, str(outcome.status))] += 1  # type: ignore[index]
        if outcome.status is DeliveryStatus.BLOCKED and job.target_kind == SUBSCRIBER:
            person = await session.get(Subscriber, job.target_id)
            if person is not None and person.active:
                subscribers.deactivate(person)
                await subscribers.cancel_pending(session, person.id)
    await _count(session, ledger, now)


async def _count(session: AsyncSession, ledger: Counter, now: datetime) -> None:  # type: ignore[type-arg]
    for (group_id, broadcast_id, period, channel, kind, status), n in sorted(ledger.items()):
        entry = await session.scalar(
            select(CoverageEntry).where(
                CoverageEntry.group_id == group_id, CoverageEntry.period == period,
                CoverageEntry.broadcast_id == broadcast_id, CoverageEntry.channel == channel,
                CoverageEntry.target_kind == kind,
            )
        )  # fmt: skip
        if entry is None:
            ward_id = await session.scalar(
                select(Broadcast.ward_id).where(Broadcast.id == broadcast_id)
            )
            entry = CoverageEntry(ward_id=ward_id, group_id=group_id, period=period,
                                  broadcast_id=broadcast_id, channel=channel, target_kind=kind,
                                  delivered=0, blocked=0, failed=0)  # fmt: skip
            session.add(entry)
        if status == DeliveryStatus.SENT:
            entry.delivered += n
            entry.first_delivered_at = entry.first_delivered_at or now
        elif status == DeliveryStatus.BLOCKED:
            entry.blocked += n
        else:
            entry.failed += n
    await session.flush()


async def release_leases(session: AsyncSession, channel: str, now: datetime) -> int:
    """The leader's own leases from before a crash: due again at once."""
    result = await session.execute(
        update(Delivery)
        .where(Delivery.channel == channel, Delivery.status == DeliveryStatus.SENDING)
        .values(status=DeliveryStatus.PENDING, next_attempt_at=now)
    )
    return result.rowcount or 0  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Progress:
    total: int
    sent: int
    blocked: int
    failed: int
    cancelled: int

    @property
    def waiting(self) -> int:
        return self.total - self.sent - self.blocked - self.failed - self.cancelled


async def progress(session: AsyncSession, broadcast_id: int) -> Progress:
    rows = dict((await session.execute(
        select(Delivery.status, func.count()).where(Delivery.broadcast_id == broadcast_id)
        .group_by(Delivery.status))).all())  # fmt: skip
    return Progress(
        total=sum(rows.values()), sent=rows.get(DeliveryStatus.SENT, 0),
        blocked=rows.get(DeliveryStatus.BLOCKED, 0), failed=rows.get(DeliveryStatus.FAILED, 0),
        cancelled=rows.get(DeliveryStatus.CANCELLED, 0),
    )  # fmt: skip


async def start_due(session: AsyncSession, now: datetime) -> Sequence[Broadcast]:
    """Scheduled broadcasts whose time came: they start sending."""
    due = (await session.scalars(
        select(Broadcast).where(Broadcast.status == BroadcastStatus.SCHEDULED,
                                Broadcast.scheduled_at <= now)
        .with_for_update(skip_locked=True))).all()  # fmt: skip
    for broadcast in due:
        broadcast.status = BroadcastStatus.SENDING
        broadcast.started_at = now
    await session.flush()
    return due


async def finish_done(session: AsyncSession, now: datetime) -> Sequence[Broadcast]:
    """Sending broadcasts with every recipient added and none pending: done."""
    pending = select(Delivery.id).where(Delivery.broadcast_id == Broadcast.id,
                                        Delivery.status.in_(WAITING))  # fmt: skip
    done = (await session.scalars(
        select(Broadcast).where(Broadcast.status == BroadcastStatus.SENDING,
                                Broadcast.expanded.is_(True), ~pending.exists())
        .with_for_update(skip_locked=True))).all()  # fmt: skip
    for broadcast in done:
        broadcast.status = BroadcastStatus.DONE
        broadcast.finished_at = now
    await session.flush()
    return done


async def to_expand(session: AsyncSession) -> Sequence[Broadcast]:
    return (await session.scalars(
        select(Broadcast).where(Broadcast.status == BroadcastStatus.SENDING,
                                Broadcast.expanded.is_(False))
        .order_by(Broadcast.id).with_for_update(skip_locked=True))).all()  # fmt: skip
