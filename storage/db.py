"""Engine and transactions: SQLite (WAL) by default, PostgreSQL by URL."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from pathlib import Path

from sqlalchemy import event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import ORMExecuteState, Session

from storage import sqlite_inline
from storage.sqlite_inline import InlineConnection


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
                async with self._writer:
                    async with self._sessions() as session, session.begin():
                        yield session
                    if session.info.get(_WROTE_DOMAIN):
                        await self._truncate_wal()
        finally:
            self._inside.reset(token)

    async def ping(self) -> None:
        """Raise unless the database answers. On SQLite, on the driver's connection
        outside any transaction: SQLAlchemy's BEGIN takes the write lock here, and a
        health check must not queue behind the writers, or they behind it."""
        async with self.engine.connect() as connection:
            if not self.is_sqlite:
                await connection.execute(text("SELECT 1"))
                return
            raw = await connection.get_raw_connection()
            assert raw.driver_connection is not None  # an open connection has one
            cursor = await raw.driver_connection.execute("SELECT 1")
            await cursor.close()

    async def _truncate_wal(self) -> None:
        """Copy the WAL into the database file and empty it: the commit that wrote a tip,
        a subscription, a pledge, a quiz answer or a receipt counter, and the commits
        before it, no longer lie in the WAL in the order they were made (a copy of the
        running folder would otherwise show which rows were written together)."""
        async with self.engine.connect() as connection:
            # On the driver's connection, outside any transaction (SQLAlchemy would BEGIN).
            raw = await connection.get_raw_connection()
            driver = raw.driver_connection
            assert isinstance(driver, InlineConnection)
            await driver.checkpoint()

    @asynccontextmanager
    async def leadership(self, name: str) -> AsyncIterator[Lead]:
        """Whether this process leads `name` (one broadcast sender, one poller per bot
        token), held until the block ends: the Lead is true when it does. PostgreSQL: a
        session advisory lock on a connection kept open meanwhile, so a crashed leader's
        lock goes with its connection. `name` reaches the database as a query parameter:
        it must not be a secret. SQLite serves one process, which always leads."""
        if self.is_sqlite:
            yield Lead(True)
            return
        async with self.engine.connect() as connection:
            key = text("SELECT pg_try_advisory_lock(hashtext(:name))")
            held = bool(await connection.scalar(key, {"name": f"wardbot:{name}"}))
            await connection.commit()
            lead = Lead(held, connection)
            try:
                yield lead
            finally:
                if lead:
                    try:
                        await connection.execute(
                            text("SELECT pg_advisory_unlock(hashtext(:name))"),
                            {"name": f"wardbot:{name}"},
                        )
                        await connection.commit()
                    except Exception:  # noqa: S110  # the connection is gone, and the lock with it
                        pass

    async def dispose(self) -> None:
        await self.engine.dispose()


class Lead:
    """What `Database.leadership` yields: true while this process leads."""

    def __init__(self, held: bool, connection: AsyncConnection | None = None):
        self._held = held
        self._connection = connection

    def __bool__(self) -> bool:
        return self._held

    def __repr__(self) -> str:
        return f"Lead({self._held})"

    async def still_held(self, within: float = 10.0) -> bool:
        """Whether the lead is still this process's: on PostgreSQL, whether the
        connection holding the lock answers within `within` seconds (the lock lives as
        long as the connection; one that does not answer is closed, so the lock goes
        too). Once lost, a Lead stays false."""
        if self._held and self._connection is not None:
            try:
                async with asyncio.timeout(within):
                    await self._connection.execute(text("SELECT 1"))
                    await self._connection.commit()
            except Exception:
                self._held = False
                try:
                    await self._connection.invalidate()
                except Exception:  # noqa: S110  # already closed
                    pass
        return self._held


# Tables whose rows tie a person's act to a record (a tip, a subscription...): after a
# commit that wrote one, SQLite's WAL is truncated (Database._truncate_wal).
DOMAIN_TABLES = frozenset(
    {
        "tips",
        "tip_events",
        "tip_attachments",
        "subscribers",
        "pledges",
        "quiz_answers",
        "rate_counters",
        "drops",
    }
)
_WROTE_DOMAIN = "wardbot_wrote_domain"


@event.listens_for(Session, "after_flush")
def _note_domain_writes(session: Session, _context: object) -> None:
    if session.info.get(_WROTE_DOMAIN):
        return
    for obj in (*session.new, *session.dirty, *session.deleted):
        table = getattr(obj, "__tablename__", "")
        if table in DOMAIN_TABLES:
            session.info[_WROTE_DOMAIN] = True
            return


@event.listens_for(Session, "do_orm_execute")
def _note_domain_statements(state: ORMExecuteState) -> None:
    """Bulk UPDATE and DELETE statements bypass the flush."""
    if state.is_update or state.is_delete or state.is_insert:
        table = getattr(getattr(state.statement, "table", None), "name", None)
        if table in DOMAIN_TABLES:
            state.session.info[_WROTE_DOMAIN] = True


# A pooled PostgreSQL connection unused this long is checked before it is used again.
PING_AFTER_IDLE_SECONDS = 10.0
_IDLE_SINCE = "wardbot_idle_since"


def _postgresql_engine(url: URL, *, echo: bool) -> AsyncEngine:
    """Without SQLAlchemy's pre-ping and reset on return, each of them a round trip to
    the server per transaction (with BEGIN, the conversation's SELECT and UPDATE and
    COMMIT, that was six instead of four). A Connection rolls back its own transaction
    on close; a connection the server closed (a restart) is noticed by the driver and
    replaced at checkout, and one left unused for a while is pinged first."""
    engine = create_async_engine(url, echo=echo, hide_parameters=True, pool_reset_on_return=None)

    @event.listens_for(engine.sync_engine, "checkin")
    def _checked_in(_dbapi_connection, record) -> None:  # type: ignore[no-untyped-def]
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _checked_out(dbapi_connection, record, _proxy) -> None:  # type: ignore[no-untyped-def]
        if dbapi_connection.driver_connection.is_closed():
            raise DisconnectionError("the server closed this connection")
        since = record.info.pop(_IDLE_SINCE, None)
        if since is not None and time.monotonic() - since >= PING_AFTER_IDLE_SECONDS:
            try:
                dbapi_connection.ping()
            except Exception as exc:
                raise DisconnectionError("this connection no longer answers") from exc

    return engine


def _create_engine(url: URL, *, echo: bool) -> AsyncEngine:
    if url.get_backend_name() != "sqlite":
        return _postgresql_engine(url, echo=echo)
    if url.database and url.database != ":memory:":
        # The database holds only sealed data, but its directory is nobody else's business.
        Path(url.database).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # hide_parameters: values never reach a log line, even with SQL logging switched on.
    # pool_reset_on_return=None: every transaction ends in its own COMMIT or ROLLBACK
    # (a Connection rolls back its own on close), so the pool's extra ROLLBACK would
    # only add a statement to every transaction, under the writer lock.
    # The driver: aiosqlite's interface, without its thread (storage/sqlite_inline.py).
    connect = sqlite_inline.connector(url.database or ":memory:")

    async def inline() -> InlineConnection:
        return await InlineConnection(connect)

    engine = create_async_engine(
        url, echo=echo, hide_parameters=True, pool_reset_on_return=None, async_creator=inline
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        # SQLAlchemy, not the driver, issues BEGIN (see _on_begin): the connection is
        # opened without the driver's own transactions, and without a busy handler.
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        # Deleted rows (shredded keys, deleted drafts) are overwritten, not left in free pages.
        cursor.execute("PRAGMA secure_delete=ON")
        # Each connection's page cache is 512 KiB rather than SQLite's 2 MB: the pages
        # are in the operating system's cache anyway, and the bot's process keeps no
        # more than it needs.
        cursor.execute("PRAGMA cache_size=-512")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection) -> None:  # type: ignore[no-untyped-def]
        # Take the write lock up front: a read-then-write transaction can then never
        # fail with SQLITE_BUSY half-way when two conversations write at once.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
