"""The mixer: commits waiting drops (storage/drops.py) into the tips table.

A reporter's conversation commits only a sealed drop. Here, at random times, every due
drop and a random share of the others are stored as tips and tip events in one
shuffled batch, with the notices to officers, in a commit that touches no conversation.
So neither the order of commits nor their times pair a tip with the conversation it
came from; how well that hides a tip grows with how many tips wait together (README).
"""

from __future__ import annotations

import logging
from datetime import datetime

from engine.services import Services
from kernel.clock import utcnow
from kernel.errors import describe
from notices import notify_new_tip, notify_reporter_wrote
from storage import drops, tips, triage
from storage.drops import OpenDrop
from storage.session import AsyncSession
from storage.tips import EventKind, ReporterMessage, Submission

log = logging.getLogger(__name__)


async def mix(services: Services, *, now: datetime | None = None, everything: bool = False) -> int:
    """One round; returns how many drops it committed. `everything`: every waiting drop,
    due or not (tests, and `wardbot` commands that must not leave tips behind)."""
    async with services.db.transaction() as session:
        batch = await drops.take(session, services.vault, now or utcnow(), everything=everything)
        stored = 0
        for drop in batch:
            try:
                async with session.begin_nested():
                    await _store(session, services, drop)
                stored += 1
            except Exception as exc:  # this one stays for the next round; the rest go on
                log.error("a drop could not be stored: %s", describe(exc))
                await _keep(session, services, drop)
    return stored


async def _store(session: AsyncSession, services: Services, drop: OpenDrop) -> None:
    if drop.payload.get("kind") == "tip":
        submission = Submission.from_payload(drop.payload)
        created = await tips.create_tip(session, services.vault, submission)
        triage.set_deadlines(created, services.sla, submission.submitted_at)
        await services.audit.append(
            session,
            "received",
            ward_id=created.ward_id,
            tip_id=created.id,
            detail={"category": created.category, "urgent": created.urgent},
        )
        await notify_new_tip(session, services, created)
        return
    message = ReporterMessage.from_payload(drop.payload)
    tip = await tips.get_tip(session, message.tip_id)
    if tip is None or tip.wrapped_key is None:
        return  # shredded or deleted meanwhile: nothing left to add to
    if message.kind == EventKind.CONTACT_STOPPED:
        await tips.stop_contact(session, services.vault, tip)
        return
    await tips.add_event(
        session,
        services.vault,
        tip,
        message.kind,
        body=message.body,
        reply_to_id=message.reply_to_id,
    )
    await notify_reporter_wrote(session, services, tip)


async def _keep(session: AsyncSession, services: Services, drop: OpenDrop) -> None:
    """Put back a drop that failed, due again at once, so no tip is lost to a bug."""
    code = drop.payload.get("code") if drop.payload.get("kind") == "tip" else None
    await drops.put(
        session, services.vault, services.pseudonyms, drop.payload, due=utcnow(), code=code
    )
