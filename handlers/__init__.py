"""Conversations, one router per file, composed here. Handlers see only normalised
messages (kernel/messages.py): a new channel never needs a change in this package."""

from __future__ import annotations

from engine.conversation import Router
from handlers import (
    broadcast,
    cleanup,
    drug_free,
    enrol,
    groups,
    info,
    language,
    org_pledge,
    pledge,
    quiz,
    report,
    start,
    status,
    subscribe,
    tdp_choice,
    triage,
    ward_report,
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
        tdp_choice.router,
        subscribe.router,
        broadcast.router,
        pledge.router,
        quiz.router,
        org_pledge.router,
        drug_free.router,
        ward_report.router,
    ]
