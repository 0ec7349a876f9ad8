"""Shared rendering for channels without buttons: options become a numbered list."""

from __future__ import annotations

from bot.messages import Reply


def numbered_text(reply: Reply) -> str:
    options = reply.options()
    if not options:
        return reply.text
    lines = [reply.text, ""]
    lines += [f"{number}. {button.label}" for number, button in enumerate(options, start=1)]
    return "\n".join(lines)
