"""Sending one channel's broadcasts at the platform's pace.

A producer claims due deliveries in batches, workers send them through the channel as
the token buckets allow, and a flusher writes outcomes back a few times a second. The
faults are the channel's own classes: 429 waits `retry_after` and slows the bucket,
5xx and timeouts are retried with backoff, 403 marks the recipient inactive, and a
group that became a supergroup is followed. One sender per channel leads (a
PostgreSQL advisory lock); a new leader first takes back the leases of a crashed one.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from broadcasts import deliveries
from broadcasts.compose import Texts
from broadcasts.deliveries import CHAT, Job, Outcome
from broadcasts.planner import quiet_hours
from broadcasts.throttle import Limiter
from engine.delivery import enqueue_reply
from engine.services import Services
from kernel.clock import utcnow
from kernel.config import SendLimits
from kernel.errors import describe
from kernel.faults import Failure, Fault
from kernel.messages import ChatEvent, Media, Reply
from kernel.routes import Route
from storage.models import DeliveryStatus

log = logging.getLogger(__name__)

Call = Callable[[Route, Reply], Awaitable[object]]
Classify = Callable[[BaseException], Failure]
ChatEventHook = Callable[..., Awaitable[None]]


@dataclass(frozen=True)
class SenderOptions:
    max_attempts: int = 5
    first_backoff: float = 1.0  # a 5xx or a timeout: again after 1, 2, 4, 8 s
    flush_every: float = 0.25
    idle_every: float = 1.0
    follow_migrations: int = 2


# Deliveries claimed at once: four seconds' worth at most, and never more than this, as
# each claim holds its rows and their subscribers in memory (at Telegram's 30/s: 120).
CLAIM_MOST = 250


class BroadcastSender:
    def __init__(
        self,
        services: Services,
        channel: str,
        call: Call,
        classify: Classify,
        limits: SendLimits,
        *,
        chat_event: ChatEventHook | None = None,
        options: SenderOptions | None = None,
    ):
        self.services = services
        self.channel = channel
        self._call = call
        self._classify = classify
        self._chat_event = chat_event
        self.options = options or SenderOptions()
        self.limiter = Limiter(limits)
        self.workers = min(100, max(4, math.ceil(limits.per_second / 2)))
        self.batch = max(50, min(CLAIM_MOST, int(limits.per_second * 4)))
        self.counts: Counter[str] = Counter()
        self._texts = Texts(services.translator, services.settings.default_language)
        self._done: list[Outcome] = []
        self._queue: asyncio.Queue[Job] = asyncio.Queue()
        self._stopping = asyncio.Event()

    def __repr__(self) -> str:
        return f"BroadcastSender({self.channel})"

    async def run(self, stopping: asyncio.Event) -> None:
        """Send until `stopping` is set; then finish what is in flight and hand back the
        rest of the claimed batch, so a clean stop sends nothing twice."""
        self._stopping = stopping
        while not stopping.is_set():
            async with self.services.db.leadership(f"sender:{self.channel}") as leading:
                if leading:
                    await self._lead()
                    return
            await self._sleep(10.0)  # another process sends for this bot: stand by

    async def _lead(self) -> None:
        async with self.services.db.transaction() as session:
            released = await deliveries.release_leases(session, self.channel, utcnow())
        if released:
            log.info(
                "%s: %d broadcast message(s) left in flight before are due again",
                self.channel,
                released,
            )
        workers = [asyncio.create_task(self._work()) for _ in range(self.workers)]
        flusher = asyncio.create_task(self._flush_loop())
        try:
            await self._produce()
        finally:
            for _ in workers:
                self._queue.put_nowait(_STOP)
            await asyncio.gather(*workers, return_exceptions=True)
            flusher.cancel()
            await asyncio.gather(flusher, return_exceptions=True)
            self._hand_back_queued()
            await self._flush()

    async def _produce(self) -> None:
        quiet = quiet_hours(self.services.settings)
        while not self._stopping.is_set():
            now = utcnow()
            if quiet.is_quiet(now):
                await self._sleep(min(60.0, (quiet.next_allowed(now) - now).total_seconds()))
                continue
            if self._queue.qsize() >= self.batch:
                await self._sleep(0.05)
                continue
            try:
                async with self.services.db.transaction() as session:
                    jobs = await deliveries.claim(
                        session, self.services.vault, self.channel, now, self.batch
                    )
                    await self._texts.prepare(session, jobs)
            except Exception as exc:  # the database is away: try again shortly
                log.warning("%s: cannot claim broadcast messages (%s)", self.channel, describe(exc))
                await self._sleep(self.options.idle_every * 5)
                continue
            for job in jobs:
                self._queue.put_nowait(job)
            if not jobs:
                await self._sleep(self.options.idle_every)

    async def _work(self) -> None:
        while True:
            job = await self._queue.get()
            if job is _STOP:
                return
            if self._stopping.is_set():
                self._done.append(
                    Outcome(job, DeliveryStatus.PENDING, utcnow(), counts_attempt=False)
                )
                continue
            try:
                outcome = await self._deliver(job)
            except Exception as exc:  # a worker must not die: the message is retried
                log.error(
                    "%s: sending a broadcast message failed (%s)", self.channel, describe(exc)
                )
                later = utcnow() + timedelta(seconds=self.options.first_backoff)
                outcome = Outcome(job, DeliveryStatus.PENDING, later)
            # Appended only now: the flusher swaps the list while a send is awaited.
            self._done.append(outcome)

    async def _deliver(self, job: Job) -> Outcome:
        if job.route is None:  # stopped, blocked or unregistered since it was queued
            self.counts["cancelled"] += 1
            return Outcome(job, DeliveryStatus.CANCELLED)
        image = self._texts.image_for(job)
        # The image (if any) and the text are two platform calls, each paced on its own.
        calls = [Reply("", media=(Media("image", "image/jpeg", url=image),))] if image else []
        calls.append(Reply(self._texts.for_job(job)))
        route = job.route
        pace_key = f"{job.target_kind}:{job.target_id}"
        migrations = 0
        while calls:
            await self.limiter.acquire(pace_key, job.target_kind == CHAT)
            try:
                await self._call(route, calls[0])
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failure = self._classify(exc)
                self.counts[f"fault_{failure.fault}"] += 1
                if (
                    failure.fault is Fault.MOVED
                    and failure.moved_to
                    and (migrations < self.options.follow_migrations)
                ):
                    migrations += 1
                    moved = Route(route.channel, failure.moved_to)
                    await self._event(route, ChatEvent.MIGRATED, moved_to=moved)
                    route = moved
                    continue
                return await self._failed(job, route, failure, exc)
            calls.pop(0)
            self.limiter.bucket.succeeded()
        self.counts["sent"] += 1
        return Outcome(job, DeliveryStatus.SENT)

    async def _failed(self, job: Job, route: Route, failure: Failure, exc: Exception) -> Outcome:
        now = utcnow()
        if failure.fault is Fault.THROTTLED:
            wait = failure.retry_after or 1.0
            self.limiter.bucket.throttled(wait)
            return Outcome(
                job, DeliveryStatus.PENDING, now + timedelta(seconds=wait), counts_attempt=False
            )
        if failure.fault is Fault.GONE:
            self.counts["blocked"] += 1
            if job.target_kind == CHAT:
                await self._event(route, ChatEvent.BOT_REMOVED)
            return Outcome(job, DeliveryStatus.BLOCKED)
        if failure.fault is Fault.TRANSIENT and job.attempts + 1 < self.options.max_attempts:
            delay = self.options.first_backoff * 2**job.attempts
            return Outcome(job, DeliveryStatus.PENDING, now + timedelta(seconds=delay))
        self.counts["failed"] += 1
        log.warning(
            "%s: a broadcast message failed for good (%s, %s)",
            self.channel,
            failure.fault,
            describe(exc),
        )
        return Outcome(job, DeliveryStatus.FAILED)

    async def _event(self, route: Route, event: ChatEvent, moved_to: Route | None = None) -> None:
        if self._chat_event is None:
            return
        try:
            await self._chat_event(route, event, moved_to=moved_to)
        except Exception as exc:
            log.warning("%s: a chat event could not be handled (%s)", self.channel, describe(exc))

    def _hand_back_queued(self) -> None:
        now = utcnow()
        while not self._queue.empty():
            job = self._queue.get_nowait()
            if job is not _STOP:
                self._done.append(Outcome(job, DeliveryStatus.PENDING, now, counts_attempt=False))

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(self.options.flush_every)
            await self._flush()

    async def _flush(self) -> None:
        if not self._done:
            return
        outcomes, self._done = self._done, []
        try:
            async with self.services.db.transaction() as session:
                await deliveries.record(session, outcomes, utcnow())
        except Exception as exc:  # kept, and written with the next flush
            self._done[:0] = outcomes
            log.warning("%s: broadcast outcomes not written yet (%s)", self.channel, describe(exc))

    async def _sleep(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._stopping.wait(), max(0.0, seconds))
        except TimeoutError:
            pass


_STOP = Job(0, 0, "", 0, 0, 0, None, "")


async def leave_in_outbox(services: Services, channel: str, batch: int = 500) -> int:
    """For a channel without a live connection (the console): each due message is left
    sealed in the outbox, shown when that person next opens the chat, and counted as
    delivered then. Returns how many were left."""
    quiet = quiet_hours(services.settings)
    texts = Texts(services.translator, services.settings.default_language)
    left = 0
    while not quiet.is_quiet(now := utcnow()):
        async with services.db.transaction() as session:
            jobs = await deliveries.claim(session, services.vault, channel, now, batch)
            await texts.prepare(session, jobs)
            outcomes = []
            for job in jobs:
                if job.route is None:
                    outcomes.append(Outcome(job, DeliveryStatus.CANCELLED))
                    continue
                await enqueue_reply(session, services, job.route, texts.for_job(job))
                outcomes.append(Outcome(job, DeliveryStatus.SENT))
            await deliveries.record(session, outcomes, now)
        left += len(jobs)
        if len(jobs) < batch:
            break
    return left
