"""Messages for chats other than the one being answered, kept until delivered.

A police question must reach a reporter whose chat is not the one the officer is
typing in, possibly on another channel or after a restart. Each row owns a data key;
its route and payload are sealed, and the row is deleted once the channel sent it.

A row's `recipient` is the person's outbox pseudonym only where a channel must find a
person's messages when that person returns (the console, which has no live connection);
everywhere else it is random, so two messages waiting for one reporter (a question and
a reminder, say) cannot be told to be for the same person.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kernel.clock import utcnow
from kernel.routes import Route
from storage.crypto import RecordRef, Vault, WrappedKey
from storage.models import OutboxMessage
from storage.pseudonyms import Pseudonym, Pseudonyms, Purpose


@dataclass(frozen=True)
class Pending:
    id: int
    route: Route
    payload: dict[str, Any] = field(repr=False)
    attempts: int


def recipient_of(pseudonyms: Pseudonyms, route: Route) -> Pseudonym:
    return pseudonyms.of(Purpose.OUTBOX, route.channel, *route.account_parts())


def _unlinkable_recipient(pseudonyms: Pseudonyms, route: Route) -> str:
    """Random, shaped like a pseudonym: what the row says about its reader is nothing."""
    shape = recipient_of(pseudonyms, route)
    prefix, _, digest = shape.partition("_")
    return f"{prefix}_{secrets.token_hex(len(digest) // 2)}"


async def enqueue(
    session: AsyncSession,
    vault: Vault,
    pseudonyms: Pseudonyms,
    route: Route,
    payload: dict[str, Any],
    *,
    not_before: datetime | None = None,
    findable: bool = False,
) -> int:
    """`findable`: the row carries the person's pseudonym so that `due_for(recipient=...)`
    finds it; only for a channel that asks by person (see the module's docstring)."""
    recipient = recipient_of if findable else _unlinkable_recipient
    row = OutboxMessage(
        channel=route.channel,
        recipient=recipient(pseudonyms, route),
        wrapped_key=b"",
        next_attempt_at=not_before or utcnow(),
        created_at=utcnow(),
    )
    session.add(row)
    await session.flush()
    ref = RecordRef("outbox", row.id)
    row.wrapped_key = vault.new_key(ref)
    cipher = vault.cipher(WrappedKey(row.wrapped_key), ref)
    row.sealed_route = cipher.seal("route", route.to_bytes())
    row.sealed_reply = cipher.seal_json("payload", payload)
    await session.flush()
    return row.id


async def due_for(
    session: AsyncSession,
    vault: Vault,
    *,
    channel: str,
    now: datetime,
    recipient: Pseudonym | None = None,
    limit: int = 50,
) -> list[Pending]:
    """Due messages of a channel (or of one recipient), oldest first, claimed for this
    transaction: on PostgreSQL other senders skip them (FOR UPDATE SKIP LOCKED)."""
    query = select(OutboxMessage).where(
        OutboxMessage.channel == channel, OutboxMessage.next_attempt_at <= now
    )
    if recipient is not None:
        query = query.where(OutboxMessage.recipient == recipient)
    rows = (
        await session.scalars(
            query.order_by(OutboxMessage.id).limit(limit).with_for_update(skip_locked=True)
        )
    ).all()
    pending = []
    for row in rows:
        ref = RecordRef("outbox", row.id)
        cipher = vault.cipher(WrappedKey(row.wrapped_key), ref)
        route = Route.from_bytes(cipher.open("route", row.sealed_route or b""))
        payload = cipher.open_json("payload", row.sealed_reply or b"")
        pending.append(Pending(row.id, route, payload, row.attempts))
    return pending


async def lease(session: AsyncSession, message_ids: list[int], until: datetime) -> None:
    """Claimed messages are not due again until `until`: the sender works outside the
    transaction, and a sender that dies leaves them for the next one after the lease."""
    if message_ids:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(message_ids))
            .values(next_attempt_at=until)
        )


async def delivered(session: AsyncSession, message_id: int) -> None:
    await session.execute(delete(OutboxMessage).where(OutboxMessage.id == message_id))


async def retry_later(session: AsyncSession, message_id: int, now: datetime) -> None:
    row = await session.get(OutboxMessage, message_id)
    if row is not None:
        row.attempts += 1
        row.next_attempt_at = now + timedelta(seconds=min(3600, 5 * 2**row.attempts))
