"""SQLite through aiosqlite's interface, but without its thread.

aiosqlite runs every call in a thread of its own: a statement of a few microseconds
costs a hand-off there and back (each waking the other thread and waiting for the
GIL), three or four per statement as SQLAlchemy drives it, about a dozen per update,
all while SQLite's single write lock is held (storage/db.py queues writers). Measured
here, the hand-offs took more of the event loop than SQLite's own work, and under load
each waited behind every other ready task, so the lock was held many times longer than
the statements needed. Here the sqlite3 calls run where they are awaited: SQLite in WAL
mode with `synchronous=NORMAL` does not sync to disk on commit, and the transactions
are short.

What could wait runs elsewhere: taking the write lock while another process holds it
(a `wardbot` command beside the bot) is retried with `asyncio.sleep`, never by
SQLite's busy handler, which would stop the event loop; copying the WAL into the
database (`checkpoint`), which syncs the file, runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from typing import Any

import aiosqlite

# How long BEGIN IMMEDIATE keeps trying while another process writes: SQLite's busy
# timeout the thread-based driver was given before.
LOCK_WAIT_SECONDS = 10.0
_FIRST_PAUSE = 0.002
_LONGEST_PAUSE = 0.05


class InlineConnection(aiosqlite.Connection):
    """An aiosqlite connection whose calls run in the caller's thread. Only the
    methods aiosqlite routes every call through are replaced, so its cursors and
    SQLAlchemy's aiosqlite dialect work unchanged."""

    def __init__(self, connector: Callable[[], sqlite3.Connection]):
        super().__init__(connector, iter_chunk_size=64)

    def __await__(self):  # type: ignore[no-untyped-def]  # no thread to start
        return self._connect().__await__()

    async def _connect(self) -> InlineConnection:
        if self._connection is None:
            self._connection = self._connector()
        return self

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or self._connection is None:
            raise ValueError("Connection closed")
        if not _takes_write_lock(args):
            return fn(*args, **kwargs)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + LOCK_WAIT_SECONDS
        pause = _FIRST_PAUSE
        while True:
            try:
                return fn(*args, **kwargs)
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY or loop.time() >= deadline:
                    raise
            await asyncio.sleep(pause)
            pause = min(pause * 2, _LONGEST_PAUSE)

    def stop(self) -> None:
        self._running = False
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    async def close(self) -> None:
        self.stop()

    async def checkpoint(self) -> None:
        """Copy the WAL into the database file and empty it, in a worker thread (it
        syncs the file). The caller must hold the write lock, and the connection must
        not be used by anyone else until this returns."""
        connection = self._conn

        def run() -> None:
            # Here, unlike on the event loop, waiting for readers is fine.
            connection.execute(f"PRAGMA busy_timeout={int(LOCK_WAIT_SECONDS * 1000)}").close()
            try:
                connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").close()
            finally:
                connection.execute("PRAGMA busy_timeout=0").close()

        await asyncio.to_thread(run)


def _takes_write_lock(args: tuple[Any, ...]) -> bool:
    return bool(args) and isinstance(args[0], str) and args[0].startswith("BEGIN")


def connector(path: str) -> Callable[[], sqlite3.Connection]:
    """How InlineConnection opens `path`: transactions left to SQLAlchemy (it issues
    BEGIN), no busy handler (see `_execute`), usable from the checkpoint's thread."""

    def connect() -> sqlite3.Connection:
        connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        connection.execute("PRAGMA busy_timeout=0").close()
        return connection

    return connect
