"""Conversation state and drafts, in the database so a restart resumes mid-conversation.

A chat's state (step, draft, language, the options last offered) is one sealed JSON
document under the conversation's own data key; only a pseudonym and a day remain
readable.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Row, Table, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from kernel.clock import utcnow
from storage.crypto import RecordCipher, RecordRef, Vault, WrappedKey
from storage.models import Conversation, DraftFile, utcday
from storage.pseudonyms import Pseudonym


@dataclass
class ConversationState:
    step: str = ""  # a conversation's step, as its StrEnum's value ("report:where")
    # Each conversation's flow (engine/flows.py), as JSON under the flow's own KEY.
    data: dict[str, Any] = field(default_factory=dict)
    language: str | None = None  # chosen by the user
    detected: str | None = None  # detected from what they typed
    offered: list[str] = field(default_factory=list)
    # Whether typed text answers the current question (then "2" is text, not option 2).
    expects_text: bool = False
    # Message ids of this chat to delete on request (trace clean-up), while tracing.
    tracing: bool = False
    trace: list[str] = field(default_factory=list)
    # The platform's keys of the last updates handled here: one delivered again (after a
    # crash, or a webhook retried) is not run twice.
    recent: list[str] = field(default_factory=list)
    # The update whose slow part (a file being cleaned) has started and not finished:
    # if it comes again, the process died on it, and it is refused, not run again.
    pending: str = ""
    # Keys of `data` that must not outlive a moment (an unlocked tip): key -> ISO time.
    expires: dict[str, str] = field(default_factory=dict)
    # When this chat sent tips in the last day, to the minute (the per-account limit):
    # here, sealed, because a counter row written beside each tip would tie them together.
    tips_sent: list[str] = field(default_factory=list)

    def keep_until(self, key: str, value: Any, until: datetime) -> None:
        """`data[key] = value`, gone at `until` even if the chat never writes again."""
        self.data[key] = value
        self.expires[key] = until.astimezone(UTC).isoformat()

    def forget(self, key: str) -> None:
        self.data.pop(key, None)
        self.expires.pop(key, None)

    def drop_expired(self, now: datetime) -> bool:
        """Remove what has outlived its time; returns whether anything was removed."""
        gone = [k for k, at in self.expires.items() if datetime.fromisoformat(at) <= now]
        for key in gone:
            self.forget(key)
        return bool(gone)

    def __repr__(self) -> str:  # drafts hold tip text: never print them
        return f"ConversationState(step={self.step!r}, language={self.language!r})"

    def to_json(self) -> dict[str, Any]:
        """Shallow: the values are JSON already, and the result is sealed at once."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> ConversationState:
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in raw.items() if key in known})


class StaleConversation(RuntimeError):
    """The conversation changed since it was loaded: its row lock (or SQLite's single
    writer) should make that impossible, so the transaction is rolled back."""


@dataclass
class ConversationRow:
    """The stored columns of one conversation. Every message reads and writes one, so
    it is read and written with plain statements, not through the ORM's unit of work
    (which cost more than the rest of a menu press)."""

    id: int
    wrapped_key: bytes = field(repr=False)
    sealed_state: bytes | None = field(repr=False)
    version: int
    touched_on: date
    # The data key unwrapped once per transaction, with the wrapped key it came from.
    _cipher: tuple[bytes, RecordCipher] | None = field(default=None, repr=False, compare=False)

    def cipher(self, vault: Vault) -> RecordCipher:
        if self._cipher is None or self._cipher[0] != self.wrapped_key:
            self._cipher = (
                self.wrapped_key,
                vault.cipher(WrappedKey(self.wrapped_key), _ref(self)),
            )
        return self._cipher[1]

    @classmethod
    def of(cls, row: Row[*tuple[Any, ...]]) -> ConversationRow:
        return cls(row.id, row.wrapped_key, row.sealed_state, row.version, row.touched_on)


@dataclass
class StoredConversation:
    row: ConversationRow
    state: ConversationState


_TABLE = cast(Table, Conversation.__table__)
_COLUMNS = (
    _TABLE.c.id,
    _TABLE.c.wrapped_key,
    _TABLE.c.sealed_state,
    _TABLE.c.version,
    _TABLE.c.touched_on,
)
# Built once: every message runs both, and building them cost as much as running them.
_LOCK = select(*_COLUMNS).where(_TABLE.c.account == bindparam("account")).with_for_update()
_WRITE = (
    update(_TABLE)
    .where(_TABLE.c.id == bindparam("row_id"), _TABLE.c.version == bindparam("was"))
    .values(
        wrapped_key=bindparam("key"),
        sealed_state=bindparam("sealed"),
        touched_on=bindparam("day"),
        version=bindparam("now"),
    )
)


async def load(session: AsyncSession, vault: Vault, account: Pseudonym) -> StoredConversation:
    """The conversation for this account, locked for this transaction (new if none)."""
    row = await _locked(session, account)
    if row is None:
        try:
            async with session.begin_nested():  # another message of this chat may win
                return StoredConversation(await _new(session, vault, account), ConversationState())
        except IntegrityError:
            row = await _locked(session, account)
            if row is None:  # pragma: no cover - the winner's row cannot vanish here
                raise
    stored = _opened(vault, row)
    stored.state.drop_expired(utcnow())
    return stored


async def _new(session: AsyncSession, vault: Vault, account: Pseudonym) -> ConversationRow:
    today = utcday()
    created = await session.execute(
        insert(_TABLE)
        .values(account=account, wrapped_key=b"", version=1, touched_on=today)
        .returning(_TABLE.c.id)
    )
    row = ConversationRow(created.scalar_one(), b"", None, 1, today)
    row.wrapped_key = vault.new_key(_ref(row))
    await _write(session, row, version=row.version + 1)
    return row


async def _write(session: AsyncSession, row: ConversationRow, *, version: int) -> None:
    written = await session.execute(
        _WRITE,
        {
            "row_id": row.id,
            "was": row.version,
            "key": row.wrapped_key,
            "sealed": row.sealed_state,
            "day": row.touched_on,
            "now": version,
        },
    )
    if written.rowcount != 1:  # type: ignore[attr-defined]
        raise StaleConversation(f"conversation {row.id} changed since it was loaded")
    row.version = version


def _opened(vault: Vault, row: ConversationRow) -> StoredConversation:
    if row.sealed_state is None:
        return StoredConversation(row, ConversationState())
    raw = row.cipher(vault).open_json("state", row.sealed_state)
    return StoredConversation(row, ConversationState.from_json(raw))


async def save(
    session: AsyncSession, vault: Vault, stored: StoredConversation, *, touch: bool = True
) -> None:
    """Seal the state. Saved in a new month (or for the first time since period keys),
    the conversation gets a new data key under this month's key and its draft files are
    sealed again under it: once the old month's key is deleted, no old version of the
    row or of its files opens, even while the conversation lives on."""
    if vault.needs_rewrap(WrappedKey(stored.row.wrapped_key), _ref(stored.row)):
        await _rekey(session, vault, stored.row)
    stored.row.sealed_state = stored.row.cipher(vault).seal_json("state", stored.state.to_json())
    if touch:
        stored.row.touched_on = utcday()
    await _write(session, stored.row, version=stored.row.version + 1)


async def _rekey(session: AsyncSession, vault: Vault, row: ConversationRow) -> None:
    ref = _ref(row)
    old = vault.cipher(WrappedKey(row.wrapped_key), ref)
    key = vault.new_key(ref)
    new = vault.cipher(key, ref)
    files = await session.scalars(select(DraftFile).where(DraftFile.conversation_id == row.id))
    for file in files:
        name = f"draft-file/{file.id}"
        file.sealed_data = new.seal(name, old.open(name, file.sealed_data))
    row.wrapped_key = key


async def delete_untouched(session: AsyncSession, before: date) -> int:
    """Conversations nobody used since before `before`, with their drafts and files
    (draft_files go with them: ON DELETE CASCADE)."""
    result = cast(
        "CursorResult[Any]",
        await session.execute(delete(Conversation).where(Conversation.touched_on < before)),
    )
    return int(result.rowcount or 0)


async def expire_data(
    session: AsyncSession,
    vault: Vault,
    now: datetime,
    *,
    touched_since: date,
    after_id: int = 0,
    limit: int = 200,
) -> tuple[int, int | None]:
    """Remove what has outlived its time (an unlocked tip) from conversations used since
    `touched_since` that may never be used again; their use day is not changed. One
    batch after `after_id`: returns how many were rewritten and where the next batch
    starts (None when done), so each batch can be its own short transaction."""
    rows = (
        await session.execute(
            select(*_COLUMNS)
            .where(_TABLE.c.touched_on >= touched_since, _TABLE.c.id > after_id)
            .order_by(_TABLE.c.id)
            .limit(limit)
        )
    ).all()
    rewritten = 0
    for row in rows:
        stored = _opened(vault, ConversationRow.of(row))
        if stored.state.drop_expired(now):
            await save(session, vault, stored, touch=False)
            rewritten += 1
    return rewritten, (rows[-1].id if len(rows) == limit else None)


@dataclass(frozen=True)
class DraftFileData:
    kind: str
    mime_type: str
    data: bytes = field(repr=False)


async def add_draft_file(
    session: AsyncSession, vault: Vault, stored: StoredConversation, file: DraftFileData
) -> int:
    """Keep a file sent mid-wizard, sealed under the conversation's key."""
    row = DraftFile(
        conversation_id=stored.row.id, kind=file.kind, mime_type=file.mime_type, sealed_data=b""
    )
    session.add(row)
    await session.flush()
    row.sealed_data = stored.row.cipher(vault).seal(f"draft-file/{row.id}", file.data)
    await session.flush()
    return row.id


async def draft_files(
    session: AsyncSession, vault: Vault, stored: StoredConversation
) -> list[DraftFileData]:
    cipher = stored.row.cipher(vault)
    rows = await session.scalars(
        select(DraftFile).where(DraftFile.conversation_id == stored.row.id).order_by(DraftFile.id)
    )
    return [
        DraftFileData(row.kind, row.mime_type, cipher.open(f"draft-file/{row.id}", row.sealed_data))
        for row in rows
    ]


async def count_draft_files(session: AsyncSession, stored: StoredConversation) -> int:
    rows = await session.scalars(
        select(DraftFile.id).where(DraftFile.conversation_id == stored.row.id)
    )
    return len(rows.all())


async def drop_draft_files(session: AsyncSession, stored: StoredConversation) -> None:
    await session.execute(delete(DraftFile).where(DraftFile.conversation_id == stored.row.id))


async def _locked(session: AsyncSession, account: Pseudonym) -> ConversationRow | None:
    found = await session.execute(_LOCK, {"account": account})
    row = found.first()
    return None if row is None else ConversationRow.of(row)


def _ref(row: ConversationRow) -> RecordRef:
    return RecordRef("conversations", row.id)
