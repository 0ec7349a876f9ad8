"""Engine and transactions: SQLite (WAL) by default, PostgreSQL by URL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from pathlib import Path

from sqlalchemy import event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


class NestedTransaction(RuntimeError):
    """A transaction was opened inside another one of the same task: on SQLite that
    would wait for itself for ever, so it is a programming error everywhere."""


class Database:
    """One engine and its session factory; `transaction()` is the unit of work.

    SQLite has one writer at a time; every transaction here writes (BEGIN IMMEDIATE),
    so they are queued in-process on one lock instead of spinning on the file lock
    until "database is locked". PostgreSQL keeps its row locks and runs them at once.
    """

    def __init__(self, url: str, *, echo: bool = False):
        self.url: URL = make_url(url)
        self.engine: AsyncEngine = _create_engine(self.url, echo=echo)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._writer = asyncio.Lock() if self.is_sqlite else None
        self._inside: ContextVar[bool] = ContextVar(f"in_transaction_{id(self)}", default=False)

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """Commit when the block ends normally, roll back on any exception."""
        if self._inside.get():
            raise NestedTransaction("a transaction is already open in this task")
        token = self._inside.set(True)
        try:
            if self._writer is None:
                async with self._sessions() as session, session.begin():
                    yield session
            else:
                async with self._writer, self._sessions() as session, session.begin():
                    yield session
        finally:
            self._inside.reset(token)

    @asynccontextmanager
    async def leadership(self, name: str) -> AsyncIterator[bool]:
        """Whether this process leads `name` (one broadcast sender per bot token), held
        until the block ends. PostgreSQL: a session advisory lock on a connection kept
        open meanwhile, so a crashed leader's lock goes with its connection. SQLite
        serves one process, which always leads."""
        if self.is_sqlite:
            yield True
            return
        async with self.engine.connect() as connection:
            key = text("SELECT pg_try_advisory_lock(hashtext(:name))")
            held = bool(await connection.scalar(key, {"name": f"wardbot:{name}"}))
            await connection.commit()
            try:
                yield held
            finally:
                if held:
                    await connection.execute(
                        text("SELECT pg_advisory_unlock(hashtext(:name))"),
                        {"name": f"wardbot:{name}"},
                    )
                    await connection.commit()

    async def dispose(self) -> None:
        await self.engine.dispose()


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def _create_engine(url: URL, *, echo: bool) -> AsyncEngine:
    if url.get_backend_name() != "sqlite":
        return create_async_engine(url, echo=echo, pool_pre_ping=True, hide_parameters=True)
    if url.database and url.database != ":memory:":
        # The database holds only sealed data, but its directory is nobody else's business.
        Path(url.database).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # hide_parameters: values never reach a log line, even with SQL logging switched on.
    engine = create_async_engine(url, echo=echo, hide_parameters=True)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        # Let SQLAlchemy, not the driver, issue BEGIN (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        # Deleted rows (shredded keys, deleted drafts) are overwritten, not left in free pages.
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection) -> None:  # type: ignore[no-untyped-def]
        # Take the write lock up front: a read-then-write transaction can then never
        # fail with SQLITE_BUSY half-way when two conversations write at once.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
