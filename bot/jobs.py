"""Periodic work. APScheduler only ticks; what is due is read from the database, so a
tick missed while the bot was down is made up by the next one."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.mixer import mix
from broadcasts import deliveries, planner
from broadcasts.sender import leave_in_outbox
from engine.services import Services
from kernel.clock import utcnow
from kernel.errors import describe
from notices import escalate_overdue, report_broadcast, send_digests, warn_unreachable
from storage import conversations, rate_limits, shredding, tips

log = logging.getLogger(__name__)
EXPAND_BATCH = 250  # recipients per transaction: few rows in memory, short write locks
RETENTION_MINUTES = 5
# The mixer looks for due drops this often; with Services.delays an urgent tip is stored
# within a minute of being sent.
MIX_SECONDS = 5


async def mix_tick(services: Services) -> int:
    """Store the tips (and reporters' messages) whose random time came (bot/mixer.py)."""
    try:
        return await mix(services)
    except Exception as exc:  # the drops wait; the next tick tries again
        log.error("mixer tick failed: %s", describe(exc))
        return 0


async def retention_tick(services: Services, now: datetime | None = None) -> int:
    """Destroy the content of tips closed longer ago than the retention period, delete
    conversations (and unfinished reports) nobody used for `conversation_days`, drop
    what outlived its time from the others (a tip unlocked with its receipt), and then
    delete from the keyring the period keys no live row needs any more, so that old
    copies of the rows do not open either (storage/shredding.py). `now` is for tests."""
    now = now or utcnow()
    settings = services.settings
    try:
        async with services.db.transaction() as session:
            cutoff = now - timedelta(days=settings.retention_days)
            shredded = await tips.shred_closed_before(session, cutoff)
            await rate_limits.purge(session, now)
        async with services.db.transaction() as session:
            unused = now.date() - timedelta(days=settings.conversation_days)
            deleted = await conversations.delete_untouched(session, unused)
        # Only recent ones can hold something still timed: older ones were swept before.
        since = now.date() - timedelta(days=2)
        after: int | None = 0
        while after is not None:
            async with services.db.transaction() as session:
                _, after = await conversations.expire_data(
                    session, services.vault, now, touched_since=since, after_id=after
                )
        keys = await shredding.shred_period_keys(
            services.db,
            services.vault,
            services.audit,
            now,
            retention_days=settings.retention_days,
            conversation_days=settings.conversation_days,
        )
    except Exception as exc:  # the next tick tries again
        log.error("retention tick failed: %s", describe(exc))
        return 0
    if shredded:
        log.info("retention: destroyed the content of %d closed tips", shredded)
    if deleted:
        log.info("retention: deleted %d unused conversations", deleted)
    if keys:
        log.info("retention: deleted %d period keys from the keyring", len(keys))
    return shredded


async def police_tick(services: Services) -> int:
    """Escalate overdue tips and send the morning digests that are due."""
    now = utcnow()
    try:
        async with services.db.transaction() as session:
            escalated = await escalate_overdue(session, services, now)
            await send_digests(session, services, now)
    except Exception as exc:  # the next tick tries again
        log.error("police tick failed: %s", describe(exc))
        return 0
    return escalated


async def plan_tick(services: Services) -> int:
    """The coverage guarantee and the campaign calendar: plan what is due, and warn the
    commanders, once a month, of a TDP that cannot be reached."""
    now = utcnow()
    try:
        async with services.db.transaction() as session:
            plan = await planner.plan(session, services.settings, now)
            for item in plan.unreachable:
                await warn_unreachable(session, services, item, now)
    except Exception as exc:  # the next tick tries again
        log.error("broadcast planning failed: %s", describe(exc))
        return 0
    if plan.planned:
        log.info("broadcasts: %d planned", len(plan.planned))
    return len(plan.planned)


async def broadcast_tick(services: Services) -> int:
    """Start broadcasts whose time came, add their recipients in batches (each batch
    its own transaction), and close those with nothing left to send."""
    try:
        now = utcnow()
        async with services.db.transaction() as session:
            started = await deliveries.start_due(session, now)
        while True:
            async with services.db.transaction() as session:
                growing = await deliveries.to_expand(session)
                for broadcast in growing:
                    await deliveries.expand(session, broadcast, EXPAND_BATCH)
            if not growing:
                break
        await leave_in_outbox(services, "console")
        async with services.db.transaction() as session:
            for broadcast in await deliveries.finish_done(session, utcnow()):
                await report_broadcast(session, services, broadcast)
    except Exception as exc:  # the next tick tries again
        log.error("broadcast tick failed: %s", describe(exc))
        return 0
    return len(started)


class Jobs:
    """The periodic ticks of one process. Stopping waits for a tick in progress, so a
    shutdown never cuts a transaction in half."""

    def __init__(self, services: Services):
        self._services = services
        self._running: set[asyncio.Task[object]] = set()
        self._scheduler = AsyncIOScheduler(timezone=services.settings.zone)
        self._started = False

    def start(self, *, only_mixer: bool = False) -> None:
        """`only_mixer`: the console chat runs no other jobs, but a tip sent there must
        still reach the police."""
        ticks = (
            ("mix", mix_tick, {"seconds": MIX_SECONDS}),
            ("police", police_tick, {"minutes": 1}),
            # Often enough that a tip unlocked for 25 minutes is forgotten within 30.
            ("retention", retention_tick, {"minutes": RETENTION_MINUTES}),
            ("plan", plan_tick, {"minutes": 5}),
            ("broadcast", broadcast_tick, {"seconds": 15}),
        )
        for name, tick, every in ticks[:1] if only_mixer else ticks:
            self._scheduler.add_job(
                self._run,
                "interval",
                **every,
                args=[tick],
                next_run_time=utcnow(),
                coalesce=True,
                max_instances=1,
                id=name,
            )
        self._scheduler.start()
        self._started = True

    async def stop(self) -> None:
        # APScheduler cancels running coroutine jobs on shutdown: let them finish first.
        if not self._started:
            return
        self._started = False
        self._scheduler.pause()
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)
        self._scheduler.shutdown(wait=False)
        try:  # no tip waits for the next start: a stop is a random enough moment
            await mix(self._services, everything=True)
        except Exception as exc:  # they stay in the database for the next start
            log.error("storing the waiting tips at stop failed: %s", describe(exc))

    async def _run(self, tick: Callable[[Services], Awaitable[object]]) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._running.add(task)
        try:
            await tick(self._services)
        finally:
            if task is not None:
                self._running.discard(task)
