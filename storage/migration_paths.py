"""Where the migrations live and how the migration child finds its database: shared by
migrate.py (is one due?) and migration_runner.py (Alembic, loaded only when one is)."""

from __future__ import annotations

from pathlib import Path

MIGRATIONS = Path(__file__).with_name("migrations")
# The child process reads the database's address from here, never from its command line
# (which other users of the machine can list).
CHILD_DATABASE_ENV = "WARDBOT_MIGRATE_DATABASE_URL"
