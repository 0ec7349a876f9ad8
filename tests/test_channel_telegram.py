"""The Telegram channel end to end: the real aiogram client, the shared core and a real
database, against the stand-in Bot API server over HTTP, by polling and by webhook."""

from __future__ import annotations

import asyncio
import gc
import io
import json
import weakref
from dataclasses import dataclass, replace
from datetime import timedelta

import aiohttp
import pytest
from aiogram.methods.base import Response
from aiogram.types import Message, Update
from PIL import Image
from sqlalchemy import func, select

from bot.app import open_app
from bot.channels.rendering import utf16_length
from bot.channels.telegram import MAX_TEXT, TelegramChannel
from bot.channels.zalo import ZaloChannel
from kernel.actions import Action, MenuHome
from kernel.clock import utcnow
from kernel.messages import Button, Reply
from kernel.routes import Route
from storage import group_chats, outbox
from storage.models import GroupChat, OfficerRole, OutboxMessage
from tests.channels import FAST, channel_settings, row_counts, running, serving, until
from tests.fakes.telegram_bot_api import FakeTelegram
from tests.fakes.zalo_server import FakeZalo
from tests.helpers import RECEIPT, add_phu_lien, leaks, mix_all, needles, raw_database_bytes

SECRET = "tg_webhook-Secret_42"
RESIDENT = 987654321
OFFICER = 5520202
COMMANDER = 7340401


def tg_channel(app, fake: FakeTelegram, **kw) -> TelegramChannel:
    settings = channel_settings("telegram", fake.token, fake.base_url, **kw)
    return TelegramChannel(app.dispatcher, settings, policy=FAST, outbox_every=0.1)


def zalo_channel(app, fake: FakeZalo) -> ZaloChannel:
    settings = channel_settings("zalo", fake.token, fake.base_url)
    return ZaloChannel(app.dispatcher, settings, policy=FAST, outbox_every=0.1)


def sent_to(fake: FakeTelegram, chat_id: int) -> list[dict]:
    return [m for m in fake.sent if m["chat_id"] == chat_id]


async def say(fake: FakeTelegram, chat_id: int, text: str, **kw) -> dict:
    """Send a message and return the bot's next message to that chat."""
    before = len(sent_to(fake, chat_id))
    fake.user_sends(chat_id, text, **kw)
    return (await fake.wait_for_sent(before + 1, chat_id=chat_id))[before]


async def walk_to_files(fake: FakeTelegram, chat_id: int, what: str) -> None:
    """The report wizard by its buttons, up to the step that takes photos and files."""
    await say(fake, chat_id, "/start")
    await press(fake, chat_id, "report:start")
    await press(fake, chat_id, "report:cat:dealing")
    await press(fake, chat_id, "report:grp:none")
    await press(fake, chat_id, "report:where-skip")
    await press(fake, chat_id, "report:when:today")
    await say(fake, chat_id, what)
    await press(fake, chat_id, "report:what-done")


async def press(fake: FakeTelegram, chat_id: int, data: str) -> dict:
    """Press the button with `data` on the newest bot message that shows it (waiting for
    it to arrive); returns the bot's next message. Fails when no such button comes."""

    def shown() -> list[dict]:
        return [
            m
            for m in sent_to(fake, chat_id)
            if m.get("reply_markup")
            and any(
                b.get("callback_data") == data
                for row in m["reply_markup"]["inline_keyboard"]
                for b in row
            )
        ]

    await until(lambda: bool(shown()), timeout=10)
    before = len(sent_to(fake, chat_id))
    fake.user_presses(chat_id, shown()[-1]["message_id"], data)
    return (await fake.wait_for_sent(before + 1, chat_id=chat_id))[before]


POLL = {
    "id": "1",
    "question": "?",
    "options": [],
    "total_voter_count": 0,
    "is_closed": False,
    "is_anonymous": True,
    "type": "regular",
    "allows_multiple_answers": False,
    "allows_revoting": False,
    "members_only": False,
}


async def said(fake: FakeTelegram | FakeZalo, chat_id: int | str, needle: str) -> str:
    """The first message to `chat_id` containing `needle`, waiting for it."""

    def found() -> list[str]:
        return [
            m["text"] for m in fake.sent if m["chat_id"] == chat_id and needle in m.get("text", "")
        ]

    await until(lambda: bool(found()), timeout=10)
    return found()[0]


def jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buffer, "JPEG")
    return buffer.getvalue()


async def enrol(app, ward: int, role: OfficerRole, label: str) -> str:
    async with app.services.db.transaction() as session:
        _officer, code = await app.services.invites.create(
            session, ward_id=ward, role=role, label=label
        )
    return code


# ---- residents --------------------------------------------------------------------------


async def test_start_shows_inline_buttons_and_a_press_answers(app) -> None:
    async with FakeTelegram(max_poll=0.5) as tg, running(tg_channel(app, tg)):
        menu = await say(tg, RESIDENT, "/start")
        assert "Xin mời bạn chọn" in menu["text"]
        actions = [
            b["callback_data"] for row in menu["reply_markup"]["inline_keyboard"] for b in row
        ]
        assert actions[:3] == ["report:start", "report:danger", "status:start"]
        danger = await press(tg, RESIDENT, "report:danger")
        assert "113" in danger["text"]
        assert len(tg.answered_callbacks) == 1


async def test_commands_menu_for_residents_groups_and_officers(app) -> None:
    ward = await add_phu_lien(app)
    async with FakeTelegram(max_poll=0.5) as tg, running(tg_channel(app, tg)) as channel:
        resident = [c["command"] for c in tg.commands_for({"type": "default"})]
        assert {"start", "report", "status", "hotline"} <= set(resident)
        assert "queue" not in resident
        english = tg.commands_for({"type": "default"}, "en")
        assert any(c["description"] == "Report a tip" for c in english)
        groups = [c["command"] for c in tg.commands_for({"type": "all_group_chats"})]
        assert "register_group" in groups and "report" not in groups
        code = await enrol(app, ward, OfficerRole.OFFICER, "Minh")
        assert "Chào đồng chí Minh" in (await say(tg, OFFICER, f"/join {code}"))["text"]
        assert await channel.refresh_officer_commands() == 1  # what housekeeping does
        officer = [c["command"] for c in tg.commands_for({"type": "chat", "chat_id": OFFICER})]
        assert {"queue", "tip", "claim", "close"} <= set(officer)
        assert tg.commands_for({"type": "chat", "chat_id": RESIDENT}) == []


async def test_deep_link_from_a_poster_preselects_the_group(app) -> None:
    from tests.helpers import group_id

    await add_phu_lien(app)
    nam_hai = await group_id(app, "Nam Hải")
    async with FakeTelegram(max_poll=0.5) as tg, running(tg_channel(app, tg)):
        await say(tg, RESIDENT, f"/start g{nam_hai}")
        await press(tg, RESIDENT, "report:start")
        asked = await press(tg, RESIDENT, "report:cat:use")
        assert "Nam Hải" in asked["text"]


async def test_long_text_is_split_at_4096_without_losing_anything(app) -> None:
    async with FakeTelegram() as tg:
        channel = tg_channel(app, tg)
        text = "\n".join(f"Dòng {i}: mỗi người dân là một chiến sỹ 🚭" for i in range(400))
        buttons = ((Button("Menu", MenuHome()),),)
        await channel.send(Route("telegram", str(RESIDENT)), Reply(text, buttons))
        await channel.close()
    parts = sent_to(tg, RESIDENT)
    assert len(parts) > 1 and all(utf16_length(p["text"]) <= MAX_TEXT for p in parts)
    assert "".join(p["text"] for p in parts) == text
    assert [bool(p["reply_markup"]) for p in parts] == [False] * (len(parts) - 1) + [True]


@dataclass(frozen=True)
class _Oversized(Action):
    """What no action of the bot packs to (kernel/callback_data.py refuses it): the
    channel's own guard is checked with it."""

    def pack(self) -> str:
        return "x" * 65


async def test_an_action_too_long_for_callback_data_becomes_a_numbered_option(app) -> None:
    async with FakeTelegram() as tg:
        channel = tg_channel(app, tg)
        reply = Reply("Chọn:", ((Button("Một", _Oversized()),), (Button("Hai", MenuHome()),)))
        await channel.send(Route("telegram", str(RESIDENT)), reply)
        await channel.close()
    [message] = sent_to(tg, RESIDENT)
    assert message["reply_markup"] is None and "1. Một\n2. Hai" in message["text"]


# ---- the whole loop across channels -----------------------------------------------------


async def test_resident_reports_on_telegram_and_an_officer_triages_on_zalo(app) -> None:
    ward = await add_phu_lien(app)
    what = "Nhà số 12 ngõ 5 bán ma túy cho học sinh buổi tối"
    async with (
        FakeTelegram(max_poll=0.5) as tg,
        FakeZalo(max_poll=0.5) as zalo,
        running(tg_channel(app, tg)),
        running(zalo_channel(app, zalo)),
    ):
        code = await enrol(app, ward, OfficerRole.OFFICER, "Lan")
        zalo.user_sends("officer-lan", f"/join {code}")
        await zalo.wait_for_sent(1, chat_id="officer-lan")

        await walk_to_files(tg, RESIDENT, what)
        before = len(sent_to(tg, RESIDENT))
        tg.user_sends_photo(RESIDENT, jpeg(), caption="")
        received = await tg.wait_for_sent(before + 2, chat_id=RESIDENT)
        assert "✓" in received[before]["text"]
        await press(tg, RESIDENT, "report:files-done")
        await press(tg, RESIDENT, "report:contact:yes")
        receipt = await press(tg, RESIDENT, "report:send")
        found = RECEIPT.search(receipt["text"])
        assert found, receipt["text"][:200]
        tip_code = found["code"]

        await mix_all(app)  # what the mixer does within minutes
        notice = await said(zalo, "officer-lan", f"Tin mới {tip_code}")
        assert what not in notice
        # No buttons on Zalo: the one-tap actions are the commands to type.
        for command in (f"/tiepnhan {tip_code}", f"/claim {tip_code}", f"/tip {tip_code}"):
            assert command in notice, notice
        zalo.user_sends("officer-lan", f"/tip {tip_code}")
        shown = await said(zalo, "officer-lan", what)
        assert "📎 image" in shown
        zalo.user_sends("officer-lan", f"/ask {tip_code} Mấy giờ thì có người đến mua?")
        await said(zalo, "officer-lan", "Đã gửi câu hỏi")
        told = await said(tg, RESIDENT, "Bạn có tin nhắn mới")
        assert "Mấy giờ" not in told  # someone else may hold the phone
        zalo.user_sends("officer-lan", f"/close {tip_code} xacminh")
        await said(zalo, "officer-lan", "Đã kết thúc")

    blob = await raw_database_bytes(app.services.settings.database_url)
    assert leaks(blob, needles(chat=RESIDENT, text=what, officer_chat="officer-lan")) == []


async def test_officer_tip_view_is_protected_and_deleted_after_the_set_time(settings) -> None:
    app = await open_app(replace(settings, tip_view_seconds=1))
    try:
        ward = await add_phu_lien(app)
        async with FakeTelegram(max_poll=0.5) as tg, running(tg_channel(app, tg)):
            code = await enrol(app, ward, OfficerRole.OFFICER, "Hùng")
            await say(tg, OFFICER, f"/join {code}")
            from tests.helpers import Chat, send_report

            tip_code, _secret = await send_report(Chat(app, "resident"), "Có người chích hút")
            tg.user_sends(OFFICER, f"/tip {tip_code}")
            await said(tg, OFFICER, "Có người chích hút")
            [view] = [m for m in sent_to(tg, OFFICER) if "Có người chích hút" in m["text"]]
            assert view["protect_content"] is True
            preview = view["params"]["link_preview_options"]
            preview = json.loads(preview) if isinstance(preview, str) else preview
            assert preview["is_disabled"] is True  # no page fetched for a tip's links
            await tg.wait_for_calls("deleteMessages", timeout=10)
            assert (OFFICER, view["message_id"]) in tg.deleted
    finally:
        await app.close()


async def test_trace_cleanup_deletes_both_sides_of_the_report(app) -> None:
    await add_phu_lien(app)
    async with FakeTelegram(max_poll=0.5) as tg, running(tg_channel(app, tg)):
        await say(tg, RESIDENT, "/start")
        await press(tg, RESIDENT, "report:start")
        first_bot_message = sent_to(tg, RESIDENT)[-1]["message_id"]
        await press(tg, RESIDENT, "report:cat:use")
        await press(tg, RESIDENT, "report:grp:none")
        await press(tg, RESIDENT, "report:where-skip")
        await press(tg, RESIDENT, "report:when:today")
        typed = tg.user_sends(RESIDENT, "Có người tụ tập sử dụng ma túy")
        await tg.wait_for_sent(len(sent_to(tg, RESIDENT)) + 1, chat_id=RESIDENT)
        await press(tg, RESIDENT, "report:what-done")
        await press(tg, RESIDENT, "report:files-done")
        await press(tg, RESIDENT, "report:contact:no")
        await press(tg, RESIDENT, "report:send")
        done = await press(tg, RESIDENT, "cleanup:delete")
        assert "Đã xóa" in done["text"]
    deleted = {m for chat, m in tg.deleted if chat == RESIDENT}
    assert typed["message"]["message_id"] in deleted
    assert first_bot_message in deleted


async def test_only_replies_in_a_traced_chat_are_noted_after_sending(app, monkeypatch) -> None:
    noted: list[int] = []
    note = app.dispatcher.record_sent

    async def counting(route, message_ids) -> None:
        noted.append(len(list(message_ids)))
        await note(route, message_ids)

    monkeypatch.setattr(app.dispatcher, "record_sent", counting)
    await add_phu_lien(app)
    async with FakeTelegram(max_poll=0.5) as tg, running(tg_channel(app, tg)):
        await say(tg, RESIDENT, "/start")
        await press(tg, RESIDENT, "info:hotline")
        await asyncio.sleep(0.2)
        assert noted == []  # an untraced chat: one transaction per update, none after
        await say(tg, RESIDENT, "/start")
        await press(tg, RESIDENT, "report:start")
        await until(lambda: noted == [1])  # noted just after the send


async def test_a_delivered_reply_is_never_sent_again_when_noting_it_fails(app, monkeypatch):
    async def failing(route, message_ids) -> None:
        raise OSError("the database went away just after the send")

    monkeypatch.setattr(app.dispatcher, "record_sent", failing)
    await add_phu_lien(app)
    async with FakeTelegram(max_poll=0.5) as tg, running(tg_channel(app, tg)) as channel:
        await say(tg, RESIDENT, "/start")
        await press(tg, RESIDENT, "report:start")
        await asyncio.sleep(0.5)  # five rounds of the outbox pump (every 0.1 s here)
        assert len(sent_to(tg, RESIDENT)) == 2
        assert channel.counts["sent_not_noted"] == 1
        assert channel.counts["replies_postponed"] == 0
    async with app.services.db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


# ---- groups -----------------------------------------------------------------------------


async def test_group_registration_migration_and_removal(app) -> None:
    ward = await add_phu_lien(app)
    group, supergroup = -100123, -1009876543
    async with FakeTelegram(max_poll=0.5) as tg, running(tg_channel(app, tg)):
        code = await enrol(app, ward, OfficerRole.COMMANDER, "Chỉ huy")
        await say(tg, COMMANDER, f"/join {code}")
        registered = await say(tg, group, "/register_group Nam Hải", user_id=COMMANDER)
        assert "đã được đăng ký cho Nam Hải" in registered["text"]
        pointer = await say(tg, group, "/report", user_id=RESIDENT)
        assert "nhắn riêng" in pointer["text"] or "riêng" in pointer["text"]

        tg.migrate_group(group, supergroup)
        await until(lambda: tg.pending_updates() == 0, timeout=10)
        async with app.services.db.transaction() as session:
            pseudonyms = app.services.pseudonyms
            assert (
                await group_chats.find(session, pseudonyms, Route("telegram", str(group))) is None
            )
            moved = await group_chats.find(session, pseudonyms, Route("telegram", str(supergroup)))
            assert moved is not None and moved.active

        before = len(sent_to(tg, COMMANDER))
        tg.bot_removed(supergroup)
        told = await tg.wait_for_sent(before + 1, chat_id=COMMANDER)
        assert "không thể đăng tin" in told[-1]["text"] and "Nam Hải" in told[-1]["text"]
    async with app.services.db.transaction() as session:
        row = (await session.scalars(select(GroupChat))).one()
        assert not row.active
    blob = await raw_database_bytes(app.services.settings.database_url)
    found = leaks(
        blob, needles(group=group, supergroup=supergroup, commander=COMMANDER, resident=RESIDENT)
    )
    assert found == []


async def test_a_send_to_a_migrated_group_follows_it_and_moves_the_registration(app) -> None:
    ward = await add_phu_lien(app)
    group, supergroup = -200, -1002000
    async with FakeTelegram(max_poll=0.5) as tg:
        async with running(tg_channel(app, tg)):
            code = await enrol(app, ward, OfficerRole.OFFICER, "Tú")
            await say(tg, OFFICER, f"/join {code}")
            await say(tg, group, "/register_group Tổ 9", user_id=OFFICER)
        tg.migrate_group(group, supergroup)  # the service messages are not read: not polling
        channel = tg_channel(app, tg)
        await channel.send(
            Route("telegram", str(group)), Reply("Tháng hành động phòng, chống ma túy")
        )
        await channel.close()
    assert sent_to(tg, supergroup)[-1]["text"].startswith("Tháng hành động")
    async with app.services.db.transaction() as session:
        row = await group_chats.find(
            session, app.services.pseudonyms, Route("telegram", str(supergroup))
        )
        assert row is not None and row.active


async def test_a_resident_who_blocked_the_bot_loses_nothing_else(app) -> None:
    async with FakeTelegram(max_poll=0.5) as tg, running(tg_channel(app, tg)) as channel:
        tg.block(RESIDENT)
        tg.user_sends(RESIDENT, "/start")
        await until(lambda: channel.counts["send_gone"] == 1)
        other = await say(tg, 5555, "/start")
        assert "Xin mời bạn chọn" in other["text"]
    async with app.services.db.transaction() as session:
        left = await outbox.due_for(
            session, app.services.vault, channel="telegram", now=utcnow() + timedelta(days=1)
        )
    assert left == []  # nothing retried forever for a chat that cannot receive


# ---- faults -----------------------------------------------------------------------------


async def test_429_and_5xx_storms_and_a_failing_poll_are_waited_out(app) -> None:
    async with FakeTelegram(max_poll=0.5) as tg, running(tg_channel(app, tg)) as channel:
        tg.fail_next("sendMessage", status=429, times=2, retry_after=1)
        assert "Xin mời bạn chọn" in (await say(tg, RESIDENT, "/start"))["text"]
        tg.fail_next("sendMessage", status=500, times=3)
        assert (await say(tg, RESIDENT, "/hotline"))["text"]
        tg.fail_next("getUpdates", status=502, times=3)
        # A poll already waiting may bring this one before the failures begin; the next
        # polls fail three times, and the bot still answers after them.
        assert "Xin mời bạn chọn" in (await say(tg, RESIDENT, "/menu"))["text"]
        await until(lambda: channel.counts["poll_transient"] == 3, timeout=20)
        assert "Xin mời bạn chọn" in (await say(tg, RESIDENT, "/start"))["text"]
        assert channel.counts["send_throttled"] == 2
        assert channel.counts["send_transient"] == 3
        assert channel.counts["poll_transient"] == 3


async def test_unknown_and_malformed_updates_do_not_stop_the_bot(app) -> None:
    async with FakeTelegram(max_poll=0.5) as tg, running(tg_channel(app, tg)) as channel:
        tg.send_raw_update({"poll": POLL})  # a type the bot does not ask for
        tg.send_raw_update({"some_future_update": {"x": 1}})
        tg.send_raw_update({"message": {"text": 5}})  # aiogram cannot read it
        tg.user_sends_voice(RESIDENT)
        tg.user_sends_contact(RESIDENT)  # carries a phone number: never read
        await tg.wait_for_sent(2, chat_id=RESIDENT)  # answers to the voice note and the contact
        assert "Xin mời bạn chọn" in (await say(tg, RESIDENT, "/start"))["text"]
        assert channel.state == "running" and channel.counts["malformed"] == 1


async def test_network_down_at_start_then_recovers(app) -> None:
    async with FakeTelegram(max_poll=0.5) as tg:
        tg.fail_next("getMe", status=502, times=3)
        async with running(tg_channel(app, tg)):
            assert "Xin mời bạn chọn" in (await say(tg, RESIDENT, "/start"))["text"]


async def test_stopping_leaves_unhandled_updates_for_redelivery(app) -> None:
    """Updates being answered are finished; those still waiting for their chat are left
    to Telegram, which hands them out again: each is answered once, in order."""
    async with FakeTelegram(max_poll=0.5) as tg:
        tg.delay_next("sendMessage", 1.0, chat_id=11)  # chat 11's first answer is slow
        tg.user_sends(11, "/start")
        tg.user_sends(11, "/hotline")
        tg.user_sends(11, "/language")
        tg.user_sends(12, "/start")
        channel = tg_channel(app, tg)
        async with running(channel):
            await until(lambda: channel.counts["updates"] >= 2)  # one per chat in flight
        assert channel.counts["updates"] == 2
        async with running(tg_channel(app, tg)) as second:
            await tg.wait_for_sent(4)
            # The offset cannot skip a gap, so chat 12's handled /start comes back too:
            # the conversation knows it and does not answer it again.
            await until(lambda: second.counts["updates"] == 3)
            assert second.counts["replies_sent"] == 2
    sent = [m["chat_id"] for m in tg.sent]
    assert sorted(sent) == [11, 11, 11, 12]  # each once
    first, *rest = [m["text"] for m in tg.sent if m["chat_id"] == 11]
    assert "Xin mời bạn chọn" in first and "113" in rest[0]  # in the order they were sent


# ---- webhooks ---------------------------------------------------------------------------


async def test_webhook_mode_checks_the_secret_and_the_body(app, settings) -> None:
    async with FakeTelegram() as tg:
        channel = tg_channel(
            app, tg, mode="webhook", webhook_url="https://bot.example/tg", webhook_secret=SECRET
        )
        async with serving(app, replace(settings, max_update_bytes=16 * 1024), [channel]) as base:
            url = base + "/tg"
            assert tg.webhook is not None and tg.webhook["url"] == "https://bot.example/tg"
            assert tg.webhook["secret_token"] == SECRET
            before = await row_counts(app)
            tg.user_sends(RESIDENT, "/start")
            assert await tg.push_updates_to_webhook(url, "wrong") == [403]
            assert await tg.push_updates_to_webhook(url, None) == [403]
            headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
            async with aiohttp.ClientSession() as http:
                for body, status in [
                    (b"{oops", 400),
                    (b"[]", 400),
                    (json.dumps({"update_id": "x"}).encode(), 400),
                    (json.dumps({"update_id": 1, "message": {"text": 5}}).encode(), 400),
                    (b"{" + b" " * (17 * 1024) + b"}", 413),
                ]:
                    async with http.post(url, data=body, headers=headers) as response:
                        assert response.status == status, body[:40]
                unknown = {"update_id": 77, "poll": POLL}
                async with http.post(url, json=unknown, headers=headers) as response:
                    assert response.status == 200
            assert tg.sent == [] and await row_counts(app) == before
            assert await tg.push_updates_to_webhook(url, SECRET) == [200]
            [menu] = sent_to(tg, RESIDENT)
            assert "Xin mời bạn chọn" in menu["text"]

            # A valid update near the limit, arriving in small chunks, is read whole.
            update = tg.user_sends(RESIDENT, "/start")
            tg.drop_updates()  # posted by hand below
            update["message"]["padding_from_a_future_api"] = "x" * (12 * 1024)
            body = json.dumps(update).encode()

            async def chunks():
                for start in range(0, len(body), 1000):
                    yield body[start : start + 1000]

            async with aiohttp.ClientSession() as http:
                async with http.post(url, data=chunks(), headers=headers) as response:
                    assert response.status == 200
            assert len(sent_to(tg, RESIDENT)) == 2


async def test_on_a_webhook_a_button_press_is_acknowledged_in_the_answer(app, settings) -> None:
    async with FakeTelegram() as tg:
        channel = tg_channel(
            app, tg, mode="webhook", webhook_url="https://bot.example/tg", webhook_secret=SECRET
        )
        async with serving(app, settings, [channel]) as base:
            tg.user_sends(RESIDENT, "/start")
            assert await tg.push_updates_to_webhook(base + "/tg", SECRET) == [200]
            [menu] = sent_to(tg, RESIDENT)
            tg.user_presses(RESIDENT, menu["message_id"], "report:danger")
            assert await tg.push_updates_to_webhook(base + "/tg", SECRET) == [200]
            assert any("113" in m["text"] for m in sent_to(tg, RESIDENT)[1:])
            # No request of its own: the call came in the webhook's answer to the press,
            # once the reply had gone out, and Telegram accepted it.
            assert [m for m, _ in tg.calls if m == "answerCallbackQuery"] == ["answerCallbackQuery"]
            assert [m for m, _ in tg.webhook_calls] == ["answerCallbackQuery"]
            assert len(tg.answered_callbacks) == 1
            assert tg.calls.index(tg.webhook_calls[0]) > max(
                i for i, (m, _) in enumerate(tg.calls) if m == "sendMessage"
            )


def test_the_answer_types_aiogram_reads_every_call_with_are_not_built_again() -> None:
    """pydantic keeps `Response[Message]` only while something refers to it; the
    channel does, so a garbage collection does not make the next send build it again."""
    for returned in (Message, bool, list[Update]):
        built = weakref.ref(Response[returned])
        gc.collect()
        assert built() is not None


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)


# ---- errors of ours -----------------------------------------------------------------------


def test_a_programming_error_is_an_error_not_the_platform_refusing(app) -> None:
    from aiogram.exceptions import TelegramBadRequest

    from bot.channels.zalo_api import ZaloError
    from kernel.faults import Fault

    telegram = TelegramChannel(app.dispatcher, channel_settings("telegram", "1:x", "http://t"))
    zalo = ZaloChannel(app.dispatcher, channel_settings("zalo", "z", "http://z"))
    refused = TelegramBadRequest(method=None, message="Bad Request: message text is empty")  # type: ignore[arg-type]
    for channel, platform_says in ((telegram, refused), (zalo, ZaloError(400, "bad request"))):
        for bug in (TypeError(), AttributeError(), KeyError("k"), ValueError(), IndexError()):
            assert channel.classify(bug).fault is Fault.ERROR, (channel.name, bug)
        assert channel.classify(platform_says).fault is Fault.REJECTED, channel.name
        assert channel.classify(RuntimeError()).fault is Fault.REJECTED, channel.name


async def test_a_bug_while_sending_is_logged_as_an_error_and_counted(app, monkeypatch, caplog):
    """A TypeError raised by our side of a send is not "the platform refused": it is
    logged at ERROR with its type and place (never its text), and counted apart."""
    from aiogram import Bot

    async def broken(self, *args, **kwargs):
        raise TypeError("a bug of ours, with the resident's words in it")

    monkeypatch.setattr(Bot, "send_message", broken)
    async with FakeTelegram(max_poll=0.5) as tg, running(tg_channel(app, tg)) as channel:
        tg.user_sends(RESIDENT, "/start")
        await until(lambda: channel.counts["send_error"] == 1)
    errors = [r for r in caplog.records if r.levelname == "ERROR" and r.name.startswith("bot.")]
    assert len(errors) == 1, [r.getMessage() for r in caplog.records]
    line = errors[0].getMessage()
    assert "TypeError at test_channel_telegram.py:" in line and "resident's words" not in line
    assert not any("refused" in r.getMessage() for r in caplog.records)
    assert channel.counts["send_rejected"] == 0


async def test_a_new_tips_notice_is_worked_with_one_tap_on_telegram(app) -> None:
    ward = await add_phu_lien(app)
    async with FakeTelegram(max_poll=0.5) as tg, running(tg_channel(app, tg)):
        code = await enrol(app, ward, OfficerRole.OFFICER, "Hùng")
        await say(tg, OFFICER, f"/join {code}")
        from tests.helpers import Chat, send_report

        tip_code, _secret = await send_report(
            Chat(app, "resident"), "Có người lạ giao hàng", contact=True
        )
        await said(tg, OFFICER, f"Tin mới {tip_code}")
        [notice] = [m for m in sent_to(tg, OFFICER) if f"Tin mới {tip_code}" in m["text"]]
        pressable = [
            b["callback_data"] for row in notice["reply_markup"]["inline_keyboard"] for b in row
        ]
        assert pressable == [
            f"police:ack:{tip_code}",
            f"police:claim:{tip_code}",
            f"police:tip:{tip_code}",
        ]
        acknowledged = await press(tg, OFFICER, f"police:ack:{tip_code}")
        assert f"Đã tiếp nhận tin {tip_code}" in acknowledged["text"]
        assert "Có người lạ" not in acknowledged["text"]  # seen, not yet read
        opened = await press(tg, OFFICER, f"police:tip:{tip_code}")
        assert "Có người lạ giao hàng" in opened["text"]
        offered = [
            b["callback_data"] for row in opened["reply_markup"]["inline_keyboard"] for b in row
        ]
        assert f"police:note:{tip_code}" in offered and f"police:close:{tip_code}" in offered
        asked = await press(tg, OFFICER, f"police:askq:{tip_code}:1")
        assert "Đã gửi câu hỏi" in asked["text"]
        claimed = await press(tg, OFFICER, f"police:claim:{tip_code}")
        assert tip_code in claimed["text"]
