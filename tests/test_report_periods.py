"""Report periods: months, quarters, six months and years, as written and as named."""

from __future__ import annotations

from datetime import date

import pytest

from reports.periods import PeriodKind, parse_report_period


def english(text: str) -> str:
    return text


@pytest.mark.parametrize(
    ("text", "kind", "first", "last", "label"),
    [
        ("2026-11", PeriodKind.MONTH, date(2026, 11, 1), date(2026, 11, 30), "Month 11/2026"),
        ("2028-02", PeriodKind.MONTH, date(2028, 2, 1), date(2028, 2, 29), "Month 2/2028"),
        ("2026-Q3", PeriodKind.QUARTER, date(2026, 7, 1), date(2026, 9, 30), "Quarter III/2026"),
        (" 2026-q1 ", PeriodKind.QUARTER, date(2026, 1, 1), date(2026, 3, 31), "Quarter I/2026"),
        (
            "2026-H1",
            PeriodKind.HALF,
            date(2026, 1, 1),
            date(2026, 6, 30),
            "First six months of 2026",
        ),
        (
            "2026-h2",
            PeriodKind.HALF,
            date(2026, 7, 1),
            date(2026, 12, 31),
            "Last six months of 2026",
        ),
        ("2026", PeriodKind.YEAR, date(2026, 1, 1), date(2026, 12, 31), "Year 2026"),
    ],
)
def test_periods_as_written(
    text: str, kind: PeriodKind, first: date, last: date, label: str
) -> None:
    period = parse_report_period(text)
    assert (period.kind, period.first, period.last) == (kind, first, last)
    assert period.label(english) == label
    assert parse_report_period(period.key) == period


def test_the_months_of_a_period() -> None:
    assert list(parse_report_period("2026-Q4").months()) == ["2026-10", "2026-11", "2026-12"]
    assert len(list(parse_report_period("2026").months())) == 12
    assert list(parse_report_period("2026-02").months()) == ["2026-02"]


@pytest.mark.parametrize(
    "text",
    ["", "26", "2026-Q5", "2026-H3", "2026-13", "1999", "2101-Q1", "２０２６", "2026-Q", "x"],
)
def test_anything_else_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_report_period(text)
