"""Retention periods: calendar months in UTC, named `YYYY-MM`, and the kinds of record
whose data keys are wrapped under a key of their period (see storage/keyring.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from enum import StrEnum
from typing import NewType

Period = NewType("Period", str)
_NAME = re.compile(r"^(\d{4})-(\d{2})$")


class PeriodKind(StrEnum):
    """What a period key wraps; each kind has its own keys."""

    TIPS_OPEN = "tips-open"  # by the month a tip was created
    TIPS_CLOSED = "tips-closed"  # by the month it was closed
    CONVERSATIONS = "conversations"  # by the month a conversation's key was last wrapped
    DROPS = "drops"  # by month; rows that live about an hour


def period(year: int, month: int) -> Period:
    if not (1 <= month <= 12 and 1970 <= year <= 9999):
        raise ValueError("not a period")
    return Period(f"{year:04d}-{month:02d}")


def parse(text: str) -> Period:
    match = _NAME.match(text)
    if match is None:
        raise ValueError("not a period")
    return period(int(match[1]), int(match[2]))


def period_of(when: datetime) -> Period:
    """The period (UTC month) an aware time falls in."""
    if when.tzinfo is None:
        raise ValueError("an aware time is needed")
    utc = when.astimezone(UTC)
    return period(utc.year, utc.month)


def index(p: Period) -> int:
    """Months since year 0: periods compare and count by this."""
    year, month = p.split("-")
    return int(year) * 12 + int(month) - 1


def from_index(i: int) -> Period:
    return period(i // 12, i % 12 + 1)


def shifted(p: Period, months: int) -> Period:
    return from_index(index(p) + months)


def start(p: Period) -> datetime:
    """The first instant of the period."""
    year, month = p.split("-")
    return datetime(int(year), int(month), 1, tzinfo=UTC)


def between(first: Period, end: Period) -> Iterator[Period]:
    """The periods from `first` up to, not including, `end`."""
    for i in range(index(first), index(end)):
        yield from_index(i)
