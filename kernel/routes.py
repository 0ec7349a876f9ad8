"""The way back to a chat account. Held in memory while a message is handled, stored
only sealed, and never printed: its repr and str are redacted so a log line or a
traceback cannot carry it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Route:
    channel: str
    chat_id: str = field(repr=False)
    user_id: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        if not self.channel or not self.chat_id:
            raise ValueError("a route needs a channel and a chat id")

    def __repr__(self) -> str:
        return f"Route({self.channel}, <redacted>)"

    __str__ = __repr__

    def account_parts(self) -> tuple[str, ...]:
        """What identifies the account for pseudonyms: the chat, and the user in groups."""
        return (self.chat_id, self.user_id) if self.user_id else (self.chat_id,)

    def to_bytes(self) -> bytes:
        return json.dumps([self.channel, self.chat_id, self.user_id]).encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes) -> Route:
        channel, chat_id, user_id = json.loads(data)
        return cls(channel, chat_id, user_id)
