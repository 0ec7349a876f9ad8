"""Shared rendering: options as a numbered list for channels without buttons, and long
texts cut into parts a platform accepts."""

from __future__ import annotations

import unicodedata

from kernel.messages import Reply

_NO_BREAK_SPACES = frozenset("\u00a0\u2007\u202f")


def numbered_text(reply: Reply) -> str:
    options = reply.options()
    text = reply.text
    uploads = [m for m in reply.media if not m.url]  # a linked image is sent as itself
    if uploads:
        files = [f"[📎 {m.kind} {m.mime_type}, {max(1, len(m.data) // 1024)} KB]" for m in uploads]
        text = "\n".join([text, *files])
    if not options:
        return text
    lines = [text, ""]
    if reply.standalone:  # a number typed now would pick from another message's options
        lines += [f"• {b.label}: {b.command}" for b in options if b.command]
        return "\n".join(lines) if len(lines) > 2 else text
    lines += [f"{number}. {button.label}" for number, button in enumerate(options, start=1)]
    return "\n".join(lines)


def utf16_length(text: str) -> int:
    """Length as Telegram counts it, and Zalo most likely: UTF-16 code units. The same as
    ``len`` for all Vietnamese text; an emoji outside the BMP counts twice."""
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


def split_text(text: str, limit: int) -> list[str]:
    """Cut ``text`` into parts of 1..``limit`` characters (as ``utf16_length`` counts them).

    A part ends after a run of whitespace that holds a line break where there is one,
    else after a run of spaces, else at the limit (never inside CRLF, nor before a
    combining mark, a variation selector, a skin-tone modifier or after a zero-width
    joiner, so Vietnamese written with combining accents and emoji sequences stay whole,
    unless one such sequence is itself longer than the limit).
    The whitespace stays at the end of the part it follows, so no part but the first
    starts with whitespace, and ``"".join(parts) == text`` always. No-break spaces do
    not count as break points. An empty text gives no parts.
    """
    if limit < 2:
        raise ValueError("limit must be at least 2")
    parts: list[str] = []
    rest = text
    while rest:
        fit = _fitting_prefix(rest, limit)
        if fit == len(rest):
            parts.append(rest)
            break
        cut = _cut(rest, fit)
        parts.append(rest[:cut])
        rest = rest[cut:]
    return parts


def _fitting_prefix(text: str, limit: int) -> int:
    """How many characters from the start fit in ``limit`` UTF-16 code units."""
    used = 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > limit:
            return index
    return len(text)


def _breakable(char: str) -> bool:
    return char.isspace() and char not in _NO_BREAK_SPACES


def _cut(text: str, fit: int) -> int:
    """Where to end the next part, 0 < cut <= fit < len(text)."""
    line_cut = word_cut = 0
    # A cut point is the end of a whitespace run: text[cut - 1] breaks, text[cut] does not.
    for cut in range(fit, 0, -1):
        if not _breakable(text[cut - 1]) or _breakable(text[cut]):
            continue
        start = cut - 1
        while start > 0 and _breakable(text[start - 1]):
            start -= 1
        if start == 0:
            continue  # the part would be nothing but whitespace
        if "\n" in text[start:cut] or "\r" in text[start:cut]:
            line_cut = cut
            break
        if not word_cut:
            word_cut = cut
    if line_cut:
        return line_cut
    if word_cut:
        return word_cut
    return _hard_cut(text, fit)


def _hard_cut(text: str, fit: int) -> int:
    cut = fit
    while cut > 0 and _joined(text, cut):
        cut -= 1
    return cut if cut > 0 else max(fit, 1)


def _joined(text: str, cut: int) -> bool:
    """Whether cutting between text[cut - 1] and text[cut] would split a character."""
    before, after = text[cut - 1], text[cut]
    if before == "\r" and after == "\n":
        return True
    if before == "\u200d" or after == "\u200d":
        return True
    code = ord(after)
    if 0xFE00 <= code <= 0xFE0F or 0xE0100 <= code <= 0xE01EF:  # variation selectors
        return True
    if 0x1F3FB <= code <= 0x1F3FF:  # skin-tone modifiers
        return True
    return unicodedata.combining(after) != 0
