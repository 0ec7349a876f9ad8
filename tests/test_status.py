"""Checking a tip with its receipt, and the anonymous two-way contact."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.app import open_app
from bot.channels import console
from bot.jobs import retention_tick
from handlers.flows import UnlockedTip
from handlers.resident.status import ask_reporter
from kernel.clock import utcnow
from notices import tell_reporter
from storage import tips
from storage.models import OutboxMessage, Tip, TipStatus
from tests.helpers import (
    Chat,
    add_phu_lien,
    leaks,
    mix_all,
    needles,
    raw_database_bytes,
    send_report,
)

WHAT = "Nhà số 12 ngõ 5 có người lạ ra vào lúc nửa đêm"


async def _report(chat: Chat, *, contact: bool = True, what: str = WHAT) -> tuple[str, str]:
    return await send_report(chat, what, category="venue", contact=contact)


async def _tip(app, code: str) -> Tip:
    async with app.services.db.transaction() as session:
        return (await session.scalars(select(Tip).where(Tip.code == code))).one()


@pytest.fixture
async def ward(app) -> int:
    return await add_phu_lien(app)


async def test_status_from_another_account_with_code_and_secret(app, ward) -> None:
    code, secret = await _report(Chat(app, "an"))
    other = Chat(app, "someone-else")
    await other.send(f"/status {code} {secret.lower().replace('-', ' ')}")
    assert f"Tin {code}" in other.text
    assert "đã nhận, đang chờ tiếp nhận" in other.text
    await other.send("/status")
    for _ in range(3):  # random-looking codes must never switch the reply language
        await other.send(f"{code} {secret}")
        assert f"Tin {code}" in other.text


async def test_a_receipt_of_the_old_slow_scheme_still_opens_its_tip(app, ward) -> None:
    code, secret = await _report(Chat(app, "an"))
    # As versions before keyed hashes stored it: scrypt, salted by a keyed hash of the code.
    key = app.services.vault.keyring.derived_key("receipt")
    salt = hmac.new(key, code.encode(), hashlib.sha256).digest()
    old = hashlib.scrypt(secret.replace("-", "").encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    async with app.services.db.transaction() as session:
        (await session.scalars(select(Tip).where(Tip.code == code))).one().secret_hash = old
    guesser = Chat(app, "guesser")
    await guesser.send(f"/status {code} AAAA-BBBB-CCCC-DDDD")
    assert "chưa đúng" in guesser.text
    assert (await _tip(app, code)).secret_hash == old
    other = Chat(app, "someone-else")
    await other.send(f"/status {code} {secret}")
    assert f"Tin {code}" in other.text
    upgraded = (await _tip(app, code)).secret_hash
    assert upgraded != old and app.services.receipts.hash(code, secret) == upgraded
    await other.send("/status")
    await other.send(f"{code} {secret}")
    assert f"Tin {code}" in other.text


async def test_wrong_secret_does_not_say_whether_the_code_exists(app, ward) -> None:
    code, _secret = await _report(Chat(app, "an"))
    guesser = Chat(app, "guesser")
    await guesser.send(f"/status {code} AAAA-BBBB-CCCC-DDDD")
    wrong_secret = guesser.text
    await guesser.send("/status ZZZZZZZ AAAA-BBBB-CCCC-DDDD")
    assert guesser.text == wrong_secret
    await guesser.send("/status nonsense")
    assert guesser.text == wrong_secret
    assert "Mã tin hoặc mã bí mật chưa đúng" in wrong_secret


async def test_repeated_guesses_are_slowed_down(settings) -> None:
    app = await open_app(dataclasses.replace(settings, status_failures_per_hour=3))
    try:
        await add_phu_lien(app)
        code, secret = await _report(Chat(app, "an"))
        guesser = Chat(app, "guesser")
        for _ in range(3):
            await guesser.send(f"/status {code} AAAA-BBBB-CCCC-DDDD")
            assert "chưa đúng" in guesser.text
        await guesser.send(f"/status {code} {secret}")  # even the right secret must wait
        assert "Bạn đã nhập sai quá nhiều lần" in guesser.text
        owner = Chat(app, "owner-on-another-phone")
        await owner.send(f"/status {code} {secret}")
        assert f"Tin {code}" in owner.text
    finally:
        await app.close()


async def test_question_and_answer_both_ways_without_identifiers(app, ward) -> None:
    reporter = Chat(app, "reporter-console-name")
    code, secret = await _report(reporter)
    question = "Người đó thường đi xe gì, màu gì?"
    async with app.services.db.transaction() as session:
        tip = (await session.scalars(select(Tip).where(Tip.code == code))).one()
        assert await ask_reporter(session, app.services, tip, question, officer_id=None)
    async with app.services.db.transaction() as session:
        assert await tell_reporter(session, app.services, tip)

    # The reporter's console shows the notice before the next prompt; it names nothing.
    out = io.StringIO()
    await console.chat(app.dispatcher, "reporter-console-name", stdin=io.StringIO(""), stdout=out)
    notice = out.getvalue()
    assert "Bạn có tin nhắn mới" in notice
    assert code not in notice and question not in notice
    async with app.services.db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(OutboxMessage)) == 0

    await reporter.send(f"/status {code} {secret}")
    assert f"Công an hỏi: {question}" in reporter.text
    await reporter.pick("Trả lời Công an")
    assert question in reporter.text
    await reporter.send("Xe Wave màu đỏ, biển số 15B1")
    assert "đang được chuyển tới Công an" in reporter.text
    assert "Bạn trả lời: Xe Wave màu đỏ" not in reporter.text  # it waits for the mixer
    await mix_all(app)
    await reporter.pick("Bổ sung thông tin")
    await reporter.send("Thường đến lúc 23 giờ")
    assert "Bạn trả lời: Xe Wave màu đỏ" in reporter.text
    await mix_all(app)
    await reporter.send(action="status:view")
    assert "Bạn bổ sung: Thường đến lúc 23 giờ" in reporter.text

    # What the police side reads: the answer, linked to the question, and no account.
    async with app.services.db.transaction() as session:
        tip = (await session.scalars(select(Tip).where(Tip.code == code))).one()
        entries = await tips.timeline(session, app.services.vault, tip)
    answer = next(e for e in entries if e.kind == "answer")
    asked = next(e for e in entries if e.kind == "question")
    assert answer.reply_to_id == asked.id and answer.text == "Xe Wave màu đỏ, biển số 15B1"
    assert all("reporter-console-name" not in (e.text or "") for e in entries)


async def test_do_not_contact_deletes_the_route_at_once(app, ward) -> None:
    reporter = Chat(app, "an")
    code, secret = await _report(reporter)
    assert (await _tip(app, code)).sealed_route is not None
    await reporter.send(f"/status {code} {secret}")
    await reporter.pick("Dừng mọi liên hệ")
    await reporter.pick("Có, dừng liên hệ")
    assert "sẽ bị xóa trong vòng một phút" in reporter.text
    await mix_all(app)  # an urgent drop: stored within the minute
    tip = await _tip(app, code)
    assert tip.sealed_route is None
    async with app.services.db.transaction() as session:
        tip = await session.get(Tip, tip.id)
        assert not await ask_reporter(
            session, app.services, tip, "Còn ở đó không?", officer_id=None
        )
        assert await session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


async def test_closed_tip_shows_its_outcome_and_takes_no_additions(app, ward) -> None:
    reporter = Chat(app, "an")
    code, secret = await _report(reporter)
    async with app.services.db.transaction() as session:
        tip = (await session.scalars(select(Tip).where(Tip.code == code))).one()
        await tips.add_event(
            session, app.services.vault, tip, "reply", body="Đã kiểm tra, cảm ơn bạn."
        )
        await tips.add_event(session, app.services.vault, tip, "status", to_status=TipStatus.CLOSED)
        tip.outcome, tip.closed_at = "confirmed", utcnow()
    await reporter.send(f"/status {code} {secret}")
    assert "Tình trạng: đã kết thúc: thông tin chính xác, đã xử lý" in reporter.text
    assert "Công an: Đã kiểm tra, cảm ơn bạn." in reporter.text
    assert "Bổ sung thông tin" not in reporter.options()


async def test_retention_destroys_closed_tips_for_good(app, ward, settings) -> None:
    code, _secret = await _report(
        Chat(app, "an"), what="Có người trồng cần sa sau nhà văn hóa tổ 9"
    )
    async with app.services.db.transaction() as session:
        tip = (await session.scalars(select(Tip).where(Tip.code == code))).one()
        old_key, old_content = tip.wrapped_key, tip.sealed_content
        tip.status, tip.outcome = TipStatus.CLOSED, "unfounded"
        tip.closed_at = utcnow() - timedelta(days=settings.retention_days + 1)
    assert await retention_tick(app.services) == 1
    tip = await _tip(app, code)
    assert tip.wrapped_key is None and tip.sealed_content is None
    with pytest.raises(tips.TipShredded):
        tips.read_content(app.services.vault, tip)
    # Even a backup of the old ciphertext is useless now: its data key is gone, and
    # on SQLite (secure_delete) the old wrapped key's bytes are gone from the file.
    assert old_content and old_key
    assert await retention_tick(app.services) == 0  # idempotent
    if settings.database_url.startswith("sqlite"):
        await app.close()  # the last connection checkpoints the write-ahead log
        raw = await raw_database_bytes(settings.database_url)
        assert old_key not in raw and old_content not in raw


async def test_raw_bytes_after_the_full_flow(app, ward, settings, caplog) -> None:
    import logging

    caplog.set_level(logging.DEBUG)
    name = "Trần Thị Hạnh 0912345678"
    what = "Quán nước đầu ngõ 41 bán thuốc lắc cho học sinh lớp 9"
    reporter = Chat(app, name)
    code, secret = await _report(reporter, what=what)
    async with app.services.db.transaction() as session:
        tip = (await session.scalars(select(Tip).where(Tip.code == code))).one()
        await ask_reporter(session, app.services, tip, "Quán tên là gì?", officer_id=None)
    async with app.services.db.transaction() as session:
        await tell_reporter(session, app.services, tip)
    await reporter.send(f"/status {code} {secret}")
    await reporter.pick("Trả lời Công an")
    await reporter.send("Quán Hương Sen, bà chủ tên Lý")
    await app.close()
    raw = await raw_database_bytes(settings.database_url)
    secrets_used = needles(
        name=name,
        what=what,
        secret=secret,
        answer="Quán Hương Sen, bà chủ tên Lý",
        question="Quán tên là gì?",
    )
    assert leaks(raw, secrets_used) == []
    assert leaks(caplog.text.encode(), secrets_used) == []


async def test_language_is_detected_only_where_people_write_prose(app, ward) -> None:
    chat = Chat(app, "visitor")
    await chat.send("/status")
    await chat.send("the code is on my other phone sorry")  # not prose: a receipt step
    assert "Mã tin hoặc mã bí mật chưa đúng" in chat.text
    code, _secret = await _report(chat)
    await chat.send("/status")
    await chat.send("I have lost my secret code, can you help me")
    assert "Mã tin hoặc mã bí mật chưa đúng" in chat.text
    await chat.send("/start")
    await chat.send("I want to tell you about people selling drugs near the market")
    assert "did not understand" in chat.text  # free writing at the menu is detected
    assert code


async def test_an_unlocked_tip_locks_again_after_half_an_hour(app, ward) -> None:
    reporter = Chat(app, "an")
    code, secret = await _report(reporter)
    await reporter.send(f"/status {code} {secret}")
    assert f"Tin {code}" in reporter.text
    async with app.services.db.transaction() as session:  # half an hour passes
        from storage import conversations

        account = app.services.pseudonyms.of("conversation", "console", "an")
        stored = await conversations.load(session, app.services.vault, account)
        assert stored.state.data[UnlockedTip.KEY]
        stored.state.expires[UnlockedTip.KEY] = (utcnow() - timedelta(seconds=1)).isoformat()
        await conversations.save(session, app.services.vault, stored)
    await reporter.send(action="status:view")
    assert f"Tin {code}" not in reporter.text and "mã tin và mã bí mật" in reporter.text
    await reporter.send(action="status:add")
    assert "Bổ sung" not in reporter.text
