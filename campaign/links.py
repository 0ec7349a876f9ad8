"""Links that open the bot: on posters (as QR codes) and shared by residents.

Telegram deep links carry a start payload (`g12`: residential group 12, `w3`: ward 3)
that /start understands. The Zalo Bot Platform documents no start payload, so a Zalo
link opens the bot and the poster prints the short command to send.
"""

from __future__ import annotations

from dataclasses import dataclass

from kernel.config import Settings


def group_payload(group_id: int) -> str:
    return f"g{group_id}"


def ward_payload(ward_id: int) -> str:
    return f"w{ward_id}"


@dataclass(frozen=True)
class BotLinks:
    telegram: str  # "" when the Telegram bot's username is not configured
    zalo: str  # "" when the Zalo bot's link is not configured
    zalo_command: str  # what to send on Zalo to choose the same TDP: "/start g12"


def links_for(settings: Settings, payload: str) -> BotLinks:
    telegram = (
        f"https://t.me/{settings.telegram_username}?start={payload}"
        if settings.telegram_username
        else ""
    )
    return BotLinks(telegram, settings.zalo_link, f"/start {payload}")
