"""Pledges of the campaign: a household's "Gia đình không ma túy" from the chat, and the
pledges of schools, businesses and whole TDPs that officers enter.

A household is found by a pledge pseudonym (its own key): one pledge per household chat,
withdrawable, never linked to a name, a subscriber or a reporter. Counts are per TDP.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kernel.i18n import N_
from kernel.routes import Route
from storage.models import Pledge, PledgeKind, ResidentialGroup, utcday
from storage.pseudonyms import Pseudonym, Pseudonyms, Purpose

MAX_NAME = 200
KIND_LABELS = {
    PledgeKind.SCHOOL: N_("school"),
    PledgeKind.BUSINESS: N_("business"),
    PledgeKind.GROUP: N_("residential group"),
}


def household_of(pseudonyms: Pseudonyms, route: Route) -> Pseudonym:
    return pseudonyms.of(Purpose.PLEDGE, route.channel, *route.account_parts())


async def household(session: AsyncSession, pseudonyms: Pseudonyms, route: Route) -> Pledge | None:
    return await session.scalar(
        select(Pledge).where(Pledge.account == household_of(pseudonyms, route))
    )


class PledgeError(ValueError):
    """`reason` is an English message id, translated where it is shown."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def month_of(day: date) -> date:
    """A household's dates are kept to the month (the report needs no more): a day beside
    the TDP could be matched with a subscription's or a quiz answer's."""
    return day.replace(day=1)


async def sign_household(
    session: AsyncSession,
    pseudonyms: Pseudonyms,
    route: Route,
    group: ResidentialGroup,
    *,
    today: date,
) -> Pledge:
    """Sign (or sign again after withdrawing), `today` in the ward's time. Signing twice
    is refused, not doubled."""
    row = await household(session, pseudonyms, route)
    if row is not None and row.active:
        raise PledgeError(N_("already signed"))
    if row is None:
        row = Pledge(
            account=household_of(pseudonyms, route),
            kind=PledgeKind.HOUSEHOLD,
            ward_id=group.ward_id,
            group_id=group.id,
        )
        session.add(row)
    row.ward_id, row.group_id = group.ward_id, group.id
    row.active, row.signed_on, row.withdrawn_on = True, month_of(today), None
    await session.flush()
    return row


async def withdraw_household(
    session: AsyncSession, pseudonyms: Pseudonyms, route: Route, *, today: date
) -> bool:
    """False when there was no pledge in force to withdraw."""
    row = await household(session, pseudonyms, route)
    if row is None or not row.active:
        return False
    row.active, row.withdrawn_on = False, month_of(today)
    await session.flush()
    return True


async def add_organisation(
    session: AsyncSession,
    *,
    ward_id: int,
    kind: PledgeKind,
    name: str,
    group: ResidentialGroup | None,
    signed_on: date,
    officer_id: int | None,
) -> Pledge:
    if kind is PledgeKind.HOUSEHOLD:
        raise PledgeError(N_("households sign in the chat themselves"))
    name = " ".join(name.split())
    if not name or len(name) > MAX_NAME:
        raise PledgeError(N_("the name must be 1 to 200 characters"))
    if group is not None and group.ward_id != ward_id:
        raise PledgeError(N_("that residential group belongs to another ward"))
    same = await session.scalar(
        select(Pledge.id).where(
            Pledge.ward_id == ward_id,
            Pledge.kind == kind,
            Pledge.active.is_(True),
            func.lower(Pledge.name) == name.lower(),
        )
    )
    if same is not None:
        raise PledgeError(N_("this organisation's pledge is already recorded"))
    row = Pledge(
        ward_id=ward_id,
        kind=kind,
        name=name,
        signed_on=signed_on,
        entered_by=officer_id,
        group_id=group.id if group else None,
    )
    session.add(row)
    await session.flush()
    return row


async def withdraw_organisation(session: AsyncSession, ward_id: int, pledge_id: int) -> bool:
    row = await session.get(Pledge, pledge_id)
    if row is None or row.ward_id != ward_id or row.kind == PledgeKind.HOUSEHOLD:
        return False
    if not row.active:
        return False
    row.active, row.withdrawn_on = False, utcday()
    await session.flush()
    return True


async def organisations(
    session: AsyncSession, ward_id: int, *, on: date | None = None
) -> Sequence[Pledge]:
    """Organisation pledges in force (on a day, for a report), oldest first."""
    query = select(Pledge).where(Pledge.ward_id == ward_id, Pledge.kind != PledgeKind.HOUSEHOLD)
    query = _in_force(query, on)
    return (await session.scalars(query.order_by(Pledge.signed_on, Pledge.id))).all()


@dataclass(frozen=True)
class HouseholdCounts:
    by_group: dict[int, int]
    total: int
    new: int  # signed within the period


async def household_counts(
    session: AsyncSession, ward_id: int, *, on: date | None = None, since: date | None = None
) -> HouseholdCounts:
    """Household pledges in force on `on` (now, without it), per TDP; `new` counts those
    signed since `since`."""
    query = _in_force(
        select(Pledge.group_id, Pledge.signed_on).where(
            Pledge.ward_id == ward_id, Pledge.kind == PledgeKind.HOUSEHOLD
        ),
        on,
    )
    by_group: dict[int, int] = {}
    total = new = 0
    for group_id, signed_on in (await session.execute(query)).all():
        if group_id is not None:
            by_group[group_id] = by_group.get(group_id, 0) + 1
        total += 1
        new += since is not None and signed_on >= since
    return HouseholdCounts(by_group, total, new)


def _in_force(query, on: date | None):  # type: ignore[no-untyped-def]
    if on is None:
        return query.where(Pledge.active.is_(True))
    return query.where(
        Pledge.signed_on <= on,
        (Pledge.withdrawn_on.is_(None)) | (Pledge.withdrawn_on > on),
    )
