"""Conversations, one router per file, composed here. Handlers see only normalised
messages (bot/messages.py): a new channel never needs a change in this package."""

from __future__ import annotations

from bot.conversation import Router
from handlers import language, start
from handlers.start import fallback

__all__ = ["build_routers", "fallback"]


def build_routers() -> list[Router]:
    return [start.router, language.router]
