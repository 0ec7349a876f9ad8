"""Drug-free TDP records: added, never changed, so the year's history stays readable.
The rules of which status may follow which live in kernel/drug_free.py."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kernel.drug_free import DrugFreeStatus, Mark, check
from storage.models import DrugFreeRecord, ResidentialGroup


async def history(session: AsyncSession, group_id: int) -> list[Mark]:
    rows = await session.scalars(
        select(DrugFreeRecord)
        .where(DrugFreeRecord.group_id == group_id)
        .order_by(DrugFreeRecord.year, DrugFreeRecord.id)
    )
    return [Mark(r.year, DrugFreeStatus(r.status)) for r in rows]


async def record(
    session: AsyncSession,
    group: ResidentialGroup,
    *,
    year: int,
    status: DrugFreeStatus,
    decided_on: date,
    officer_id: int | None,
) -> DrugFreeRecord:
    """Adds the status after checking it may follow the current one (raises
    kernel.drug_free.TransitionError otherwise)."""
    marks = await history(session, group.id)
    check(marks[-1] if marks else None, year, status)
    row = DrugFreeRecord(
        ward_id=group.ward_id,
        group_id=group.id,
        year=year,
        status=status,
        decided_on=decided_on,
        recorded_by=officer_id,
    )
    session.add(row)
    await session.flush()
    return row


async def marks_by_group(session: AsyncSession, ward_id: int) -> dict[int, list[Mark]]:
    rows = await session.scalars(
        select(DrugFreeRecord)
        .where(DrugFreeRecord.ward_id == ward_id)
        .order_by(DrugFreeRecord.year, DrugFreeRecord.id)
    )
    found: dict[int, list[Mark]] = {}
    for r in rows:
        found.setdefault(r.group_id, []).append(Mark(r.year, DrugFreeStatus(r.status)))
    return found


async def active_groups(session: AsyncSession, ward_id: int) -> Sequence[ResidentialGroup]:
    return (
        await session.scalars(
            select(ResidentialGroup).where(
                ResidentialGroup.ward_id == ward_id, ResidentialGroup.active.is_(True)
            )
        )
    ).all()
