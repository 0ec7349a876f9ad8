"""Rate limits per pseudonym, counted in hour buckets.

Only the hour is stored, so a counter row cannot be matched to the exact moment of
the tip it counted; rows older than two days are dropped. Where others' failures must
not lock someone out (wrong secrets tried on a reporter's tip code), failures set a
growing but short wait instead of a limit (`record_failure`, `wait_left`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import RateCounter


@dataclass(frozen=True)
class Limit:
    count: int
    hours: int


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: timedelta = timedelta(0)


def hour_of(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def _next_minute(moment: datetime) -> datetime:
    floor = moment.replace(second=0, microsecond=0)
    return floor if floor == moment else floor + timedelta(minutes=1)


@dataclass(frozen=True)
class GrowingWait:
    """`free` failures in an hour cost nothing; each one after waits twice as long as
    the one before, from `first`, never longer than `longest`."""

    free: int
    first: timedelta
    longest: timedelta

    def wait_after(self, failures: int) -> timedelta:
        if failures <= self.free:
            return timedelta(0)
        return min(self.longest, self.first * 2 ** (failures - self.free - 1))


async def wait_left(session: AsyncSession, subject: str, kind: str, now: datetime) -> timedelta:
    """How long before the next try is taken (zero: now)."""
    latest = await session.scalar(
        select(func.max(RateCounter.not_before)).where(
            RateCounter.subject == subject, RateCounter.kind == kind
        )
    )
    if latest is None:
        return timedelta(0)
    if latest.tzinfo is None:  # func.max bypasses the column type on SQLite
        latest = latest.replace(tzinfo=now.tzinfo)
    return max(timedelta(0), latest - now)


async def record_failure(
    session: AsyncSession, subject: str, kind: str, now: datetime, policy: GrowingWait
) -> timedelta:
    """Count one failure and set the wait it earns; returns that wait."""
    await record(session, subject, kind, now)
    failures = int(
        await session.scalar(
            select(func.coalesce(func.sum(RateCounter.count), 0)).where(
                RateCounter.subject == subject,
                RateCounter.kind == kind,
                RateCounter.hour >= hour_of(now) - timedelta(hours=1),
            )
        )
        or 0
    )
    wait = policy.wait_after(failures)
    if wait:
        counter = await session.scalar(
            select(RateCounter).where(
                RateCounter.subject == subject,
                RateCounter.kind == kind,
                RateCounter.hour == hour_of(now),
            )
        )
        if counter is not None:
            counter.not_before = _next_minute(now + wait)
            await session.flush()
    return wait


def decide(times: list[datetime], limits: list[Limit], now: datetime) -> Decision:
    """Whether one more event is allowed after those at `times` (kept where no row is
    written, in a sealed conversation), over sliding windows of each limit's hours."""
    for limit in sorted(limits, key=lambda item: item.hours):
        window = timedelta(hours=limit.hours)
        inside = sorted(t for t in times if t > now - window)
        if len(inside) >= limit.count:
            # Allowed again when enough of the oldest have left the window.
            oldest_needed = inside[len(inside) - limit.count]
            return Decision(False, max(oldest_needed + window - now, timedelta(minutes=1)))
    return Decision(True)


async def check(
    session: AsyncSession, subject: str, kind: str, limits: list[Limit], now: datetime
) -> Decision:
    """Whether one more event is allowed, without counting it."""
    for limit in sorted(limits, key=lambda item: item.hours):
        since = hour_of(now) - timedelta(hours=limit.hours - 1)
        rows = (
            await session.execute(
                select(RateCounter.hour, RateCounter.count)
                .where(
                    RateCounter.subject == subject,
                    RateCounter.kind == kind,
                    RateCounter.hour >= since,
                )
                .order_by(RateCounter.hour)
            )
        ).all()
        if sum(count for _, count in rows) >= limit.count:
            # Allowed again when enough of the oldest hours have left the window.
            excess = sum(count for _, count in rows) - limit.count + 1
            for hour, count in rows:
                excess -= count
                if excess <= 0:
                    wait = hour + timedelta(hours=limit.hours) - now
                    return Decision(False, max(wait, timedelta(minutes=1)))
    return Decision(True)


async def record(session: AsyncSession, subject: str, kind: str, now: datetime) -> None:
    hour = hour_of(now)
    counter = await session.scalar(
        select(RateCounter)
        .where(RateCounter.subject == subject, RateCounter.kind == kind, RateCounter.hour == hour)
        .with_for_update()
    )
    if counter is None:
        try:
            async with session.begin_nested():
                session.add(RateCounter(subject=subject, kind=kind, hour=hour, count=1))
                await session.flush()
            return
        except IntegrityError:
            counter = await session.scalar(
                select(RateCounter)
                .where(
                    RateCounter.subject == subject,
                    RateCounter.kind == kind,
                    RateCounter.hour == hour,
                )
                .with_for_update()
            )
            assert counter is not None
    counter.count += 1
    await session.flush()


async def clear(session: AsyncSession, subject: str, kind: str) -> None:
    await session.execute(
        delete(RateCounter).where(RateCounter.subject == subject, RateCounter.kind == kind)
    )


async def purge(session: AsyncSession, now: datetime, keep: timedelta = timedelta(days=2)) -> int:
    result = cast(
        "CursorResult[Any]",
        await session.execute(delete(RateCounter).where(RateCounter.hour < now - keep)),
    )
    return int(result.rowcount or 0)


async def total(session: AsyncSession, kind: str) -> int:
    return int(await session.scalar(select(func.count()).where(RateCounter.kind == kind)) or 0)
