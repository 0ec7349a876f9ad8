"""The periods a report covers: a month, as every month; a quarter; six months, the
mid-year review ("sơ kết"); a year, the annual review ("tổng kết"). Written as
2026-11, 2026-Q3, 2026-H1 and 2026, the ward's local calendar."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from broadcasts.calendar import month_end, parse_period
from kernel.i18n import N_

FIRST_YEAR, LAST_YEAR = 2000, 2100
ROMAN = ("I", "II", "III", "IV")


class PeriodKind(StrEnum):
    MONTH = "month"
    QUARTER = "quarter"
    HALF = "half"
    YEAR = "year"


# What the report is called, for the PDF's title.
TITLES: dict[PeriodKind, str] = {
    PeriodKind.MONTH: N_("Monthly report"),
    PeriodKind.QUARTER: N_("Quarterly report"),
    PeriodKind.HALF: N_("Six-month review report"),
    PeriodKind.YEAR: N_("Annual review report"),
}


@dataclass(frozen=True)
class ReportPeriod:
    kind: PeriodKind
    first: date
    last: date

    def __post_init__(self) -> None:
        if self.last < self.first or self.first.day != 1:
            raise ValueError("a period runs from the first of a month to a later day")

    @property
    def key(self) -> str:
        """As written: 2026-11, 2026-Q3, 2026-H1, 2026."""
        year = self.first.year
        if self.kind is PeriodKind.MONTH:
            return self.first.strftime("%Y-%m")
        if self.kind is PeriodKind.QUARTER:
            return f"{year}-Q{(self.first.month - 1) // 3 + 1}"
        if self.kind is PeriodKind.HALF:
            return f"{year}-H{1 if self.first.month == 1 else 2}"
        return str(year)

    def label(self, _: Callable[[str], str]) -> str:
        """As the report names it: Tháng 11/2026, Quý III/2026, 6 tháng đầu năm 2026…"""
        year = self.first.year
        if self.kind is PeriodKind.MONTH:
            return _("Month {month}/{year}").format(month=self.first.month, year=year)
        if self.kind is PeriodKind.QUARTER:
            quarter = ROMAN[(self.first.month - 1) // 3]
            return _("Quarter {quarter}/{year}").format(quarter=quarter, year=year)
        if self.kind is PeriodKind.HALF:
            first_half = self.first.month == 1
            text = _("First six months of {year}") if first_half else _("Last six months of {year}")
            return text.format(year=year)
        return _("Year {year}").format(year=year)

    def months(self) -> Iterator[str]:
        """Each month of the period, as 2026-11."""
        day = self.first
        while day <= self.last:
            yield day.strftime("%Y-%m")
            day = month_end(day) + timedelta(days=1)


def parse_report_period(text: str) -> ReportPeriod:
    """ValueError for anything but 2026-11, 2026-Q3 (q3), 2026-H1 (h1) or 2026."""
    raw = text.strip().upper()
    year_text, _, part = raw.partition("-")
    if not (year_text.isascii() and year_text.isdecimal() and len(year_text) == 4):
        raise ValueError("a period looks like 2026-11, 2026-Q3, 2026-H1 or 2026")
    year = int(year_text)
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValueError("a period looks like 2026-11, 2026-Q3, 2026-H1 or 2026")
    if not part:
        return ReportPeriod(PeriodKind.YEAR, date(year, 1, 1), date(year, 12, 31))
    if part in ("Q1", "Q2", "Q3", "Q4"):
        start = 3 * (int(part[1]) - 1) + 1
        return ReportPeriod(PeriodKind.QUARTER, date(year, start, 1), _last_of(year, start + 2))
    if part in ("H1", "H2"):
        start = 1 if part == "H1" else 7
        return ReportPeriod(PeriodKind.HALF, date(year, start, 1), _last_of(year, start + 5))
    first = parse_period(raw)
    return ReportPeriod(PeriodKind.MONTH, first, month_end(first))


def _last_of(year: int, month: int) -> date:
    return month_end(date(year, month, 1))
