"""Ad-hoc broadcasts and the two-person rule: an officer drafts, a commander who is not
the drafter approves or rejects, and only then is the broadcast scheduled. One
compromised account, officer or commander, cannot message the ward on its own."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum

from broadcasts.calendar import QuietHours, period_of
from broadcasts.library import ContentError, check_text
from broadcasts.planner import reachable_counts
from storage import broadcasts as broadcast_rows
from storage import coverage
from storage.models import (
    Broadcast,
    BroadcastKind,
    BroadcastStatus,
    Officer,
    OfficerRole,
)
from storage.session import AsyncSession


class Refusal(StrEnum):
    NOT_FOUND = "not-found"  # no such broadcast in the approver's ward
    NOT_PENDING = "not-pending"  # decided already
    NOT_COMMANDER = "not-commander"
    OWN_DRAFT = "own-draft"  # the second person must be a different person
    BAD_TEXT = "bad-text"  # a draft kept before today's checks that fails them


class ApprovalRefused(Exception):
    def __init__(self, reason: Refusal, broadcast: Broadcast | None = None):
        super().__init__(reason)
        self.reason = reason
        self.broadcast = broadcast


async def audience(session: AsyncSession, ward_id: int, group_id: int | None) -> tuple[int, int]:
    """(group chats, subscribers) a broadcast would reach now."""
    chats = await coverage.active_chats(session, ward_id, group_id)
    reach = await reachable_counts(session, ward_id)
    total = reach.get(group_id, 0) if group_id is not None else sum(reach.values())
    return chats, total - chats


async def draft(
    session: AsyncSession,
    officer: Officer,
    text: str,
    group_id: int | None,
    now: datetime,
    quiet: QuietHours,
) -> Broadcast:
    check_text(text)
    broadcast = Broadcast(
        ward_id=officer.ward_id,
        group_id=group_id,
        kind=BroadcastKind.ADHOC,
        period=period_of(now, quiet.zone),
        text=text.strip(),
        to_groups=True,
        to_subscribers=True,
        status=BroadcastStatus.PENDING_APPROVAL,
        scheduled_at=now,
        created_by=officer.id,
        created_at=now,
    )
    broadcast_rows.add(session, broadcast)
    await broadcast_rows.flush(session)
    return broadcast


async def decide(
    session: AsyncSession,
    broadcast_id: int,
    approver: Officer,
    *,
    approve: bool,
    now: datetime,
    quiet: QuietHours,
) -> Broadcast:
    """Approve (schedule for now, or the end of quiet hours) or reject a draft."""
    broadcast = await broadcast_rows.get_for_update(session, broadcast_id)
    if broadcast is None or broadcast.ward_id != approver.ward_id:
        raise ApprovalRefused(Refusal.NOT_FOUND)
    if approver.role != OfficerRole.COMMANDER:
        raise ApprovalRefused(Refusal.NOT_COMMANDER, broadcast)
    if broadcast.status != BroadcastStatus.PENDING_APPROVAL:
        raise ApprovalRefused(Refusal.NOT_PENDING, broadcast)
    if broadcast.created_by == approver.id:
        raise ApprovalRefused(Refusal.OWN_DRAFT, broadcast)
    if approve:
        try:
            check_text(broadcast.text or "")
        except ContentError:
            raise ApprovalRefused(Refusal.BAD_TEXT, broadcast) from None
    broadcast.decided_by = approver.id
    if approve:
        broadcast.status = BroadcastStatus.SCHEDULED
        broadcast.scheduled_at = quiet.next_allowed(now)
        broadcast.period = period_of(broadcast.scheduled_at, quiet.zone)
    else:
        broadcast.status = BroadcastStatus.REJECTED
    await broadcast_rows.flush(session)
    return broadcast


async def recent(session: AsyncSession, ward_id: int, limit: int = 10) -> Sequence[Broadcast]:
    return await broadcast_rows.recent(session, ward_id, limit)
