"""A missing or different keyring is refused, never silently replaced; `keys rewrap`
reports what it cannot open and carries on. Through the `wardbot` command, in process,
on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import delete, select, update

from bot.app import open_app
from kernel.config import Settings
from storage import keyring as keyring_file
from storage.crypto import RecordRef, Vault
from storage.db import Database
from storage.keyring import Keyring
from storage.keys import FINGERPRINT
from storage.models import Conversation, Officer, OfficerRole, StoreMeta, Tip
from storage.periods import PeriodKind
from tests.conftest import CliResult
from tests.helpers import Chat, add_phu_lien, enrol, run_cli, send_report

RESTORE = "restore the keyring from its backup, or point storage.keyring (WARDBOT_KEYRING) at it"
NOT_THIS = "is not the keyring of this database"


@pytest.fixture
def console(cli_env: dict[str, str], tmp_path: Path):
    """`wardbot ARGS...` with the console chat reading `stdin` (by default /start), in
    English, in this process."""
    env = {**cli_env, "WARDBOT_LANG": "en"}

    async def run(*args: str, stdin: str = "/start\n") -> CliResult:
        done = await asyncio.to_thread(run_cli, *args, env=env, stdin=stdin, cwd=tmp_path)
        return CliResult(done.returncode, done.stdout, done.stderr)

    return run


def one_line(result: CliResult) -> str:
    assert "Traceback" not in result.err
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("wardbot: "), result.err
    return lines[0]


async def fill(settings: Settings) -> None:
    """A ward with an officer, a tip and conversations: data made under the keyring."""
    app = await open_app(settings)
    try:
        ward = await add_phu_lien(app)
        officer = await enrol(app, ward, OfficerRole.OFFICER, "officer-1", "Trinh sát Minh")
        code, _secret = await send_report(Chat(app, "reporter"), "Có người bán ma túy ở ngõ 5")
        await officer.send(f"/tip {code}")
    finally:
        await app.close()


async def fingerprint_in(settings: Settings) -> str | None:
    db = Database(settings.database_url)
    try:
        async with db.transaction() as session:
            row = await session.get(StoreMeta, FINGERPRINT)
            return row.value if row else None
    finally:
        await db.dispose()


def put_away(path: Path) -> Path:
    backup = path.with_name("keyring.backup.json")
    path.rename(backup)
    return backup


@pytest.mark.parametrize(
    "args",
    [("run",), ("chat", "--user", "an"), ("audit", "verify"), ("tips", "shred-expired")],
    ids=["run", "chat", "audit-verify", "tips-shred"],
)
async def test_missing_keyring_is_refused_when_the_database_holds_data(
    settings: Settings, wardbot, args: tuple[str, ...]
) -> None:
    await fill(settings)
    backup = put_away(settings.keyring_path)

    refused = await wardbot(*args, stdin="/start\n")
    assert refused.code == 2
    line = one_line(refused)
    assert RESTORE in line and str(settings.keyring_path) in line
    assert "Chào" not in refused.out and "Hello" not in refused.out  # the bot never ran
    assert not settings.keyring_path.exists()  # and no new keyring was made

    backup.rename(settings.keyring_path)
    again = await wardbot("audit", "verify")
    assert again.code == 0, again.err
    assert "audit log intact" in again.out


async def test_a_fingerprint_alone_is_enough_to_refuse(settings: Settings, wardbot) -> None:
    """A database that was started once holds no tip yet, but its keyring is known."""
    app = await open_app(settings)
    await app.close()
    keys = keyring_file.load(settings.keyring_path)
    assert await fingerprint_in(settings) == keys.fingerprint()
    assert keys.fingerprint() not in settings.keyring_path.read_text()
    put_away(settings.keyring_path)
    refused = await wardbot("chat", "--user", "an", stdin="/start\n")
    assert refused.code == 2 and RESTORE in one_line(refused)
    assert not settings.keyring_path.exists()


async def test_rows_alone_are_enough_to_refuse(settings: Settings, wardbot) -> None:
    """A database from before fingerprints (or one whose fingerprint was deleted)."""
    await fill(settings)
    db = Database(settings.database_url)
    try:
        async with db.transaction() as session:
            await session.execute(delete(StoreMeta))
    finally:
        await db.dispose()
    put_away(settings.keyring_path)
    for args in (("run",), ("audit", "verify")):
        refused = await wardbot(*args, stdin="/start\n")
        assert refused.code == 2 and RESTORE in one_line(refused)
    assert not settings.keyring_path.exists()


@pytest.mark.parametrize(
    "args", [("run",), ("chat", "--user", "an"), ("audit", "verify")], ids=["run", "chat", "audit"]
)
async def test_a_different_keyring_is_refused(
    settings: Settings, wardbot, console, args: tuple[str, ...]
) -> None:
    await fill(settings)
    real = settings.keyring_path.read_text()
    keyring_file.save(Keyring.generate(), settings.keyring_path, overwrite=True)
    refused = await wardbot(*args, stdin="/start\n")
    assert refused.code == 2
    line = one_line(refused)
    assert NOT_THIS in line and "restore the right keyring from its backup" in line
    assert "WARDBOT_KEYRING" in line

    settings.keyring_path.write_text(real)
    restored = await console(*args)
    assert restored.code == 0, restored.err


async def test_a_rotated_keyring_keeps_its_fingerprint(
    settings: Settings, wardbot, console
) -> None:
    await fill(settings)
    before = await fingerprint_in(settings)
    rotated = await wardbot("keys", "rotate")
    assert rotated.code == 0, rotated.err
    chat = await console("chat", "--user", "reporter")
    assert chat.code == 0, chat.err
    assert await fingerprint_in(settings) == before


async def test_a_database_from_before_fingerprints_adopts_its_own_keyring_only(
    settings: Settings, wardbot
) -> None:
    await fill(settings)
    db = Database(settings.database_url)
    try:
        async with db.transaction() as session:
            await session.execute(delete(StoreMeta))
    finally:
        await db.dispose()
    real = settings.keyring_path.read_text()
    keyring_file.save(Keyring.generate(), settings.keyring_path, overwrite=True)
    refused = await wardbot("audit", "verify")
    assert refused.code == 2 and NOT_THIS in one_line(refused)
    assert await fingerprint_in(settings) is None

    settings.keyring_path.write_text(real)
    adopted = await wardbot("audit", "verify")
    assert adopted.code == 0, adopted.err
    assert await fingerprint_in(settings) == Keyring.from_json(real).fingerprint()


async def test_an_empty_database_without_a_keyring_makes_one(
    settings: Settings, wardbot, console
) -> None:
    assert not settings.keyring_path.exists()
    first = await console("chat", "--user", "an")
    assert first.code == 0, first.err
    assert "Xin chào" in first.out  # the bot answered
    assert stat.S_IMODE(settings.keyring_path.stat().st_mode) == 0o600
    keys = keyring_file.load(settings.keyring_path)
    assert await fingerprint_in(settings) == keys.fingerprint()
    again = await wardbot("audit", "verify")
    assert again.code == 0, again.err
    assert keyring_file.load(settings.keyring_path).to_json() == keys.to_json()


async def test_keys_init_makes_the_keyring_the_first_start_binds(
    settings: Settings, wardbot
) -> None:
    made = await wardbot("keys", "init")
    assert made.code == 0, made.err
    keys = keyring_file.load(settings.keyring_path)
    verify = await wardbot("audit", "verify")
    assert verify.code == 0, verify.err
    assert await fingerprint_in(settings) == keys.fingerprint()
    assert keyring_file.load(settings.keyring_path).to_json() == keys.to_json()


async def test_rewrap_reports_rows_it_cannot_open_and_carries_on(
    settings: Settings, wardbot
) -> None:
    await fill(settings)
    app = await open_app(settings)
    try:
        for user in ("an", "binh", "chi"):
            await Chat(app, user).send("/start")
    finally:
        await app.close()
    # Rows sealed under a keyring that is not this one (the temporary one of issue 15).
    stranger = Vault(Keyring.generate())
    db = Database(settings.database_url)
    try:
        async with db.transaction() as session:
            conversation_ids = (
                await session.scalars(select(Conversation.id).order_by(Conversation.id))
            ).all()
            tip_id = (await session.scalars(select(Tip.id))).one()
            strays = conversation_ids[-2:]
            stray_keys = [stranger.new_key(RecordRef("conversations", i)) for i in strays]
            for row_id, stray_key in zip(strays, stray_keys, strict=True):
                await session.execute(
                    update(Conversation)
                    .where(Conversation.id == row_id)
                    .values(wrapped_key=stray_key)
                )
            await session.execute(
                update(Tip)
                .where(Tip.id == tip_id)
                .values(wrapped_key=stranger.new_key(RecordRef("tips", tip_id)))
            )
    finally:
        await db.dispose()

    # At the active version already: rewrap has nothing to move, but still finds them.
    checked = await wardbot("keys", "rewrap")
    assert checked.code == 3 and "Traceback" not in checked.err
    assert "conversations: 2 data keys could not be opened with this keyring" in checked.err
    assert "tips: 1 data keys could not be opened with this keyring" in checked.err

    assert (await wardbot("keys", "rotate")).code == 0
    rewrapped = await wardbot("keys", "rewrap")
    assert rewrapped.code == 3 and "Traceback" not in rewrapped.err
    # Conversations and tips are wrapped under period keys, which rotation leaves alone.
    assert "conversations: 0 data keys re-wrapped" in rewrapped.out
    assert "tips: 0 data keys re-wrapped" in rewrapped.out
    assert "officers: 1 data keys re-wrapped" in rewrapped.out
    assert "conversations: 2 data keys could not be opened with this keyring" in rewrapped.err
    assert "tips: 1 data keys could not be opened with this keyring" in rewrapped.err
    assert "wardbot: 3 data keys could not be opened" in rewrapped.err
    for row_id in (*strays, tip_id):  # counts only, never which rows
        assert f" {row_id}\n" not in rewrapped.err and f"id {row_id}" not in rewrapped.err

    db = Database(settings.database_url)
    try:
        async with db.transaction() as session:
            wrapped = {
                row.id: row.wrapped_key
                for row in (await session.scalars(select(Conversation))).all()
            }
            officer_keys = [row.wrapped_key for row in await session.scalars(select(Officer))]
    finally:
        await db.dispose()
    assert {Vault.key_version(key) for key in officer_keys} == {2}
    assert {Vault.slot_of(wrapped[i]).kind for i in wrapped} == {PeriodKind.CONVERSATIONS}
    assert {wrapped[i] for i in strays} == set(stray_keys)  # left as they were

    # Run again: nothing left to move, the same rows still reported.
    again = await wardbot("keys", "rewrap")
    assert again.code == 3 and "conversations: 0 data keys re-wrapped" in again.out


async def test_rewrap_with_every_row_readable_succeeds(settings: Settings, wardbot) -> None:
    await fill(settings)
    assert (await wardbot("keys", "rotate")).code == 0
    done = await wardbot("keys", "rewrap")
    assert done.code == 0, done.err
    assert "could not be opened" not in done.err
    assert "officers: 1 data keys re-wrapped" in done.out
    assert "tips: 0 data keys re-wrapped" in done.out  # under a period key already


async def test_rewrap_refuses_a_missing_or_different_keyring(settings: Settings, wardbot) -> None:
    await fill(settings)
    real = settings.keyring_path.read_text()
    keyring_file.save(Keyring.generate(), settings.keyring_path, overwrite=True)
    other = await wardbot("keys", "rewrap")
    assert other.code == 2 and NOT_THIS in one_line(other)
    settings.keyring_path.unlink()
    missing = await wardbot("keys", "rewrap")
    assert missing.code == 2 and RESTORE in one_line(missing)
    settings.keyring_path.write_text(real)
    os.chmod(settings.keyring_path, 0o600)
    assert (await wardbot("keys", "rewrap")).code == 0
