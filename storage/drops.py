"""Sealed drops: what a reporter sends about a tip, on its way to the tips table.

A copy of the running data folder shows which rows each commit wrote, and when. Were a
tip written in the commit that updates its reporter's conversation, the copy would pair
them; so the conversation writes only a drop, sealed under its own data key, and the
mixer (bot/mixer.py) commits drops into the tips in shuffled batches at random times.
What a drop holds, and for which tip, is inside the seal.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.crypto import CryptoError, RecordRef, Vault, WrappedKey
from storage.models import Drop
from storage.pseudonyms import Pseudonyms, Purpose

_UNIFORM = secrets.SystemRandom()


@dataclass(frozen=True)
class Delays:
    """How long a drop may wait: an urgent tip at most `urgent`, anything else at most
    `other`. Each drop's time is drawn uniformly, at least `least`, so the order drops
    leave in is not the order they came in."""

    urgent: timedelta
    other: timedelta
    least: timedelta = timedelta(seconds=5)

    def __post_init__(self) -> None:
        if not timedelta(0) <= self.least <= self.urgent <= self.other:
            raise ValueError("delays must satisfy 0 <= least <= urgent <= other")

    def due(self, now: datetime, *, urgent: bool) -> datetime:
        longest = self.urgent if urgent else self.other
        span = (longest - self.least).total_seconds()
        return now + self.least + timedelta(seconds=_UNIFORM.uniform(0, span))


@dataclass(frozen=True)
class OpenDrop:
    id: int
    payload: dict[str, Any] = field(repr=False)


def _ref(drop_id: int) -> RecordRef:
    return RecordRef("drops", drop_id)


def _code_key(pseudonyms: Pseudonyms, code: str) -> str:
    return pseudonyms.of(Purpose.RECEIPT_CODE, "drop", code)


def _random_key(pseudonyms: Pseudonyms) -> str:
    """Shaped like a code key, and matching nothing."""
    return _code_key(pseudonyms, secrets.token_hex(8))


async def put(
    session: AsyncSession,
    vault: Vault,
    pseudonyms: Pseudonyms,
    payload: dict[str, Any],
    *,
    due: datetime,
    code: str | None = None,
) -> None:
    """Leave `payload` for the mixer. `code`: the new tip's code, so that its receipt is
    recognised while it waits (find_waiting)."""
    row = Drop(
        code_key=_code_key(pseudonyms, code) if code else _random_key(pseudonyms), due_at=due
    )
    session.add(row)
    await session.flush()  # the id is bound into the seal
    row.wrapped_key = vault.new_key(_ref(row.id))
    cipher = vault.cipher(WrappedKey(row.wrapped_key), _ref(row.id))
    row.sealed_payload = cipher.seal_json("payload", payload)
    await session.flush()


def _open(vault: Vault, row: Drop) -> dict[str, Any]:
    if row.wrapped_key is None or row.sealed_payload is None:
        raise CryptoError(f"drop {row.id} is empty")
    cipher = vault.cipher(WrappedKey(row.wrapped_key), _ref(row.id))
    return dict(cipher.open_json("payload", row.sealed_payload))


async def take(
    session: AsyncSession,
    vault: Vault,
    now: datetime,
    *,
    everything: bool = False,
    sweep: float = 0.5,
) -> list[OpenDrop]:
    """The drops to commit now, each deleted in this transaction: none unless one is due;
    then every due drop, and each other waiting one with probability `sweep`, so the
    batch is larger than what happened to fall due together. On PostgreSQL rows another
    mixer holds are skipped. `everything`: all of them (tests, shutdown)."""
    rows = (
        await session.scalars(select(Drop).order_by(Drop.id).with_for_update(skip_locked=True))
    ).all()
    if not everything:
        if not any(row.due_at <= now for row in rows):
            return []
        rows = [row for row in rows if row.due_at <= now or _UNIFORM.random() < sweep]
    taken = []
    for row in rows:
        try:
            taken.append(OpenDrop(row.id, _open(vault, row)))
        except CryptoError:  # kept, never lost: 'wardbot keys' can tell what is wrong
            continue
    await drop_rows(session, [drop.id for drop in taken])
    _UNIFORM.shuffle(taken)
    return taken


async def drop_rows(session: AsyncSession, ids: Sequence[int]) -> None:
    if ids:
        await session.execute(delete(Drop).where(Drop.id.in_(list(ids))))


async def find_waiting(
    session: AsyncSession, vault: Vault, pseudonyms: Pseudonyms, code: str
) -> dict[str, Any] | None:
    """The payload of the new tip with this code, while it waits for the mixer."""
    rows = await session.scalars(select(Drop).where(Drop.code_key == _code_key(pseudonyms, code)))
    for row in rows:
        try:
            return _open(vault, row)
        except CryptoError:
            continue
    return None


async def waiting(session: AsyncSession) -> int:
    return len((await session.scalars(select(Drop.id))).all())
