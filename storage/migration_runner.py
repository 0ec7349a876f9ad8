"""Alembic itself, imported only when storage/migrate.py finds a migration due; also run
as `python -m storage.migration_runner` by `wardbot run`, so that the bot's own process
never loads it (the database's address comes in the environment)."""

from __future__ import annotations

import asyncio
import os
import sys

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

from storage.db import Database
from storage.migration_paths import CHILD_DATABASE_ENV, MIGRATIONS


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


async def upgrade(db: Database, revision: str = "head") -> None:
    def run(connection: Connection) -> None:
        command.upgrade(alembic_config(connection), revision)

    async with db.engine.begin() as connection:
        await connection.run_sync(run)


async def _main() -> None:
    db = Database(os.environ[CHILD_DATABASE_ENV])
    try:
        await upgrade(db)
    finally:
        await db.dispose()


if __name__ == "__main__":
    try:
        asyncio.run(_main())
    except Exception:  # no traceback: a driver's message may quote SQL and its values
        sys.exit(1)  # `wardbot run` says so; `wardbot db upgrade` shows the error itself
