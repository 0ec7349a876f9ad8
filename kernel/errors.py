"""Exceptions described safely for logs."""

from __future__ import annotations

import traceback


def describe(exc: BaseException) -> str:
    """An exception as type and code locations only: messages of library errors can
    carry parameters (SQL values, request bodies) that must never reach a log."""
    frames = traceback.extract_tb(exc.__traceback__)[-4:]
    where = " < ".join(
        f"{frame.filename.rsplit('/', 1)[-1]}:{frame.lineno}" for frame in reversed(frames)
    )
    return f"{type(exc).__name__} at {where}" if where else type(exc).__name__
