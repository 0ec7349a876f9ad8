"""Fixtures: every storage-touching test runs on SQLite and, when
WARDBOT_TEST_DATABASE_URL is set, on PostgreSQL too (a fresh database per test)."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from bot.app import App, open_app
from bot.config import Settings
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


@pytest.fixture
async def database_url(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'wardbot.db'}"
        return
    name = f"wardbot_t_{secrets.token_hex(6)}"
    admin = await asyncpg.connect(_admin_dsn(PG_URL))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    admin = await asyncpg.connect(_admin_dsn(PG_URL))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


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
