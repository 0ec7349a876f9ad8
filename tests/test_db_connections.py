"""Connections to the database. SQLite's driver runs statements on the event loop
without a thread of its own, and never lets SQLite's busy handler stop the loop: when
another process (a `wardbot` command) holds the write lock, the bot's next transaction
waits for it asynchronously, and everything else goes on meanwhile. PostgreSQL's pooled
connections are not pinged before every transaction, yet one the server closed is
replaced before it is used."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from storage.db import Database
from storage.sqlite_inline import LOCK_WAIT_SECONDS


async def _database(tmp_path: Path) -> Database:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'w.db'}")
    async with db.transaction() as session:
        await session.execute(text("CREATE TABLE t (n INTEGER)"))
    return db


async def test_transactions_start_no_thread(tmp_path: Path) -> None:
    before = threading.active_count()
    db = await _database(tmp_path)
    try:
        for n in range(20):
            async with db.transaction() as session:
                await session.execute(text("INSERT INTO t VALUES (:n)"), {"n": n})
        await db.ping()
        assert threading.active_count() == before
        async with db.transaction() as session:
            assert await session.scalar(text("SELECT count(*) FROM t")) == 20
    finally:
        await db.dispose()


async def test_another_process_writing_makes_the_next_transaction_wait_without_stopping_the_loop(
    tmp_path: Path,
) -> None:
    db = await _database(tmp_path)
    other = sqlite3.connect(tmp_path / "w.db", isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO t VALUES (1)")
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        async def write() -> None:
            async with db.transaction() as session:
                await session.execute(text("INSERT INTO t VALUES (2)"))

        ticker = asyncio.create_task(tick())
        writer = asyncio.create_task(write())
        await asyncio.sleep(0.5)
        assert not writer.done()  # waiting for the other process's lock...
        assert ticks >= 20  # ...while the loop went on
        other.execute("COMMIT")
        async with asyncio.timeout(LOCK_WAIT_SECONDS):
            await writer
        ticker.cancel()
        async with db.transaction() as session:
            assert (await session.execute(text("SELECT n FROM t ORDER BY n"))).scalars().all() == [
                1,
                2,
            ]
    finally:
        other.close()
        await db.dispose()


async def test_a_write_lock_never_released_fails_the_transaction_after_the_wait(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("storage.sqlite_inline.LOCK_WAIT_SECONDS", 0.3)
    db = await _database(tmp_path)
    other = sqlite3.connect(tmp_path / "w.db", isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(Exception, match="locked"):
            async with asyncio.timeout(5), db.transaction() as session:
                await session.execute(text("INSERT INTO t VALUES (3)"))
        other.execute("ROLLBACK")
        async with db.transaction() as session:  # the connection is still usable
            await session.execute(text("INSERT INTO t VALUES (4)"))
            assert await session.scalar(text("SELECT count(*) FROM t")) == 1
    finally:
        other.close()
        await db.dispose()


async def test_a_postgresql_connection_the_server_closed_is_replaced_before_use(
    backend: str, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if backend != "postgresql":
        pytest.skip("PostgreSQL's pool")
    monkeypatch.setattr("storage.db.PING_AFTER_IDLE_SECONDS", 0.2)
    db = Database(database_url)
    try:
        for _ in range(2):
            async with db.transaction() as session:
                assert await session.scalar(text("SELECT 1")) == 1
            # The server ends every connection of the bot's database (as a restart does).
            url = make_url(database_url)
            admin = await asyncpg.connect(
                host=url.host, port=url.port, user=url.username, database="postgres"
            )
            try:
                ended = await admin.fetchval(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = $1 AND pid <> pg_backend_pid()",
                    url.database,
                )
            finally:
                await admin.close()
            assert ended >= 1
            await asyncio.sleep(0.3)
            async with db.transaction() as session:  # no error: a new connection
                assert await session.scalar(text("SELECT 2")) == 2
    finally:
        await db.dispose()
