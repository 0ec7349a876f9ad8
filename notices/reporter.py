"""The one notice a reporter gets unasked: the police wrote. It goes through the outbox,
after the transaction that caused it."""

from __future__ import annotations

from engine.delivery import enqueue_reply
from engine.services import Services
from kernel.actions import StatusStart
from kernel.messages import Button
from storage import tips
from storage.models import Tip
from storage.session import AsyncSession


async def tell_reporter(session: AsyncSession, services: Services, tip: Tip) -> bool:
    """Tell the reporter, through the bot, that the police wrote. The notice says
    nothing about the tip (someone else may hold the phone) and the officer never
    learns the reporter's account. Returns whether the reporter could be told."""
    route = tips.read_route(services.vault, tip)
    if route is None:
        return False
    language = tip.language if tip.language in ("vi", "en") else "vi"
    _ = services.translator.get(language).gettext
    text = _(
        "You have a new message. To read it, choose “Check a tip I sent” and type your code "
        "and secret."
    )
    check = Button(_("Check a tip I sent"), StatusStart(), "/status")
    await enqueue_reply(session, services, route, text, [[check]])
    return True
