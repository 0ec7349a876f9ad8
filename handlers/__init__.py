"""Conversations, one router per file (resident/, police/, and what both use here),
composed here. Handlers see only normalised
messages (kernel/messages.py): a new channel never needs a change in this package."""

from __future__ import annotations

from engine.conversation import Router
from handlers import groups, language, start
from handlers.police import (
    areas,
    broadcast,
    case_file,
    city,
    drug_free,
    enrol,
    org_pledge,
    record,
    remarks,
    tip_boxes,
    triage,
    ward_report,
)
from handlers.resident import cleanup, info, pledge, quiz, report, status, subscribe, tdp_choice
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
        record.router,
        case_file.router,
        areas.router,
        tip_boxes.router,
        remarks.router,
        city.router,
    ]
