"""The commander's own section of a report: difficulties, obstacles and proposals
("khó khăn, vướng mắc, đề xuất"), one text per ward and period, written from chat."""

from __future__ import annotations

from sqlalchemy import select

from kernel.clock import utcnow
from storage.models import Officer, ReportRemarks
from storage.session import AsyncSession

MOST_CHARS = 3000


async def write(session: AsyncSession, officer: Officer, period: str, text: str) -> None:
    """Set (or, with an empty text, clear) the remarks of `period` of the officer's ward."""
    text = "\n".join(" ".join(line.split()) for line in text.strip().splitlines()).strip()
    if len(text) > MOST_CHARS:
        raise ValueError("remarks are at most 3000 characters")
    row = await session.scalar(
        select(ReportRemarks).where(
            ReportRemarks.ward_id == officer.ward_id, ReportRemarks.period == period
        )
    )
    if not text:
        if row is not None:
            await session.delete(row)
            await session.flush()
        return
    if row is None:
        row = ReportRemarks(ward_id=officer.ward_id, period=period, text=text)
        session.add(row)
    row.text, row.written_by, row.updated_at = text, officer.id, utcnow()
    await session.flush()


async def read(session: AsyncSession, ward_id: int, period: str) -> str:
    found = await session.scalar(
        select(ReportRemarks.text).where(
            ReportRemarks.ward_id == ward_id, ReportRemarks.period == period
        )
    )
    return found or ""
