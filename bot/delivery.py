"""Delivering the outbox: messages for chats other than the one being answered.

A channel passes its `send`; each message is claimed inside a transaction, sent, and
deleted only when sent, so a crash leaves it for the next attempt (at least once,
never lost). Failures are retried later with a growing delay.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from bot.conversation import Services, describe
from bot.messages import Button, Reply
from storage import outbox
from storage.models import utcnow
from storage.pseudonyms import Pseudonym
from storage.routes import Route

log = logging.getLogger(__name__)

Send = Callable[[Route, Reply], Awaitable[None]]


async def enqueue_reply(
    session: AsyncSession,
    services: Services,
    route: Route,
    text: str,
    buttons: Iterable[Iterable[Button]] = (),
) -> None:
    """Leave a message for another chat; its channel sends it after this transaction
    commits, so a crash can neither lose it nor send one that was never stored."""
    rows = [[[button.label, button.action] for button in row] for row in buttons]
    await outbox.enqueue(
        session, services.vault, services.pseudonyms, route, {"text": text, "buttons": rows}
    )


def reply_from_payload(payload: dict) -> Reply:  # type: ignore[type-arg]
    rows = tuple(
        tuple(Button(str(label), str(action)) for label, action in row)
        for row in payload.get("buttons", [])
    )
    return Reply(str(payload.get("text", "")), rows)


async def deliver_due(
    services: Services, channel: str, send: Send, *, recipient: Pseudonym | None = None
) -> int:
    """Send what is due on this channel (or to one recipient); returns how many went."""
    sent = 0
    async with services.db.transaction() as session:
        for pending in await outbox.due_for(
            session, services.vault, channel=channel, now=utcnow(), recipient=recipient
        ):
            try:
                await send(pending.route, reply_from_payload(pending.payload))
            except Exception as exc:
                log.warning("outbox message %s not sent: %s", pending.id, describe(exc))
                await outbox.retry_later(session, pending.id, utcnow())
                continue
            await outbox.delivered(session, pending.id)
            sent += 1
    return sent
