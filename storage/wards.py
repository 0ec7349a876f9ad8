"""Wards and their residential groups (TDP)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from kernel.i18n import N_
from kernel.search_keys import search_key
from storage.models import ResidentialGroup, Ward

_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
MAX_NAME = 120


@dataclass(frozen=True)
class Problem:
    message: str  # an English message id with {placeholders}
    line: int | None = None
    params: dict[str, object] = field(default_factory=dict)

    def english(self) -> str:
        text = self.message.format(**self.params)
        return f"line {self.line}: {text}" if self.line is not None else text


class WardError(ValueError):
    """A ward or group request that cannot be carried out; `problems` say why."""

    def __init__(self, *problems: Problem):
        super().__init__("; ".join(p.english() for p in problems))
        self.problems = problems


def slug(name: str) -> str:
    return search_key(name).replace(" ", "-")


async def add_ward(session: AsyncSession, name: str, *, code: str = "", city: str = "") -> Ward:
    name = " ".join(name.split())
    if not name or len(name) > MAX_NAME:
        raise WardError(
            Problem(N_("the ward name must be 1 to {max} characters"), None, {"max": MAX_NAME})
        )
    code = code or slug(name)
    if not _CODE.match(code):
        raise WardError(
            Problem(N_("the ward code may use letters, digits, '.', '_' and '-' (at most 40)"))
        )
    if await session.scalar(select(Ward.id).where(Ward.code == code)) is not None:
        raise WardError(Problem(N_("a ward with code {code} already exists"), None, {"code": code}))
    ward = Ward(code=code, name=name, search_key=search_key(name), city=city.strip())
    session.add(ward)
    await session.flush()
    return ward


async def find_ward(session: AsyncSession, text: str) -> Ward | None:
    """By code, else by accent-free name when that name is unambiguous."""
    by_code = await session.scalar(select(Ward).where(Ward.code == text.strip()))
    if by_code is not None:
        return by_code
    matches = (await session.scalars(select(Ward).where(Ward.search_key == search_key(text)))).all()
    return matches[0] if len(matches) == 1 else None


async def list_wards(session: AsyncSession) -> Sequence[Ward]:
    return (await session.scalars(select(Ward).order_by(Ward.search_key))).all()


@dataclass(frozen=True)
class GroupRow:
    """One residential group as read from an import file; `line` for error messages."""

    line: int
    name: str
    code: str | None = None
    aliases: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class ImportResult:
    added: int
    updated: int


async def import_groups(
    session: AsyncSession, ward: Ward, rows: Sequence[GroupRow]
) -> ImportResult:
    """Add or update groups by accent-free name. All rows are checked before any is
    written; the caller's transaction makes the import all or nothing."""
    problems = check_rows(rows)
    existing = {
        g.search_key: g
        for g in await session.scalars(
            select(ResidentialGroup).where(ResidentialGroup.ward_id == ward.id)
        )
    }
    codes_in_use = {g.code: g.search_key for g in existing.values() if g.code}
    for row in rows:
        key = search_key(row.name)
        if row.code and codes_in_use.get(row.code, key) != key:
            problems.append(
                Problem(
                    N_("code {code} already belongs to another group"), row.line, {"code": row.code}
                )
            )
    if problems:
        raise WardError(*problems)
    added = updated = 0
    for row in rows:
        key = search_key(row.name)
        group = existing.get(key)
        if group is None:
            group = ResidentialGroup(ward_id=ward.id, search_key=key)
            session.add(group)
            added += 1
        else:
            updated += 1
        group.name = row.name
        group.code = row.code or group.code
        group.aliases = list(row.aliases)
        group.alias_keys = " | ".join(search_key(a) for a in row.aliases)
    await session.flush()
    return ImportResult(added=added, updated=updated)


def check_rows(rows: Sequence[GroupRow]) -> list[Problem]:
    """What is wrong with the rows on their own, each problem with its line."""
    problems: list[Problem] = []
    seen_names: dict[str, int] = {}
    seen_codes: dict[str, int] = {}
    for row in rows:
        key = search_key(row.name)
        if not row.name.strip() or not key:
            problems.append(Problem(N_("the name is empty"), row.line))
            continue
        if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in row.name):
            problems.append(Problem(N_("the name contains invisible control characters"), row.line))
        if len(row.name) > MAX_NAME:
            problems.append(
                Problem(N_("the name is longer than {max} characters"), row.line, {"max": MAX_NAME})
            )
        if key in seen_names:
            problems.append(
                Problem(
                    N_("{name} repeats the group on line {other}"),
                    row.line,
                    {"name": row.name, "other": seen_names[key]},
                )
            )
        seen_names.setdefault(key, row.line)
        if row.code is not None:
            if not _CODE.match(row.code):
                problems.append(
                    Problem(N_("code {code} is not a valid code"), row.line, {"code": row.code})
                )
            elif row.code in seen_codes:
                problems.append(
                    Problem(
                        N_("code {code} repeats the code on line {other}"),
                        row.line,
                        {"code": row.code, "other": seen_codes[row.code]},
                    )
                )
            seen_codes.setdefault(row.code, row.line)
    return problems


async def list_groups(session: AsyncSession, ward: Ward) -> Sequence[ResidentialGroup]:
    return (
        await session.scalars(
            select(ResidentialGroup)
            .where(ResidentialGroup.ward_id == ward.id)
            .order_by(ResidentialGroup.search_key)  # Đ with D, the same on every engine
        )
    ).all()


async def find_groups(session: AsyncSession, ward: Ward, text: str) -> Sequence[ResidentialGroup]:
    """Groups whose accent-free name, code or alias contains what was typed."""
    key = search_key(text)
    if not key:
        return []
    pattern = f"%{key}%"
    return (
        await session.scalars(
            select(ResidentialGroup)
            .where(
                ResidentialGroup.ward_id == ward.id,
                or_(
                    ResidentialGroup.search_key.like(pattern),
                    ResidentialGroup.alias_keys.like(pattern),
                    ResidentialGroup.code == text.strip(),
                ),
            )
            .order_by(ResidentialGroup.search_key)
        )
    ).all()


# What of a typed group name is looked at (a name is at most 120 characters).
TYPED_NAME_CHARS = 120


async def match_groups(
    session: AsyncSession, ward: Ward, text: str, *, limit: int = 8
) -> list[ResidentialGroup]:
    """The one picker of every flow that asks for a residential group by name: what
    was most likely meant, an exact accent-free name, then names that contain what was
    typed, then (for typos) the closest names; only active groups, so a group the ward
    has retired is never offered."""
    text = text.strip()[:TYPED_NAME_CHARS]
    found = [g for g in await find_groups(session, ward, text) if g.active]
    key = search_key(text)
    exact = [g for g in found if g.search_key == key]
    if exact:
        return exact
    if found:
        return found
    groups = [g for g in await list_groups(session, ward) if g.active]
    by_id = {g.id: g for g in groups}
    return [
        by_id[group_id]
        for group_id in closest_keys(key, {g.id: g.search_key for g in groups}, limit)
    ]


def closest_keys(key: str, choices: dict[int, str], limit: int) -> list[int]:
    """The ids whose keys are closest to `key`, for typos. rapidfuzz is imported on the
    first typo rather than at start, so the bot's process carries it only once it is used
    (issue 16, memory)."""
    from rapidfuzz import fuzz, process

    best = process.extract(key, choices, scorer=fuzz.WRatio, score_cutoff=82, limit=limit)
    return [group_id for _, _, group_id in best]


async def every_ward(session: AsyncSession) -> Sequence[Ward]:
    """Every ward, in no particular order (for checks that must hold for all)."""
    return (await session.scalars(select(Ward))).all()


async def wards_by_id(session: AsyncSession) -> Sequence[Ward]:
    """Every ward in id order: the order the planner goes through them."""
    return (await session.scalars(select(Ward).order_by(Ward.id))).all()


async def get_ward(session: AsyncSession, ward_id: int) -> Ward | None:
    return await session.get(Ward, ward_id)


async def get_group(session: AsyncSession, group_id: int) -> ResidentialGroup | None:
    return await session.get(ResidentialGroup, group_id)


async def active_groups_by_name(session: AsyncSession, ward_id: int) -> Sequence[ResidentialGroup]:
    """The ward's active TDPs in name order (Đ with D): the rows of the coverage table."""
    return (
        await session.scalars(
            select(ResidentialGroup)
            .where(ResidentialGroup.ward_id == ward_id, ResidentialGroup.active.is_(True))
            .order_by(ResidentialGroup.search_key)
        )
    ).all()


async def active_groups_by_id(session: AsyncSession, ward_id: int) -> Sequence[ResidentialGroup]:
    """The ward's active TDPs in id order: the order the monthly plan goes through them."""
    return (
        await session.scalars(
            select(ResidentialGroup)
            .where(ResidentialGroup.ward_id == ward_id, ResidentialGroup.active.is_(True))
            .order_by(ResidentialGroup.id)
        )
    ).all()
