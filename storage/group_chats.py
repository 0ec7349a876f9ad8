"""Residential groups' chats registered as broadcast targets.

A chat is found again by a keyed pseudonym of its route; the route itself is sealed
under the row's own data key. One chat serves one TDP; a TDP may have several chats
(a Telegram group and a Zalo group)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kernel.clock import utcnow
from kernel.routes import Route
from storage.crypto import RecordRef, Vault, WrappedKey
from storage.models import GroupChat, Officer, ResidentialGroup
from storage.pseudonyms import Pseudonym, Pseudonyms, Purpose


def chat_key(pseudonyms: Pseudonyms, route: Route) -> Pseudonym:
    """The chat, not the person typing in it: only the chat id counts."""
    return pseudonyms.of(Purpose.GROUP_CHAT, route.channel, route.chat_id)


def _chat_route(route: Route) -> Route:
    return Route(route.channel, route.chat_id)


def _seal(vault: Vault, row: GroupChat, route: Route) -> None:
    ref = RecordRef("group_chats", row.id)
    row.wrapped_key = vault.new_key(ref)
    row.sealed_route = vault.cipher(WrappedKey(row.wrapped_key), ref).seal(
        "route", _chat_route(route).to_bytes()
    )


def read_route(vault: Vault, row: GroupChat) -> Route:
    ref = RecordRef("group_chats", row.id)
    return Route.from_bytes(
        vault.cipher(WrappedKey(row.wrapped_key), ref).open("route", row.sealed_route or b"")
    )


async def find(session: AsyncSession, pseudonyms: Pseudonyms, route: Route) -> GroupChat | None:
    return await session.scalar(
        select(GroupChat).where(GroupChat.chat_key == chat_key(pseudonyms, route))
    )


@dataclass(frozen=True)
class Registration:
    chat: GroupChat
    previous_group_id: int | None  # the TDP this chat served before, if it changed


async def register(
    session: AsyncSession,
    vault: Vault,
    pseudonyms: Pseudonyms,
    route: Route,
    group: ResidentialGroup,
    officer: Officer,
) -> Registration:
    """Make this chat a target for `group`: a new row, or the chat's row moved to this
    TDP and made active again (a chat the bot was removed from and added back to)."""
    row = await find(session, pseudonyms, route)
    previous: int | None = None
    if row is None:
        row = GroupChat(
            ward_id=group.ward_id,
            group_id=group.id,
            channel=route.channel,
            chat_key=chat_key(pseudonyms, route),
            wrapped_key=b"",
            active=True,
            registered_by=officer.id,
            registered_at=utcnow(),
        )
        session.add(row)
        await session.flush()
        _seal(vault, row, route)
    else:
        if row.group_id != group.id:
            previous = row.group_id
        row.ward_id = group.ward_id
        row.group_id = group.id
        row.active = True
        row.inactive_since = None
        row.registered_by = officer.id
        row.registered_at = utcnow()
    await session.flush()
    return Registration(row, previous)


async def move(
    session: AsyncSession, vault: Vault, pseudonyms: Pseudonyms, old: Route, new: Route
) -> GroupChat | None:
    """The chat now lives at `new` (a Telegram group upgraded to a supergroup). Returns
    the registration that moved, if the old chat had one."""
    row = await find(session, pseudonyms, old)
    if row is None:
        return None
    if await find(session, pseudonyms, new) is not None:
        return None  # the new chat was registered by hand already; keep that one
    row.chat_key = chat_key(pseudonyms, new)
    _seal(vault, row, new)
    await session.flush()
    return row


async def deactivate(
    session: AsyncSession, pseudonyms: Pseudonyms, route: Route
) -> GroupChat | None:
    """The bot can no longer post in this chat. Returns the row when this call is the one
    that noticed (so the commander is told once, not at every failed send)."""
    row = await find(session, pseudonyms, route)
    if row is None or not row.active:
        return None
    row.active = False
    row.inactive_since = utcnow()
    await session.flush()
    return row
