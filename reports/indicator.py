"""The indicator of seed 001: "100% tin báo, tố giác tội phạm về ma túy được tiếp nhận,
xử lý kịp thời", per source and overall, for any period.

- Received on time: of the tips received in the period whose acknowledgement was due
  by the time of the report (or that were acknowledged), those acknowledged by their
  deadline. A tip an officer recorded (hotline, tip box…) was received by the police
  the moment it was told, so it counts as on time.
- Handled on time: of the tips closed in the period, and those still open whose
  closing deadline fell in the period and has passed, those closed by their deadline.
  A tip still open past its deadline is a miss, not left out (and, closed late in a
  later period, a miss of that period too).
Each miss is listed with its source, which deadline and by how long. Counts only: no
tip's content, code or TDP is read here."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from kernel.tip_sources import TipSource
from reports.figures import Share, sum_shares


class Deadline(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    CLOSE = "close"


@dataclass(frozen=True)
class TipTimes:
    source: str
    received: datetime
    acknowledged: datetime | None
    ack_due: datetime | None
    closed: datetime | None
    close_due: datetime | None
    outcome: str | None


@dataclass(frozen=True)
class Miss:
    source: TipSource
    deadline: Deadline
    late_by: timedelta
    still_open: bool  # not acknowledged / not closed yet when the report was made


@dataclass(frozen=True)
class SourceFigures:
    source: TipSource
    received: int
    received_on_time: Share
    handled_on_time: Share


@dataclass(frozen=True)
class Indicator:
    by_source: tuple[SourceFigures, ...]  # every source with anything to count, in order
    received: int
    received_on_time: Share
    handled_on_time: Share
    misses: tuple[Miss, ...]  # latest deadline first
    outcomes: dict[str, int]  # of the tips closed in the period

    @property
    def met(self) -> bool | None:
        """Whether the period reached 100% on both counts; None when nothing was due."""
        due = self.received_on_time.whole + self.handled_on_time.whole
        if due == 0:
            return None
        return (
            self.received_on_time.part == self.received_on_time.whole
            and self.handled_on_time.part == self.handled_on_time.whole
        )


def compute(rows: Iterable[TipTimes], start: datetime, end: datetime, as_of: datetime) -> Indicator:
    """The indicator of [start, end) as it stood at `as_of` (the report's time, or the
    period's end if that is earlier)."""
    as_of = min(as_of, end)
    tally: dict[TipSource, list[int]] = {}  # received, ack ok, ack due, close ok, close due
    misses: list[Miss] = []
    outcomes: dict[str, int] = {}
    for row in rows:
        source = _source(row.source)
        counts = tally.setdefault(source, [0, 0, 0, 0, 0])
        if start <= row.received < end:
            counts[0] += 1
            ack = _judge(row.acknowledged, row.ack_due, as_of)
            if ack is not None:
                counts[2] += 1
                counts[1] += ack is True
                if isinstance(ack, _Late):
                    misses.append(Miss(source, Deadline.ACKNOWLEDGE, ack.by, ack.still_open))
        closed_in = row.closed is not None and start <= row.closed < end
        # Open past the period's end, with its deadline in it: a miss of this period.
        open_past = (row.closed is None or row.closed >= end) and (
            row.close_due is not None and start <= row.close_due < end
        )
        if closed_in and row.outcome:
            outcomes[row.outcome] = outcomes.get(row.outcome, 0) + 1
        if closed_in or open_past:
            close = _judge(row.closed, row.close_due, as_of)
            if close is not None:
                counts[4] += 1
                counts[3] += close is True
                if isinstance(close, _Late):
                    misses.append(Miss(source, Deadline.CLOSE, close.by, close.still_open))
    by_source = tuple(
        SourceFigures(s, c[0], Share(c[1], c[2]), Share(c[3], c[4]))
        for s, c in sorted(tally.items(), key=lambda item: list(TipSource).index(item[0]))
        if any(c)
    )
    return Indicator(
        by_source=by_source,
        received=sum(f.received for f in by_source),
        received_on_time=sum_shares(f.received_on_time for f in by_source),
        handled_on_time=sum_shares(f.handled_on_time for f in by_source),
        misses=tuple(sorted(misses, key=lambda m: m.late_by, reverse=True)),
        outcomes=outcomes,
    )


@dataclass(frozen=True)
class _Late:
    by: timedelta
    still_open: bool


def _judge(done: datetime | None, due: datetime | None, as_of: datetime) -> bool | _Late | None:
    """True: done by the deadline. _Late: missed. None: not due yet (or no deadline),
    so not counted."""
    if due is None:
        return None
    if done is not None and done <= as_of:
        return True if done <= due else _Late(done - due, still_open=False)
    if due < as_of:
        return _Late(as_of - due, still_open=True)
    return None


def _source(raw: str) -> TipSource:
    try:
        return TipSource(raw)
    except ValueError:
        return TipSource.BOT
