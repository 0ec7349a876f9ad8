"""Schema migrations, applied by `wardbot db upgrade` and at every start.

Whether a migration is due is decided without Alembic: the database's revision is read
from `alembic_version` with plain SQLAlchemy, and the newest one from the `revision` and
`down_revision` lines of the files in migrations/versions. Alembic (about 10 MB of the
bot's memory, kept until the process ends once imported) is loaded only when they
differ, by storage/migration_runner.py; `wardbot run` even runs that in a short-lived
child process (`in_child`), so the long-running bot never holds it.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from storage.db import Database
from storage.migration_paths import CHILD_DATABASE_ENV, MIGRATIONS

VERSION_TABLE = "alembic_version"  # Alembic's default, which env.py keeps
_REVISION_LINE = re.compile(r"^(down_revision|revision)\s*(?::[^=]*)?=\s*(.+?)\s*$", re.M)


class MigrationFailed(Exception):
    """The migrating child process did not finish (it shows no error: `wardbot db
    upgrade` migrates in its own process and does)."""


def head_revision() -> str | None:
    """The newest revision in migrations/versions, read from the files' text."""
    revisions: dict[str, str | None] = {}
    for path in sorted((MIGRATIONS / "versions").glob("*.py")):
        found = dict(_REVISION_LINE.findall(path.read_text(encoding="utf-8")))
        if "revision" in found:
            down = found.get("down_revision", "None").strip("\"'")
            revisions[found["revision"].strip("\"'")] = None if down == "None" else down
    heads = set(revisions) - {down for down in revisions.values() if down}
    if len(heads) > 1:
        raise RuntimeError(f"migrations have several heads: {sorted(heads)}")
    return heads.pop() if heads else None


async def current_revision(db: Database) -> str | None:
    def read(connection: Connection) -> str | None:
        if not inspect(connection).has_table(VERSION_TABLE):
            return None
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()

    async with db.engine.connect() as connection:
        return await connection.run_sync(read)


async def is_due(db: Database) -> bool:
    return await current_revision(db) != head_revision()


async def upgrade(db: Database, revision: str = "head", *, in_child: bool = False) -> None:
    """Bring the schema to `revision`; nothing is imported when it is there already."""
    if revision == "head" and not await is_due(db):
        return
    if in_child:
        await _upgrade_in_child(db)
        return
    from storage import migration_runner  # Alembic: only when a migration is due

    await migration_runner.upgrade(db, revision)


async def _upgrade_in_child(db: Database) -> None:
    environ = dict(os.environ)
    environ[CHILD_DATABASE_ENV] = db.url.render_as_string(hide_password=False)
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "storage.migration_runner", env=environ
    )
    if await child.wait() != 0:
        raise MigrationFailed(f"the migration process ended with status {child.returncode}")
