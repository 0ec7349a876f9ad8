"""The monthly report's figures, as plain values: gathered from storage by
reports/monthly.py, laid out by reports/document.py. Labels are already translated.

Tip counts by category and by TDP are published as `Count`s: under MASK_BELOW they
print as "<3", so a small group's single tip cannot point at a neighbour, and enough
others are withheld ("x") that no masked count can be worked out from the total.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from kernel.search_keys import search_key
from reports.periods import PeriodKind, ReportPeriod, parse_report_period

MASK_BELOW = 3


def month_label(month: str) -> str:
    """2026-11 as people write it in both languages: 11/2026."""
    year, number = month.split("-")
    return f"{number}/{year}"


@dataclass(frozen=True)
class Count:
    """A published count: exact, masked ("<3") when small and not zero, or withheld ("x")
    when a single masked count could otherwise be worked out from the total. A masked or
    withheld count carries no value at all (0), so no layout can print it by mistake."""

    value: int
    masked: bool = False
    withheld: bool = False

    def __str__(self) -> str:
        if self.withheld:
            return "x"
        return f"<{MASK_BELOW}" if self.masked else str(self.value)

    @property
    def hidden(self) -> bool:
        return self.masked or self.withheld


def published(counts: list[tuple[str, int]], *, together: str) -> list[LabelledCount]:
    """Counts as they may be printed beside their total (which is printed too): zeros
    left out, 1 and 2 masked ("<3"), and then the smallest exact counts withheld ("x")
    one by one until no hidden count can be worked out by subtracting from the total.
    When even hiding every row would not do (one row alone is the total), the rows are
    merged into one, labelled `together`. Exact counts first, largest first; hidden
    ones after them by label, so that their place says nothing of their size."""
    rows = [(label, n) for label, n in counts if n > 0]
    total = sum(n for _, n in rows)
    exact = sorted((c for c in rows if c[1] >= MASK_BELOW), key=lambda c: (-c[1], _order(c[0])))
    masked = sorted((label for label, n in rows if n < MASK_BELOW), key=_order)
    withheld: list[str] = []
    while masked and not _undetermined(len(masked), len(withheld), exact, total):
        if not exact:
            return [LabelledCount(together, _count(total))]
        withheld.append(exact.pop()[0])
    return (
        [LabelledCount(label, Count(n)) for label, n in exact]
        + [LabelledCount(label, Count(0, withheld=True)) for label in sorted(withheld, key=_order)]
        + [LabelledCount(label, Count(0, masked=True)) for label in masked]
    )


def _order(label: str) -> tuple[str, str]:
    """Alphabetical as a Vietnamese reader expects (Đ among the Ds, accents aside)."""
    return search_key(label), label


def _count(n: int) -> Count:
    return Count(0, masked=True) if 0 < n < MASK_BELOW else Count(n)


def _undetermined(masked: int, withheld: int, exact: list[tuple[str, int]], total: int) -> bool:
    """Whether every hidden count could be either of two values, for a reader who knows
    the total, the exact counts, and this rule: a masked count is 1 or 2, a withheld one
    is at least 3 and (the smallest being withheld first) at most the smallest exact."""
    rest = total - sum(n for _, n in exact)
    ceiling = exact[-1][1] if exact else rest  # a withheld count's largest possible value

    def reachable(m: int, w: int) -> tuple[int, int]:  # the sums m masked and w withheld make
        return m + MASK_BELOW * w, 2 * m + ceiling * w

    def choices(low: int, high: int, m: int, w: int) -> int:
        others_low, others_high = reachable(m, w)
        return sum(others_low <= rest - v <= others_high for v in range(low, high + 1))

    masked_free = choices(1, MASK_BELOW - 1, masked - 1, withheld) >= 2
    withheld_free = withheld == 0 or choices(MASK_BELOW, ceiling, masked, withheld - 1) >= 2
    return masked_free and withheld_free


@dataclass(frozen=True)
class Share:
    """`part` of `whole` (for "acknowledged on time: 9 of 10, 90%"); no whole, no %."""

    part: int
    whole: int

    @property
    def percent(self) -> float | None:
        return None if self.whole == 0 else 100.0 * self.part / self.whole

    def __str__(self) -> str:
        pct = self.percent
        return f"{self.part}/{self.whole}" + ("" if pct is None else f" ({pct:.0f}%)")

    @property
    def shown(self) -> str:
        """As printed in the report: a dash when there was nothing to count."""
        return "—" if self.whole == 0 else str(self)


def sum_shares(shares: Iterable[Share]) -> Share:
    """The parts over the wholes: 9 of 10 and 1 of 2 make 10 of 12."""
    parts = wholes = 0
    for share in shares:
        parts += share.part
        wholes += share.whole
    return Share(parts, wholes)


@dataclass(frozen=True)
class TipFigures:
    received: int  # tips created in the month (local time)
    urgent: int
    # Of the month's tips whose acknowledgement was due by the report's end (or done):
    acknowledged_on_time: Share
    # Closed in the month, and of those, closed by their deadline:
    closed: int
    closed_on_time: Share
    open_at_end: int  # all of the ward's tips still open when the month ended


@dataclass(frozen=True)
class LabelledCount:
    label: str
    count: Count


# The report's section on the police's work with tips (gathered by reports/tip_work.py).


@dataclass(frozen=True)
class SourceShare:
    source: str
    received_on_time: Share
    handled_on_time: Share


@dataclass(frozen=True)
class MissLine:
    source: str  # "" where the source's count is not printed exactly
    deadline: str
    late_by: str
    still_open: bool


@dataclass(frozen=True)
class BoxLine:
    group: str
    box_since: str  # dd/mm/yyyy, "" without a box
    board_since: str
    openings: int


@dataclass(frozen=True)
class TipWork:
    received: int
    received_on_time: Share
    handled_on_time: Share
    met: bool | None
    by_source: list[LabelledCount]
    source_shares: list[SourceShare]
    misses: list[MissLine]
    outcomes: list[LabelledCount]
    boxes: list[BoxLine]
    groups_with_box: Share
    groups_with_board: Share
    openings: int
    tips_in_boxes: int
    remarks: str

    def verdict(self, gettext: Callable[[str], str]) -> str:
        """Whether the period reached the plans' 100%, in words."""
        if self.met is None:
            return gettext("nothing was due yet")
        return gettext("attained") if self.met else gettext("not attained")

    def indicator_line(self, gettext: Callable[[str], str]) -> str:
        return gettext(
            "Tips received on time: {received}; handled on time: {handled}; "
            "target of 100%: {verdict}."
        ).format(
            received=self.received_on_time.shown,
            handled=self.handled_on_time.shown,
            verdict=self.verdict(gettext),
        )


@dataclass(frozen=True)
class GroupFigures:
    """One TDP's line of the report."""

    name: str
    reached: bool  # at least one awareness message delivered there this month
    messages_delivered: int  # deliveries that reached a chat or subscriber of the TDP
    channels: str  # "telegram, zalo" (where it was reached), "" when not reached
    subscribers: int  # active at the month's end
    household_pledges: int  # active at the month's end
    quiz_participants: int  # residents who answered at least one quiz question
    drug_free: str  # translated status for the year ("achieved", ...), "" when none
    # Over a period of several months: the months it was reached in, of the period's.
    months_reached: Share | None = None


@dataclass(frozen=True)
class OrganisationPledge:
    kind: str  # translated: school, business, residential group
    name: str  # the organisation's public name
    group: str  # TDP name, "" when ward-wide
    signed_on: str  # ISO date


@dataclass(frozen=True)
class DrugFreeYear:
    """Drug-free TDPs at the end of `year` against the ward's target."""

    year: int
    achieved: int  # achieved or maintained
    total: int  # the ward's active TDPs
    target: int | None  # TDPs required by the target set for this year, if any
    target_label: str  # "30% (12/40)" or "" when no target is set for the year


@dataclass(frozen=True)
class QuizFigures:
    participants: int
    answers: int
    correct: Share


@dataclass(frozen=True)
class MonthlyReport:
    ward: str
    city: str
    month: str  # the period's key: 2026-11, or 2026-Q3, 2026-H1, 2026 (reports/periods.py)
    language: str
    generated_at: datetime  # local time of the ward
    tips: TipFigures
    tips_by_category: list[LabelledCount]
    tips_by_group: list[LabelledCount]
    groups: list[GroupFigures]
    groups_reached: Share  # TDPs reached this month of the ward's active TDPs
    subscribers: int
    subscribers_new: int
    household_pledges: int
    household_pledges_new: int
    organisation_pledges: list[OrganisationPledge]
    quiz: QuizFigures
    drug_free: list[DrugFreeYear]
    notes: list[str] = field(default_factory=list)  # translated remarks ("no tips this month")
    tip_work: TipWork | None = None  # the police's work with tips and the indicator

    @property
    def period(self) -> ReportPeriod:
        return parse_report_period(self.month)

    @property
    def monthly(self) -> bool:
        return self.period.kind is PeriodKind.MONTH

    @property
    def empty(self) -> bool:
        return (
            self.tips.received == 0
            and self.groups_reached.part == 0
            and self.subscribers == 0
            and self.household_pledges == 0
            and self.quiz.answers == 0
        )
