"""The token bucket and the chat pacer on a clock the test moves: never more than the
platform allows in any sliding second, late wake-ups made up rather than lost, 429s
honoured and recovered from."""

from __future__ import annotations

import random

import pytest

from broadcasts.throttle import WINDOW_MARGIN, ChatPacer, Limiter, TokenBucket
from kernel.config import SendLimits


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def drive(bucket: TokenBucket, clock: Clock, seconds: float, late: random.Random) -> list[float]:
    """Send as fast as the bucket allows, each wake-up up to 3 ms late (a busy loop)."""
    sent: list[float] = []
    end = clock.now + seconds
    while clock.now < end:
        wait = bucket.wait_time()
        if wait > 0:
            clock.now += wait + late.uniform(0, 0.003)
            continue
        bucket.consume()
        sent.append(clock.now)
        clock.now += late.uniform(0, 0.0005)
    return sent


def most_in_any_second(times: list[float]) -> int:
    most, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= 1.0:
            start += 1
        most = max(most, end - start + 1)
    return most


@pytest.mark.parametrize("rate", [30, 100])
def test_the_bucket_keeps_the_limit_and_loses_nothing_to_late_wakeups(rate: int) -> None:
    clock = Clock()
    bucket = Limiter(SendLimits(per_second=rate), clock=clock).bucket
    sent = drive(bucket, clock, 60.0, random.Random(7))
    assert most_in_any_second(sent) <= rate
    assert len(sent) / 60.0 >= rate / (1 + WINDOW_MARGIN) * 0.99  # only the margin is lost


def test_without_saved_tokens_late_wakeups_would_cost_a_tenth_of_the_rate() -> None:
    """Why the bucket saves tokens: the same loop with room for one token falls short."""
    clock = Clock()
    sent = drive(TokenBucket(100, burst=1, clock=clock), clock, 60.0, random.Random(7))
    assert len(sent) / 60.0 < 90


def test_a_429_pauses_for_retry_after_slows_down_then_climbs_back() -> None:
    clock = Clock()
    bucket = TokenBucket(30, burst=3, clock=clock)
    bucket.throttled(retry_after=5)
    assert bucket.wait_time() == pytest.approx(5 + 1 / bucket.rate)
    assert bucket.rate == pytest.approx(27)
    clock.now += 6
    assert bucket.wait_time() == 0
    for _ in range(80):
        bucket.succeeded()
    assert bucket.rate == pytest.approx(27)  # three seconds' worth (81) are needed
    bucket.succeeded()
    assert bucket.rate == pytest.approx(27 * 1.05)
    for _ in range(3000):
        bucket.succeeded()
    assert bucket.rate == 30  # never above the configured rate
    for _ in range(50):
        bucket.throttled(retry_after=1)
    assert bucket.rate == pytest.approx(30 * 0.25)  # a floor: it never stops altogether


def test_the_pacer_spaces_one_chat_and_one_group() -> None:
    clock = Clock()
    pacer = ChatPacer(SendLimits(chat_per_second=1, group_per_minute=20), clock=clock)
    pacer.record("person", group=False)
    assert pacer.wait_time("person", group=False) == pytest.approx(1.0 + WINDOW_MARGIN)
    assert pacer.wait_time("someone else", group=False) == 0
    for _ in range(20):
        pacer.record("tdp", group=True)
        clock.now += 1
    assert pacer.wait_time("tdp", group=True) == pytest.approx(40.0 + WINDOW_MARGIN)
    clock.now += 40.1
    assert pacer.wait_time("tdp", group=True) == 0
    pacer.forget_idle()
    assert pacer.wait_time("person", group=False) == 0


def test_a_bucket_refuses_a_nonsensical_rate() -> None:
    with pytest.raises(ValueError):
        TokenBucket(0)
    with pytest.raises(ValueError):
        TokenBucket(10, burst=0.5)


async def test_two_senders_to_one_chat_are_still_spaced() -> None:
    import asyncio
    import time

    limiter = Limiter(SendLimits(per_second=1000, chat_per_second=1))
    sent: list[float] = []

    async def one() -> None:
        await limiter.acquire("person", group=False)
        sent.append(time.monotonic())

    await asyncio.gather(one(), one())
    assert len(sent) == 2 and sent[1] - sent[0] >= 1.0


def test_the_pacer_forgets_chats_it_no_longer_paces() -> None:
    """A 5,000-recipient broadcast at 30/s leaves only the last window's chats in
    memory, and a group is remembered for its minute (issue 16, memory)."""
    clock = Clock()
    pacer = ChatPacer(SendLimits(chat_per_second=1, group_per_minute=20), clock=clock)
    pacer.record("group", group=True)
    most = 0
    for person in range(5000):
        assert pacer.wait_time(f"person-{person}", group=False) == 0
        pacer.record(f"person-{person}", group=False)
        most = max(most, len(pacer))
        clock.now += 1 / 30
    assert most <= 2 * 31 + 2  # two chat windows of 30/s at most, and the group
    clock.now += 2.0
    assert pacer.wait_time("person-4999", group=False) == 0
    pacer.record("late", group=False)
    assert len(pacer) <= 2  # the one just recorded (and the group while its minute lasts)
    clock.now += 61.0
    pacer.record("later", group=False)
    assert len(pacer) == 1
    # Forgetting never lets a chat be sent to sooner than its pace allows.
    assert pacer.wait_time("later", group=False) > 0
