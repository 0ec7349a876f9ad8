"""Residents who asked for awareness messages.

A subscriber is found by a keyed pseudonym whose key is not the reporter's, so the
database cannot tell that a subscriber also sent a tip. The route is sealed under the
row's own key and erased on /stop: after that no code path can reach the person,
and only their own new /subscribe brings them back.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kernel.routes import Route
from storage.crypto import RecordRef, Vault, WrappedKey
from storage.models import Delivery, DeliveryStatus, ResidentialGroup, Subscriber, utcday
from storage.pseudonyms import Pseudonym, Pseudonyms, Purpose


def account_of(pseudonyms: Pseudonyms, route: Route) -> Pseudonym:
    return pseudonyms.of(Purpose.SUBSCRIBER, route.channel, *route.account_parts())


async def find(session: AsyncSession, pseudonyms: Pseudonyms, route: Route) -> Subscriber | None:
    return await session.scalar(
        select(Subscriber).where(Subscriber.account == account_of(pseudonyms, route))
    )


@dataclass(frozen=True)
class Subscription:
    subscriber: Subscriber
    previous_group_id: int | None  # set when an active subscriber changed TDP


async def subscribe(
    session: AsyncSession,
    vault: Vault,
    pseudonyms: Pseudonyms,
    route: Route,
    group: ResidentialGroup,
    language: str,
) -> Subscription:
    row = await find(session, pseudonyms, route)
    previous = None
    if row is None:
        row = Subscriber(
            account=account_of(pseudonyms, route),
            channel=route.channel,
            ward_id=group.ward_id,
            group_id=group.id,
        )
        session.add(row)
        await session.flush()
    elif row.active and row.group_id != group.id:
        previous = row.group_id
    row.ward_id, row.group_id, row.language = group.ward_id, group.id, language
    row.active, row.stopped_on, row.subscribed_on = True, None, utcday()
    ref = RecordRef("subscribers", row.id)
    row.wrapped_key = vault.new_key(ref)
    row.sealed_route = vault.cipher(WrappedKey(row.wrapped_key), ref).seal(
        "route", route.to_bytes()
    )
    await session.flush()
    return Subscription(row, previous)


async def stop(session: AsyncSession, pseudonyms: Pseudonyms, route: Route) -> bool:
    """Stop at once: the route is destroyed and pending deliveries are cancelled in this
    same transaction. Returns False when the account was not subscribed."""
    row = await find(session, pseudonyms, route)
    if row is None or not row.active:
        return False
    deactivate(row)
    await cancel_pending(session, row.id)
    await session.flush()
    return True


def deactivate(row: Subscriber) -> None:
    row.active = False
    row.stopped_on = utcday()
    row.wrapped_key = None
    row.sealed_route = None


async def cancel_pending(session: AsyncSession, subscriber_id: int) -> None:
    await session.execute(
        update(Delivery)
        .where(
            Delivery.target_kind == "subscriber",
            Delivery.target_id == subscriber_id,
            Delivery.status.in_((DeliveryStatus.PENDING, DeliveryStatus.SENDING)),
        )
        .values(status=DeliveryStatus.CANCELLED)
    )


def read_route(vault: Vault, row: Subscriber) -> Route | None:
    if not row.active or row.wrapped_key is None or row.sealed_route is None:
        return None
    ref = RecordRef("subscribers", row.id)
    return Route.from_bytes(
        vault.cipher(WrappedKey(row.wrapped_key), ref).open("route", row.sealed_route)
    )


async def counts_by_group(session: AsyncSession, ward_id: int) -> dict[int, int]:
    rows = await session.execute(
        select(Subscriber.group_id, func.count())
        .where(Subscriber.ward_id == ward_id, Subscriber.active.is_(True))
        .group_by(Subscriber.group_id)
    )
    return {group_id: count for group_id, count in rows.all()}
