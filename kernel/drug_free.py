"""The drug-free TDP rules: which status may follow which, and what the ward's targets
require. Pure functions over plain values, so the chat, the CLI and the report agree.

A TDP's status at the end of a year is its latest record of that year or before:
registered → achieved; achieved → maintained (a later year) or lost; lost → registered.
A registered TDP that has not achieved it may register again for a later year.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from kernel.i18n import N_
from kernel.targets import Target


class DrugFreeStatus(StrEnum):
    REGISTERED = "registered"  # the TDP signed up to become drug-free this year
    ACHIEVED = "achieved"  # recognised drug-free
    MAINTAINED = "maintained"  # still drug-free in a later year
    LOST = "lost"  # no longer drug-free


DRUG_FREE = frozenset({DrugFreeStatus.ACHIEVED, DrugFreeStatus.MAINTAINED})
LABELS: dict[DrugFreeStatus, str] = {
    DrugFreeStatus.REGISTERED: N_("registered"),
    DrugFreeStatus.ACHIEVED: N_("achieved"),
    DrugFreeStatus.MAINTAINED: N_("maintained"),
    DrugFreeStatus.LOST: N_("lost"),
}
FIRST_YEAR, LAST_YEAR = 2000, 2100


@dataclass(frozen=True)
class Mark:
    """A recorded status: which year it is for."""

    year: int
    status: DrugFreeStatus


class TransitionError(ValueError):
    """A status that cannot follow the TDP's current one; `reason` is an English
    message id with {placeholders} from `params`, translated where it is shown."""

    def __init__(self, reason: str, **params: object):
        super().__init__(reason.format(**params))
        self.reason = reason
        self.params = params

    def translated(self, gettext: Callable[[str], str]) -> str:
        params = {k: gettext(v) if isinstance(v, str) else v for k, v in self.params.items()}
        return gettext(self.reason).format(**params)


def allowed_next(latest: Mark | None, year: int) -> tuple[DrugFreeStatus, ...]:
    """The statuses that may be recorded for `year` after `latest` (the TDP's newest)."""
    if latest is None or latest.status is DrugFreeStatus.LOST:
        return (DrugFreeStatus.REGISTERED,)
    if year < latest.year:
        return ()
    later = year > latest.year
    if latest.status is DrugFreeStatus.REGISTERED:
        return (DrugFreeStatus.ACHIEVED, *((DrugFreeStatus.REGISTERED,) if later else ()))
    return (*((DrugFreeStatus.MAINTAINED,) if later else ()), DrugFreeStatus.LOST)


def check(latest: Mark | None, year: int, status: DrugFreeStatus) -> None:
    """Raises TransitionError when `status` for `year` cannot follow `latest`."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise TransitionError(
            N_("the year must be between {low} and {high}"), low=FIRST_YEAR, high=LAST_YEAR
        )
    if latest is not None and year < latest.year:
        raise TransitionError(
            N_("this TDP already has a status for {year}; record years in order"),
            year=latest.year,
        )
    if status not in allowed_next(latest, year):
        if latest is not None and latest.status is status and latest.year == year:
            raise TransitionError(
                N_("this TDP is already {status} for {year}"), status=LABELS[status], year=year
            )
        raise TransitionError(
            N_("a TDP that is {current} cannot become {status}"),
            current=LABELS[latest.status] if latest else N_("not registered"),
            status=LABELS[status],
        )


def status_at(marks: Iterable[Mark], year: int) -> Mark | None:
    """The status at the end of `year`: the last mark of that year or before (marks in
    the order they were recorded)."""
    found = None
    for mark in marks:
        if mark.year <= year:
            found = mark
    return found


@dataclass(frozen=True)
class YearProgress:
    year: int
    achieved: int
    total: int
    target: Target | None

    @property
    def required(self) -> int | None:
        return None if self.target is None else self.target.required(self.total)

    @property
    def met(self) -> bool | None:
        required = self.required
        return None if required is None else self.achieved >= required


def progress(
    marks_by_group: Mapping[int, list[Mark]],
    total: int,
    targets: Iterable[Target],
    current_year: int,
) -> list[YearProgress]:
    """Drug-free TDPs at the end of the current year and of every target year (a future
    year counts what is achieved so far)."""
    by_year = {t.year: t for t in targets}
    rows = []
    for year in sorted({current_year, *by_year}):
        counted = min(year, current_year)
        achieved = sum(
            1
            for marks in marks_by_group.values()
            if (mark := status_at(marks, counted)) is not None and mark.status in DRUG_FREE
        )
        rows.append(YearProgress(year, achieved, total, by_year.get(year)))
    return rows
