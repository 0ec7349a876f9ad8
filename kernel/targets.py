"""A ward's drug-free target for the end of a year. Kept apart from the status rules so
that reading the configuration does not load the database models."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    """A ward's target for the end of a year: a share of its TDPs, or a number of them."""

    year: int
    share: float | None = None
    count: int | None = None

    def __post_init__(self) -> None:
        if (self.share is None) == (self.count is None):
            raise ValueError("a target is a share or a count, not both")
        if self.share is not None and not 0 < self.share <= 1:
            raise ValueError("a target share is above 0 and at most 1")
        if self.count is not None and self.count < 1:
            raise ValueError("a target count is at least 1")

    def required(self, total: int) -> int:
        if self.count is not None:
            return min(self.count, total) if total else self.count
        assert self.share is not None
        return math.ceil(self.share * total - 1e-9)

    def label(self, total: int) -> str:
        if self.share is not None:
            return f"{self.share * 100:.0f}% ({self.required(total)}/{total})"
        return f"{self.count}/{total}"
