"""The console channel: talk to the bot in a terminal, or pipe a conversation in.

Each line read is one message from `--user`; replies are printed with their options
numbered, as on a channel without buttons. Messages the police left for this user (in
the outbox) are printed before each prompt. It exits at the end of input.

Lines starting with `@` stand for what a phone would send besides text:
`@photo PATH`, `@file PATH`, `@location LAT,LON`, `@sticker`, `@voice`.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TextIO

from bot.channels.rendering import numbered_text
from engine.conversation import Dispatcher
from engine.delivery import deliver_due
from kernel.messages import Attachment, ChannelInfo, ChatKind, Inbound, Reply
from kernel.routes import Route
from storage.outbox import recipient_of

CHANNEL = "console"


async def _fetch(attachment: Attachment) -> bytes:
    try:
        return await asyncio.to_thread(Path(attachment.file_ref).read_bytes)
    except OSError:
        raise LookupError("file not readable") from None


INFO = ChannelInfo(CHANNEL, can_delete_messages=False, fetch=_fetch)


def parse_line(route: Route, line: str, language_hint: str | None = None) -> Inbound:
    """A typed line as the message a phone would have sent."""
    text = line.rstrip("\r\n")
    kind, _, rest = text.partition(" ")
    if kind in ("@photo", "@file"):
        path = Path(rest.strip()).expanduser()
        size = path.stat().st_size if path.is_file() else 0
        attachment = Attachment("photo" if kind == "@photo" else "document", str(path), "", size)
        return Inbound(
            route, ChatKind.PRIVATE, "", attachments=(attachment,), language_hint=language_hint
        )
    if kind == "@location":
        try:
            latitude, longitude = (float(part) for part in rest.split(","))
        except ValueError:
            return Inbound(route, ChatKind.PRIVATE, text, language_hint=language_hint)
        return Inbound(
            route, ChatKind.PRIVATE, "", location=(latitude, longitude), language_hint=language_hint
        )
    if kind in ("@sticker", "@voice"):
        attachment = Attachment(kind[1:], "", "", 0)
        return Inbound(
            route, ChatKind.PRIVATE, "", attachments=(attachment,), language_hint=language_hint
        )
    return Inbound(route, ChatKind.PRIVATE, text, language_hint=language_hint)


async def chat(
    dispatcher: Dispatcher,
    user: str,
    *,
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
    language_hint: str | None = None,
) -> None:
    dispatcher.register_channel(INFO)
    route = Route(CHANNEL, user)
    recipient = recipient_of(dispatcher.services.pseudonyms, route)
    interactive = stdin.isatty()
    loop = asyncio.get_running_loop()

    async def show(_route: Route, reply: Reply) -> None:
        stdout.write(numbered_text(reply) + "\n\n")

    while True:
        await deliver_due(dispatcher.services, CHANNEL, show, recipient=recipient)
        if interactive:
            stdout.write("> ")
        stdout.flush()
        line = await loop.run_in_executor(None, stdin.readline)
        if line == "":
            break
        for outbound in await dispatcher.handle(parse_line(route, line, language_hint)):
            if outbound.reply is not None:
                await show(outbound.route, outbound.reply)
        stdout.flush()
