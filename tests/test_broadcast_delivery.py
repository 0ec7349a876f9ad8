"""Broadcast delivery end to end: the real aiogram client sends a ward's broadcasts to
the stand-in Bot API server, which enforces Telegram's limits and fails on purpose.
Checked: everyone reached exactly once, 429/5xx/403/migration handled, opt-out at
once, quiet hours, and resuming after a crash without loss."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import func, select

from bot.app import App, open_app
from bot.channels.telegram import TelegramChannel
from bot.jobs import broadcast_tick
from broadcasts import coverage, deliveries, planner
from broadcasts.sender import SenderOptions
from kernel.clock import utcnow
from kernel.messages import Reply
from kernel.routes import Route
from storage import group_chats, subscribers
from storage.models import AwarenessMessage, Delivery, DeliveryStatus, OfficerRole, Subscriber
from tests.channels import FAST, channel_settings, running
from tests.fakes.telegram_bot_api import FakeTelegram
from tests.helpers import Chat, add_phu_lien, leaks, needles, raw_database_bytes
from tests.test_broadcasts import groups_of, officer, register_chats

QUICK = SenderOptions(first_backoff=0.1, flush_every=0.05, idle_every=0.05)
COMMANDER = 7100
PEOPLE = [5_200_000_000 + 1013 * i for i in range(36)]  # realistic ids: no chance matches


def no_quiet(settings):  # type: ignore[no-untyped-def]
    return replace(settings, campaigns=(), monthly_day=1, quiet_start="00:00", quiet_end="00:00")


def channel(app: App, fake: FakeTelegram) -> TelegramChannel:
    return TelegramChannel(
        app.dispatcher,
        channel_settings("telegram", fake.token, fake.base_url),
        policy=FAST,
        outbox_every=0.05,
        broadcast_options=QUICK,
    )


async def ward_with_audience(app: App) -> tuple[int, list[int]]:
    """Phù Liễn: a group chat per TDP (-1000...), 36 subscribers, a commander."""
    ward = await add_phu_lien(app)
    chief = await officer(app, ward, OfficerRole.COMMANDER, str(COMMANDER))
    chats = [int(r.chat_id) for r in await register_chats(app, ward, chief)]
    groups = await groups_of(app, ward)
    async with app.services.db.transaction() as session:
        for index, person in enumerate(PEOPLE):
            await subscribers.subscribe(
                session,
                app.services.vault,
                app.services.pseudonyms,
                Route("telegram", str(person)),
                groups[index % len(groups)],
                "en" if index % 9 == 0 else "vi",
            )
    return ward, chats


async def plan_and_start(app: App) -> int:
    async with app.services.db.transaction() as session:
        planned = await planner.plan(session, app.services.settings, utcnow())
    await broadcast_tick(app.services)
    return len(planned.planned)


async def statuses(app: App) -> Counter[str]:
    async with app.services.db.transaction() as session:
        rows = await session.execute(
            select(Delivery.status, func.count()).group_by(Delivery.status)
        )
        return Counter({status: count for status, count in rows.all()})


async def until_sent(app: App, timeout: float = 60.0) -> Counter[str]:  # noqa: ASYNC109
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        counts = await statuses(app)
        if not counts[DeliveryStatus.PENDING] and not counts[DeliveryStatus.SENDING]:
            return counts
        if loop.time() > deadline:
            raise AssertionError(f"deliveries still waiting: {dict(counts)}")
        await asyncio.sleep(0.1)


def per_chat(fake: FakeTelegram, text_prefix: str = "") -> Counter[int]:
    return Counter(
        m["chat_id"]
        for m in fake.sent
        if m["text"].startswith(text_prefix) and m["chat_id"] != COMMANDER
    )


async def test_a_broadcast_reaches_everyone_once_through_limits_and_faults(settings) -> None:
    app = await open_app(no_quiet(settings))
    try:
        ward, chats = await ward_with_audience(app)
        blocked_person, removed_group = PEOPLE[3], chats[5]
        migrated, supergroup = chats[2], -1009990002
        assert await plan_and_start(app) == 12
        async with FakeTelegram(
            max_poll=0.5, enforce_limits=True, server_error_rate=0.05, seed=7
        ) as tg:
            tg.block(blocked_person)
            tg.block(removed_group)
            tg.migrate_group(migrated, supergroup)
            tg.drop_updates()  # the service messages of the migration are not the point here
            tg.fail_next("sendMessage", status=429, retry_after=1, times=2)
            async with running(channel(app, tg)) as ch:
                counts = await until_sent(app)
                await broadcast_tick(app.services)  # closes the finished broadcasts
                await tg.wait_for_sent(1, chat_id=COMMANDER)  # told about the removed group
                faults = dict(ch.broadcasts.counts)
        received = per_chat(tg)
        expected = {*PEOPLE, *chats} - {blocked_person, removed_group, migrated} | {supergroup}
        assert set(received) == expected
        assert set(received.values()) == {1}, "somebody got a message twice"
        assert counts == Counter({DeliveryStatus.SENT: len(expected), DeliveryStatus.BLOCKED: 2})
        assert faults["fault_throttled"] >= 2 and faults["fault_transient"] >= 1
        english = next(m for m in tg.sent if m["chat_id"] == PEOPLE[0])["text"]
        assert "To stop: /stop" in english
        assert "/huy" in next(m for m in tg.sent if m["chat_id"] == PEOPLE[1])["text"]  # vi
        assert "/huy" not in next(m for m in tg.sent if m["chat_id"] == chats[0])["text"]
        told = [m["text"] for m in tg.sent if m["chat_id"] == COMMANDER]
        assert any("không thể đăng tin" in t for t in told)
        async with app.services.db.transaction() as session:
            person = await subscribers.find(
                session, app.services.pseudonyms, Route("telegram", str(blocked_person))
            )
            assert person is not None and not person.active and person.sealed_route is None
            moved = await group_chats.find(
                session, app.services.pseudonyms, Route("telegram", str(supergroup))
            )
            assert moved is not None and moved.active
            table = await coverage.month_table(
                session, ward, planner.period_of(utcnow(), app.services.settings.zone)
            )
        assert all(row.covered for row in table)  # the removed group's TDP has subscribers
        assert sum(row.to_chats for row in table) == len(chats) - 1
        blob = await raw_database_bytes(app.services.settings.database_url)
        values = {f"p{p}": p for p in PEOPLE} | {f"c{-c}": c for c in chats}
        assert leaks(blob, needles(**values)) == []
    finally:
        await app.close()


async def test_stop_takes_effect_at_once_and_is_honoured_later(settings) -> None:
    app = await open_app(no_quiet(settings))
    try:
        await ward_with_audience(app)
        leaving = Chat(app, str(PEOPLE[4]), channel="telegram")
        assert await plan_and_start(app) == 12  # the stopping person has a pending message
        await leaving.send("/stop")
        assert "không nhận" in leaving.text
        async with FakeTelegram(max_poll=0.5) as tg, running(channel(app, tg)):
            counts = await until_sent(app)
        assert PEOPLE[4] not in per_chat(tg)
        assert counts[DeliveryStatus.CANCELLED] == 1
        # Next month, whatever the planner does, the stopped subscriber is not a recipient.
        async with app.services.db.transaction() as session:
            await planner.plan(session, app.services.settings, utcnow() + timedelta(days=40))
        async with app.services.db.transaction() as session:
            later = (
                await session.scalars(select(Subscriber).where(Subscriber.active.is_(False)))
            ).all()
        assert len(later) == 1 and later[0].wrapped_key is None
        again = Chat(app, str(PEOPLE[4]), channel="telegram")
        await again.send("/stop")  # the English command works; the answer shows the Vietnamese one
        assert "/dangky" in again.text
    finally:
        await app.close()


async def test_nothing_goes_out_in_quiet_hours(settings) -> None:
    now = utcnow().astimezone(settings.zone)
    start = (now - timedelta(hours=1)).strftime("%H:%M")
    end = (now + timedelta(hours=1)).strftime("%H:%M")
    app = await open_app(replace(no_quiet(settings), quiet_start=start, quiet_end=end))
    try:
        await ward_with_audience(app)
        async with app.services.db.transaction() as session:
            result = await planner.plan(session, app.services.settings, utcnow())
        assert result.planned and all(b.scheduled_at > utcnow() for b in result.planned)
        async with app.services.db.transaction() as session:  # even if one were due now
            for broadcast in result.planned:
                (await session.get(type(broadcast), broadcast.id)).scheduled_at = utcnow()
        await broadcast_tick(app.services)
        async with FakeTelegram(max_poll=0.5) as tg, running(channel(app, tg)):
            await asyncio.sleep(1.0)
        assert per_chat(tg) == Counter()
        assert (await statuses(app))[DeliveryStatus.PENDING] == len(PEOPLE) + 12
    finally:
        await app.close()


async def test_after_a_crash_the_next_start_resends_only_what_was_in_flight(settings) -> None:
    app = await open_app(no_quiet(settings))
    try:
        await ward_with_audience(app)
        await plan_and_start(app)
        async with FakeTelegram(max_poll=0.5) as tg:
            # A sender claimed ten messages, sent six, and was killed before writing back.
            crashed = channel(app, tg)
            async with app.services.db.transaction() as session:
                in_flight = await deliveries.claim(
                    session, app.services.vault, "telegram", utcnow(), 10
                )
            for job in in_flight[:6]:
                await crashed.send_once(job.route, Reply("Tin tuyên truyền (gửi dở)"))
            await crashed.close()
            async with running(channel(app, tg)):
                counts = await until_sent(app)
        received = per_chat(tg)
        total = len(PEOPLE) + 12
        assert counts == Counter({DeliveryStatus.SENT: total})
        assert len(received) == total  # nothing lost
        assert sum(received.values()) - total == 6  # duplicates: exactly those sent unrecorded
    finally:
        await app.close()


async def test_a_message_with_an_image_sends_the_picture_then_the_text(settings) -> None:
    app = await open_app(no_quiet(settings))
    picture = "https://example.org/posters/26-6.jpg"
    try:
        await ward_with_audience(app)
        async with app.services.db.transaction() as session:
            for message in (await session.scalars(select(AwarenessMessage))).all():
                message.image_url = picture
        assert await plan_and_start(app) == 12
        async with FakeTelegram(max_poll=0.5, enforce_limits=True) as tg:
            async with running(channel(app, tg)):
                counts = await until_sent(app)
        assert counts[DeliveryStatus.SENT] == 12 + len(PEOPLE)
        assert tg.rate_limited == 0  # picture and text paced as two sends to each chat
        by_chat: dict[int, list[str]] = {}
        for sent in tg.sent:
            by_chat.setdefault(sent["chat_id"], []).append(sent["method"])
        assert len(by_chat) == 12 + len(PEOPLE)
        assert all(methods == ["sendPhoto", "sendMessage"] for methods in by_chat.values())
        photos = [c for name, c in tg.calls if name == "sendPhoto"]
        assert {p["photo"] for p in photos} == {picture}
    finally:
        await app.close()


def test_zalo_sends_a_linked_image_as_a_photo_and_names_an_uploaded_file() -> None:
    from bot.channels.rendering import numbered_text
    from bot.channels.zalo import ZaloChannel
    from kernel.messages import Media

    parts = ZaloChannel.parts.__get__(object.__new__(ZaloChannel))  # no connection needed
    linked = Reply("", media=(Media("image", "image/jpeg", url="https://example.org/a.jpg"),))
    assert len(parts(linked)) == 1 and numbered_text(linked) == ""  # the photo alone
    uploaded = Reply("", media=(Media("image", "image/jpeg", data=b"\xff\xd8"),))
    assert len(parts(uploaded)) == 1 and "📎" in numbered_text(uploaded)  # named in text
