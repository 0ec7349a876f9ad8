"""Cleaning residents' files in a separate process, with limits on CPU time, memory and
wall clock.

A hostile file (a JPEG whose last scan repeats thousands of times, a PDF of compressed
streams) must cost at most one worker's limits, never the bot: each file is cleaned by
a fresh process forked from a forkserver that has the parsers loaded, with RLIMIT_AS and
RLIMIT_CPU set before it reads a byte, and killed when its wall-clock time is up. The
bot's own process only waits. Whatever goes wrong in a worker becomes a RejectReason,
never an exception text (the file's content could be in it).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import resource
from concurrent.futures import CancelledError
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from pebble import ProcessExpired, ProcessPool

from storage.attachments import AttachmentRejected, CleanFile, RejectReason, sanitize

log = logging.getLogger(__name__)

MB = 1024 * 1024


@dataclass(frozen=True)
class SandboxLimits:
    # Address space of one worker: the parsers' own mappings (about 150 MB) plus a
    # 50-megapixel photo decoded and re-encoded (three copies of 150 MB).
    memory_mb: int = 1024
    cpu_seconds: int = 20
    wall_seconds: float = 30.0
    workers: int = 2  # the cores of a ward office machine
    # Files waiting beyond this are refused at once ("busy, send it again in a minute"),
    # so a burst of hostile senders cannot queue work for hours.
    max_waiting: int = 16


def _limit_worker(memory_bytes: int, cpu_seconds: int) -> None:
    """Runs in the worker before it sees any file."""
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))  # a parser has no file to write
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a crash leaves no copy of the file


def _clean_in_worker(data: bytes) -> CleanFile:
    try:
        return sanitize(data)
    except MemoryError:  # the address-space limit, hit outside the parsers' own guard
        raise AttachmentRejected(RejectReason.TOO_COMPLEX) from None


class FileSandbox:
    """`await clean(data)`: the file re-made without metadata, or AttachmentRejected.
    The worker pool starts on first use, so commands that never clean a file pay
    nothing for it."""

    def __init__(self, limits: SandboxLimits | None = None):
        self.limits = limits or SandboxLimits()
        self._pool: ProcessPool | None = None
        self._waiting = 0

    def __repr__(self) -> str:
        return f"FileSandbox({self.limits})"

    def _ensure_pool(self) -> ProcessPool:
        if self._pool is None or not self._pool.active:
            context = multiprocessing.get_context("forkserver")
            # Each worker is forked from a server that imported the parsers once.
            context.set_forkserver_preload(["storage.attachments"])
            self._pool = ProcessPool(
                max_workers=self.limits.workers,
                max_tasks=1,  # a fresh process per file: CPU time and memory start at zero
                initializer=_limit_worker,
                initargs=(self.limits.memory_mb * MB, self.limits.cpu_seconds),
                context=context,
            )
        return self._pool

    async def clean(self, data: bytes) -> CleanFile:
        if not isinstance(data, bytes):
            raise TypeError("clean() takes the file's bytes")
        if self._waiting >= self.limits.max_waiting:
            raise AttachmentRejected(RejectReason.BUSY)
        self._waiting += 1
        try:
            future = self._ensure_pool().schedule(
                _clean_in_worker, args=(data,), timeout=self.limits.wall_seconds
            )
            try:
                result = await asyncio.wrap_future(future)
            except asyncio.CancelledError:
                future.cancel()  # the bot is stopping: the worker is killed, not waited for
                raise
        except AttachmentRejected:
            raise
        except TimeoutError:
            log.info("a file took longer than %.0f s to clean; refused", self.limits.wall_seconds)
            raise AttachmentRejected(RejectReason.TOO_COMPLEX) from None
        except ProcessExpired as exc:  # killed for CPU time or memory, or crashed
            log.info("a file's worker ended with status %s; refused", exc.exitcode)
            raise AttachmentRejected(RejectReason.TOO_COMPLEX) from None
        except BrokenProcessPool:  # the worker died before it could even report back
            log.info("a file's worker died; refused")
            self.close()  # the next file gets a new pool
            raise AttachmentRejected(RejectReason.TOO_COMPLEX) from None
        except CancelledError:
            raise AttachmentRejected(RejectReason.BUSY) from None
        except Exception as exc:  # the pool itself failed: nothing of the file is in this
            log.warning("the file sandbox failed (%s)", type(exc).__name__)
            raise AttachmentRejected(RejectReason.UNREADABLE) from None
        finally:
            self._waiting -= 1
        if not isinstance(result, CleanFile):  # pragma: no cover - the worker returns one
            raise AttachmentRejected(RejectReason.UNREADABLE)
        return result

    def close(self) -> None:
        if self._pool is not None:
            self._pool.stop()
            self._pool.join(timeout=10)
            self._pool = None
