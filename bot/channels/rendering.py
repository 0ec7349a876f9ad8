"""Shared rendering for channels without buttons: options become a numbered list."""

from __future__ import annotations

from bot.messages import Reply


def numbered_text(reply: Reply) -> str:
    options = reply.options()
    text = reply.text
    if reply.media:
        files = [
            f"[📎 {m.kind} {m.mime_type}, {max(1, len(m.data) // 1024)} KB]" for m in reply.media
        ]
        text = "\n".join([text, *files])
    if not options:
        return text
    lines = [text, ""]
    lines += [f"{number}. {button.label}" for number, button in enumerate(options, start=1)]
    return "\n".join(lines)
