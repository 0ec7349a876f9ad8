"""The monthly guarantee's decision for one TDP (broadcasts/planner.py:decide_monthly),
on plain values, without a database: when its message is planned, when nothing is
done, and when the commanders are told it cannot be reached; and which rotation
message it gets (choose_rotation). The planner's use of both on real tables is tested
in tests/test_broadcasts.py."""

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
    choose_rotation,
    decide_monthly,
)
from storage.models import AwarenessMessage

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


# ---- the rotation ---------------------------------------------------------------------

NOW = local(2026, 11, 5, 9)
YEAR_AGO = NOW - timedelta(days=365)
LIBRARY = [
    AwarenessMessage(id=n, slug=slug, topic=topic)
    for n, (slug, topic) in enumerate(
        [
            ("harms-1", "harms"),
            ("harms-2", "harms"),
            ("law-1", "law"),
            ("law-2", "law"),
            ("help-1", "help"),
            ("help-2", "help"),
        ],
        start=1,
    )
]
BY_SLUG = {m.slug: m for m in LIBRARY}


def test_a_fresh_tdp_gets_a_message_and_the_seed_spreads_neighbours() -> None:
    chosen = {
        choose_rotation(LIBRARY, {}, YEAR_AGO, f"{group}:2026-11").slug for group in range(40)
    }
    assert len(chosen) > 2  # neighbouring TDPs do not all get the same message
    assert choose_rotation(LIBRARY, {}, YEAR_AGO, "7:2026-11") == choose_rotation(
        LIBRARY, {}, YEAR_AGO, "7:2026-11"
    )


def test_an_unused_message_comes_from_the_topic_gone_longest_without() -> None:
    last_sent: dict[int | None, datetime] = {
        BY_SLUG["harms-1"].id: NOW - timedelta(days=10),
        BY_SLUG["law-1"].id: NOW - timedelta(days=40),
        BY_SLUG["help-1"].id: NOW - timedelta(days=70),
    }
    for seed in ("1:2026-11", "2:2026-11", "3:2026-11", "4:2026-11"):
        assert choose_rotation(LIBRARY, last_sent, YEAR_AGO, seed).slug == "help-2"


def test_when_every_message_was_used_the_one_used_longest_ago_returns() -> None:
    last_sent: dict[int | None, datetime] = {
        m.id: NOW - timedelta(days=5 + 30 * n) for n, m in enumerate(LIBRARY)
    }
    assert choose_rotation(LIBRARY, last_sent, YEAR_AGO, "1:2026-11") == LIBRARY[-1]


def test_history_of_messages_no_longer_in_the_rotation_is_ignored() -> None:
    only_law = [BY_SLUG["law-1"], BY_SLUG["law-2"]]
    last_sent: dict[int | None, datetime] = {
        None: NOW - timedelta(days=1),  # a broadcast whose message was removed
        BY_SLUG["harms-1"].id: NOW - timedelta(days=2),  # retired from the rotation
        BY_SLUG["law-1"].id: NOW - timedelta(days=3),
    }
    assert choose_rotation(only_law, last_sent, YEAR_AGO, "1:2026-11").slug == "law-2"


def test_a_topic_counts_from_its_latest_message_not_its_oldest() -> None:
    harms_3 = AwarenessMessage(id=7, slug="harms-3", topic="harms")
    library = [BY_SLUG["harms-1"], BY_SLUG["harms-2"], harms_3, BY_SLUG["law-1"], BY_SLUG["law-2"]]
    last_sent: dict[int | None, datetime] = {
        BY_SLUG["harms-1"].id: NOW - timedelta(days=100),
        BY_SLUG["harms-2"].id: NOW - timedelta(days=5),  # harms was heard of 5 days ago
        BY_SLUG["law-1"].id: NOW - timedelta(days=50),
    }
    assert choose_rotation(library, last_sent, YEAR_AGO, "1:2026-11").slug == "law-2"
