"""The monthly report's figures, as plain values: gathered from storage by
reports/monthly.py, laid out by reports/document.py. Labels are already translated.

Tip counts by category and by TDP are published as `Count`s: under MASK_BELOW they
print as "<3", so a small group's single tip cannot point at a neighbour.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

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


def published(counts: list[tuple[str, int]]) -> list[LabelledCount]:
    """Counts as they may be printed beside their total: zeros left out, 1 and 2 masked,
    and when exactly one is masked the smallest exact one is withheld too, so that
    subtracting from the total cannot reveal the small one. Largest first."""
    shown = sorted(((label, n) for label, n in counts if n > 0), key=lambda c: (-c[1], c[0]))
    small = [label for label, n in shown if n < MASK_BELOW]
    exact = [label for label, n in shown if n >= MASK_BELOW]
    withheld = {exact[-1]} if len(small) == 1 and exact else set()
    return [
        LabelledCount(label, Count(0, masked=True))
        if n < MASK_BELOW
        else LabelledCount(label, Count(0, withheld=True))
        if label in withheld
        else LabelledCount(label, Count(n))
        for label, n in shown
    ]


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


@dataclass(frozen=True)
class GroupFigures:
    """One TDP's line of the report."""

    name: str
    tips: Count
    reached: bool  # at least one awareness message delivered there this month
    messages_delivered: int  # deliveries that reached a chat or subscriber of the TDP
    channels: str  # "telegram, zalo" (where it was reached), "" when not reached
    subscribers: int  # active at the month's end
    household_pledges: int  # active at the month's end
    quiz_participants: int  # residents who answered at least one quiz question
    drug_free: str  # translated status for the year ("achieved", ...), "" when none


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
    month: str  # 2026-11
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

    @property
    def empty(self) -> bool:
        return (
            self.tips.received == 0
            and self.groups_reached.part == 0
            and self.subscribers == 0
            and self.household_pledges == 0
            and self.quiz.answers == 0
        )
