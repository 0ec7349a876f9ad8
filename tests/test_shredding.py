"""Shredding that holds (issue 15, item 4): once the retention run has shredded a tip,
no copy of the database, its WAL or its dead row versions opens it with the keyring as
it is after the run; a keyring backup from before still does. Real crypto, the real
keyring file, SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from bot.app import open_app
from bot.jobs import retention_tick
from kernel.clock import utcnow
from storage import conversations, periods
from storage import keyring as keyring_file
from storage.crypto import CryptoError, RecordRef, Vault, WrappedKey
from storage.db import Database
from storage.keyring import Keyring, KeyringError, KeyringFile
from storage.models import AuditEntry, Conversation, OfficerRole, Tip
from storage.periods import PeriodKind
from storage.pseudonyms import Pseudonym
from storage.shredding import shred_period_keys
from tests.helpers import Chat, add_phu_lien, enrol, raw_database_bytes, send_report

WHAT = "Nhà số 7 ngõ 12 có người bán ma túy đá vào ban đêm"
# The shapes of a wrapped data key on disk: format 2 (kind 1-4, year 2016-2047, month)
# and format 1 (master key versions 1-16), each 65 bytes.
SHAPES = (
    re.compile(rb"(?=(\x02[\x01-\x04]\x07[\xe0-\xff][\x01-\x0c][\s\S]{60}))"),
    re.compile(rb"(?=(\x01\x00\x00\x00[\x01-\x10][\s\S]{60}))"),
)


def wrapped_keys(blob: bytes) -> set[bytes]:
    return {m.group(1) for shape in SHAPES for m in shape.finditer(blob)}


def opened(vault: Vault, candidates: set[bytes], refs: list[RecordRef]) -> set[RecordRef]:
    """The records for which some candidate opens with this vault."""
    found = set()
    for ref in refs:
        for candidate in candidates:
            try:
                vault.cipher(WrappedKey(candidate), ref)
            except CryptoError:
                continue
            found.add(ref)
            break
    return found


class Copies:
    """Copies of the data a thief could take while the bot runs. SQLite: the database
    file and its WAL, also just before every checkpoint that empties the WAL.
    PostgreSQL: every tuple of the tables' pages, dead ones included (pageinspect),
    with the relation files and WAL segments."""

    def __init__(self, database_url: str):
        self.url = database_url
        self.blobs: list[bytes] = []

    def sqlite_files(self) -> None:
        base = Path(make_url(self.url).database or "")
        for path in (base, Path(f"{base}-wal")):
            if path.exists():
                self.blobs.append(path.read_bytes())

    async def take(self) -> None:
        if make_url(self.url).get_backend_name() == "sqlite":
            self.sqlite_files()
            return
        self.blobs.append(await raw_database_bytes(self.url))
        conn = await asyncpg.connect(_dsn(self.url))
        try:
            await conn.execute("CREATE EXTENSION IF NOT EXISTS pageinspect")
            for table in ("tips", "conversations"):
                pages = await conn.fetchval(
                    "SELECT pg_relation_size($1::regclass) / current_setting('block_size')::int",
                    table,
                )
                for page in range(pages):
                    rows = await conn.fetch(
                        "SELECT t_data FROM heap_page_items(get_raw_page($1, $2::int))",
                        table,
                        page,
                    )
                    self.blobs.extend(bytes(r["t_data"]) for r in rows if r["t_data"])
        finally:
            await conn.close()

    def keys(self) -> set[bytes]:
        return set().union(*(wrapped_keys(blob) for blob in self.blobs))


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def dead_tuples(url: str, table: str) -> int:
    conn = await asyncpg.connect(_dsn(url))
    try:
        await conn.execute("CREATE EXTENSION IF NOT EXISTS pageinspect")
        pages = await conn.fetchval(
            "SELECT pg_relation_size($1::regclass) / current_setting('block_size')::int", table
        )
        dead = 0
        for page in range(pages):
            dead += await conn.fetchval(
                "SELECT count(*) FROM heap_page_items(get_raw_page($1, $2::int)) WHERE t_xmax <> 0",
                table,
                page,
            )
        return dead
    finally:
        await conn.close()


async def test_a_shredded_tip_opens_from_no_copy_with_the_keyring_after_the_run(
    app, settings, backend, monkeypatch
) -> None:
    copies = Copies(settings.database_url)
    if backend == "sqlite":
        truncate = Database._truncate_wal

        async def copy_then_truncate(self: Database) -> None:
            copies.sqlite_files()  # what a copy of the running folder holds just then
            await truncate(self)

        monkeypatch.setattr(Database, "_truncate_wal", copy_then_truncate)
    else:
        conn = await asyncpg.connect(_dsn(settings.database_url))
        try:  # keep every dead row version on disk, as a busy server may for a while
            for table in ("tips", "conversations"):
                await conn.execute(f"ALTER TABLE {table} SET (autovacuum_enabled = false)")
        finally:
            await conn.close()

    ward = await add_phu_lien(app)
    officer = await enrol(app, ward, OfficerRole.OFFICER, "officer-1", "Trinh sát Minh")
    reporter = Chat(app, "reporter-1")
    code, _secret = await send_report(reporter, WHAT, ward_id=ward)
    async with app.services.db.transaction() as session:
        tip = (await session.scalars(select(Tip).where(Tip.code == code))).one()
        opened_key = tip.wrapped_key
        refs = [RecordRef("tips", tip.id)] + [
            RecordRef("conversations", i) for i in await session.scalars(select(Conversation.id))
        ]
    assert Vault.slot_of(opened_key).kind is PeriodKind.TIPS_OPEN
    await copies.take()
    await officer.send(f"/close {code} xác minh")
    assert "Đã kết thúc tin" in officer.text
    async with app.services.db.transaction() as session:
        closed_key = (await session.get(Tip, refs[0].record_id)).wrapped_key
    assert Vault.slot_of(closed_key).kind is PeriodKind.TIPS_CLOSED
    await copies.take()

    # Control: before the run, the copies hold the tip's wrapped keys, and they open.
    before = copies.keys()
    assert {opened_key, closed_key} <= before
    assert opened(app.services.vault, before, refs) == set(refs)
    backup = settings.keyring_path.with_name("keyring.backup.json")
    shutil.copy2(settings.keyring_path, backup)

    later = utcnow() + timedelta(days=settings.retention_days + 40)
    assert await retention_tick(app.services, now=later) == 1
    await copies.take()
    everything = copies.keys()
    assert before <= everything

    async with app.services.db.transaction() as session:
        row = await session.get(Tip, refs[0].record_id)
        assert row.wrapped_key is None and row.sealed_content is None
        assert await session.scalar(select(Conversation.id).limit(1)) is None
        shredded = [
            e.detail
            for e in await session.scalars(select(AuditEntry))
            if e.action == "keys_shredded"
        ]
    month = periods.period_of(utcnow())
    for kind in ("tips-open", "tips-closed", "conversations"):
        assert {"kind": kind, "period": month} in shredded
    assert all(set(detail) == {"kind", "period"} for detail in shredded)

    # The keyring as it is after the run, read afresh, opens none of them; nor does the
    # running bot's own vault.
    after = Vault(keyring_file.load(settings.keyring_path))
    assert opened(after, everything, refs) == set()
    assert opened(app.services.vault, everything, refs) == set()
    # A keyring backup from before the run still opens the tip (and its conversations):
    # backups must not be kept longer than the retention period.
    old = Vault(keyring_file.load(backup))
    assert opened(old, everything, refs) == set(refs)
    if backend == "postgresql":
        assert await dead_tuples(settings.database_url, "tips") > 0  # there was more to find


async def test_keyring_format_1_is_upgraded_in_place_and_keeps_its_fingerprint(tmp_path) -> None:
    path = tmp_path / "keys" / "keyring.json"
    original = Keyring.generate()
    data = json.loads(original.to_json())
    data["format"] = "wardbot-keyring/1"
    del data["period_keys"]
    path.parent.mkdir(mode=0o700)
    path.write_text(json.dumps(data))
    path.chmod(0o600)
    officer = RecordRef("officers", 3)
    old_key = Vault(Keyring.from_json(path.read_text())).new_key(officer)  # master key 1

    upgraded = keyring_file.load(path)
    stored = json.loads(path.read_text())
    assert stored["format"] == "wardbot-keyring/2"
    assert set(stored["period_keys"]) == {str(kind) for kind in PeriodKind}
    assert upgraded.fingerprint() == original.fingerprint()
    assert upgraded.versions == [1]
    Vault(upgraded).cipher(old_key, officer)  # format 1 data keys still open
    # Loaded again, the same period keys: the upgrade was written before any use.
    tip = RecordRef("tips", 1)
    assert Vault(keyring_file.load(path)).cipher(Vault(upgraded).new_key(tip), tip)
    assert stat_mode(path) == 0o600
    for shown in (repr(upgraded), repr(Vault(upgraded)), str(upgraded)):
        for secret in (stored["hmac_root"], stored["master_keys"][0]["key"]):
            assert secret not in shown
        for keys in stored["period_keys"].values():
            assert keys["chain"]["seed"] not in shown


def stat_mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_the_chain_opens_future_months_and_deleting_a_month_leaves_nothing_that_opens_it() -> None:
    start = utcnow()
    backup = Keyring.generate(start)
    this = periods.period_of(start)
    months = [periods.shifted(this, i) for i in range(6)]
    kind = PeriodKind.TIPS_CLOSED
    keys = {p: backup.period_key(kind, p) for p in months}
    assert len(set(keys.values())) == 6
    # Another kind's key for the same month is another key.
    assert backup.period_key(PeriodKind.TIPS_OPEN, this) != keys[this]

    # Delete months 0, 1 and 3 (up to month 4), keeping month 2 (a live tip uses it).
    kept, deleted = backup.retired(kind, months[4], keep={months[2]})
    assert deleted == [months[0], months[1], months[3]]
    for p in deleted:
        with pytest.raises(KeyringError):
            kept.period_key(kind, p)
        assert not kept.has_period(kind, p)
    assert kept.period_key(kind, months[2]) == keys[months[2]]
    assert kept.period_key(kind, months[4]) == keys[months[4]]  # backups stay valid
    assert kept.period_key(kind, months[5]) == keys[months[5]]
    assert kept.fingerprint() == backup.fingerprint()
    # Written and read back, the same; nothing in the file is a deleted month's key.
    again = Keyring.from_json(kept.to_json())
    assert again.period_key(kind, months[4]) == keys[months[4]]
    text = again.to_json()
    import base64

    for p in deleted:
        assert base64.b64encode(keys[p]).decode() not in text
    assert kept.usable_period(kind, months[1]) == months[4]  # gone: the first kept after
    assert kept.usable_period(kind, months[2]) == months[2]


def test_two_processes_changing_the_keyring_never_lose_each_others_change(tmp_path) -> None:
    path = tmp_path / "keyring.json"
    start = utcnow() - timedelta(days=200)
    keyring_file.save(Keyring.generate(start), path, overwrite=False)
    first = periods.period_of(start)
    # Another process takes the lock, waits for our word, then rotates the master key.
    other = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; from storage import keyring as k\n"
            f"p = Path({str(path)!r})\n"
            "with k.locked(p):\n"
            "    print('locked', flush=True); sys.stdin.readline()\n"
            "    k.save(k._read(p).rotated(), p, overwrite=True)\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert other.stdout is not None and other.stdin is not None
    assert other.stdout.readline().strip() == "locked"
    source = KeyringFile(path)
    vault = Vault(source.current(), source=source)
    done: list[object] = []
    this = periods.period_of(utcnow())
    worker = threading.Thread(
        target=lambda: done.append(vault.retire({PeriodKind.TIPS_OPEN: (this, ())}))
    )
    worker.start()
    worker.join(timeout=0.5)
    assert worker.is_alive()  # waits for the other process's lock
    other.stdin.write("go\n")
    other.stdin.flush()
    assert other.wait(timeout=30) == 0
    worker.join(timeout=30)
    assert done and (PeriodKind.TIPS_OPEN, first) in done[0]  # type: ignore[operator]
    final = keyring_file.load(path)
    assert final.active_version == 2  # the other process's rotation is kept
    assert not final.has_period(PeriodKind.TIPS_OPEN, first)  # and our deletion
    assert vault.keyring.active_version == 2


async def test_a_running_bot_forgets_keys_the_cli_deleted_at_its_next_retention_tick(
    settings, wardbot
) -> None:
    months_ago = utcnow() - timedelta(days=200)
    keyring_file.save(Keyring.generate(months_ago), settings.keyring_path, overwrite=False)
    app = await open_app(settings)
    try:
        old = RecordRef("tips", 999)
        past = Vault(app.services.vault.keyring, clock=lambda: months_ago)
        old_key = past.new_key(old)  # wrapped under tips-open of seven months ago
        app.services.vault.cipher(old_key, old)
        done = await wardbot("tips", "shred-expired")  # another process, the real clock
        assert done.code == 0, done.err
        assert not keyring_file.load(settings.keyring_path).has_period(
            PeriodKind.TIPS_OPEN, periods.period_of(months_ago)
        )
        app.services.vault.cipher(old_key, old)  # still in this process's memory...
        await retention_tick(app.services)
        with pytest.raises(CryptoError):  # ...until its next retention tick
            app.services.vault.cipher(old_key, old)
        # The CLI's rotation while the bot runs is kept by the bot's next deletion.
        assert (await wardbot("keys", "rotate")).code == 0
        await retention_tick(app.services)
        assert keyring_file.load(settings.keyring_path).active_version == 2
    finally:
        await app.close()


async def test_a_conversations_old_versions_do_not_open_once_its_month_key_is_gone(
    app, settings
) -> None:
    now = [utcnow()]
    source = KeyringFile(settings.keyring_path)
    vault = Vault(source.current(), clock=lambda: now[0], source=source)
    account = Pseudonym("conversation-under-test")
    db = app.services.db
    async with db.transaction() as session:
        stored = await conversations.load(session, vault, account)
        stored.state.data["what"] = WHAT
        await conversations.save(session, vault, stored)
        file_id = await conversations.add_draft_file(
            session,
            vault,
            stored,
            conversations.DraftFileData("photo", "image/jpeg", b"\xff\xd8jpeg"),
        )
        await session.flush()
        ref = RecordRef("conversations", stored.row.id)
        old_key, old_state = stored.row.wrapped_key, stored.row.sealed_state
    assert file_id

    now[0] = periods.start(periods.shifted(periods.period_of(now[0]), 1)) + timedelta(days=2)
    async with db.transaction() as session:
        stored = await conversations.load(session, vault, account)
        assert stored.state.data["what"] == WHAT
        stored.state.data["what"] = ""  # the report was sent: the draft is gone
        await conversations.save(session, vault, stored)
        new_key = stored.row.wrapped_key
        files = await conversations.draft_files(session, vault, stored)
    assert [f.data for f in files] == [b"\xff\xd8jpeg"]  # still opens under the new key
    assert Vault.slot_of(new_key).period == periods.period_of(now[0])
    with pytest.raises(CryptoError):  # a new data key, not the old one re-wrapped
        vault.cipher(WrappedKey(new_key), ref).open_json("state", old_state)
    assert (
        vault.cipher(WrappedKey(old_key), ref).open_json("state", old_state)["data"]["what"] == WHAT
    )

    later = now[0] + timedelta(days=settings.conversation_days + 62)
    deleted = await shred_period_keys(
        db,
        vault,
        app.services.audit,
        later,
        retention_days=settings.retention_days,
        conversation_days=settings.conversation_days,
    )
    assert (PeriodKind.CONVERSATIONS, periods.period_of(utcnow())) in deleted
    fresh = Vault(keyring_file.load(settings.keyring_path))
    with pytest.raises(CryptoError):
        fresh.cipher(WrappedKey(old_key), ref)  # the old versions' data key is gone
    assert fresh.cipher(WrappedKey(new_key), ref).open_json("state", stored.row.sealed_state)
