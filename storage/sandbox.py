"""Cleaning residents' files in a separate process, with limits on CPU time, memory and
wall clock.

A hostile file (a JPEG whose last scan repeats thousands of times, a PDF of compressed
streams) must cost at most one worker's limits, never the bot: each file is cleaned by
a fresh process forked from a forkserver that has the parsers loaded, with RLIMIT_AS and
RLIMIT_CPU set before it reads a byte, and killed when its wall-clock time is up. The
bot's own process only waits. Whatever goes wrong in a worker becomes a RejectReason,
never an exception text (the file's content could be in it).

The cleaning code is named here, not imported (`CLEANER`): Pillow and pypdf are loaded
by the forkserver and its workers only, so they cost the bot's process no memory. The
same kind of worker makes the monthly report's PDF (`DocumentWorker`), so matplotlib and
fpdf2 never enter the bot's process either.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import multiprocessing
import resource
from collections.abc import Callable
from concurrent.futures import CancelledError
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from pebble import ProcessExpired, ProcessPool

from storage.attachments import AttachmentRejected, CleanFile, RejectReason

log = logging.getLogger(__name__)

MB = 1024 * 1024
# module:function that cleans one file; imported by the forkserver and its workers only.
CLEANER = "storage.file_cleaning:clean_in_worker"


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


def _limit_worker(memory_bytes: int, cpu_seconds: int, file_bytes: int = 0) -> None:
    """Runs in the worker before it sees any file."""
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
    # A parser has no file to write; a document writes its PDF, CSVs and charts.
    resource.setrlimit(resource.RLIMIT_FSIZE, (file_bytes, file_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a crash leaves no copy of the file


def _call_in_worker(target: str, args: tuple[Any, ...]) -> Any:
    """Runs in the worker: `target` ("module:function") is imported there, so the bot's
    process never loads what the work needs."""
    module, function = target.split(":")
    work: Callable[..., Any] = getattr(importlib.import_module(module), function)
    return work(*args)


def _forkserver() -> multiprocessing.context.BaseContext:
    context = multiprocessing.get_context("forkserver")
    # Each worker is forked from a server that imported the file parsers once (the
    # preload is read when the server starts, by whichever pool starts it first).
    context.set_forkserver_preload([CLEANER.split(":")[0]])
    return context


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
            context = _forkserver()
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
                _call_in_worker, args=(CLEANER, (data,)), timeout=self.limits.wall_seconds
            )
            try:
                result = await asyncio.wrap_future(future)
            except asyncio.CancelledError:
                future.cancel()  # the bot is stopping: the worker is killed, not waited for
                raise
        except AttachmentRejected as rejected:
            if rejected.where:  # a parser failed: damaged or hostile, or a bug to fix
                log.info("a file was refused as damaged: %s", rejected.where)
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


class DocumentFailed(Exception):
    """A document's worker failed, ran out of time or was killed; no detail, as the
    figures it was given are the ward's."""


@dataclass(frozen=True)
class DocumentLimits:
    # matplotlib with numpy maps several hundred MB of address space before drawing.
    memory_mb: int = 2048
    cpu_seconds: int = 60
    wall_seconds: float = 120.0
    file_mb: int = 64  # the largest file it may write (a report's PDF is well under 1 MB)


class DocumentWorker:
    """`await run("module:function", *args)`: the function's result, computed in a fresh
    worker process that imports the module (matplotlib, fpdf2, pypdfium2...) itself, so
    none of it stays in the bot's process. One document at a time; a request while one is
    being made waits for it."""

    def __init__(self, limits: DocumentLimits | None = None):
        self.limits = limits or DocumentLimits()
        self._pool: ProcessPool | None = None

    def __repr__(self) -> str:
        return f"DocumentWorker({self.limits})"

    def _ensure_pool(self) -> ProcessPool:
        if self._pool is None or not self._pool.active:
            self._pool = ProcessPool(
                max_workers=1,
                max_tasks=1,
                initializer=_limit_worker,
                initargs=(
                    self.limits.memory_mb * MB,
                    self.limits.cpu_seconds,
                    self.limits.file_mb * MB,
                ),
                context=_forkserver(),
            )
        return self._pool

    async def run(self, target: str, *args: Any) -> Any:
        try:
            future = self._ensure_pool().schedule(
                _call_in_worker, args=(target, args), timeout=self.limits.wall_seconds
            )
            try:
                return await asyncio.wrap_future(future)
            except asyncio.CancelledError:
                future.cancel()
                raise
        except asyncio.CancelledError:
            raise
        except BrokenProcessPool:
            self.close()
            log.warning("a document's worker died")
            raise DocumentFailed from None
        except Exception as exc:  # its text could quote the figures: the type only
            log.warning("a document could not be made (%s)", type(exc).__name__)
            raise DocumentFailed from None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.stop()
            self._pool.join(timeout=10)
            self._pool = None
