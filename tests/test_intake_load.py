"""A hundred residents at once, as after a ward-wide message: through the Telegram webhook
with all of them in flight together, every update is answered once, politely, and every
tip sent is stored; nothing waits on "database is locked" (SQLite queues its writers in
the process) or logs an error."""

from __future__ import annotations

import asyncio
import json
import logging

import aiohttp
from sqlalchemy import func, select, text

from bot.channels.telegram import TelegramChannel
from storage.models import Tip
from tests.channels import FAST, channel_settings, serving
from tests.fakes.telegram_bot_api import FakeTelegram
from tests.helpers import RECEIPT, add_phu_lien, mix_all

RESIDENTS = 100
SECRET = "load_webhook-Secret_7"
HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}
APOLOGY = "Xin lỗi, hệ thống"
# The report wizard by its buttons and one typed message, then a status check.
STEPS = (
    "/start",
    "report:start",
    "report:cat:use",
    "report:grp:none",
    "report:where-skip",
    "report:when:today",
    "Có người lạ tụ tập ở cuối ngõ",
    "report:what-done",
    "report:files-done",
    "report:contact:no",
    "report:send",
)


async def test_a_hundred_residents_in_flight_are_each_answered_once(app, settings, caplog):
    caplog.set_level(logging.WARNING)
    await add_phu_lien(app)
    chats = [700_000 + n for n in range(RESIDENTS)]
    async with FakeTelegram() as tg:
        channel = TelegramChannel(
            app.dispatcher,
            channel_settings(
                "telegram",
                tg.token,
                tg.base_url,
                mode="webhook",
                webhook_url="https://bot.example/tg",
                webhook_secret=SECRET,
            ),
            policy=FAST,
            outbox_every=0.1,
        )
        async with (
            serving(app, settings, [channel]) as base,
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=RESIDENTS)) as http,
        ):

            async def post(update: dict) -> int:
                body = json.dumps(update).encode()
                async with http.post(base + "/tg", data=body, headers=HEADERS) as response:
                    return response.status

            for step in STEPS:
                before = {chat: _replies(tg, chat) for chat in chats}
                updates = [_update(tg, chat, step) for chat in chats]
                tg._updates.clear()  # posted here, all at once, not one by one
                statuses = await asyncio.gather(*(post(u) for u in updates))
                assert statuses == [200] * RESIDENTS, step
                expected = 2 if step == "report:send" else 1  # the receipt, then clean-up
                for chat in chats:
                    new = _replies(tg, chat)[len(before[chat]) :]
                    count = len(new)  # (counted apart: a failing assert prints no text)
                    assert count == expected, step
                    apologised = any(APOLOGY in m.get("text", "") for m in new)
                    assert not apologised, step
        receipts = [RECEIPT.search(_replies(tg, chat)[-2]["text"]) for chat in chats]
    given = sum(1 for r in receipts if r)
    assert given == RESIDENTS
    await mix_all(app)
    async with app.services.db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(Tip)) == RESIDENTS
    problems = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert not problems, [f"{r.name}: {r.getMessage()[:120]}" for r in problems[:5]]


def _replies(tg: FakeTelegram, chat: int) -> list[dict]:
    return [m for m in tg.sent if m["chat_id"] == chat]


def _update(tg: FakeTelegram, chat: int, step: str) -> dict:
    if ":" in step and not step.startswith("/"):
        shown = _replies(tg, chat)[-1]
        return tg.user_presses(chat, shown["message_id"], step)
    return tg.user_sends(chat, step)


async def test_the_health_check_does_not_wait_behind_a_writer(app, settings) -> None:
    async with FakeTelegram(max_poll=0.5) as tg:
        channel = TelegramChannel(
            app.dispatcher,
            channel_settings("telegram", tg.token, tg.base_url),
            policy=FAST,
            outbox_every=0.1,
        )
        async with serving(app, settings, [channel]) as base, aiohttp.ClientSession() as http:
            # A long transaction is writing (on SQLite it holds the database's write lock).
            async with app.services.db.transaction() as session:
                await session.execute(text("UPDATE wards SET code = code"))
                async with asyncio.timeout(5), http.get(base + "/healthz") as health:
                    body = await health.json()
            assert health.status == 200 and body["database"] == "ok"
