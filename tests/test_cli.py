"""The `wardbot` command as a person runs it: piped console chat, schema, key lifecycle.
The first two tests start the installed console script as its own process (the smoke
tests of `wardbot chat` and `wardbot run`); the rest call the same `bot.cli.main` in
this process (tests/helpers.py:run_cli)."""

from __future__ import annotations

import io
import os
import re
import stat
from pathlib import Path

from sqlalchemy import select

from bot.channels import console
from kernel.config import Settings
from storage import keyring as keyring_file
from storage import migrate
from storage.crypto import Vault
from storage.db import Database
from storage.models import Conversation
from tests.helpers import run_cli, run_wardbot

WELCOME_VI = "Xin chào! Đây là kênh của Công an phường"


def test_piped_start_prints_the_vietnamese_welcome_and_menu(cli_env, tmp_path: Path) -> None:
    result = run_wardbot("chat", "--user", "an", env=cli_env, stdin="/start\n", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert WELCOME_VI in result.stdout
    assert "1. Báo tin, tố giác" in result.stdout and "7. Ngôn ngữ / Language" in result.stdout
    assert "Traceback" not in result.stderr


def test_first_start_on_a_fresh_directory_uses_sqlite_and_makes_a_private_keyring(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WARDBOT_")}
    result = run_wardbot("run", env=env, stdin="/start\n7\n2\n", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert WELCOME_VI in result.stdout and "I will answer in English" in result.stdout
    data = tmp_path / "wardbot-data"
    assert (data / "wardbot.db").exists()
    assert stat.S_IMODE((data / "keyring.json").stat().st_mode) == 0o600
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    again = run_cli("run", env=env, stdin="/start\n", cwd=tmp_path)  # the choice was kept
    assert again.stdout.startswith("Hello!"), again.stdout


def test_undecodable_input_is_answered_not_crashed(cli_env, tmp_path: Path) -> None:
    result = run_cli(
        "chat", "--user", "an", env=cli_env, stdin=b"\xff\xfe\xc3(\n/start\n", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "Xin lỗi, tôi chưa hiểu" in result.stdout
    assert WELCOME_VI in result.stdout


async def test_console_channel_in_process(app) -> None:
    out = io.StringIO()
    await console.chat(app.dispatcher, "lan", stdin=io.StringIO("/start\n7\n"), stdout=out)
    text = out.getvalue()
    assert WELCOME_VI in text and "Chọn ngôn ngữ:\n\n1. Tiếng Việt\n2. English" in text


def test_db_upgrade_reports_the_revision(cli_env) -> None:
    result = run_cli("db", "upgrade", env=cli_env)
    assert result.returncode == 0, result.stderr
    assert f"phiên bản {migrate.head_revision()}" in result.stdout


async def test_keys_init_rotate_rewrap(cli_env, settings: Settings, tmp_path: Path) -> None:
    created = run_cli("keys", "init", env=cli_env)
    assert created.returncode == 0, created.stderr
    assert stat.S_IMODE(settings.keyring_path.stat().st_mode) == 0o600
    refused = run_cli("keys", "init", env=cli_env)
    assert refused.returncode == 2 and "đã tồn tại" in refused.stderr

    # Conversations sealed under this month's conversations key (a period key).
    for user in ("an", "binh", "chi"):
        chat = run_cli("chat", "--user", user, env=cli_env, stdin="/start\n7\n2\n", cwd=tmp_path)
        assert chat.returncode == 0, chat.stderr

    # An officer's route is sealed under a data key wrapped by master key 1.
    assert run_cli("ward", "add", "Phù Liễn", "--code", "phu-lien", env=cli_env).returncode == 0
    invite = run_cli("officer", "invite", "--ward", "phu-lien", "--label", "Minh", env=cli_env)
    code = re.search(r"/join (\S+)", invite.stdout)
    assert code, invite.stdout + invite.stderr
    joined = run_cli("chat", "--user", "minh", env=cli_env, stdin=f"/join {code[1]}\n")
    assert "Minh" in joined.stdout, joined.stdout + joined.stderr

    rotated = run_cli("keys", "rotate", env=cli_env)
    assert rotated.returncode == 0 and "2" in rotated.stdout
    # Old records stay readable: the language chosen under key 1 is still honoured.
    after = run_cli("chat", "--user", "an", env=cli_env, stdin="/start\n", cwd=tmp_path)
    assert after.stdout.startswith("Hello!")
    early = run_cli("keys", "retire", "1", env=cli_env)  # the officer's key is still under it
    assert early.returncode == 3 and "keys rewrap" in early.stderr, early.stdout + early.stderr
    assert 1 in keyring_file.load(settings.keyring_path).versions

    rewrapped = run_cli("keys", "rewrap", env=cli_env)
    assert rewrapped.returncode == 0, rewrapped.stderr
    # Period keys are not master keys: rotation and rewrap leave conversations alone.
    assert "conversations: đã bọc lại 0 khóa dữ liệu" in rewrapped.stdout
    assert "officers: đã bọc lại 1 khóa dữ liệu" in rewrapped.stdout

    db = Database(settings.database_url)
    try:
        async with db.transaction() as session:
            rows = (await session.scalars(select(Conversation))).all()
        assert len(rows) == 4
        assert {Vault.slot_of(row.wrapped_key).kind for row in rows} == {"conversations"}
    finally:
        await db.dispose()

    active = run_cli("keys", "retire", "2", env=cli_env)
    assert active.returncode != 0 and "Traceback" not in active.stderr
    retired = run_cli("keys", "retire", "1", env=cli_env)
    assert retired.returncode == 0, retired.stdout + retired.stderr
    assert keyring_file.load(settings.keyring_path).versions == [2]
    # With master key 1 gone from the keyring, everything still opens.
    final = run_cli("chat", "--user", "binh", env=cli_env, stdin="/start\n", cwd=tmp_path)
    assert final.stdout.startswith("Hello!"), final.stdout + final.stderr
    officer = run_cli("chat", "--user", "minh", env=cli_env, stdin="/queue\n")
    assert officer.returncode == 0 and "Traceback" not in officer.stderr


def test_missing_or_exposed_keyring_is_one_line(cli_env, settings: Settings) -> None:
    result = run_cli("keys", "rotate", env=cli_env)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "keys init" in result.stderr and "không có tệp khóa" in result.stderr
    run_cli("keys", "init", env=cli_env)
    os.chmod(settings.keyring_path, 0o640)
    exposed = run_cli("chat", "--user", "an", env=cli_env, stdin="/start\n")
    assert exposed.returncode == 2 and "chmod 600" in exposed.stderr
    assert "Traceback" not in exposed.stderr
