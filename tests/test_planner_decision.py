"""The monthly guarantee's decision for one TDP (broadcasts/planner.py:decide_monthly),
on plain values, without a database: when its message is planned, when nothing is
done, and when the commanders are told it cannot be reached. The planner's use of it
on real tables is tested in tests/test_broadcasts.py."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from broadcasts.calendar import QuietHours
from broadcasts.planner import (
    MONTHLY_ATTEMPTS,
    CannotReach,
    GroupMonth,
    MonthlyTimes,
    SendMonthly,
    Skip,
    decide_monthly,
)

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
QUIET = QuietHours("21:00", "07:00", HCM)


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=HCM).astimezone(UTC)


# November 2026: due on the 5th at 09:00, the ward's time.
NOVEMBER = MonthlyTimes(due=local(2026, 11, 5, 9), clock="09:00", zone=HCM, quiet=QUIET)
FRESH = GroupMonth(covered=False, open_for_it=False, ward_wide_open=False, targets=3, attempts=0)


def test_at_the_month_start_the_message_is_planned_for_the_due_day() -> None:
    assert decide_monthly(FRESH, NOVEMBER, local(2026, 11, 1, 0, 1)) == SendMonthly(
        1, local(2026, 11, 5, 9)
    )


def test_after_the_due_time_it_is_planned_for_now_unless_it_is_night() -> None:
    afternoon = local(2026, 11, 12, 15, 30)
    assert decide_monthly(FRESH, NOVEMBER, afternoon) == SendMonthly(1, afternoon)
    night = local(2026, 11, 12, 23, 30)
    assert decide_monthly(FRESH, NOVEMBER, night) == SendMonthly(1, local(2026, 11, 13, 7))


def test_a_covered_tdp_needs_nothing_whatever_else_is_true() -> None:
    covered = replace(FRESH, covered=True, targets=0, attempts=MONTHLY_ATTEMPTS)
    for now in (local(2026, 11, 1), local(2026, 11, 30, 23, 59)):
        assert decide_monthly(covered, NOVEMBER, now) == Skip("covered")


def test_a_message_on_its_way_to_the_tdp_or_the_whole_ward_is_waited_for() -> None:
    now = local(2026, 11, 12, 10)
    for month in (
        replace(FRESH, open_for_it=True),
        replace(FRESH, ward_wide_open=True),  # a campaign date, 26 June say
        replace(FRESH, ward_wide_open=True, targets=0),  # it may register a chat before
        replace(FRESH, open_for_it=True, attempts=MONTHLY_ATTEMPTS),
    ):
        assert decide_monthly(month, NOVEMBER, now) == Skip("on-its-way")


def test_nothing_reachable_is_reported_from_the_due_time_on_not_before() -> None:
    alone = replace(FRESH, targets=0)
    assert decide_monthly(alone, NOVEMBER, local(2026, 11, 5, 8, 59)) == Skip("not-due")
    assert decide_monthly(alone, NOVEMBER, local(2026, 11, 5, 9)) == CannotReach("no-target")
    assert decide_monthly(alone, NOVEMBER, local(2026, 11, 30, 23)) == CannotReach("no-target")


def test_a_try_that_reached_no_one_is_repeated_tomorrow_then_reported() -> None:
    # 00:30 on the 11th in the ward is still the 10th in UTC: "tomorrow" is the ward's.
    now = local(2026, 11, 11, 0, 30)
    assert now.date().day == 10
    for attempts in range(1, MONTHLY_ATTEMPTS):
        month = replace(FRESH, attempts=attempts)
        assert decide_monthly(month, NOVEMBER, now) == SendMonthly(
            attempts + 1, local(2026, 11, 12, 9)
        )
    exhausted = replace(FRESH, attempts=MONTHLY_ATTEMPTS)
    assert decide_monthly(exhausted, NOVEMBER, now) == CannotReach("all-failed")


def test_a_retry_before_the_due_day_still_waits_for_tomorrow() -> None:
    """A retry is planned from `now`, not from the due day (only the first try is)."""
    month = replace(FRESH, attempts=1)
    assert decide_monthly(month, NOVEMBER, local(2026, 11, 2, 10)) == SendMonthly(
        2, local(2026, 11, 3, 9)
    )


MOMENTS = st.datetimes(
    min_value=datetime(2026, 10, 25), max_value=datetime(2026, 12, 5), timezones=st.just(UTC)
)
MONTHS = st.builds(
    GroupMonth,
    covered=st.booleans(),
    open_for_it=st.booleans(),
    ward_wide_open=st.booleans(),
    targets=st.integers(0, 3),
    attempts=st.integers(0, MONTHLY_ATTEMPTS + 1),
)


@given(MONTHS, MOMENTS)
def test_whatever_the_month_a_send_is_never_at_night_nor_in_the_past(
    month: GroupMonth, now: datetime
) -> None:
    decision = decide_monthly(month, NOVEMBER, now)
    if isinstance(decision, SendMonthly):
        assert decision.at >= now and not QUIET.is_quiet(decision.at)
        assert decision.attempt == month.attempts + 1 <= MONTHLY_ATTEMPTS
        assert decision.at - max(now, NOVEMBER.due) < timedelta(days=2)
        assert month.targets and not (month.covered or month.open_for_it)
    elif isinstance(decision, CannotReach):
        assert not (month.covered or month.open_for_it or month.ward_wide_open)
        assert decision.reason == ("no-target" if not month.targets else "all-failed")
    else:
        assert month.covered or month.open_for_it or month.ward_wide_open or now < NOVEMBER.due
