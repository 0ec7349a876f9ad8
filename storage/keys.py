"""Key maintenance across the database: re-wrapping data keys after a rotation."""

from __future__ import annotations

from sqlalchemy import select

from storage.crypto import RecordRef, Vault, WrappedKey
from storage.db import Database
from storage.keyring import Keyring
from storage.models import Conversation, GroupChat, Officer, OutboxMessage, Subscriber, Tip

# Every table whose rows own a data key. A new one must be added here to be rotated.
KEY_OWNERS = (Tip, Officer, Conversation, OutboxMessage, GroupChat, Subscriber)
BATCH = 500


async def rewrap_all(db: Database, keyring: Keyring) -> dict[str, int]:
    """Re-wrap every data key under the active master key, in batches by id, so the
    older master keys can be retired. Safe to interrupt and run again."""
    vault = Vault(keyring)
    counts: dict[str, int] = {}
    for model in KEY_OWNERS:
        table = model.__tablename__
        counts[table] = 0
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
                    if key and Vault.key_version(key) != keyring.active_version:
                        row.wrapped_key = vault.rewrap(key, RecordRef(table, row.id))
                        counts[table] += 1
            if not rows:
                break
            last_id = rows[-1].id
    return counts
