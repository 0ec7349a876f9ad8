"""Key maintenance across the database: the keyring bound to the data it made, and
re-wrapping data keys after a rotation."""

from __future__ import annotations

import hmac
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from storage import keyring as keyring_file
from storage import tips
from storage.audit import AuditLog
from storage.crypto import CryptoError, RecordRef, Vault, WrappedKey
from storage.db import Database
from storage.keyring import Keyring
from storage.models import (
    AuditEntry,
    Conversation,
    Drop,
    GroupChat,
    Officer,
    OutboxMessage,
    Pledge,
    QuizAnswer,
    StoreMeta,
    Subscriber,
    Tip,
)

# Every table whose rows own a data key. A new one must be added here to be rotated.
KEY_OWNERS = (Tip, Officer, Conversation, OutboxMessage, GroupChat, Subscriber, Drop)
# Every table whose rows were made with a keyring and mean nothing under another: data
# keys, the audit chain's MACs, keyed pseudonyms. One row means the keyring is in use.
KEYRING_BOUND = (*KEY_OWNERS, AuditEntry, Pledge, QuizAnswer)
FINGERPRINT = "keyring_fingerprint"
BATCH = 500
_LOCK_ID = 0x6B657973  # "keys": two processes starting on one new database take turns


async def bind_keyring(db: Database, path: Path, *, create: bool) -> tuple[Keyring, bool]:
    """The keyring at `path`, refused unless it is the database's own. Returns (keyring,
    created).

    The database keeps the fingerprint of the keyring its data was made under. A keyring
    is made here only for a database that holds nothing made with one (no fingerprint, no
    keyring-bound row); a missing keyring, or another one, is refused with
    KeyringMismatch, since running on would make new records under the wrong keys and
    refuse every existing one. A database from before fingerprints adopts the keyring
    once it opens one of its records."""
    async with db.transaction() as session:
        if not db.is_sqlite:  # SQLite: BEGIN IMMEDIATE already lets one writer in
            await session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})
        stored = await session.get(StoreMeta, FINGERPRINT)
        if _present(path):
            keys = keyring_file.load(path)
            fingerprint = keys.fingerprint()
            if stored is not None:
                if not hmac.compare_digest(stored.value, fingerprint):
                    raise keyring_file.not_this_database(path)
                return keys, False
            if await holds_bound_rows(session) and not await _opens_a_record(session, keys):
                raise keyring_file.not_this_database(path)
            session.add(StoreMeta(key=FINGERPRINT, value=fingerprint))
            return keys, False
        if stored is not None or await holds_bound_rows(session):
            raise keyring_file.missing_for_data(path)
        if not create:
            keyring_file.load(path)  # raises: the file does not exist, run 'wardbot keys init'
        keys = Keyring.generate()
        keyring_file.save(keys, path, overwrite=False)
        session.add(StoreMeta(key=FINGERPRINT, value=keys.fingerprint()))
        return keys, True


def _present(path: Path) -> bool:
    return path.exists()


async def holds_bound_rows(session: AsyncSession) -> bool:
    """Whether any row was made with a keyring."""
    for model in KEYRING_BOUND:
        if await session.scalar(select(model.id).limit(1)) is not None:
            return True
    return False


async def _opens_a_record(session: AsyncSession, keys: Keyring) -> bool:
    """Whether `keys` opens the oldest data key of some table or the first audit entry;
    true as well when there is nothing of the kind to try."""
    vault, tried = Vault(keys), False
    for model in KEY_OWNERS:
        row = (
            await session.execute(
                select(model.id, model.wrapped_key)
                .where(model.wrapped_key.is_not(None))
                .order_by(model.id)
                .limit(1)
            )
        ).first()
        if row is None or not row.wrapped_key:
            continue
        tried = True
        try:
            vault.cipher(WrappedKey(row.wrapped_key), RecordRef(model.__tablename__, row.id))
            return True
        except (CryptoError, struct.error):
            pass
    first = await session.scalar(select(AuditEntry).order_by(AuditEntry.id).limit(1))
    if first is not None:
        tried = True
        if AuditLog(keys).authentic(first):
            return True
    return not tried


@dataclass
class Rewrapped:
    """What `rewrap_all` did in one table: data keys moved to where the vault's policy
    wraps them (the active master key, or their period key), and data keys this keyring
    cannot open (made under another keyring, damaged, or shredded)."""

    rewrapped: int = 0
    unreadable: int = 0


# Tables whose data keys are wrapped under period keys (storage.crypto.PERIOD_TABLES).
PERIOD_KEYED = (Tip, Conversation)
PERIOD_KEYS_DONE = "period_keys_rewrapped"


async def rewrap_all(
    db: Database,
    vault: Vault,
    *,
    models: tuple[type[Any], ...] = KEY_OWNERS,
    old_only: bool = False,
) -> dict[str, Rewrapped]:
    """Re-wrap every data key where the vault's policy wraps it now, in batches by id:
    after a rotation, under the active master key (so older master keys can be
    retired); tips and conversations made before period keys, under the key of their
    month (a tip's created month, or closed month once closed; a conversation's, this
    month). With `old_only`, only keys still under a master key where a period key
    belongs. A data key this keyring cannot open is counted and left as it is. Safe to
    interrupt and run again."""
    counts: dict[str, Rewrapped] = {}
    for model in models:
        table = model.__tablename__
        done = counts[table] = Rewrapped()
        last_id = 0
        while True:
            async with db.transaction() as session:
                rows = (
                    await session.scalars(
                        select(model)
                        .where(model.id > last_id, model.wrapped_key.is_not(None))
                        .order_by(model.id)
                        .limit(BATCH)
                    )
                ).all()
                for row in rows:
                    key = WrappedKey(row.wrapped_key)
                    if not key:
                        continue
                    owner = RecordRef(table, row.id)
                    try:
                        if old_only and Vault.key_version(key) is None:
                            continue
                        if isinstance(row, Tip):
                            current = tips.key_is_current(vault, row)
                        else:
                            current = not vault.needs_rewrap(key, owner)
                        if current:
                            vault.cipher(key, owner)  # already current: check it still opens
                        elif isinstance(row, Tip):
                            tips.rewrap_key(vault, row)
                            done.rewrapped += 1
                        else:
                            row.wrapped_key = vault.rewrap(key, owner)
                            done.rewrapped += 1
                    except (CryptoError, struct.error):
                        done.unreadable += 1
            if not rows:
                break
            last_id = rows[-1].id
    return counts


async def wrapped_under_master(db: Database, version: int) -> int:
    """How many data keys are still wrapped under master key `version`: it may leave the
    keyring only when none is (`wardbot keys retire`)."""
    count = 0
    for model in KEY_OWNERS:
        last_id = 0
        while True:
            async with db.transaction() as session:
                rows = (
                    await session.execute(
                        select(model.id, model.wrapped_key)
                        .where(model.id > last_id, model.wrapped_key.is_not(None))
                        .order_by(model.id)
                        .limit(BATCH)
                    )
                ).all()
            count += sum(
                1 for row in rows if row.wrapped_key and _master_version(row.wrapped_key) == version
            )
            if not rows:
                break
            last_id = rows[-1].id
    return count


def _master_version(key: bytes) -> int | None:
    try:
        return Vault.key_version(WrappedKey(key))
    except (CryptoError, struct.error, ValueError):
        return None


async def rewrap_to_period_keys(db: Database, vault: Vault) -> dict[str, Rewrapped] | None:
    """Once per database, at start: tips and conversations whose data keys are still
    wrapped under a master key (made before period keys) move under their period keys.
    Returns None when it was done before."""
    async with db.transaction() as session:
        if await session.get(StoreMeta, PERIOD_KEYS_DONE) is not None:
            return None
    counts = await rewrap_all(db, vault, models=PERIOD_KEYED, old_only=True)
    async with db.transaction() as session:
        if await session.get(StoreMeta, PERIOD_KEYS_DONE) is None:
            session.add(StoreMeta(key=PERIOD_KEYS_DONE, value="1"))
    return counts
