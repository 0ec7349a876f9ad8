"""Who may use the police side: enrolled officers of the ward, some commands only
commanders. Anyone else, with a real command, a typed step or a forged button, gets
exactly the answer an unknown command gets, so nothing about the police side shows."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps

from engine.conversation import Context, Router
from handlers.start import fallback
from kernel.actions import Action
from storage import officers
from storage.models import POLICE_ROLES, Officer, OfficerRole
from storage.pseudonyms import Pseudonym, Purpose

OfficerHandler = Callable[[Context, Officer], Awaitable[None]]


def officer_account(ctx: Context) -> Pseudonym:
    route = ctx.route
    return ctx.services.pseudonyms.of(Purpose.OFFICER, route.channel, *route.account_parts())


async def is_commander(ctx: Context) -> bool:
    officer = await officers.officer_for_account(ctx.session, officer_account(ctx))
    return officer is not None and officer.role == OfficerRole.COMMANDER


async def typing_officer(ctx: Context) -> Officer | None:
    """Steps are reached by typing: the typist must still be an officer."""
    officer = await officers.officer_for_account(ctx.session, officer_account(ctx))
    if officer is None or officer.role not in POLICE_ROLES:
        ctx.go(None)
        await fallback(ctx)
        return None
    return officer


def _allowed(*, commander: bool, city: bool) -> frozenset[str]:
    if city:
        return frozenset({OfficerRole.CITY, OfficerRole.COMMANDER})
    return frozenset({OfficerRole.COMMANDER}) if commander else frozenset(POLICE_ROLES)


def police(
    *names: str, on: Router, commander: bool = False, city: bool = False
) -> Callable[[OfficerHandler], OfficerHandler]:
    """A command for enrolled officers (or only commanders; or, with `city`, a city's
    figures-only staff and commanders) of router `on`; everyone else gets the
    unknown-command answer."""
    allowed = _allowed(commander=commander, city=city)

    def decorator(handler: OfficerHandler) -> OfficerHandler:
        @on.command(*names)
        @wraps(handler)
        async def guarded(ctx: Context) -> None:
            officer = await officers.officer_for_account(ctx.session, officer_account(ctx))
            if officer is None or officer.role not in allowed:
                await fallback(ctx)
                return
            ctx.go(None)
            await handler(ctx, officer)

        return handler

    return decorator


def police_action(
    kind: type[Action], *, on: Router, commander: bool = False
) -> Callable[[OfficerHandler], OfficerHandler]:
    """A button for enrolled officers (or only commanders); anyone else, with a real or
    a forged button, gets the unknown-command answer."""
    allowed = _allowed(commander=commander, city=False)

    def decorator(handler: OfficerHandler) -> OfficerHandler:
        @on.action(kind)
        @wraps(handler)
        async def guarded(ctx: Context) -> None:
            officer = await officers.officer_for_account(ctx.session, officer_account(ctx))
            if officer is None or officer.role not in allowed:
                await fallback(ctx)
                return
            await handler(ctx, officer)

        return handler

    return decorator
