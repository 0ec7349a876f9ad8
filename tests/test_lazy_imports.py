"""The bot's main process leaves out what it does not need to run (issue 16, memory):
the file parsers and document libraries live in worker processes, Alembic in a child
that runs only when a migration is due, langdetect and rapidfuzz load on first use.
Each check runs in a fresh interpreter (this one has imported everything already), and
each lazy path is then used to show it still works."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from storage import migrate, migration_runner
from storage.db import Database

ROOT = Path(__file__).resolve().parent.parent
# Never in the main process of `wardbot run`, whatever it does.
WORKER_ONLY = ("PIL", "pypdf", "fontTools", "matplotlib", "fpdf", "pypdfium2", "segno", "numpy")
# Not at start; loaded by the first text or typo that needs them.
ON_FIRST_USE = ("langdetect", "rapidfuzz")
NEVER_IN_RUN = ("alembic", "mako", "tqdm")

BUILD_AS_RUN_DOES = """
import asyncio, json, struct, sys, zlib
from pathlib import Path

from bot.app import open_app
from kernel.config import load
from bot import server

def loaded(names):
    return sorted(n for n in names if n in sys.modules)

def png() -> bytes:  # a 2x2 red PNG, written by hand: this process has no Pillow
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    rows = b"".join(b"\\x00" + b"\\xff\\x00\\x00" * 2 for _ in range(2))
    return (b"\\x89PNG\\r\\n\\x1a\\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))

async def main():
    names = json.loads(sys.argv[2])
    settings = load(Path(sys.argv[1]))
    app = await open_app(settings, migrate_in_child=True)  # as `wardbot run` opens it
    try:
        channels = server.build_channels(app.dispatcher, settings)
        server.web_app(app, channels, settings)
        report = {"built": loaded(names), "channels": [c.name for c in channels]}
        clean = await app.services.sandbox.clean(png())
        report["cleaned"] = [clean.kind, clean.mime_type]
        report["after_cleaning"] = loaded(names)
        report["detected"] = app.services.langid.detect("Привет, как у тебя дела сегодня вечером")
        from storage.wards import closest_keys
        report["closest"] = closest_keys("dau son l", {1: "dau son 1", 2: "nam hai"}, 8)
        report["after_use"] = loaded(names)
    finally:
        await app.close()
    print(json.dumps(report))

asyncio.run(main())
"""


def _config(tmp_path: Path, database_url: str) -> Path:
    path = tmp_path / "run.toml"
    path.write_text(
        f"""
[storage]
data_dir = "{tmp_path / "data"}"
database_url = "{database_url}"
keyring = "{tmp_path / "keys" / "keyring.json"}"

[telegram]
token = "123456:lazy-imports-test"
api_base = "http://127.0.0.1:9"
mode = "webhook"
webhook_url = "https://bot.example/hooks/telegram"
webhook_secret = "lazy-imports_test"

[zalo]
token = "zalo-lazy-imports-test"
api_base = "http://127.0.0.1:9"
mode = "webhook"
webhook_url = "https://bot.example/hooks/zalo"
webhook_secret = "lazy-imports-test-zalo"
""",
        encoding="utf-8",
    )
    return path


def _build(config: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WARDBOT_")}
    names = [*WORKER_ONLY, *ON_FIRST_USE, *NEVER_IN_RUN]
    done = subprocess.run(
        [sys.executable, "-c", BUILD_AS_RUN_DOES, str(config), json.dumps(names)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


async def test_the_run_process_loads_no_parser_document_library_or_alembic(
    tmp_path: Path, empty_database_url: str
) -> None:
    config = _config(tmp_path, empty_database_url)
    first = _build(config)  # a fresh database: migrated by a child process
    assert first["channels"] == ["telegram", "zalo"]
    assert first["built"] == [], "imported at start: " + ", ".join(first["built"])
    # The lazy paths still work, and only the first-use ones appear in the process.
    assert first["cleaned"] == ["image", "image/png"]
    assert first["after_cleaning"] == []
    assert first["detected"] == "ru"
    assert first["closest"] == [1]
    assert first["after_use"] == sorted(ON_FIRST_USE)
    again = _build(config)  # a database already at the head: no child, no Alembic
    assert again["built"] == []

    db = Database(empty_database_url)
    try:
        assert await migrate.current_revision(db) == migrate.head_revision()
    finally:
        await db.dispose()


async def test_an_old_database_is_migrated_by_the_child(empty_database_url: str) -> None:
    db = Database(empty_database_url)
    try:
        await migration_runner.upgrade(db, "0005")
        assert await migrate.current_revision(db) == "0005"
        assert await migrate.is_due(db)
        await migrate.upgrade(db, in_child=True)
        assert await migrate.current_revision(db) == migrate.head_revision()
        assert not await migrate.is_due(db)
    finally:
        await db.dispose()


async def test_a_fresh_database_is_migrated_in_process_when_asked(empty_database_url: str) -> None:
    db = Database(empty_database_url)
    try:
        assert await migrate.current_revision(db) is None
        await migrate.upgrade(db)
        assert await migrate.current_revision(db) == migrate.head_revision()
    finally:
        await db.dispose()


def test_the_head_is_read_from_the_files_as_alembic_reads_it() -> None:
    from alembic.script import ScriptDirectory

    alembic_head = ScriptDirectory.from_config(migration_runner.alembic_config()).get_current_head()
    assert migrate.head_revision() == alembic_head
