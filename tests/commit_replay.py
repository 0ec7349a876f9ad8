"""Replaying every commit of a run as someone holding a copy of the data folder sees it.

The attacker of issue 15 (item 2) cannot read sealed values, but sees which rows one
commit wrote together: on SQLite by copying the file after each commit (or reading its
WAL frames), on PostgreSQL by the transaction ids (xmin, xmax) of the row versions
still in the heap pages. A tip and a person's conversation row written by one commit
are linked for ever, however well each one is sealed.

`Replay.attach(app)` starts recording; `await replay.commits()` gives, for every real
commit since, the rows it inserted, updated or deleted. `links(commits, people)` applies
the unlinkability rules to them and returns readable problems that name tables, row
keys and pseudonyms only (never tip text, codes or chat ids).
"""

from __future__ import annotations

import bisect
import sqlite3
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from sqlalchemy.engine import Engine, make_url

from bot.app import App
from kernel.routes import Route
from storage.crypto import RecordRef, Vault, WrappedKey
from storage.pseudonyms import Purpose

Row = dict[str, Any]


@dataclass(frozen=True)
class Write:
    """One row written by a commit: its new values, or for a delete its last ones."""

    table: str
    key: int | str  # rowid on SQLite, the id column (else the row's place) on PostgreSQL
    op: str  # insert, update, delete
    row: Row = field(repr=False, compare=False)


@dataclass
class Commit:
    number: int  # 1 for the first commit after attach(), counting commits that wrote nothing
    writes: list[Write] = field(default_factory=list)


def _hook_commits(engine: Engine, before: Callable[[Any], None], after: Callable[[], None]):
    """Call `before(dbapi_connection)` just before and `after()` just after every real
    COMMIT of this engine, ORM or Core, of the conversations, the jobs or anything else:
    the dialect's do_commit is the one place every commit passes through."""
    dialect = engine.dialect
    original = dialect.do_commit

    def do_commit(dbapi_connection: Any) -> None:
        before(dbapi_connection)
        original(dbapi_connection)
        after()

    dialect.do_commit = do_commit  # type: ignore[method-assign]


# ---- SQLite: a copy of the file after each commit ---------------------------------------


def sqlite_snapshot(path: str) -> dict[str, dict[int, Row]]:
    """Every row of every table, by rowid, as a reader of a copy of the file sees it (WAL
    mode: committed data only)."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        connection.row_factory = sqlite3.Row
        tables = [
            name
            for (name,) in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        return {
            table: {
                row["_rowid_"]: dict(row)
                for row in connection.execute(f'SELECT rowid AS _rowid_, * FROM "{table}"')
            }
            for table in tables
        }
    finally:
        connection.close()


def diff(before: dict[str, dict[int, Row]], after: dict[str, dict[int, Row]]) -> list[Write]:
    writes = []
    for table in sorted(before.keys() | after.keys()):
        old, new = before.get(table, {}), after.get(table, {})
        for key in sorted(old.keys() | new.keys()):
            if key not in old:
                writes.append(Write(table, key, "insert", new[key]))
            elif key not in new:
                writes.append(Write(table, key, "delete", old[key]))
            elif old[key] != new[key]:
                writes.append(Write(table, key, "update", new[key]))
    return writes


class _SqliteRecorder:
    def __init__(self, path: str):
        self._path = path
        self._last = sqlite_snapshot(path)
        self._commits: list[Commit] = []

    def after_commit(self) -> None:
        now = sqlite_snapshot(self._path)
        self._commits.append(Commit(len(self._commits) + 1, diff(self._last, now)))
        self._last = now

    async def commits(self) -> list[Commit]:
        return list(self._commits)


# ---- PostgreSQL: transaction ids on the row versions left in the heap -------------------

HEAP_XMAX_LOCK_ONLY = 0x0080  # xmax only locked the row (FOR UPDATE, FOR KEY SHARE)
HEAP_XMAX_INVALID = 0x0800
HEAP_XMAX_IS_MULTI = 0x1000


class _PostgresRecorder:
    """Notes the top-level transaction id of each commit while the run goes on; reads the
    heap pages afterwards. The ids are needed to fold subtransactions (SAVEPOINTs, which
    carry ids of their own in xmin) into the transaction that committed them: a
    subtransaction's id is above its parent's and below the next transaction's of this
    (sequential) run, so an attacker places it just as well."""

    def __init__(self, database_url: str):
        self.dsn = (
            make_url(database_url)
            .set(drivername="postgresql")
            .render_as_string(hide_password=False)
        )
        self._xids: list[int | None] = []
        self._pending: int | None = None
        self._holder: asyncpg.Connection | None = None

    async def start(self) -> None:
        """Autovacuum off on every table, and an old snapshot held open: dead row versions
        are then neither vacuumed nor pruned from their pages (which PostgreSQL does on
        any read of a full page), as under a long report or a backup that runs meanwhile.
        Whatever the engine would have kept, the test sees."""
        connection = await asyncpg.connect(self.dsn)
        try:
            names = await connection.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
            )
            for (name,) in names:
                await connection.execute(
                    f'ALTER TABLE "{name}" SET (autovacuum_enabled = false, '
                    "toast.autovacuum_enabled = false)"
                )
        finally:
            await connection.close()
        self._holder = await asyncpg.connect(self.dsn)
        await self._holder.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        await self._holder.fetchval("SELECT 1")  # takes the snapshot

    def before_commit(self, dbapi_connection: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("SELECT pg_current_xact_id_if_assigned()::text")
        (xid,) = cursor.fetchone()
        cursor.close()
        self._pending = int(xid) % 2**32 if xid is not None else None

    def after_commit(self) -> None:
        self._xids.append(self._pending)

    async def commits(self) -> list[Commit]:
        commits = [Commit(n) for n in range(1, len(self._xids) + 1)]
        known = sorted((x, n) for n, x in enumerate(self._xids) if x is not None)
        starts = [x for x, _ in known]

        def commit_of(xid: int | None) -> Commit | None:
            index = bisect.bisect_right(starts, xid) - 1 if xid is not None else -1
            if index < 0:
                return None  # written before attach(): migrations, the app's start
            return commits[known[index][1]]

        connection = await asyncpg.connect(self.dsn)
        try:
            versions = await heap_versions(connection)
        finally:
            await connection.close()
            if self._holder is not None:
                await self._holder.close()
                self._holder = None
        # Per commit, table and row key: the version it left (created by it and not
        # replaced by it) and the one it replaced (created before it). Versions made and
        # replaced within one commit (a row written twice) are not a write of their own.
        found: dict[tuple[int, str, int | str], list[Row | None]] = {}
        for table, version in versions:
            key = version.get("id") or _text(version.get("key") or version["place"])
            made, ended = commit_of(version["xmin"]), commit_of(version["xmax"])
            if made is not None and made is not ended:
                found.setdefault((made.number, table, key), [None, None])[0] = version
            if ended is not None and made is not ended:
                found.setdefault((ended.number, table, key), [None, None])[1] = version
        for (number, table, key), (new, old) in sorted(found.items(), key=_in_order):
            # Every replaced version is still there: start() keeps them from being pruned.
            op = "update" if new and old else "insert" if new else "delete"
            commits[number - 1].writes.append(Write(table, key, op, new or old or {}))
        return commits


def _in_order(item: tuple[tuple[int, str, int | str], object]) -> tuple[int, str, int, str]:
    (number, table, key), _ = item
    return number, table, key if isinstance(key, int) else -1, str(key)


async def heap_versions(connection: asyncpg.Connection) -> list[tuple[str, Row]]:
    """Every row version, live or dead, of the public tables, read from the heap pages
    with pageinspect: its columns (fixed-size integers and inline text or bytes decoded,
    the rest raw), `xmin` and, when it was updated or deleted, `xmax` (the updater's id,
    found in the multixact when several transactions held the row)."""
    await connection.execute("CREATE EXTENSION IF NOT EXISTS pageinspect")
    tables = await connection.fetch(
        """SELECT c.oid, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY c.relname"""
    )
    found: list[tuple[str, Row]] = []
    for oid, name in tables:
        columns = await connection.fetch(
            "SELECT attname, attlen FROM pg_attribute WHERE attrelid = $1 AND attnum > 0 "
            "ORDER BY attnum",
            oid,
        )
        pages = await connection.fetchval(
            "SELECT pg_relation_size($1::regclass) / current_setting('block_size')::int", name
        )
        for page in range(pages):
            items = await connection.fetch(
                """SELECT t_xmin::text::bigint AS xmin, t_xmax::text::bigint AS xmax,
                          t_infomask, t_attrs, lp
                   FROM heap_page_item_attrs(get_raw_page($1, $2), $1::regclass)
                   WHERE t_attrs IS NOT NULL""",
                name,
                page,
            )
            for item in items:
                row: Row = {
                    column["attname"]: _decode(raw, column["attlen"])
                    for column, raw in zip(columns, item["t_attrs"], strict=False)
                }
                row["place"] = f"{page}/{item['lp']}"
                row["xmin"] = item["xmin"]
                row["xmax"] = await _updater(connection, item["xmax"], item["t_infomask"])
                found.append((name, row))
    return found


async def _updater(connection: asyncpg.Connection, xmax: int, infomask: int) -> int | None:
    if xmax == 0 or infomask & (HEAP_XMAX_INVALID | HEAP_XMAX_LOCK_ONLY):
        return None
    if not infomask & HEAP_XMAX_IS_MULTI:
        return xmax
    members = await connection.fetch(
        "SELECT xid::text::bigint AS xid, mode FROM pg_get_multixact_members($1::text::xid)",
        str(xmax),
    )
    updaters = [m["xid"] for m in members if m["mode"] in ("nokeyupd", "upd")]
    return updaters[0] if updaters else None


def _decode(raw: bytes | None, length: int) -> Any:
    """Integers and inline (not compressed, not TOASTed) varlena values; else the bytes."""
    if raw is None:
        return None
    if length in (2, 4, 8):
        return int.from_bytes(raw, "little", signed=True)
    if length != -1:
        return raw
    first = raw[0]
    if first == 0x01:  # a pointer to a TOAST table
        return raw
    if first & 0x01:  # one-byte header: the length, header included, times two plus one
        return raw[1 : first >> 1]
    (header,) = struct.unpack_from("<I", raw)
    if header & 0x03:  # compressed
        return raw
    return raw[4 : header >> 2]


# ---- one interface for both ---------------------------------------------------------------


class Replay:
    """Records every commit of `app`'s engine from `attach` on."""

    def __init__(self, recorder: _SqliteRecorder | _PostgresRecorder):
        self._recorder = recorder

    @classmethod
    async def attach(cls, app: App) -> Replay:
        db = app.services.db
        if db.is_sqlite:
            sqlite = _SqliteRecorder(str(db.url.database))
            _hook_commits(db.engine.sync_engine, lambda _c: None, sqlite.after_commit)
            return cls(sqlite)
        postgres = _PostgresRecorder(db.url.render_as_string(hide_password=False))
        await postgres.start()
        _hook_commits(db.engine.sync_engine, postgres.before_commit, postgres.after_commit)
        return cls(postgres)

    async def commits(self) -> list[Commit]:
        return await self._recorder.commits()


# ---- the rules ---------------------------------------------------------------------------

TIP_TABLES = frozenset({"tips", "tip_events", "tip_attachments"})
# Rows that belong to one person under a pseudonym of their own purpose.
PERSONAL_TABLES = frozenset({"subscribers", "pledges", "quiz_answers", "rate_counters"})
DOMAIN_TABLES = TIP_TABLES | PERSONAL_TABLES


@dataclass
class People:
    """Who is who, as the test knows it (the attacker does not need to): residents'
    and officers' routes, and which resident sent which tip code. The app's vault
    opens the sealed route of an outbox row to tell whose it is."""

    app: App
    residents: dict[Route, str] = field(default_factory=dict)  # route -> "resident 2"
    officers: set[Route] = field(default_factory=set)
    reporters: dict[str, str] = field(default_factory=dict)  # tip code -> resident label

    def conversation_of(self, route: Route) -> str:
        return self.app.services.pseudonyms.of(
            Purpose.CONVERSATION, route.channel, *route.account_parts()
        )

    def whose_conversation(self, account: object) -> str | None:
        """A resident's label, None for an officer; a chat nobody knows counts as a
        resident (anonymous unless shown otherwise)."""
        account = _text(account)
        for route in self.officers:
            if self.conversation_of(route) == account:
                return None
        for route, label in self.residents.items():
            if self.conversation_of(route) == account:
                return label
        return f"an unknown chat ({_short(account)})"

    def whose_outbox(self, write: Write) -> str | None:
        """A resident's label, None for an officer's message, "unknown" when the route
        cannot be opened (a PostgreSQL value stored compressed, say)."""
        vault: Vault = self.app.services.vault
        try:
            cipher = vault.cipher(
                WrappedKey(bytes(write.row["wrapped_key"])), RecordRef("outbox", write.key)
            )
            route = Route.from_bytes(cipher.open("route", bytes(write.row["sealed_route"])))
        except Exception:
            return "unknown"
        if route in self.officers:
            return None
        return self.residents.get(route, "an unknown chat")


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes | bytearray | memoryview) else str(value)


def _short(pseudonym: object) -> str:
    return _text(pseudonym)[:10] + "…"


def subject_of(write: Write) -> str:
    """Whose row: all tip rows count as one subject (the mixer writes many tips at
    once), a personal row by its pseudonym."""
    if write.table in TIP_TABLES:
        return "tips"
    if write.table == "rate_counters":
        return f"rate counter of {_short(write.row['subject'])}"
    account = write.row.get("account")
    return f"{write.table} of {_short(account) if account else f'row {write.key}'}"


def links(commits: Iterable[Commit], people: People) -> list[str]:
    """Every commit that links what the rules keep apart, one readable line each."""
    problems = []
    for commit in commits:
        found = _commit_links(commit, people)
        if found:
            rows = ", ".join(f"{w.table} {w.op} {w.key}" for w in commit.writes)
            problems.append(f"commit {commit.number}: {'; '.join(found)} [rows: {rows}]")
    return problems


def _commit_links(commit: Commit, people: People) -> list[str]:
    writes = commit.writes
    domain = [w for w in writes if w.table in DOMAIN_TABLES]
    conversations = [
        (w, people.whose_conversation(w.row["account"]))
        for w in writes
        if w.table == "conversations"
    ]
    residents = sorted({who for _, who in conversations if who is not None})
    found = []
    if domain:
        tables = "/".join(sorted({w.table for w in domain}))
        for who in residents:
            found.append(f"writes {tables} and the conversation of {who}")
        for w in writes:
            if w.table != "outbox":
                continue
            who = people.whose_outbox(w)
            if who == "unknown" and residents:
                # Cannot tell whose: allowed only where no resident's conversation is.
                found.append(f"writes {tables} and outbox {w.key} (addressee unknown)")
            elif who not in (None, "unknown"):
                found.append(f"writes {tables} and outbox {w.key} for {who}")
        subjects = sorted({subject_of(w) for w in domain})
        if len(subjects) > 1:
            found.append(f"writes rows of {len(subjects)} subjects: {', '.join(subjects)}")
    for tip in (w for w in writes if w.table == "tips" and w.op == "insert"):
        reporter = people.reporters.get(_text(tip.row.get("code")))
        for w, who in conversations:
            role = "its reporter" if who is not None and who == reporter else who or "an officer"
            found.append(f"inserts tip {tip.key} and writes conversation {w.key} of {role}")
    return found
