"""Awareness message rows: the content library in the database.

broadcasts/library.py checks and renders the texts; the queries live here so that
only storage/ speaks SQL (issue 17).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import ColumnElement, and_, or_, select

from kernel.clock import utcnow
from storage.models import AwarenessMessage
from storage.session import AsyncSession


async def all_messages(session: AsyncSession) -> Sequence[AwarenessMessage]:
    """Every message, shipped or written by the ward, active or not."""
    return (await session.scalars(select(AwarenessMessage))).all()


async def find(session: AsyncSession, slug: str) -> AwarenessMessage | None:
    return await session.scalar(select(AwarenessMessage).where(AwarenessMessage.slug == slug))


async def get(session: AsyncSession, message_id: int) -> AwarenessMessage | None:
    return await session.get(AwarenessMessage, message_id)


async def listed(
    session: AsyncSession, *, campaign: str | None = None, active_only: bool = False
) -> Sequence[AwarenessMessage]:
    """Messages by campaign then slug, optionally of one campaign and only active ones."""
    query = select(AwarenessMessage).order_by(AwarenessMessage.campaign, AwarenessMessage.slug)
    if campaign is not None:
        query = query.where(AwarenessMessage.campaign == campaign)
    if active_only:
        query = query.where(AwarenessMessage.active.is_(True))
    return (await session.scalars(query)).all()


def in_force(day: date | None = None) -> ColumnElement[bool]:
    """Messages true on `day` (default: today, UTC): valid_from and valid_until, where
    set, include it."""
    on = day or utcnow().date()
    return and_(
        or_(AwarenessMessage.valid_from.is_(None), AwarenessMessage.valid_from <= on),
        or_(AwarenessMessage.valid_until.is_(None), AwarenessMessage.valid_until >= on),
    )


async def of_campaign(
    session: AsyncSession, campaign: str, on: date | None = None
) -> Sequence[AwarenessMessage]:
    """A campaign's own active messages in force on `on` (default today), in the order
    they were added: the shipped library's order, whose first message opens the campaign
    (broadcasts/planner.py:campaign_turn), then any a ward added."""
    return (
        await session.scalars(
            select(AwarenessMessage)
            .where(
                AwarenessMessage.campaign == campaign,
                AwarenessMessage.active.is_(True),
                in_force(on),
            )
            .order_by(AwarenessMessage.id)
        )
    ).all()


async def rotation(session: AsyncSession, on: date | None = None) -> Sequence[AwarenessMessage]:
    """The active messages of no campaign in force on `on` (default today): those the
    monthly rotation picks from."""
    return (
        await session.scalars(
            select(AwarenessMessage).where(
                AwarenessMessage.active.is_(True), AwarenessMessage.campaign == "", in_force(on)
            )
        )
    ).all()


def add(session: AsyncSession, message: AwarenessMessage) -> None:
    """Keep a new message row; written with the session's next flush."""
    session.add(message)


async def flush(session: AsyncSession) -> None:
    await session.flush()
