"""The tamper-evident audit log: every view of a tip's plaintext and every change.

Each entry carries an HMAC (key from the keyring, never in the database) over its own
fields, its id and the previous entry's MAC. Editing, deleting or inserting a row
breaks the chain at that point, and without the keyring the chain cannot be re-forged.
Entries say what happened, never the tip's content.

A chain cannot show that its end was cut off: the last rows, or all of them, can be
deleted and what is left still links up. So the chain's head (last id and MAC) is also
appended, after each commit that added entries, to an anchor file kept beside the
keyring, outside the database; `verify` checks every anchored head against the
database, and an append that finds the last anchored head gone says so.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import re
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import event, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from kernel.clock import utcnow
from kernel.errors import describe
from kernel.i18n import N_
from storage.keyring import Keyring
from storage.models import AuditEntry, StoreMeta, floor_hour

GENESIS = "0" * 64
ANCHOR_FILE = "audit-anchors.log"

log = logging.getLogger(__name__)


_LOCK_ID = 0x77617264  # "ward": serialises appends on PostgreSQL
BATCH = 1000
_TAIL_BYTES = 4096
_ANCHOR_LINE = re.compile(r"^(\d{1,18}) ([0-9a-f]{64})$")
_APPENDED = "wardbot_audit_appended"  # session.info: this transaction added entries
_HEAD = "wardbot_audit_head"  # session.info: the head to anchor once the commit succeeded
_LISTENING = "wardbot_audit_listening"
_CUT_TOLD = "audit_cut_told"  # store_meta: the cut the commanders were told of


def anchor_path(keyring_path: Path) -> Path:
    """Where the anchors of the audit chain are kept: beside the keyring."""
    return keyring_path.with_name(ANCHOR_FILE)


@dataclass(frozen=True)
class Head:
    """An entry's number and MAC: the chain up to it, in 64 hex characters."""

    id: int
    mac: str

    @property
    def short(self) -> str:
        """What the commanders' digest shows, to compare later."""
        return self.mac[:12]


@dataclass(frozen=True)
class Cut:
    """An append found the last anchored head missing from the database, or changed."""

    anchored: Head
    last_id: int  # the database's last entry now; 0 when it has none


CutAlert = Callable[[AsyncSession, Cut], Awaitable[None]]


@dataclass(frozen=True)
class Verification:
    intact: bool
    checked: int
    broken_at: int | None = None
    reason: str = ""  # an English message id, filled with `params`
    params: dict[str, object] = field(default_factory=dict)
    # The break was found against an anchor (the tail was cut), not in the chain itself.
    by_anchor: bool = False
    head: Head | None = None  # the chain's last entry
    anchors: int | None = None  # anchored heads checked; None: there is no anchor file


class AuditLog:
    def __init__(
        self,
        keyring: Keyring,
        *,
        anchors: Path | None = None,
        on_cut: CutAlert | None = None,
    ):
        """`anchors`: the anchor file (none: heads are not anchored); `on_cut`: called
        once, in the appending transaction, when the last anchored head is gone."""
        self._key = keyring.derived_key("audit-chain")
        self._anchors = anchors
        self._on_cut = on_cut
        self._anchor_failing = False  # logged once until the anchor file works again

    def __repr__(self) -> str:
        return "AuditLog(<key hidden>)"

    async def append(
        self,
        session: AsyncSession,
        action: str,
        *,
        ward_id: int | None = None,
        tip_id: int | None = None,
        officer_id: int | None = None,
        detail: dict[str, Any] | None = None,
    ) -> AuditEntry:
        if session.bind is not None and session.bind.dialect.name == "postgresql":
            await session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})
        last = (
            await session.execute(
                select(AuditEntry.id, AuditEntry.mac).order_by(AuditEntry.id.desc()).limit(1)
            )
        ).first()
        if self._anchors is not None:
            await self._check_anchored_head(session, Head(last.id, last.mac) if last else None)
        entry = AuditEntry(
            ward_id=ward_id,
            tip_id=tip_id,
            officer_id=officer_id,
            action=action,
            detail=dict(detail or {}),
            created_at=floor_hour(utcnow()),  # the hour only: see models.HourUTC
            prev_mac=last.mac if last else GENESIS,
            mac="",
        )
        session.add(entry)
        await session.flush()  # the id is part of what the MAC covers
        entry.mac = self._mac(entry)
        await session.flush()
        if self._anchors is not None:
            self._anchor_on_commit(session)
        return entry

    async def head(self, session: AsyncSession) -> Head | None:
        """The chain's last entry, or None while the log is empty."""
        row = (
            await session.execute(
                select(AuditEntry.id, AuditEntry.mac).order_by(AuditEntry.id.desc()).limit(1)
            )
        ).first()
        return Head(row.id, row.mac) if row else None

    def authentic(self, entry: AuditEntry) -> bool:
        """Whether the entry's MAC was made with this keyring."""
        return hmac.compare_digest(entry.mac, self._mac(entry))

    async def verify(self, session: AsyncSession) -> Verification:
        """The chain link by link, then every anchored head against the database."""
        chain = await self._verify_chain(session)
        if not chain.intact or self._anchors is None:
            return chain
        return await self._verify_anchors(session, chain)

    async def history(self, session: AsyncSession, tip_id: int) -> Sequence[AuditEntry]:
        return (
            await session.scalars(
                select(AuditEntry).where(AuditEntry.tip_id == tip_id).order_by(AuditEntry.id)
            )
        ).all()

    async def _verify_chain(self, session: AsyncSession) -> Verification:
        previous, checked, last_id = GENESIS, 0, 0
        head: Head | None = None
        while True:
            rows = (
                await session.scalars(
                    select(AuditEntry)
                    .where(AuditEntry.id > last_id)
                    .order_by(AuditEntry.id)
                    .limit(BATCH)
                )
            ).all()
            for entry in rows:
                if entry.prev_mac != previous:
                    return Verification(
                        False, checked, entry.id, N_("the link to the previous entry is broken")
                    )
                if not self.authentic(entry):
                    return Verification(False, checked, entry.id, N_("the entry was changed"))
                previous, checked = entry.mac, checked + 1
                head = Head(entry.id, entry.mac)
            if not rows:
                return Verification(True, checked, head=head)
            last_id = rows[-1].id

    async def _verify_anchors(self, session: AsyncSession, chain: Verification) -> Verification:
        assert self._anchors is not None
        if not self._anchors.exists():
            return chain
        last_id = chain.head.id if chain.head else 0
        count, top = 0, 0
        first_bad: tuple[int, bool] | None = None  # (id, whether missing) of the lowest
        for batch in _batches(_read_anchors(self._anchors), BATCH):
            ids = sorted({head.id for head in batch})
            rows = await session.execute(
                select(AuditEntry.id, AuditEntry.mac).where(AuditEntry.id.in_(ids))
            )
            stored = {row.id: row.mac for row in rows}
            for anchored in batch:
                count, top = count + 1, max(top, anchored.id)
                mac = stored.get(anchored.id)
                if mac is not None and hmac.compare_digest(mac, anchored.mac):
                    continue
                if first_bad is None or anchored.id < first_bad[0]:
                    first_bad = (anchored.id, mac is None)
        if first_bad is None:
            return Verification(True, chain.checked, head=chain.head, anchors=count)
        bad, missing = first_bad
        good = max((h.id for h in _read_anchors(self._anchors) if h.id < bad), default=0)
        params: dict[str, object] = {"id": bad, "good": good, "last": last_id, "head": top}
        if missing and last_id < bad:  # nothing after the cut: the tail is gone
            reason = (
                N_("every entry is missing; the last anchored head was {head}")
                if last_id == 0
                else N_("entries after {last} are missing; the last anchored head was {head}")
            )
        elif missing:
            reason = N_(
                "anchored entry {id} is missing: the log was cut somewhere after entry "
                "{good} and written again; the last anchored head was {head}"
            )
        else:
            reason = N_(
                "entry {id} is not the entry anchored under that number: the log was cut "
                "somewhere after entry {good} and written again; the last anchored head "
                "was {head}"
            )
        return Verification(
            False,
            chain.checked,
            bad,
            reason,
            params,
            by_anchor=True,
            head=chain.head,
            anchors=count,
        )

    async def _check_anchored_head(self, session: AsyncSession, last: Head | None) -> None:
        """Before appending: is the last anchored head still in the database, unchanged?"""
        assert self._anchors is not None
        anchored = _last_anchor(self._anchors, quiet=self._anchor_failing)
        if anchored is None or anchored == last:
            return
        mac = await session.scalar(select(AuditEntry.mac).where(AuditEntry.id == anchored.id))
        if mac is not None and hmac.compare_digest(mac, anchored.mac):
            return
        cut = Cut(anchored, last.id if last else 0)
        log.warning(
            "the audit log no longer holds its anchored entry %d (its last entry is %d): it "
            "was cut; run 'wardbot audit verify'",
            cut.anchored.id,
            cut.last_id,
        )
        if self._on_cut is None:
            return
        marker = f"{anchored.id}:{anchored.short}"
        told = await session.get(StoreMeta, _CUT_TOLD)
        if told is not None and told.value == marker:
            return
        try:
            async with session.begin_nested():
                if told is None:
                    session.add(StoreMeta(key=_CUT_TOLD, value=marker))
                else:
                    told.value = marker
                await self._on_cut(session, cut)
        except Exception as exc:  # the action that appends must not fail for this
            log.error("could not tell the commanders the audit log was cut: %s", describe(exc))

    def _anchor_on_commit(self, session: AsyncSession) -> None:
        info = session.sync_session.info
        info[_APPENDED] = True
        if info.get(_LISTENING):
            return
        info[_LISTENING] = True
        sync = session.sync_session
        event.listen(sync, "before_commit", _read_head_before_commit)
        event.listen(sync, "after_commit", self._write_anchor_after_commit)
        event.listen(sync, "after_rollback", _forget_head)

    def _write_anchor_after_commit(self, sync: Session) -> None:
        head = sync.info.pop(_HEAD, None)
        if head is None or self._anchors is None:
            return
        try:
            fd = os.open(self._anchors, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, f"{head.id} {head.mac}\n".encode("ascii"))
            finally:
                os.close(fd)
        except Exception as exc:  # the commit stands; only the anchor is missing
            if not self._anchor_failing:
                log.error(
                    "could not append the audit chain's head to its anchor file "
                    "(logged once until it works again): %s",
                    describe(exc),
                )
            self._anchor_failing = True
        else:
            if self._anchor_failing:
                log.warning("the audit chain's head is anchored again")
            self._anchor_failing = False

    def _mac(self, entry: AuditEntry) -> str:
        fields = [
            entry.id,
            entry.prev_mac,
            entry.ward_id,
            entry.tip_id,
            entry.officer_id,
            entry.action,
            entry.detail,
            entry.created_at.isoformat(),
        ]
        payload = json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hmac.new(self._key, payload.encode("utf-8"), hashlib.sha256).hexdigest()


def _read_head_before_commit(sync: Session) -> None:
    """The head this transaction leaves, read while its lock on appending is still held
    (an entry added in a savepoint that was rolled back is not in it)."""
    if not sync.info.pop(_APPENDED, False):
        return
    row = sync.execute(
        select(AuditEntry.id, AuditEntry.mac).order_by(AuditEntry.id.desc()).limit(1)
    ).first()
    sync.info[_HEAD] = Head(row.id, row.mac) if row else None


def _forget_head(sync: Session) -> None:
    sync.info.pop(_APPENDED, None)
    sync.info.pop(_HEAD, None)


def _parse_anchor(line: bytes) -> Head | None:
    match = _ANCHOR_LINE.match(line.decode("ascii", "replace").strip())
    return Head(int(match[1]), match[2]) if match else None


def _read_anchors(path: Path) -> Iterator[Head]:
    """Every anchored head in the file, in the order written; unreadable lines skipped."""
    with path.open("rb") as handle:
        for line in handle:
            if line.endswith(b"\n"):  # a line still being written is not an anchor yet
                head = _parse_anchor(line)
                if head is not None:
                    yield head


def _last_anchor(path: Path, *, quiet: bool = False) -> Head | None:
    """The head anchored last, read from the end of the file."""
    try:
        with path.open("rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            start = max(0, size - _TAIL_BYTES)
            handle.seek(start)
            tail = handle.read()
    except FileNotFoundError:
        return None
    except OSError as exc:
        if not quiet:
            log.error("could not read the audit anchor file: %s", describe(exc))
        return None
    lines = tail.split(b"\n")[:-1]  # the part after the last newline is still being written
    if start > 0:
        lines = lines[1:]  # the first line may begin before what was read
    for line in reversed(lines):
        head = _parse_anchor(line)
        if head is not None:
            return head
    return None


def _batches(items: Iterator[Head], size: int) -> Iterator[list[Head]]:
    batch: list[Head] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
