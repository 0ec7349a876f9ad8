"""The console channel: talk to the bot in a terminal, or pipe a conversation in.

Each line read is one message from `--user`; replies are printed with their options
numbered, as on a channel without buttons. It exits at the end of input.
"""

from __future__ import annotations

import asyncio
import sys
from typing import TextIO

from bot.channels.rendering import numbered_text
from bot.conversation import Dispatcher
from bot.messages import ChatKind, Inbound
from storage.routes import Route

CHANNEL = "console"


async def chat(
    dispatcher: Dispatcher,
    user: str,
    *,
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
    language_hint: str | None = None,
) -> None:
    route = Route(CHANNEL, user)
    interactive = stdin.isatty()
    loop = asyncio.get_running_loop()
    while True:
        if interactive:
            stdout.write("> ")
            stdout.flush()
        line = await loop.run_in_executor(None, stdin.readline)
        if line == "":
            break
        inbound = Inbound(
            route=route,
            chat_kind=ChatKind.PRIVATE,
            text=line.rstrip("\r\n"),
            language_hint=language_hint,
        )
        for outbound in await dispatcher.handle(inbound):
            stdout.write(numbered_text(outbound.reply) + "\n\n")
        stdout.flush()
