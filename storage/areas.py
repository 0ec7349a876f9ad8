"""Area officers: who hears first of a new tip from a residential group.

The plans give each area its own officer ("nắm hộ, nắm người", seed 001); a tip from a
group with an active area officer goes to them (and to the deputy), an urgent one to the
commanders as well; any other tip, and one its area officer has not acknowledged in
time, to every officer on duty with the commanders told."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    POLICE_ROLES,
    AreaAssignment,
    Officer,
    OfficerRole,
    OfficerStatus,
    ResidentialGroup,
    Tip,
)


class AreaRefused(ValueError):
    """An area given to someone who cannot hold it; `reason` names why, in English (the
    callers translate their own sentence for it)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Area:
    group_id: int
    officer: Officer | None
    deputy: Officer | None


@dataclass(frozen=True)
class Recipients:
    """Who is told of a new tip. `area` is True when it went to the group's own officers
    (then, if they do not acknowledge it in time, everyone is told)."""

    officers: tuple[Officer, ...]
    area: bool


async def set_area(
    session: AsyncSession,
    group: ResidentialGroup,
    officer: Officer | None,
    deputy: Officer | None = None,
) -> Area:
    """Give `group` its area officer and deputy (None clears). Both must be active
    officers of the group's ward, and not the same person."""
    for person in (officer, deputy):
        if person is None:
            continue
        if person.ward_id != group.ward_id:
            raise AreaRefused("another ward's officer")
        if person.status != OfficerStatus.ACTIVE or person.role not in POLICE_ROLES:
            raise AreaRefused("not an active officer")
    if officer is not None and deputy is not None and officer.id == deputy.id:
        raise AreaRefused("the same officer twice")
    if officer is None and deputy is not None:
        officer, deputy = deputy, None  # a deputy alone is the area officer
    row = await session.get(AreaAssignment, group.id)
    if officer is None:
        if row is not None:
            await session.delete(row)
            await session.flush()
        return Area(group.id, None, None)
    if row is None:
        row = AreaAssignment(group_id=group.id)
        session.add(row)
    row.officer_id = officer.id
    row.deputy_id = deputy.id if deputy else None
    await session.flush()
    return Area(group.id, officer, deputy)


async def areas_of_ward(session: AsyncSession, ward_id: int) -> dict[int, Area]:
    """Every group of the ward that has an area officer, by group id; revoked officers
    read as none."""
    rows = (
        await session.scalars(
            select(AreaAssignment)
            .join(ResidentialGroup, ResidentialGroup.id == AreaAssignment.group_id)
            .where(ResidentialGroup.ward_id == ward_id)
        )
    ).all()
    people = await _officers(session, [i for r in rows for i in (r.officer_id, r.deputy_id) if i])
    return {
        row.group_id: Area(
            row.group_id,
            people.get(row.officer_id) if row.officer_id else None,
            people.get(row.deputy_id) if row.deputy_id else None,
        )
        for row in rows
    }


async def area_of(session: AsyncSession, group_id: int) -> Area | None:
    row = await session.get(AreaAssignment, group_id)
    if row is None:
        return None
    people = await _officers(session, [i for i in (row.officer_id, row.deputy_id) if i])
    officer = people.get(row.officer_id) if row.officer_id else None
    deputy = people.get(row.deputy_id) if row.deputy_id else None
    return Area(group_id, officer, deputy)


async def new_tip_recipients(session: AsyncSession, tip: Tip) -> Recipients:
    on_duty = await _on_duty(session, tip.ward_id)
    area = await area_of(session, tip.group_id) if tip.group_id is not None else None
    own = tuple(p for p in (area.officer, area.deputy) if p is not None) if area else ()
    if not own:
        return Recipients(on_duty, area=False)
    commanders = tuple(p for p in on_duty if p.role == OfficerRole.COMMANDER) if tip.urgent else ()
    return Recipients(_unique((*own, *commanders)), area=True)


async def everyone_on_duty(session: AsyncSession, ward_id: int) -> tuple[Officer, ...]:
    return await _on_duty(session, ward_id)


async def _on_duty(session: AsyncSession, ward_id: int) -> tuple[Officer, ...]:
    rows = await session.scalars(
        select(Officer)
        .where(
            Officer.ward_id == ward_id,
            Officer.status == OfficerStatus.ACTIVE,
            Officer.role.in_([str(r) for r in POLICE_ROLES]),
        )
        .order_by(Officer.id)
    )
    return tuple(rows.all())


async def _officers(session: AsyncSession, ids: Sequence[int]) -> dict[int, Officer]:
    if not ids:
        return {}
    rows = await session.scalars(
        select(Officer).where(Officer.id.in_(ids), Officer.status == OfficerStatus.ACTIVE)
    )
    return {o.id: o for o in rows.all()}


def _unique(people: tuple[Officer, ...]) -> tuple[Officer, ...]:
    seen: dict[int, Officer] = {}
    for person in people:
        seen.setdefault(person.id, person)
    return tuple(seen.values())
