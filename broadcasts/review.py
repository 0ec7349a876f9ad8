"""What is due for review in the shipped content (`wardbot content review`): library
messages and quiz questions last reviewed longer ago than a number of months, or whose
validity ends soon or has ended. Pure: the caller reads the files and gives the day."""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from broadcasts.library import Content
from campaign.quiz import Question

ENDING_SOON = timedelta(days=60)


class Why(StrEnum):
    STALE = "stale"  # reviewed longer ago than the months asked
    ENDING = "ending"  # valid_until within ENDING_SOON
    ENDED = "ended"  # valid_until before today


@dataclass(frozen=True)
class Due:
    kind: str  # "message" or "question"
    slug: str
    why: Why
    day: date  # the review date (stale) or the last valid day (ending, ended)


def months_before(day: date, months: int) -> date:
    """The same day `months` calendar months earlier (the month's last day if shorter)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def due(
    today: date, months: int, messages: Iterable[Content], questions: Iterable[Question]
) -> list[Due]:
    """Messages first, then questions, each in file order; an item may be due for two
    reasons (stale and ending), and is listed once for each."""
    cutoff = months_before(today, months)
    found = []
    items = [("message", m.slug, m.reviewed, m.valid_until) for m in messages]
    items += [("question", q.slug, q.reviewed, q.valid_until) for q in questions]
    for kind, slug, reviewed, until in items:
        if reviewed is None or reviewed < cutoff:
            found.append(Due(kind, slug, Why.STALE, reviewed or date.min))
        if until is not None and until < today:
            found.append(Due(kind, slug, Why.ENDED, until))
        elif until is not None and until - today <= ENDING_SOON:
            found.append(Due(kind, slug, Why.ENDING, until))
    return found
