"""What a platform's failure means for the sender, whatever the platform."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Fault(StrEnum):
    THROTTLED = "throttled"  # 429: wait retry_after
    TRANSIENT = "transient"  # 5xx, timeouts, network: retry with backoff
    GONE = "gone"  # 403: blocked, removed, chat deleted
    MOVED = "moved"  # the group became a supergroup at `moved_to`
    REJECTED = "rejected"  # the request itself is wrong: retrying cannot help
    ERROR = "error"  # the bot's own code failed (a bug), not the platform: logged as an error


# What our own code raises when it is wrong, never what a platform answers: classify()
# gives these Fault.ERROR, so a bug is logged as one instead of as the platform refusing.
PROGRAMMING_ERRORS: tuple[type[Exception], ...] = (
    TypeError,
    AttributeError,
    KeyError,
    IndexError,
    ValueError,
    NameError,
    AssertionError,
    NotImplementedError,
)


@dataclass(frozen=True)
class Failure:
    fault: Fault
    retry_after: float = 0.0
    moved_to: str = ""
