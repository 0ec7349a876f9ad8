"""A resident's file is fetched and cleaned outside every transaction, in a worker process
with limits; other chats are answered meanwhile; an update cut off half-way is refused,
not run again; an update delivered twice is answered once."""

from __future__ import annotations

import asyncio
import io
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from kernel.messages import Attachment, ChannelInfo, Inbound
from storage import conversations
from storage.attachments import AttachmentRejected, RejectReason
from storage.models import DraftFile
from storage.sandbox import FileSandbox, SandboxLimits
from tests.channels import running, until
from tests.fakes.telegram_bot_api import FakeTelegram
from tests.helpers import Chat, add_phu_lien, walk_to_files
from tests.test_channel_telegram import RESIDENT, sent_to, tg_channel
from tests.test_channel_telegram import walk_to_files as tg_walk_to_files


def _jpeg(size: tuple[int, int] = (64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, "JPEG")
    return out.getvalue()


def _big_png(side: int) -> bytes:
    """Few bytes on the wire, side x side pixels once decoded."""
    out = io.BytesIO()
    Image.new("RGB", (side, side), (10, 120, 40)).save(out, "PNG")
    return out.getvalue()


async def _to_files_step(chat: Chat) -> None:
    await walk_to_files(chat, "có người bán hàng đêm qua", category="dealing")


async def _draft_files(app) -> int:
    async with app.services.db.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(DraftFile)) or 0)


def _vi(app, message: str) -> str:
    return app.services.translator.get("vi").gettext(message)


# ---- the sandbox ---------------------------------------------------------------------


def _peak_mb() -> float:
    """This process's peak resident memory since `_reset_peak` (VmHWM, Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM in /proc/self/status")


def _reset_peak() -> None:
    """The peak so far is other tests' (the whole session runs in this process)."""
    Path("/proc/self/clear_refs").write_text("5")


async def test_the_sandbox_cleans_in_another_process_and_refuses_what_exceeds_its_limits():
    sandbox = FileSandbox(SandboxLimits(memory_mb=1024, wall_seconds=30))
    big = _big_png(7000)  # made here, before the peak is measured: it is small compressed
    _reset_peak()
    before = _peak_mb()
    try:
        clean = await sandbox.clean(_jpeg())
        assert clean.mime_type == "image/jpeg"
        # Decoding 7000x7000 pixels needs more than 300 MB: the worker dies, not the bot.
        small = FileSandbox(SandboxLimits(memory_mb=300))
        try:
            with pytest.raises(AttachmentRejected) as refused:
                await small.clean(big)
            assert refused.value.reason is RejectReason.TOO_COMPLEX
        finally:
            small.close()
        # A file that takes longer than the wall clock allows is refused, and the worker
        # is killed: the next file is cleaned by a fresh one.
        hurried = FileSandbox(SandboxLimits(wall_seconds=0.2))
        try:
            with pytest.raises(AttachmentRejected) as refused:
                await hurried.clean(big)
            assert refused.value.reason is RejectReason.TOO_COMPLEX
            assert (await hurried.clean(_jpeg())).kind == "image"
        finally:
            hurried.close()
        # The bot's own process never held the decoded pixels (7000 x 7000 x 4 bytes,
        # 187 MB, at least once each for the two big PNGs).
        grown = _peak_mb() - before
        assert grown < 100, f"the test process grew by {grown:.0f} MB"
    finally:
        sandbox.close()


async def test_a_file_a_parser_fails_on_is_logged_by_type_and_place(caplog) -> None:
    sandbox = FileSandbox(SandboxLimits(wall_seconds=30))
    truncated = _jpeg((640, 480))[:-400]
    try:
        with (
            caplog.at_level("INFO", logger="storage.sandbox"),
            pytest.raises(AttachmentRejected) as refused,
        ):
            await sandbox.clean(truncated)
    finally:
        sandbox.close()
    assert refused.value.reason is RejectReason.UNREADABLE
    lines = [r.getMessage() for r in caplog.records if r.name == "storage.sandbox"]
    assert lines == [f"a file was refused as damaged: {refused.value.where}"]
    assert lines[0].startswith("a file was refused as damaged: OSError at ")


async def test_a_full_queue_is_refused_at_once_rather_than_waited_for():
    sandbox = FileSandbox(SandboxLimits(workers=1, max_waiting=1, wall_seconds=30))
    try:
        slow = asyncio.create_task(sandbox.clean(_big_png(7000)))
        await asyncio.sleep(0)  # the first file holds the only place
        with pytest.raises(AttachmentRejected) as refused:
            await sandbox.clean(_jpeg())
        assert refused.value.reason is RejectReason.BUSY
        await slow
    finally:
        sandbox.close()


# ---- in the conversation ---------------------------------------------------------------


async def test_a_slow_file_holds_no_transaction_and_no_other_chat(app) -> None:
    await add_phu_lien(app)
    started, release = asyncio.Event(), asyncio.Event()

    async def slow_fetch(attachment: Attachment) -> bytes:
        started.set()
        await release.wait()  # a platform taking its time, or a hostile file
        return _jpeg()

    app.dispatcher.register_channel(ChannelInfo("slowgram", fetch=slow_fetch))
    sender = Chat(app, "an", channel="slowgram")
    await _to_files_step(sender)
    sending = asyncio.create_task(sender.send(attachments=(Attachment("photo", "f1", "", 9),)))
    await asyncio.wait_for(started.wait(), 10)
    # While the file is on its way, another resident goes through the wizard: every one
    # of these commits (on SQLite too, whose writer lock the file does not hold).
    other = Chat(app, "binh")
    await asyncio.wait_for(_to_files_step(other), 20)
    assert _vi(app, "You may send photos or PDF files") in other.text or other.options()
    release.set()
    await asyncio.wait_for(sending, 20)
    assert _vi(app, "✓ File {number} received; hidden data removed.").format(number=1) in (
        sender.text
    )
    assert await _draft_files(app) == 1


async def test_an_update_cut_off_while_its_file_was_cleaned_is_refused_when_it_comes_again(
    app,
) -> None:
    await add_phu_lien(app)
    never = asyncio.Event()

    async def stuck_fetch(attachment: Attachment) -> bytes:
        await never.wait()
        return b""

    app.dispatcher.register_channel(ChannelInfo("stuckgram", fetch=stuck_fetch))
    chat = Chat(app, "cuong", channel="stuckgram")
    await _to_files_step(chat)
    photo = Inbound(
        chat.route, text="", attachments=(Attachment("photo", "f1", "", 9),), update_id="77001"
    )
    handling = asyncio.create_task(app.dispatcher.handle(photo))
    await asyncio.sleep(0.5)
    handling.cancel()  # the process dies while the file is being cleaned
    with pytest.raises(asyncio.CancelledError):
        await handling
    # The platform delivers the same update again: refused, not run blindly.
    again = await app.dispatcher.handle(photo)
    unfinished = _vi(
        app,
        "Sorry, I could not finish checking the file you sent, so it was not kept. "
        "Please send it again, or another one; what you sent before is safe.",
    )
    assert [o.reply.text for o in again if o.reply] == [unfinished]
    # The draft is intact: the resident carries on.
    await chat.send(action="report:files-done")
    assert chat.options()  # the contact question
    async with app.services.db.transaction() as session:
        account = app.services.pseudonyms.of("conversation", "stuckgram", "cuong")
        stored = await conversations.load(session, app.services.vault, account)
        assert stored.state.data["draft"]["what"] == ["có người bán hàng đêm qua"]
        assert stored.state.pending == ""


async def test_the_same_update_delivered_twice_is_answered_once(app) -> None:
    await add_phu_lien(app)
    chat = Chat(app, "dung")
    await _to_files_step(chat)
    words = Inbound(chat.route, text="thêm: xe máy màu đỏ", update_id="88001")
    await chat.send(action="report:files-done")
    await chat.send(action="report:back")  # back to the files step, which takes text
    first = await app.dispatcher.handle(words)
    second = await app.dispatcher.handle(replace(words))
    assert first and second == []
    async with app.services.db.transaction() as session:
        account = app.services.pseudonyms.of("conversation", "console", "dung")
        stored = await conversations.load(session, app.services.vault, account)
        assert stored.state.data["draft"]["what"].count("thêm: xe máy màu đỏ") == 1


# ---- over the real Telegram channel ------------------------------------------------------


async def test_on_telegram_a_file_being_cleaned_does_not_hold_up_other_residents(app) -> None:
    await add_phu_lien(app)
    other = RESIDENT + 1
    async with FakeTelegram(max_poll=0.5) as tg, running(tg_channel(app, tg)):
        await tg_walk_to_files(tg, RESIDENT, "có người bán hàng")
        before = len(sent_to(tg, RESIDENT))
        tg.delay_next("getFile", 3.0)  # the photo takes three seconds to arrive
        tg.user_sends_photo(RESIDENT, _jpeg(), caption="")
        await asyncio.sleep(0.3)
        tg.user_sends(other, "/start")
        await tg.wait_for_sent(1, chat_id=other, timeout=2.5)  # long before the photo
        assert len(sent_to(tg, RESIDENT)) == before
        await until(lambda: len(sent_to(tg, RESIDENT)) >= before + 2, timeout=15)
        assert "✓" in sent_to(tg, RESIDENT)[before]["text"]


async def test_a_forged_ward_button_with_a_huge_number_gets_the_menu(app) -> None:
    await add_phu_lien(app)
    chat = Chat(app, "giang")
    await chat.send(action="ward:" + "9" * 40)  # no button carries it: an unknown command
    unknown = "Sorry, I did not understand that. Please choose from the menu below."
    assert _vi(app, unknown) in chat.text and chat.options()
