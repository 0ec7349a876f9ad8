"""Ward police officers. An officer's chat account is kept as a pseudonym; the route to
notify them is sealed under the officer's own data key."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kernel.clock import utcnow
from kernel.routes import Route
from kernel.search_keys import search_key
from storage.crypto import RecordRef, Vault, WrappedKey
from storage.models import POLICE_ROLES, Officer, OfficerRole, OfficerStatus
from storage.pseudonyms import Pseudonym


async def add_officer(
    session: AsyncSession, *, ward_id: int, role: OfficerRole, label: str
) -> Officer:
    label = " ".join(label.split())
    if not label or len(label) > 80:
        raise ValueError("an officer label must be 1 to 80 characters")
    officer = Officer(
        ward_id=ward_id, role=OfficerRole(role), label=label, status=OfficerStatus.INVITED
    )
    session.add(officer)
    await session.flush()
    return officer


async def bind_account(
    session: AsyncSession, vault: Vault, officer: Officer, account: Pseudonym, route: Route
) -> None:
    ref = RecordRef("officers", officer.id)
    officer.wrapped_key = vault.new_key(ref)
    officer.sealed_route = vault.cipher(WrappedKey(officer.wrapped_key), ref).seal(
        "route", route.to_bytes()
    )
    officer.account = account
    officer.status = OfficerStatus.ACTIVE
    await session.flush()


def read_route(vault: Vault, officer: Officer) -> Route | None:
    if officer.wrapped_key is None or officer.sealed_route is None:
        return None
    ref = RecordRef("officers", officer.id)
    cipher = vault.cipher(WrappedKey(officer.wrapped_key), ref)
    return Route.from_bytes(cipher.open("route", officer.sealed_route))


async def officer_for_account(session: AsyncSession, account: Pseudonym) -> Officer | None:
    return await session.scalar(
        select(Officer).where(Officer.account == account, Officer.status == OfficerStatus.ACTIVE)
    )


async def active_officers(session: AsyncSession) -> Sequence[Officer]:
    return (
        await session.scalars(select(Officer).where(Officer.status == OfficerStatus.ACTIVE))
    ).all()


async def list_officers(session: AsyncSession, ward_id: int) -> Sequence[Officer]:
    return (
        await session.scalars(
            select(Officer).where(Officer.ward_id == ward_id).order_by(Officer.id)
        )
    ).all()


async def revoke(session: AsyncSession, officer: Officer) -> None:
    officer.status = OfficerStatus.REVOKED
    officer.account = None
    officer.wrapped_key = None
    officer.sealed_route = None
    officer.revoked_at = utcnow()
    await session.flush()


async def get_officer(session: AsyncSession, officer_id: int) -> Officer | None:
    return await session.get(Officer, officer_id)


async def matching(session: AsyncSession, ward_id: int, text: str) -> Sequence[Officer]:
    """The ward's active officers that `text` names: by number (their id) or by label,
    accents and case aside."""
    wanted = text.strip()
    number = int(wanted) if wanted.isascii() and wanted.isdecimal() and len(wanted) <= 10 else 0
    key = search_key(wanted)
    rows = await session.scalars(
        select(Officer)
        .where(Officer.ward_id == ward_id, Officer.status == OfficerStatus.ACTIVE)
        .order_by(Officer.id)
    )
    return [
        o
        for o in rows.all()
        if o.role in POLICE_ROLES and (o.id == number or (key and search_key(o.label) == key))
    ]
