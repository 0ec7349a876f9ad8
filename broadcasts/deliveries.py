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

from kernel.routes import Route
from storage import deliveries as outbox
from storage import group_chats, subscribers
from storage.crypto import Vault
from storage.models import (
    Broadcast,
    BroadcastStatus,
    DeliveryStatus,
)
from storage.session import AsyncSession

CHAT = "chat"
SUBSCRIBER = "subscriber"
LEASE = timedelta(minutes=2)


async def expand(session: AsyncSession, broadcast: Broadcast, batch: int = 250) -> int:
    """Add the next `batch` recipients of a broadcast; returns how many were added.
    Sets `expanded` once every recipient has a row. Only the columns a delivery row
    needs are read (not whole subscriber rows with their sealed routes), a batch at a
    time, so a ward-wide broadcast never holds its recipients in memory at once."""
    added = 0
    if broadcast.to_groups and broadcast.chats_after >= 0:
        chats = await outbox.chats_after(session, broadcast, broadcast.chats_after, batch)
        outbox.add_deliveries(session, broadcast, CHAT, chats)
        added += len(chats)
        broadcast.chats_after = chats[-1].id if len(chats) == batch else -1
        if len(chats) == batch:
            await outbox.flush(session)
            return added
    if broadcast.to_subscribers and broadcast.subscribers_after >= 0:
        people = await outbox.subscribers_after(
            session, broadcast, broadcast.subscribers_after, batch - added
        )
        outbox.add_deliveries(session, broadcast, SUBSCRIBER, people)
        broadcast.subscribers_after = people[-1].id if len(people) == batch - added else -1
        added += len(people)
        if broadcast.subscribers_after >= 0:
            await outbox.flush(session)
            return added
    broadcast.expanded = True
    await outbox.flush(session)
    return added


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
    rows = await outbox.lease_due(session, channel, now, limit, now + LEASE)
    if not rows:
        return []
    chat_ids = [r.target_id for r in rows if r.target_kind == CHAT]
    people_ids = [r.target_id for r in rows if r.target_kind == SUBSCRIBER]
    chats = {c.id: c for c in await outbox.chats_by_id(session, chat_ids)}
    people = {s.id: s for s in await outbox.subscribers_by_id(session, people_ids)}
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
        jobs.append(
            Job(
                row.id,
                row.broadcast_id,
                row.target_kind,
                row.target_id,
                row.group_id,
                row.attempts,
                route,
                language,
            )
        )
    return jobs


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
    periods = await outbox.periods_of(session, {o.job.broadcast_id for o in outcomes})
    channel_of = await outbox.channels_of(session, [o.job.delivery_id for o in outcomes])
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
        await outbox.write_outcome(session, job.delivery_id, values)
        if outcome.status in (DeliveryStatus.SENT, DeliveryStatus.BLOCKED, DeliveryStatus.FAILED):
            key = (
                job.group_id,
                job.broadcast_id,
                periods[job.broadcast_id],
                channel_of[job.delivery_id],
                job.target_kind,
            )
            ledger[(*key, str(outcome.status))] += 1  # type: ignore[index]
        if outcome.status is DeliveryStatus.BLOCKED and job.target_kind == SUBSCRIBER:
            person = await outbox.subscriber(session, job.target_id)
            if person is not None and person.active:
                subscribers.deactivate(person)
                await subscribers.cancel_pending(session, person.id)
    await _count(session, ledger, now)


async def _count(session: AsyncSession, ledger: Counter, now: datetime) -> None:  # type: ignore[type-arg]
    for (group_id, broadcast_id, period, channel, kind, status), n in sorted(ledger.items()):
        entry = await outbox.ledger_entry(session, group_id, period, broadcast_id, channel, kind)
        if status == DeliveryStatus.SENT:
            entry.delivered += n
            entry.first_delivered_at = entry.first_delivered_at or now
        elif status == DeliveryStatus.BLOCKED:
            entry.blocked += n
        else:
            entry.failed += n
    await outbox.flush(session)


async def release_leases(session: AsyncSession, channel: str, now: datetime) -> int:
    """The leader's own leases from before a crash: due again at once."""
    return await outbox.release_leases(session, channel, now)


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
    rows = await outbox.status_counts(session, broadcast_id)
    return Progress(
        total=sum(rows.values()),
        sent=rows.get(DeliveryStatus.SENT, 0),
        blocked=rows.get(DeliveryStatus.BLOCKED, 0),
        failed=rows.get(DeliveryStatus.FAILED, 0),
        cancelled=rows.get(DeliveryStatus.CANCELLED, 0),
    )


async def start_due(session: AsyncSession, now: datetime) -> Sequence[Broadcast]:
    """Scheduled broadcasts whose time came: they start sending."""
    due = await outbox.due_to_start(session, now)
    for broadcast in due:
        broadcast.status = BroadcastStatus.SENDING
        broadcast.started_at = now
    await outbox.flush(session)
    return due


async def finish_done(session: AsyncSession, now: datetime) -> Sequence[Broadcast]:
    """Sending broadcasts with every recipient added and none pending: done."""
    done = await outbox.sent_out(session)
    for broadcast in done:
        broadcast.status = BroadcastStatus.DONE
        broadcast.finished_at = now
    await outbox.flush(session)
    return done


async def to_expand(session: AsyncSession) -> Sequence[Broadcast]:
    return await outbox.to_expand(session)
