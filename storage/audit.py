"""The tamper-evident audit log: every view of a tip's plaintext and every change.

Each entry carries an HMAC (key from the keyring, never in the database) over its own
fields, its id and the previous entry's MAC. Editing, deleting or inserting a row
breaks the chain at that point, and without the keyring the chain cannot be re-forged.
Entries say what happened, never the tip's content.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from storage.keyring import Keyring
from storage.models import AuditEntry, utcnow

GENESIS = "0" * 64


def N_(message: str) -> str:
    """Marks an English message id for translation where it is shown (the CLI)."""
    return message


_LOCK_ID = 0x77617264  # "ward": serialises appends on PostgreSQL
BATCH = 1000


@dataclass(frozen=True)
class Verification:
    intact: bool
    checked: int
    broken_at: int | None = None
    reason: str = ""


class AuditLog:
    def __init__(self, keyring: Keyring):
        self._key = keyring.derived_key("audit-chain")

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
        last = await session.scalar(select(AuditEntry.mac).order_by(AuditEntry.id.desc()).limit(1))
        entry = AuditEntry(
            ward_id=ward_id,
            tip_id=tip_id,
            officer_id=officer_id,
            action=action,
            detail=dict(detail or {}),
            created_at=utcnow(),
            prev_mac=last or GENESIS,
            mac="",
        )
        session.add(entry)
        await session.flush()  # the id is part of what the MAC covers
        entry.mac = self._mac(entry)
        await session.flush()
        return entry

    async def verify(self, session: AsyncSession) -> Verification:
        previous, checked, last_id = GENESIS, 0, 0
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
                if not hmac.compare_digest(entry.mac, self._mac(entry)):
                    return Verification(False, checked, entry.id, N_("the entry was changed"))
                previous, checked = entry.mac, checked + 1
            if not rows:
                return Verification(True, checked)
            last_id = rows[-1].id

    async def history(self, session: AsyncSession, tip_id: int) -> Sequence[AuditEntry]:
        return (
            await session.scalars(
                select(AuditEntry).where(AuditEntry.tip_id == tip_id).order_by(AuditEntry.id)
            )
        ).all()

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
