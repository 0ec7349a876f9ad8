"""Local time for broadcasts: the month a delivery counts for, quiet hours, and the
dates of yearly campaigns. Everything is computed in the ward's time zone (the
config's `bot.timezone`) and stored in UTC."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def period_of(moment: datetime, zone: ZoneInfo) -> str:
    """The month `moment` belongs to in the ward: '2026-11'."""
    return moment.astimezone(zone).strftime("%Y-%m")


def parse_period(text: str) -> date:
    """'2026-11' -> the first day of that month; ValueError for anything else, a year
    outside 2000-2100 included (year 1 or 9999 would overflow the ward's clock)."""
    year, _, month = text.strip().partition("-")
    digits = (year + month).isascii() and year.isdecimal() and month.isdecimal()
    if not (digits and len(year) == 4 and len(month) in (1, 2) and 2000 <= int(year) <= 2100):
        raise ValueError("a month looks like 2026-11")
    return date(int(year), int(month), 1)


def month_end(first: date) -> date:
    """The last day of the month that starts on `first`."""
    following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - timedelta(days=1)


def at_local(day: date, clock: str, zone: ZoneInfo) -> datetime:
    """`clock` ('08:00') on `day` in the ward, as an aware UTC datetime."""
    hours, minutes = (int(part) for part in clock.split(":"))
    return datetime.combine(day, time(hours, minutes), tzinfo=zone).astimezone(UTC)


@dataclass(frozen=True)
class QuietHours:
    """No broadcast goes out between `start` and `end` local time (21:00-07:00 by
    default): people are asleep, and a message at night alarms more than it informs."""

    start: str
    end: str
    zone: ZoneInfo

    def _minutes(self, clock: str) -> int:
        hours, minutes = (int(part) for part in clock.split(":"))
        return hours * 60 + minutes

    def is_quiet(self, moment: datetime) -> bool:
        local = moment.astimezone(self.zone)
        now = local.hour * 60 + local.minute
        start, end = self._minutes(self.start), self._minutes(self.end)
        if start == end:
            return False
        if start < end:
            return start <= now < end
        return now >= start or now < end

    def next_allowed(self, moment: datetime) -> datetime:
        """`moment` itself, or the end of the quiet hours it falls in."""
        if not self.is_quiet(moment):
            return moment
        local = moment.astimezone(self.zone)
        end = at_local(local.date(), self.end, self.zone)
        if end <= moment:
            end = at_local(local.date() + timedelta(days=1), self.end, self.zone)
        return end


def campaign_days(year: int, month: int, day: int | None) -> Iterator[tuple[int, date]]:
    """(occurrence number, date) of a campaign in `year`: its date, or the first day of
    each week of the month (1, 8, 15, 22, 29) for a month-long campaign."""
    if day is not None:
        yield 1, date(year, month, day)
        return
    last = month_end(date(year, month, 1)).day
    for number, start in enumerate(range(1, last + 1, 7), start=1):
        yield number, date(year, month, start)
