"""The report wizard, driven step by step as a resident would, on a channel without
buttons (typing option numbers) and with button presses."""

from __future__ import annotations

import asyncio
import dataclasses
import io

import pytest
from PIL import Image
from sqlalchemy import func, select

from bot.app import open_app
from kernel.messages import Attachment, ChannelInfo
from storage import tips
from storage.models import DraftFile, Drop, Tip, TipAttachment
from tests.helpers import RECEIPT, Chat, add_phu_lien, fill_report, group_id, mix_all, send_report

WHAT = "Có người bán ma túy đá ở ngõ 5, tối nào cũng tụ tập đông người"


@pytest.fixture
async def ward(app) -> int:
    return await add_phu_lien(app)


async def _tips(app) -> list[Tip]:
    """The tips stored, once the mixer has stored every one waiting."""
    await mix_all(app)
    async with app.services.db.transaction() as session:
        return list((await session.scalars(select(Tip).order_by(Tip.id))).all())


async def _walk_to_where(chat: Chat) -> None:
    await chat.send("/start")
    await chat.pick("Báo tin")
    assert chat.text == "Tin báo của bạn về việc gì?"
    await chat.pick("Mua bán, bán lẻ")
    assert "tổ dân phố nào" in chat.text
    await chat.send("dau son 1")
    assert "✓ Tổ dân phố: Đẩu Sơn 1" in chat.text
    assert "Sự việc ở đâu?" in chat.text


async def test_full_report_in_vietnamese_by_numbers(app, ward) -> None:
    chat = Chat(app, "an")
    await _walk_to_where(chat)
    await chat.send("ngõ 5 phố Đẩu Sơn, gần chợ")
    assert chat.text == "Sự việc xảy ra khi nào?"
    await chat.pick("Trong ngày hôm nay")
    assert "Sự việc thế nào?" in chat.text
    await chat.send(WHAT)
    await chat.pick("Tiếp tục")
    assert "ảnh hoặc tệp PDF" in chat.text
    await chat.pick("Không gửi tệp")
    assert "hỏi thêm" in chat.text
    await chat.pick("Đồng ý")
    summary = chat.text
    for expected in (
        "Mua bán, bán lẻ ma túy",
        "Đẩu Sơn 1",
        "ngõ 5 phố Đẩu Sơn",
        WHAT,
        "Trong ngày hôm nay",
    ):
        assert expected in summary
    assert await _tips(app) == []  # nothing is sent before the resident confirms
    await chat.pick("Gửi")
    receipt = RECEIPT.search(chat.text)
    assert receipt, chat.text
    assert f"/kiemtra {receipt['code']} {receipt['secret']}" in chat.text
    # The console cannot delete messages: it says how to do it by hand.
    assert "xóa cuộc trò chuyện này khỏi điện thoại" in chat.text

    [tip] = await _tips(app)
    assert tip.code == receipt["code"] and tip.ward_id == ward
    assert tip.group_id == await group_id(app, "Đẩu Sơn 1")
    assert (tip.category, tip.status, tip.urgent, tip.language) == ("dealing", "new", False, "vi")
    assert tip.sealed_route is not None
    content = tips.read_content(app.services.vault, tip)
    assert content["what"] == WHAT and content["when"] == "today"
    assert receipt["secret"].encode() not in (tip.secret_hash or b"")


async def test_english_flow_with_buttons(app, ward) -> None:
    chat = Chat(app, "binh", language_hint="en-US")
    await chat.send("/start")
    assert chat.text.startswith("Hello!")
    await chat.send(action="report:start")
    await chat.send(action="report:cat:growing")
    await chat.send(action="report:grp:none")
    await chat.send(action="report:where-skip")
    await chat.send(action="report:when:earlier")
    await chat.send("my neighbour grows cannabis on his roof behind the temple")
    await chat.send(action="report:what-done")
    await chat.send(action="report:files-done")
    await chat.send(action="report:contact:no")
    assert "Residential group: not known" in chat.text
    assert "Follow-up questions: not allowed" in chat.text
    await chat.send(action="report:send")
    assert "Your tip has been received" in chat.text
    [tip] = await _tips(app)
    assert tip.group_id is None and tip.sealed_route is None  # "do not contact me"
    assert tip.language == "en" and tip.priority == 3  # before today: a low first guess


async def test_typing_english_switches_the_replies(app, ward) -> None:
    chat = Chat(app, "chi")
    await chat.send("/start")
    await chat.pick("Báo tin")
    await chat.pick("Mua bán, bán lẻ")
    await chat.send("nam hai")
    await chat.send("the karaoke bar at the end of the street, next to the school")
    assert chat.text == "When did it happen?"


async def test_back_keeps_answers_and_cancel_deletes_the_draft(app, ward) -> None:
    chat = Chat(app, "dung")
    await chat.send("/start")
    await chat.pick("Báo tin")
    await chat.pick("Quay lại")  # back from the first step asks before leaving
    assert "Thoát khỏi tin báo này?" in chat.text
    await chat.pick("Không, tiếp tục")
    assert chat.text == "Tin báo của bạn về việc gì?"
    await _walk_to_where(chat)
    await chat.pick("Quay lại")
    assert "tổ dân phố nào" in chat.text
    await chat.send("nam hai")
    await chat.send("đầu ngõ 12")
    await chat.pick("Đang diễn ra")
    await chat.send(WHAT)
    await chat.pick("Tiếp tục")
    await chat.pick("Không gửi tệp")
    await chat.pick("Đồng ý")
    await chat.pick("Quay lại")
    assert "hỏi thêm" in chat.text
    await chat.pick("Đồng ý")
    assert "Nam Hải" in chat.text and WHAT in chat.text  # nothing lost going back
    await chat.pick("Hủy")
    assert "Hủy tin báo này?" in chat.text
    await chat.pick("Không, tiếp tục")
    assert "kiểm tra lại tin báo" in chat.text
    await chat.pick("Hủy")
    await chat.pick("Có, xóa đi")
    assert "Tin báo đã được xóa" in chat.text
    assert await _tips(app) == []
    await chat.send(action="report:send")  # a stale button after cancelling
    assert await _tips(app) == []


async def test_restart_mid_wizard_resumes_the_draft(settings, ward_settings) -> None:
    first = await open_app(settings)
    chat = Chat(first, "em")
    await _walk_to_where(chat)
    await chat.send("ngõ 7")
    await chat.pick("Đang diễn ra")
    await chat.send(WHAT)
    await first.close()

    second = await open_app(settings)
    try:
        chat = Chat(second, "em")
        await chat.send("thêm: có cả xe máy biển số 15B1")
        assert "Đã ghi nhận" in chat.text
        await chat.pick("Tiếp tục")
        await chat.pick("Không gửi tệp")
        await chat.pick("Không, đừng liên hệ")
        await chat.pick("Gửi")
        [tip] = await _tips(second)
        assert tips.read_content(second.services.vault, tip)["what"] == (
            WHAT + "\nthêm: có cả xe máy biển số 15B1"
        )
        # A report started again after /start offers the unfinished draft, not a new one.
        await chat.send("/start")
        await chat.pick("Báo tin")
        assert chat.text == "Tin báo của bạn về việc gì?"
    finally:
        await second.close()


@pytest.fixture
async def ward_settings(settings):
    app = await open_app(settings)
    try:
        await add_phu_lien(app)
    finally:
        await app.close()
    return settings


async def test_danger_now_shows_113_first_and_marks_urgent(app, ward) -> None:
    chat = Chat(app, "giang")
    await chat.send("/start")
    replies = await chat.pick("Đang nguy hiểm")
    assert replies[0].text.startswith("🚨 Nếu có người đang gặp nguy hiểm, xin gọi ngay 113.")
    assert "tổ dân phố" in replies[-1].text
    await chat.send("to 9")
    await chat.send("đầu ngõ chợ cá")
    assert "Sự việc thế nào?" in chat.text  # "when" is already known: now
    await chat.send("một người ngáo đá cầm dao đang la hét")
    await chat.pick("Tiếp tục")
    await chat.pick("Không gửi tệp")
    await chat.pick("Đồng ý")
    await chat.pick("Gửi")
    [tip] = await _tips(app)
    assert tip.urgent and tip.category == "danger" and tip.priority == 1
    assert set(tips.read_content(app.services.vault, tip)["hint_reasons"]) >= {"weapon", "violence"}


async def test_danger_category_from_the_list_also_shows_113_first(app, ward) -> None:
    chat = Chat(app, "hoa")
    await chat.send("/start")
    await chat.pick("Báo tin")
    replies = await chat.pick("Có người đang gặp nguy hiểm")
    assert "113" in replies[0].text and "tổ dân phố" in replies[-1].text


async def test_poster_deep_link_preselects_the_group(app, ward) -> None:
    chat = Chat(app, "khanh")
    await chat.send(f"/start g{await group_id(app, 'Lệ Tảo 2')}")
    await chat.pick("Báo tin")
    await chat.pick("Sử dụng trái phép")
    assert "tổ dân phố Lệ Tảo 2 phải không?" in chat.text
    await chat.pick("Đúng")
    assert "✓ Tổ dân phố: Lệ Tảo 2" in chat.text
    await chat.send("/start g999999")  # an unknown group is ignored, not an error
    assert "Xin chào" in chat.text


async def test_group_matching_accents_typos_and_ambiguity(app, ward) -> None:
    chat = Chat(app, "lan")
    await chat.send("/start")
    await chat.pick("Báo tin")
    await chat.pick("Mua bán, bán lẻ")
    await chat.send("le tao")
    assert chat.text == "Bạn muốn chọn tổ nào?"
    assert chat.options()[:2] == ["Lệ Tảo 1", "Lệ Tảo 2"]
    await chat.pick("Không phải các tổ này")
    await chat.send("dau sonn 1")  # a typo
    assert "✓ Tổ dân phố: Đẩu Sơn 1" in chat.text
    await chat.pick("Quay lại")
    await chat.send("xyzzy")
    assert "không tìm thấy tổ dân phố nào tên “xyzzy”" in chat.text
    await chat.pick("Xem danh sách")
    assert "trang 1/2" in chat.text
    await chat.pick("Trang sau")
    assert "trang 2/2" in chat.text
    assert chat.options()[:4] == ["Nam Hải", "Quy Tức 1", "Tổ 6", "Tổ 9"]  # Đ sorts with D
    await chat.pick("Quy Tức 1")
    assert "✓ Tổ dân phố: Quy Tức 1" in chat.text


async def test_rate_limit_is_per_account_and_polite(settings, tmp_path) -> None:
    limited = dataclasses.replace(settings, tips_per_hour=2, tips_per_day=3)
    app = await open_app(limited)
    try:
        await add_phu_lien(app)
        chat = Chat(app, "minh")
        for _ in range(2):
            await send_report(chat, "nhóm thanh niên tụ tập hút ở bãi đất trống")
        await chat.send("/start")
        await chat.pick("Báo tin")
        assert "đợi khoảng" in chat.text and "113" in chat.text
        assert len(await _tips(app)) == 2
        other = Chat(app, "ngoc")
        await send_report(other, "nhóm thanh niên tụ tập hút ở bãi đất trống")
        assert len(await _tips(app)) == 3
    finally:
        await app.close()


async def test_long_and_odd_input_is_answered_and_nothing_is_lost(app, ward) -> None:
    chat = Chat(app, "oanh")
    await _walk_to_where(chat)
    await chat.send("x" * 4001)
    assert "dài quá 4000 ký tự" in chat.text
    for odd in ("", "   "):
        await chat.send(odd)
        assert "Tin nhắn trống" in chat.text
    await chat.send(attachments=(Attachment("sticker"),))
    assert "gõ chữ" in chat.text
    await chat.send(attachments=(Attachment("voice"),))
    assert "giọng nói có thể làm lộ danh tính" in chat.text
    await chat.send("ngõ 3 \u200b\u202e đường ‮Lạch Tray 🙂")
    await chat.pick("Trong ngày hôm nay")
    long_text = "Tôi thấy " + "a" * 9000
    await chat.send(long_text)
    assert "Tôi đã lưu toàn bộ" in chat.text
    await chat.send("b" * 7500)
    assert "không thêm được" in chat.text
    await chat.pick("Tiếp tục")
    await chat.pick("Không gửi tệp")
    await chat.pick("Đồng ý")
    assert "và 7509 ký tự nữa" in chat.text  # the summary is shortened, the text is not
    await chat.pick("Gửi")
    [tip] = await _tips(app)
    assert tips.read_content(app.services.vault, tip)["what"] == long_text


def _photo_with_gps(marker: str) -> bytes:
    image = Image.new("RGB", (64, 48), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = marker  # camera make
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (20.0, 51.0, 30.0)
    gps[3], gps[4] = "E", (106.0, 41.0, 12.0)
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


async def test_photos_are_scrubbed_limited_and_survive_in_the_draft(
    app, ward, tmp_path, caplog
) -> None:
    import logging

    caplog.set_level(logging.DEBUG)
    marker = "CameraSerial-7731"
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(_photo_with_gps(marker))
    assert marker.encode() in photo.read_bytes()
    text_file = tmp_path / "notes.txt"
    text_file.write_text("not an image")
    fetch_paths = {"photo": photo, "text": text_file}

    async def fetch(attachment: Attachment) -> bytes:
        return fetch_paths[attachment.file_ref].read_bytes()

    app.dispatcher.register_channel(ChannelInfo("console", fetch=fetch))
    chat = Chat(app, "phuong")
    await _walk_to_where(chat)
    await chat.send(location=(20.85, 106.68))
    assert "Đã nhận vị trí" in chat.text and chat.text.endswith("Sự việc xảy ra khi nào?")
    await chat.pick("Đang diễn ra")
    await chat.send(WHAT)
    await chat.send(location=(20.851, 106.682))  # a pin sent later replaces the first
    assert "Đã nhận vị trí" in chat.text and "Đã ghi nhận" not in chat.text
    await chat.pick("Tiếp tục")
    await chat.send(attachments=(Attachment("document", "text", "text/plain", 12),))
    assert "chỉ nhận ảnh (JPEG, PNG, WebP) và tệp PDF" in chat.text
    await chat.send(attachments=(Attachment("photo", "photo", "", 20 * 1024 * 1024 + 1),))
    assert "Tệp quá lớn" in chat.text
    for number in range(1, 6):
        await chat.send(attachments=(Attachment("photo", "photo", "image/jpeg", 1000),))
        assert f"Đã nhận tệp thứ {number}" in chat.text
    await chat.send(attachments=(Attachment("photo", "photo", "image/jpeg", 1000),))
    assert "đã gửi 5 tệp" in chat.text
    async with app.services.db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(DraftFile)) == 5
    await chat.pick("Xong")
    await chat.pick("Đồng ý")
    assert "Tệp đính kèm: 5" in chat.text
    await chat.pick("Gửi")
    [tip] = await _tips(app)
    async with app.services.db.transaction() as session:
        stored = await tips.read_attachments(session, app.services.vault, tip)
        assert await session.scalar(select(func.count()).select_from(DraftFile)) == 0
        assert await session.scalar(select(func.count()).select_from(TipAttachment)) == 5
    assert len(stored) == 5
    for item in stored:
        assert item.mime_type == "image/jpeg"
        assert marker.encode() not in item.data
        assert not Image.open(io.BytesIO(item.data)).getexif()
    assert tips.read_content(app.services.vault, tip)["location"] == [20.851, 106.682]
    assert marker not in caplog.text  # Pillow would log EXIF values at DEBUG


@pytest.mark.parametrize("noted", ["at stop", "in time"])
async def test_sent_ids_a_chat_does_not_follow_up_are_noted_before_a_restart(
    settings, ward_settings, noted
) -> None:
    fakegram = ChannelInfo("fakegram", can_delete_messages=True)
    first = await open_app(settings)
    try:
        first.dispatcher.register_channel(fakegram)
        chat = Chat(first, "quang", channel="fakegram")
        await chat.send("/start")
        await chat.send(action="report:start")
        first.dispatcher.note_seconds = 0.05
        await first.dispatcher.record_sent(chat.route, ["bot-1"])
        other = Chat(first, "lan", channel="fakegram")
        await first.dispatcher.record_sent(other.route, ["bot-7"])
        if noted == "at stop":  # as channels do when they stop, all at once
            await asyncio.gather(*(first.dispatcher.write_notes() for _ in range(3)))
        else:  # the chat's next message does not come in time
            await asyncio.sleep(0.5)
    finally:
        await first.close()
    second = await open_app(settings)
    try:
        second.dispatcher.register_channel(fakegram)
        chat = Chat(second, "quang", channel="fakegram")
        for action in (
            "report:cat:use",
            "report:grp:none",
            "report:where-skip",
            "report:when:today",
        ):
            await chat.send(action=action)
        await chat.send("có người hút ở sau nhà văn hóa")
        for action in ("report:what-done", "report:files-done", "report:contact:no", "report:send"):
            await chat.send(action=action)
        await chat.pick("Xóa cuộc trò chuyện")
        assert "bot-1" in chat.deleted
    finally:
        await second.close()


async def test_trace_cleanup_deletes_both_sides_where_the_channel_can(app, ward) -> None:
    app.dispatcher.register_channel(ChannelInfo("fakegram", can_delete_messages=True))
    chat = Chat(app, "quang", channel="fakegram")
    await chat.send("/start")
    await chat.send(action="report:start")
    first_traced = chat.last_message_id
    await app.dispatcher.record_sent(chat.route, ["bot-1", "bot-2"])
    await chat.send(action="report:cat:use")
    await chat.send(action="report:grp:none")
    await chat.send(action="report:where-skip")
    await chat.send(action="report:when:today")
    await chat.send("có người hút ở sau nhà văn hóa")
    await chat.send(action="report:what-done")
    await chat.send(action="report:files-done")
    await chat.send(action="report:contact:no")
    await chat.send(action="report:send")
    assert "tôi có thể xóa cuộc trò chuyện này" in chat.text
    await chat.pick("Xóa cuộc trò chuyện")
    expected = {str(i) for i in range(first_traced, chat.last_message_id + 1)} | {"bot-1", "bot-2"}
    assert set(chat.deleted) == expected
    assert f"Đã xóa {len(expected)} tin nhắn" in chat.text
    await app.dispatcher.record_sent(chat.route, ["bot-3"])  # tracing has stopped
    await chat.send("/start")
    assert chat.deleted == []


async def test_resident_commands_in_a_group_only_point_to_a_private_chat(app, ward) -> None:
    from kernel.messages import ChatKind

    group = Chat(app, "777", kind=ChatKind.GROUP, chat_id="-100123")
    for text in ("/report", "/status ABCDEFG AAAA-BBBB-CCCC-DDDD", "/danger"):
        await group.send(text)
        assert group.text == "Để trao đổi với Công an phường, bạn vui lòng nhắn tin riêng cho bot."
    await group.send(action="report:start")
    assert group.last == []
    assert await _tips(app) == []


async def test_no_ward_configured_is_explained(app) -> None:
    chat = Chat(app, "rong")
    await chat.send("/start")
    await chat.pick("Báo tin")
    assert "chưa được thiết lập cho phường nào" in chat.text and "113" in chat.text


async def test_no_receipt_unless_the_tip_was_committed(app, ward) -> None:
    """A failing commit (disk full, database gone) must not show a receipt, and the
    draft must survive for another try."""
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    chat = Chat(app, "son")
    await fill_report(chat, WHAT)

    def mark(session: Session, _flush) -> None:  # type: ignore[no-untyped-def]
        if any(isinstance(obj, Drop) for obj in session.new):
            session.info["wrote_drop"] = True

    def fail(session: Session) -> None:
        if session.info.pop("wrote_drop", False):
            raise OSError("disk full")

    event.listen(Session, "before_flush", mark)
    event.listen(Session, "before_commit", fail)
    try:
        await chat.send(action="report:send")
    finally:
        event.remove(Session, "before_commit", fail)
        event.remove(Session, "before_flush", mark)
    assert "Mã tin" not in chat.text
    assert "hệ thống vừa gặp sự cố" in chat.text and "không bị mất" in chat.text
    assert await _tips(app) == []
    await chat.send(action="report:send")  # the draft is still at the confirm step
    assert RECEIPT.search(chat.text)
    assert len(await _tips(app)) == 1


def test_triage_hints_raise_for_weapons_children_and_now() -> None:
    from kernel.hints import LOW, NORMAL, URGENT, suggest

    assert suggest("dealing", "today", "ban hang o goc pho").priority == NORMAL
    assert suggest("dealing", "earlier", "ban hang o goc pho").priority == LOW
    assert suggest("dealing", "today", "Bán cho học sinh trước cổng trường").priority == URGENT
    hint = suggest("use", "now", "co thang cam DAO dang do")
    assert hint.priority == URGENT and "weapon" in hint.reasons
    assert suggest("other", "earlier", "a man with a knife").priority == URGENT
    assert suggest("use", "earlier", "", urgent=True).priority == URGENT
    assert suggest("disguised", "earlier", "keo la").reasons == ("children",)
