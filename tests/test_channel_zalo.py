"""The Zalo channel end to end: the real Zalo client, the shared core and a real
database, against the stand-in Zalo server over HTTP, by polling and by webhook."""

from __future__ import annotations

import json
from dataclasses import replace

import aiohttp
import pytest
from sqlalchemy import select

from bot.channels.zalo import ZaloChannel
from bot.channels.zalo_api import MAX_TEXT, zalo_length
from kernel.messages import Reply
from kernel.routes import Route
from storage import group_chats, outbox
from storage.models import GroupChat, OfficerRole
from tests.channels import FAST, channel_settings, row_counts, running, serving, until
from tests.fakes.zalo_server import FakeZalo
from tests.helpers import add_phu_lien

SECRET = "zalo-webhook-secret-1"  # a test value


def zalo_channel(app, fake: FakeZalo, **kw) -> ZaloChannel:
    settings = channel_settings("zalo", fake.token, fake.base_url, **kw)
    return ZaloChannel(app.dispatcher, settings, policy=FAST, outbox_every=0.1)


async def enrol_on_zalo(app, fake: FakeZalo, ward: int, role: OfficerRole, chat: str) -> None:
    async with app.services.db.transaction() as session:
        _officer, code = await app.services.invites.create(
            session, ward_id=ward, role=role, label=chat
        )
    before = len(fake.sent)
    fake.user_sends(chat, f"/join {code}")
    sent = await fake.wait_for_sent(before + 1)
    assert "Chào đồng chí" in sent[before]["text"]


async def test_start_gets_a_numbered_menu_and_a_typed_number_picks(app) -> None:
    async with FakeZalo(max_poll=0.5) as zalo, running(zalo_channel(app, zalo)):
        zalo.user_sends("resident-1", "/start")
        [menu] = await zalo.wait_for_sent(1, chat_id="resident-1")
        assert "Xin mời bạn chọn" in menu["text"]
        assert "\n1. Báo tin, tố giác\n2. 🚨" in menu["text"]
        zalo.user_sends("resident-1", "2")
        sent = await zalo.wait_for_sent(2, chat_id="resident-1")
        assert "113" in sent[1]["text"]


async def test_unknown_events_and_malformed_updates_are_survived(app) -> None:
    async with FakeZalo(max_poll=0.5) as zalo, running(zalo_channel(app, zalo)) as channel:
        zalo.send_malformed_update("missing_ids")
        zalo.send_malformed_update("not_a_message")
        zalo.user_sends_unsupported("resident-2")  # a voice note, say
        zalo.user_sends("resident-2", "/start")
        sent = await zalo.wait_for_sent(2, chat_id="resident-2")
        assert "Xin mời bạn chọn" in sent[1]["text"]
        assert channel.state == "running"


async def test_long_replies_are_split_under_the_limit_losslessly(app) -> None:
    async with FakeZalo(max_poll=0.5) as zalo:
        channel = zalo_channel(app, zalo)
        text = "\n".join(f"Dòng {i}: phòng, chống ma túy 🚭 trong tổ dân phố" for i in range(200))
        await channel.send(Route("zalo", "resident-3"), Reply(text))
        await channel.close()
    parts = [m["text"] for m in zalo.sent]
    assert len(parts) > 1
    assert all(zalo_length(p) <= MAX_TEXT for p in parts)
    assert "".join(parts) == text


async def test_429_and_5xx_storms_are_waited_out(app) -> None:
    async with FakeZalo(max_poll=0.5) as zalo, running(zalo_channel(app, zalo)) as channel:
        zalo.fail_next("sendMessage", status=429, times=2, retry_after=0.2)
        zalo.user_sends("resident-4", "/start")
        [menu] = await zalo.wait_for_sent(1, chat_id="resident-4")
        assert "Xin mời bạn chọn" in menu["text"]
        zalo.fail_next("sendMessage", status=502, times=3)
        zalo.user_sends("resident-4", "/hotline")
        await zalo.wait_for_sent(2, chat_id="resident-4")
        assert channel.counts["send_throttled"] == 2
        assert channel.counts["send_transient"] == 3


async def test_a_reply_that_cannot_go_now_waits_in_the_outbox(app) -> None:
    async with FakeZalo(max_poll=0.5) as zalo, running(zalo_channel(app, zalo)) as channel:
        zalo.fail_next("sendMessage", status=503, times=FAST.attempts)  # retries run out
        zalo.user_sends("resident-5", "/start")
        await until(lambda: channel.counts["replies_postponed"] == 1)
        [menu] = await zalo.wait_for_sent(1, chat_id="resident-5", timeout=15)
        assert "Xin mời bạn chọn" in menu["text"]
    async with app.services.db.transaction() as session:
        left = await outbox.due_for(session, app.services.vault, channel="zalo", now=_far())
    assert left == []


async def test_network_down_at_start_then_recovers(app) -> None:
    async with FakeZalo(max_poll=0.5) as zalo:
        zalo.fail_next("getMe", status=502, times=2)
        zalo.fail_next("getUpdates", status=500, times=2)
        async with running(zalo_channel(app, zalo)) as channel:
            zalo.user_sends("resident-6", "/start")
            await zalo.wait_for_sent(1, chat_id="resident-6", timeout=15)
            assert channel.counts["poll_transient"] == 2


async def test_blocked_group_is_marked_inactive_and_the_commander_told(app) -> None:
    ward = await add_phu_lien(app)
    async with FakeZalo(max_poll=0.5) as zalo, running(zalo_channel(app, zalo)):
        await enrol_on_zalo(app, zalo, ward, OfficerRole.COMMANDER, "commander-z")
        zalo.user_sends(
            "tdp-group", "/register_group nam hai", user_id="commander-z", chat_type="GROUP"
        )
        [registered] = await zalo.wait_for_sent(1, chat_id="tdp-group")
        assert "Nam Hải" in registered["text"]
        async with app.services.db.transaction() as session:
            row = await group_chats.find(
                session, app.services.pseudonyms, Route("zalo", "tdp-group")
            )
            assert row is not None and row.active
        zalo.block("tdp-group")
        before = len([m for m in zalo.sent if m["chat_id"] == "commander-z"])
        zalo.user_sends("tdp-group", "/start", user_id="resident-7", chat_type="GROUP")
        told = await zalo.wait_for_sent(before + 1, chat_id="commander-z")
        assert "không thể đăng tin" in told[-1]["text"] and "Nam Hải" in told[-1]["text"]
    async with app.services.db.transaction() as session:
        row = (await session.scalars(select(GroupChat))).one()
        assert not row.active and row.inactive_since is not None


async def test_residents_cannot_register_a_group_and_group_chatter_is_ignored(app) -> None:
    await add_phu_lien(app)
    async with FakeZalo(max_poll=0.5) as zalo, running(zalo_channel(app, zalo)) as channel:
        zalo.user_sends("tdp-g2", "Tối nay họp tổ nhé", user_id="neighbour", chat_type="GROUP")
        zalo.user_sends("tdp-g2", "/register_group Nam Hải", user_id="neighbour", chat_type="GROUP")
        [refused] = await zalo.wait_for_sent(1, chat_id="tdp-g2")
        assert "Chỉ cán bộ Công an" in refused["text"]
        assert channel.counts["updates"] == 1  # the chatter never reached the core
    async with app.services.db.transaction() as session:
        assert (await session.scalars(select(GroupChat))).all() == []


async def test_webhook_checks_secret_size_and_body(app, settings) -> None:
    async with FakeZalo() as zalo:
        channel = zalo_channel(
            app,
            zalo,
            mode="webhook",
            webhook_url="https://bot.example/zalo/hook",
            webhook_secret=SECRET,
        )
        settings = replace(settings, max_update_bytes=16 * 1024)
        async with serving(app, settings, [channel]) as base:
            url = base + "/zalo/hook"
            assert zalo.webhook is not None
            assert zalo.webhook["url"] == "https://bot.example/zalo/hook"
            assert zalo.webhook["secret_token"] == SECRET
            before = await row_counts(app)
            zalo.user_sends("resident-8", "/start")
            assert await zalo.push_updates_to_webhook(url, "wrong-secret-value") == [403]
            zalo.user_sends("resident-8", "/start")
            assert await zalo.push_updates_to_webhook(url, None) == [403]
            async with aiohttp.ClientSession() as http:
                for body, status in [
                    (b"{not json", 400),
                    (b'"a string"', 400),
                    (json.dumps({"event_name": "message.text.received", "message": {}}), 400),
                    (b"x" * (17 * 1024), 413),
                ]:
                    async with http.post(
                        url, data=body, headers={"X-Bot-Api-Secret-Token": SECRET}
                    ) as response:
                        assert response.status == status
            assert zalo.sent == [] and await row_counts(app) == before
            zalo.user_sends("resident-8", "/start")
            assert await zalo.push_updates_to_webhook(url, SECRET) == [200]
            [menu] = await zalo.wait_for_sent(1, chat_id="resident-8")
            assert "Xin mời bạn chọn" in menu["text"]
            async with aiohttp.ClientSession() as http, http.get(base + "/healthz") as health:
                body = await health.json()
            assert health.status == 200 and body["status"] == "ok"
            assert body["channels"]["zalo"]["webhook_refused"] == 2


def _far():
    from datetime import timedelta

    from kernel.clock import utcnow

    return utcnow() + timedelta(days=1)


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)


async def test_a_bug_while_sending_is_an_error_not_zalo_refusing(app, monkeypatch, caplog):
    """ZaloBotAPI raises ValueError for what our code should never pass it: logged as an
    error of the bot (type and place only), counted apart, not as Zalo refusing."""
    from bot.channels.zalo_api import ZaloBotAPI

    async def broken(self, chat_id: str, text: str) -> dict:
        raise ValueError("text must be 1-2000 characters, was: the resident's words")

    monkeypatch.setattr(ZaloBotAPI, "send_message", broken)
    async with FakeZalo(max_poll=0.5) as zalo, running(zalo_channel(app, zalo)) as channel:
        zalo.user_sends("resident-1", "/start")
        await until(lambda: channel.counts["send_error"] == 1)
    errors = [r for r in caplog.records if r.levelname == "ERROR" and r.name.startswith("bot.")]
    assert len(errors) == 1, [r.getMessage() for r in caplog.records]
    line = errors[0].getMessage()
    assert "ValueError at test_channel_zalo.py:" in line and "resident's words" not in line
    assert not any("refused" in r.getMessage() for r in caplog.records)
    assert channel.counts["send_rejected"] == 0
