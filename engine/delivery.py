"""Delivering the outbox: messages for chats other than the one being answered, replies
a channel could not send at once, and deletions due later (a tip shown to an officer).

A batch is claimed with a short lease in one transaction and sent outside it, so a
slow platform never holds the database; each message is deleted once sent, retried
later with a growing delay when sending failed, and dropped when the chat is gone. A
sender that dies mid-batch leaves the rest for the next one after the lease: at least
once, never lost.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from engine.services import Services
from kernel import actions
from kernel.clock import utcnow
from kernel.errors import describe
from kernel.messages import Button, Reply
from kernel.routes import Route
from storage import outbox
from storage.pseudonyms import Pseudonym
from storage.session import AsyncSession

log = logging.getLogger(__name__)

Send = Callable[[Route, Reply], Awaitable[None]]
Delete = Callable[[Route, tuple[str, ...]], Awaitable[None]]
LEASE = timedelta(minutes=2)
# Channels that collect a person's waiting messages when that person comes back, rather
# than being sent them: the console. Only their outbox rows name the person (by
# pseudonym); see storage/outbox.py.
COLLECTED_BY_PERSON = frozenset({"console"})


class Undeliverable(Exception):
    """The chat cannot receive anything (blocked, removed, gone): retrying is useless."""


async def enqueue_reply(
    session: AsyncSession,
    services: Services,
    route: Route,
    text: str,
    buttons: Iterable[Iterable[Button]] = (),
) -> None:
    """Leave a message for another chat; its channel sends it after this transaction
    commits, so a crash can neither lose it nor send one that was never stored."""
    reply = Reply(text, _rows(buttons), standalone=True)
    if any(not button.command for button in reply.options()):
        raise ValueError("a button of a message for another chat needs its typed command")
    await outbox.enqueue(
        session,
        services.vault,
        services.pseudonyms,
        route,
        payload_of(reply),
        findable=_findable(route),
    )


async def enqueue_later(services: Services, route: Route, reply: Reply) -> None:
    """A reply the channel could not send now (the platform down or throttling): kept
    sealed and sent by the outbox pump. Attached files are not kept: an officer who
    needs them shows the tip again."""
    async with services.db.transaction() as session:
        await outbox.enqueue(
            session,
            services.vault,
            services.pseudonyms,
            route,
            payload_of(reply),
            findable=_findable(route),
        )


async def enqueue_deletion(
    services: Services, route: Route, message_ids: Iterable[str], at: datetime
) -> None:
    """Delete these messages from the chat at `at`, even if the bot restarts before."""
    ids = [str(i) for i in message_ids]
    if not ids:
        return
    async with services.db.transaction() as session:
        await outbox.enqueue(
            session,
            services.vault,
            services.pseudonyms,
            route,
            {"delete": ids},
            not_before=at,
            findable=_findable(route),
        )


def _findable(route: Route) -> bool:
    return route.channel in COLLECTED_BY_PERSON


def _rows(buttons: Iterable[Iterable[Button]]) -> tuple[tuple[Button, ...], ...]:
    return tuple(tuple(row) for row in buttons)


def payload_of(reply: Reply) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "text": reply.text,
        "buttons": [[[b.label, b.action, b.command] for b in row] for row in reply.buttons],
    }
    if reply.protect:
        payload["protect"] = True
    if reply.delete_after:
        payload["delete_after"] = reply.delete_after
    if reply.media:
        payload["files_left_out"] = len(reply.media)
    return payload


def _stored_row(stored: list[Any]) -> tuple[Button, ...]:
    """A row of buttons as stored; a button whose action no version of the bot offers
    any more is left out."""
    row = []
    for label, data, *command in stored:
        action = actions.parse(data)
        if action is not None:
            row.append(Button(str(label), action, str(command[0]) if command else ""))
    return tuple(row)


def reply_from_payload(payload: dict[str, Any]) -> Reply:
    rows = tuple(row for row in map(_stored_row, payload.get("buttons", [])) if row)
    return Reply(
        str(payload.get("text", "")),
        rows,
        protect=bool(payload.get("protect", False)),
        delete_after=int(payload.get("delete_after", 0)),
        standalone=True,  # whatever the chat is doing when it arrives, it is not this
    )


async def deliver_due(
    services: Services,
    channel: str,
    send: Send,
    *,
    delete: Delete | None = None,
    recipient: Pseudonym | None = None,
    limit: int = 50,
) -> int:
    """Send what is due on this channel (or to one recipient); returns how many went."""
    async with services.db.transaction() as session:
        pending = await outbox.due_for(
            session,
            services.vault,
            channel=channel,
            now=utcnow(),
            recipient=recipient,
            limit=limit,
        )
        await outbox.lease(session, [p.id for p in pending], utcnow() + LEASE)
    sent = 0
    for item in pending:
        try:
            if "delete" in item.payload:
                if delete is not None:
                    await delete(item.route, tuple(str(i) for i in item.payload["delete"]))
            else:
                await send(item.route, reply_from_payload(item.payload))
        except Undeliverable:
            log.info("outbox message %s dropped: the chat cannot receive messages", item.id)
            outcome = "drop"
        except Exception as exc:
            log.warning("outbox message %s not sent: %s", item.id, describe(exc))
            outcome = "retry"
        else:
            outcome = "sent"
            sent += 1
        async with services.db.transaction() as session:
            if outcome == "retry":
                await outbox.retry_later(session, item.id, utcnow())
            else:
                await outbox.delivered(session, item.id)
    return sent
