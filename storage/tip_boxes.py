"""Tip boxes and boards of the residential groups, and each opening of a box.

Seed 001 (mục III.1) asks that every group have a tip box ("hòm thư tố giác") and a
posted board with the hotline numbers; the monthly report shows which have them and
how often the boxes were opened, an opening with no tips in it included."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import BoxOpening, Officer, ResidentialGroup, TipPoints

MOST_TIPS_IN_A_BOX = 500
OPENED_BY_CHARS = 120


class OpeningRefused(ValueError):
    """An opening that cannot be recorded; `reason` in English, for the callers' own
    translated sentence."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Points:
    group_id: int
    box_since: date | None
    board_since: date | None


async def set_points(
    session: AsyncSession,
    group: ResidentialGroup,
    *,
    box_since: date | None,
    board_since: date | None,
) -> Points:
    """Whether `group` has a tip box and a board, and since when (None: it has not)."""
    row = await session.get(TipPoints, group.id)
    if box_since is None and board_since is None:
        if row is not None:
            await session.delete(row)
            await session.flush()
        return Points(group.id, None, None)
    if row is None:
        row = TipPoints(group_id=group.id)
        session.add(row)
    row.box_since, row.board_since = box_since, board_since
    await session.flush()
    return Points(group.id, box_since, board_since)


async def points_of_ward(session: AsyncSession, ward_id: int) -> dict[int, Points]:
    rows = await session.scalars(
        select(TipPoints)
        .join(ResidentialGroup, ResidentialGroup.id == TipPoints.group_id)
        .where(ResidentialGroup.ward_id == ward_id)
    )
    return {r.group_id: Points(r.group_id, r.box_since, r.board_since) for r in rows.all()}


async def record_opening(
    session: AsyncSession,
    group: ResidentialGroup,
    *,
    opened_on: date,
    opened_by: str,
    tips_found: int,
    recorded_by: Officer | None,
    today: date,
) -> BoxOpening:
    """One opening of the group's box. The group must have a box on that day; the date
    may not be in the future; `tips_found` may be 0."""
    opened_by = " ".join(opened_by.split())
    if not opened_by or len(opened_by) > OPENED_BY_CHARS:
        raise OpeningRefused("who opened it: 1 to 120 characters")
    if not 0 <= tips_found <= MOST_TIPS_IN_A_BOX:
        raise OpeningRefused("tips found: 0 to 500")
    if opened_on > today:
        raise OpeningRefused("a date in the future")
    points = await session.get(TipPoints, group.id)
    if points is None or points.box_since is None or points.box_since > opened_on:
        raise OpeningRefused("no tip box on that day")
    row = BoxOpening(
        group_id=group.id,
        opened_on=opened_on,
        opened_by=opened_by,
        tips_found=tips_found,
        recorded_by=recorded_by.id if recorded_by else None,
    )
    session.add(row)
    await session.flush()
    return row


async def openings_between(
    session: AsyncSession, ward_id: int, first: date, last: date
) -> Sequence[BoxOpening]:
    """The ward's box openings from `first` to `last`, both included, oldest first."""
    rows = await session.scalars(
        select(BoxOpening)
        .join(ResidentialGroup, ResidentialGroup.id == BoxOpening.group_id)
        .where(
            ResidentialGroup.ward_id == ward_id,
            BoxOpening.opened_on >= first,
            BoxOpening.opened_on <= last,
        )
        .order_by(BoxOpening.opened_on, BoxOpening.id)
    )
    return rows.all()
