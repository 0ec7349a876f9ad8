"""Numbers read from command arguments, deep links and typed text, checked before any
use: a record id only within its column's range, so that a typo's number reaches no
query it would break, and is answered like an unknown one. (Button data is read by its
action, kernel/callback_data.py, by the same rules.)

A number an officer types may come from a phone keyboard that writes full-width digits
(１２); those count as 12. Other scripts' digits (١٢, which `str.isdecimal` and `int`
accept) are not numbers here."""

from __future__ import annotations

import re

from kernel.callback_data import MAX_ID

__all__ = ["MAX_ID", "parse_id", "parse_number", "parse_typed_id"]
_DIGITS = re.compile(r"[0-9]{1,10}", re.ASCII)
_FULL_WIDTH = str.maketrans("０１２３４５６７８９", "0123456789")


def parse_number(text: str, *, most: int = MAX_ID) -> int | None:
    """`text` as a number from 0 to `most`: ASCII digits only, no sign, no space (a
    leading zero is allowed: "007" is 7). None for anything else."""
    if not _DIGITS.fullmatch(text):
        return None
    number = int(text)
    return number if number <= most else None


def parse_id(text: str) -> int | None:
    """A record id from a command or a link: 1 to MAX_ID, as parse_number reads it."""
    number = parse_number(text)
    return number if number else None


def parse_typed_id(text: str) -> int | None:
    """A record id as typed: spaces around it are ignored, full-width digits count."""
    return parse_id(text.strip().translate(_FULL_WIDTH))
