"""Normalised messages: what every channel turns its updates into, and what handlers
answer with. Handlers never see a channel's own types."""

from __future__ import annotations

import math
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum

from kernel.actions import Action
from kernel.routes import Route

# What no stored or sealed text may hold: a UTF-16 surrogate on its own (JSON's "\ud800"
# escape decodes to one, and UTF-8 cannot encode it) and NUL (PostgreSQL text refuses it).
_UNWRITABLE = re.compile("[\x00\ud800-\udfff]")


def clean_text(text: str) -> str:
    """`text` as every later step can write it: a surrogate pair that arrived as two
    code points becomes the one character it stands for, a lone surrogate and NUL become
    U+FFFD. Text without either is returned as it is."""
    if _UNWRITABLE.search(text) is None:
        return text
    paired = text.replace("\x00", "\ufffd").encode("utf-16-le", "surrogatepass")
    return paired.decode("utf-16-le", "replace")


def _clean_optional(text: str | None) -> str | None:
    return None if text is None else clean_text(text)


class ChatKind(StrEnum):
    PRIVATE = "private"
    GROUP = "group"


class ChatEvent(StrEnum):
    """Something that happened to a chat rather than a message in it. Only channels
    create these, from the platform's own signals: no typed text or button can."""

    BOT_ADDED = "bot-added"
    BOT_REMOVED = "bot-removed"  # removed, kicked or blocked: nothing reaches the chat now
    MIGRATED = "migrated"  # the chat now lives at `moved_to` (Telegram supergroups)


@dataclass(frozen=True, slots=True)
class Attachment:
    kind: str  # photo, document, sticker, voice, video, location, other
    file_ref: str = field(default="", repr=False)  # the channel's own handle to fetch it
    mime_type: str = ""
    size: int = 0

    def __post_init__(self) -> None:
        for name in ("kind", "file_ref", "mime_type"):
            object.__setattr__(self, name, clean_text(getattr(self, name)))


@dataclass(frozen=True, slots=True)
class Inbound:
    """One message or button press from a chat. Its text may be tip content and its
    route identifies a person: the repr shows neither."""

    route: Route
    chat_kind: ChatKind = ChatKind.PRIVATE
    text: str = field(default="", repr=False)
    action: str | None = field(default=None, repr=False)
    attachments: tuple[Attachment, ...] = ()
    location: tuple[float, float] | None = field(default=None, repr=False)
    language_hint: str | None = None
    message_id: str | None = None
    event: ChatEvent | None = None
    moved_to: Route | None = None
    # The platform's own id of this update (Telegram's update_id), when it has one: the
    # same update delivered twice carries the same id.
    update_id: str | None = None

    def __post_init__(self) -> None:
        """Every channel's messages pass here, so whatever a platform sent (text, button
        data, captions, ids, language hints) reaches the core as writable text, and a
        location only as a point on Earth."""
        set_ = object.__setattr__
        set_(self, "route", _clean_route(self.route))
        if self.moved_to is not None:
            set_(self, "moved_to", _clean_route(self.moved_to))
        set_(self, "text", clean_text(self.text))
        for name in ("action", "language_hint", "message_id", "update_id"):
            set_(self, name, _clean_optional(getattr(self, name)))
        if self.location is not None and not _on_earth(self.location):
            set_(self, "location", None)

    @property
    def delivery_key(self) -> str | None:
        """What identifies this update if it is delivered again; None on channels that
        never deliver twice (the console)."""
        if self.update_id:
            return f"u{self.update_id}"
        return f"m{self.message_id}" if self.message_id else None


def _clean_route(route: Route) -> Route:
    parts = (route.channel, route.chat_id, route.user_id)
    cleaned = tuple(clean_text(part) for part in parts)
    return route if cleaned == parts else Route(*cleaned)


def _on_earth(location: tuple[float, float]) -> bool:
    try:
        latitude, longitude = (float(value) for value in location)
    except (TypeError, ValueError):
        return False
    finite = math.isfinite(latitude) and math.isfinite(longitude)
    return finite and -90 <= latitude <= 90 and -180 <= longitude <= 180


@dataclass(frozen=True, slots=True)
class Button:
    """An option. What pressing it does is a typed action (kernel/actions.py), never a
    string: `action` is its packed form, what a platform carries back."""

    label: str
    press: Action
    # What to type for it where there are no buttons and the message is not an answer in
    # the conversation (a notice from the outbox): "/approve 4". See Reply.standalone.
    command: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.press, Action):
            raise TypeError("a button's action is an Action (kernel/actions.py)")

    @property
    def action(self) -> str:
        return self.press.pack()


@dataclass(frozen=True, slots=True)
class Media:
    """A file to send with a reply: a tip's photo or PDF for an officer (`data`), or a
    public image a broadcast links to (`url`, which the platform fetches itself)."""

    kind: str  # image or pdf
    mime_type: str
    data: bytes = field(default=b"", repr=False)
    filename: str = ""
    url: str = ""


@dataclass(frozen=True, slots=True)
class Reply:
    """An answer. Buttons are rows of options; a channel without buttons shows them as a
    numbered list and the core maps a typed number back to the option's action.

    `free_text` says typed text is itself the answer (a description, a name): then a
    typed number is text, not an option."""

    text: str = field(repr=False)
    buttons: tuple[tuple[Button, ...], ...] = ()
    free_text: bool = False
    # Tip content for officers: no forwarding or saving where the channel can prevent
    # it (Telegram's protect_content), and deleted after `delete_after` seconds.
    protect: bool = False
    delete_after: int = 0
    media: tuple[Media, ...] = ()
    # A message that arrives on its own (from the outbox), not as the answer the chat is
    # waiting for: a typed number picks from the conversation's own last options, so
    # a channel without buttons shows each option's command here, never a number.
    standalone: bool = False

    def options(self) -> list[Button]:
        return [button for row in self.buttons for button in row]


@dataclass(frozen=True, slots=True)
class Outbound:
    """A reply to send, or (with `delete`) message ids to remove from that chat."""

    route: Route
    reply: Reply | None
    delete: tuple[str, ...] = ()
    # Whether the chat's conversation remembers the bot's messages to delete them later
    # (Context.start_trace): known for the answers to the chat's own message, so that
    # only then does the channel record what it sent; None (from the outbox) when not.
    traced: bool | None = None


async def _cannot_fetch(attachment: Attachment) -> bytes:
    raise LookupError("this channel cannot fetch files")


@dataclass(frozen=True)
class ChannelInfo:
    """What a channel can do, so one conversation can adapt without knowing which
    channel it is on."""

    name: str
    can_delete_messages: bool = False
    can_send_files: bool = False  # a PDF or an image given as bytes, not only by link
    fetch: Callable[[Attachment], Awaitable[bytes]] = _cannot_fetch
