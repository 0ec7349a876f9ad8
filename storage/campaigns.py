"""Campaign rows: the yearly campaign dates, from the configuration or added by admins.

The planner and `wardbot campaign` work on these rows; the queries live here so that
only storage/ speaks SQL (issue 17).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from storage.models import Campaign
from storage.session import AsyncSession


async def all_campaigns(session: AsyncSession) -> Sequence[Campaign]:
    """Every campaign, active or not, in no particular order."""
    return (await session.scalars(select(Campaign))).all()


async def active_campaigns(session: AsyncSession) -> Sequence[Campaign]:
    return (await session.scalars(select(Campaign).where(Campaign.active.is_(True)))).all()


async def by_date(session: AsyncSession) -> Sequence[Campaign]:
    """Every campaign, in calendar order (month, then slug): what `campaign list` shows."""
    query = select(Campaign).order_by(Campaign.month, Campaign.slug)
    return (await session.scalars(query)).all()


async def find(session: AsyncSession, slug: str) -> Campaign | None:
    return await session.scalar(select(Campaign).where(Campaign.slug == slug))


def add(session: AsyncSession, campaign: Campaign) -> None:
    """Keep a new campaign row; written with the session's next flush or commit."""
    session.add(campaign)


async def flush(session: AsyncSession) -> None:
    await session.flush()
