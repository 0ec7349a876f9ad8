"""Migrations from an empty database reach a schema identical to the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from storage import migrate, migration_runner
from storage.db import Database
from storage.models import Base


async def _differences(db: Database) -> list:
    def compare(connection):
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)

    async with db.engine.connect() as connection:
        return await connection.run_sync(compare)


async def _tables(db: Database) -> set[str]:
    async with db.engine.connect() as connection:
        return set(await connection.run_sync(lambda c: inspect(c).get_table_names()))


async def test_upgrade_from_empty_matches_models_and_is_repeatable(empty_database_url: str) -> None:
    db = Database(empty_database_url)
    try:
        assert await migrate.current_revision(db) is None
        await migrate.upgrade(db)
        assert await migrate.current_revision(db) == migrate.head_revision()
        assert set(Base.metadata.tables) <= await _tables(db)
        assert await _differences(db) == []
        await migrate.upgrade(db)  # a second start changes nothing
        assert await migrate.current_revision(db) == migrate.head_revision()
    finally:
        await db.dispose()


async def test_downgrade_to_empty_and_back(empty_database_url: str) -> None:
    db = Database(empty_database_url)
    try:
        await migrate.upgrade(db)

        def down(connection):
            from alembic import command

            command.downgrade(migration_runner.alembic_config(connection), "base")

        async with db.engine.begin() as connection:
            await connection.run_sync(down)
        assert not (set(Base.metadata.tables) & await _tables(db))
        await migrate.upgrade(db)
        assert await _differences(db) == []
    finally:
        await db.dispose()


async def test_sqlite_runs_in_wal_mode(tmp_path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'w.db'}")
    try:
        await migrate.upgrade(db)
        async with db.engine.connect() as connection:
            mode = (await connection.exec_driver_sql("PRAGMA journal_mode")).scalar()
            secure = (await connection.exec_driver_sql("PRAGMA secure_delete")).scalar()
        assert mode == "wal" and secure == 1
    finally:
        await db.dispose()
