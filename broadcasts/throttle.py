"""Token buckets that keep a broadcast under a platform's limits: one for the bot as a
whole, and a pacing record per chat (1 message/s to a person, 20/min to a group).

When the platform still answers 429, the bucket stops for `retry_after` and runs
slower for a while, then climbs back to the configured rate as sends succeed.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable

from kernel.config import SendLimits

# A request reaches the platform a few milliseconds after we count it, and not always
# the same few: counting over a slightly longer second keeps two sends we saw 1.0 s
# apart from arriving 0.99 s apart. It costs 3 % of the rate.
WINDOW_MARGIN = 0.03


class TokenBucket:
    """`rate` sends a second: tokens refill at `rate` and up to `burst` are saved, so a
    wake-up that comes late (the event loop is busy) is made up at once instead of lost;
    and never more than `rate` sends in any sliding second, the way the platform counts,
    however the tokens fell. `take` waits for both."""

    def __init__(
        self,
        rate: float,
        burst: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        window: float = 1.0,
    ):
        if rate <= 0 or burst < 1 or window < 1.0:
            raise ValueError("a bucket needs a positive rate and room for one token")
        self.ceiling = rate
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = burst
        self._last = clock()
        self._paused_until = 0.0
        self._lock = asyncio.Lock()
        self._successes = 0
        self.window = window
        self._recent: deque[float] = deque()  # send times within the last window

    def _refill(self, now: float) -> None:
        start = max(self._last, self._paused_until)
        if now > start:
            self._tokens = min(self.burst, self._tokens + (now - start) * self.rate)
        self._last = max(now, self._last)

    def wait_time(self) -> float:
        """Seconds until a send is allowed (0 if one is now)."""
        now = self._clock()
        self._refill(now)
        if now < self._paused_until:
            return self._paused_until - now + (0 if self._tokens >= 1 else 1 / self.rate)
        while self._recent and now - self._recent[0] >= self.window:
            self._recent.popleft()
        window_wait = 0.0
        if len(self._recent) >= max(1, int(self.rate)):
            window_wait = self.window - (now - self._recent[0])
        token_wait = 0.0 if self._tokens >= 1 else (1 - self._tokens) / self.rate
        return max(window_wait, token_wait)

    def consume(self) -> None:
        """One send is going out now (call only when `wait_time()` is 0)."""
        self._tokens -= 1
        self._recent.append(self._clock())

    async def take(self) -> None:
        async with self._lock:  # first come, first served
            while (wait := self.wait_time()) > 0:  # noqa: ASYNC110  # time frees tokens
                await asyncio.sleep(wait)
            self.consume()

    def throttled(self, retry_after: float) -> None:
        """The platform said 429: pause, drop saved tokens, and slow to 90 %."""
        now = self._clock()
        self._paused_until = max(self._paused_until, now + retry_after)
        self._tokens = 0.0
        self._last = now
        self.rate = max(self.ceiling * 0.25, self.rate * 0.9)
        self._successes = 0

    def succeeded(self) -> None:
        """Climb back 5 % after each three seconds' worth of successful sends."""
        if self.rate >= self.ceiling:
            return
        self._successes += 1
        if self._successes >= self.rate * 3:
            self._successes = 0
            self.rate = min(self.ceiling, self.rate * 1.05)


class ChatPacer:
    """Per-chat spacing: at most `per_second` to a private chat and `group_per_minute` to
    a group, counted over a sliding window. A chat is forgotten as soon as its window
    holds no send, so a 5,000-recipient broadcast keeps only the chats of the last
    second (and the groups of the last minute) in memory, not 5,000 records."""

    def __init__(self, limits: SendLimits, clock: Callable[[], float] = time.monotonic):
        self._limits = limits
        self._clock = clock
        self._sends: dict[tuple[str, bool], deque[float]] = {}
        self._swept = clock()

    def __len__(self) -> int:
        """How many chats are being paced (remembered) now."""
        return len(self._sends)

    def _window(self, group: bool) -> tuple[float, int]:
        if group:
            return 60.0 + WINDOW_MARGIN, self._limits.group_per_minute
        per_second = self._limits.chat_per_second
        if per_second >= 1:
            return 1.0 + WINDOW_MARGIN, int(per_second)
        return 1.0 / per_second + WINDOW_MARGIN, 1

    def wait_time(self, chat: str, group: bool) -> float:
        window, most = self._window(group)
        now = self._clock()
        sends = self._sends.get((chat, group))
        if not sends:
            return 0.0
        while sends and now - sends[0] >= window:
            sends.popleft()
        if not sends:
            del self._sends[(chat, group)]
            return 0.0
        return 0.0 if len(sends) < most else window - (now - sends[0])

    def record(self, chat: str, group: bool) -> None:
        now = self._clock()
        self._sends.setdefault((chat, group), deque()).append(now)
        if now - self._swept >= self._window(False)[0]:
            self.forget_idle()

    def forget_idle(self) -> None:
        """Drop every chat whose window has no send left (at most once a chat window,
        from `record`: the cost is one pass over the chats paced in the last minute)."""
        now = self._swept = self._clock()
        idle = [
            key
            for key, sends in self._sends.items()
            if not sends or now - sends[-1] >= self._window(key[1])[0]
        ]
        for key in idle:
            del self._sends[key]


class Limiter:
    """What a sender asks before each message: the bot's bucket and the chat's pace."""

    def __init__(self, limits: SendLimits, clock: Callable[[], float] = time.monotonic):
        # A tenth of a second's sends may be saved up: enough to make up late
        # wake-ups, too few to look like a burst.
        self.bucket = TokenBucket(
            limits.per_second,
            burst=max(1.0, limits.per_second / 10),
            clock=clock,
            window=1.0 + WINDOW_MARGIN,
        )
        self.pacer = ChatPacer(limits, clock=clock)

    async def acquire(self, chat: str, group: bool) -> None:
        """Wait until this chat may get another message and the bot may send one. The
        chat's send is recorded after the bucket's wait, when it really goes out."""
        while True:
            while (wait := self.pacer.wait_time(chat, group)) > 0:  # noqa: ASYNC110
                await asyncio.sleep(wait)
            await self.bucket.take()
            if self.pacer.wait_time(chat, group) == 0:  # nobody else wrote to it meanwhile
                self.pacer.record(chat, group)
                return
