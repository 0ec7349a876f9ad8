"""Conversations, one router per file, composed here. Handlers see only normalised
messages (bot/messages.py): a new channel never needs a change in this package."""

from __future__ import annotations

from bot.conversation import Router
from handlers import (
    broadcast,
    cleanup,
    enrol,
    groups,
    info,
    language,
    report,
    start,
    status,
    subscribe,
    triage,
)
from handlers.start import fallback, group_pointer

__all__ = ["build_routers", "fallback", "group_pointer"]


def build_routers() -> list[Router]:
    return [
        start.router,
        report.router,
        status.router,
        cleanup.router,
        info.router,
        language.router,
        triage.router,
        enrol.router,
        groups.router,
        subscribe.router,
        broadcast.router,
    ]
