"""Fixtures: every storage-touching test runs on SQLite and, when
WARDBOT_TEST_DATABASE_URL is set, on PostgreSQL too (a fresh database per test)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import secrets
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from bot.app import App, open_app
from kernel.config import Settings
from storage import migrate
from storage.db import Database
from tests.helpers import run_cli

PG_URL = os.environ.get("WARDBOT_TEST_DATABASE_URL", "").strip()


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("CI") == "true" and not PG_URL:
        raise pytest.UsageError("CI=true but WARDBOT_TEST_DATABASE_URL is not set")


def _admin_dsn(url: str) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgresql" and not PG_URL:
        pytest.skip("WARDBOT_TEST_DATABASE_URL is not set")
    return str(request.param)


def _migrated(url: str) -> None:
    """Apply every migration to the database at `url`, with a loop of its own."""

    async def upgrade() -> None:
        db = Database(url)
        try:
            await migrate.upgrade(db)
        finally:
            await db.dispose()

    _on_a_loop_of_its_own(upgrade())


def _on_a_loop_of_its_own(work: Coroutine[Any, Any, None]) -> None:
    """For session fixtures, which pytest-asyncio's per-test loops do not serve."""
    with concurrent.futures.ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, work).result(timeout=300)


async def _admin(statement: str) -> None:
    admin = await asyncpg.connect(_admin_dsn(PG_URL))
    try:
        await admin.execute(statement)
    finally:
        await admin.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite database migrated to head once per session; each test gets a copy, as
    if it had run the migrations itself (tests/test_migrations.py runs them from empty)."""
    path = tmp_path_factory.mktemp("template") / "wardbot.db"
    _migrated(f"sqlite+aiosqlite:///{path}")
    assert not path.with_name("wardbot.db-wal").exists()  # all of it is in the one file
    return path


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """The same for PostgreSQL: a database migrated once, the template of each test's."""
    name = f"wardbot_tpl_{secrets.token_hex(6)}"
    _on_a_loop_of_its_own(_admin(f'CREATE DATABASE "{name}"'))
    try:
        _migrated(make_url(PG_URL).set(database=name).render_as_string(hide_password=False))
        yield name
    finally:
        _on_a_loop_of_its_own(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
async def empty_database_url(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    """A new database with nothing in it, not even the schema."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'wardbot.db'}"
        return
    name = f"wardbot_t_{secrets.token_hex(6)}"
    await _admin(f'CREATE DATABASE "{name}"')
    yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def database_url(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[str]:
    """A new database of this test's own, at the schema's head revision."""
    if backend == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        shutil.copyfile(template, tmp_path / "wardbot.db")
        yield f"sqlite+aiosqlite:///{tmp_path / 'wardbot.db'}"
        return
    template = request.getfixturevalue("postgres_template")
    name = f"wardbot_t_{secrets.token_hex(6)}"
    await _admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path,
        database_url=database_url,
        keyring_path=tmp_path / "keys" / "keyring.json",
    )


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[App]:
    application = await open_app(settings)
    yield application
    await application.close()


@pytest.fixture
def cli_env(settings: Settings, tmp_path: Path) -> Iterator[dict[str, str]]:
    """Environment for running the `wardbot` command against this test's database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WARDBOT_")}
    env.update(
        WARDBOT_DATABASE_URL=settings.database_url,
        WARDBOT_KEYRING=str(settings.keyring_path),
        WARDBOT_DATA_DIR=str(tmp_path),
        WARDBOT_LANG="vi",
    )
    yield env


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def wardbot(cli_env: dict[str, str], tmp_path: Path) -> Callable[..., Awaitable[CliResult]]:
    """`wardbot ARGS...` in this process (tests/helpers.py:run_cli), in English, against
    this test's database, from the test's directory."""
    env = {**cli_env, "WARDBOT_LANG": "en"}

    async def run(*args: str, stdin: str = "") -> CliResult:
        done = await asyncio.to_thread(run_cli, *args, env=env, stdin=stdin, cwd=tmp_path)
        return CliResult(done.returncode, done.stdout, done.stderr)

    return run
