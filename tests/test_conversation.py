"""The channel-neutral core: options by number, buttons, state in the database."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.app import open_app
from engine.conversation import Context, Dispatcher, Router
from handlers import build_routers, fallback
from kernel.config import Settings
from kernel.messages import ChatKind
from tests.helpers import Chat, survey

WELCOME_VI = "Xin chào! Đây là kênh của Công an phường"


async def test_start_greets_in_vietnamese_with_a_menu(app) -> None:
    chat = Chat(app, "an")
    await chat.send("/start")
    assert WELCOME_VI in chat.text
    assert "113" in chat.text
    assert chat.options() == [
        "Báo tin, tố giác",
        "🚨 Đang nguy hiểm: gọi 113",
        "Xem lại tin đã gửi",
        "Phong trào toàn dân phòng, chống ma túy",
        "Nhận tin phòng, chống ma túy",
        "Số điện thoại đường dây nóng",
        "Ngôn ngữ / Language",
    ]


async def test_typing_a_number_picks_that_option_and_language_sticks(app) -> None:
    chat = Chat(app, "an")
    await chat.send("/start")
    await chat.send("7")
    assert chat.text == "Chọn ngôn ngữ:"
    assert chat.options() == ["Tiếng Việt", "English"]
    await chat.send(" 2. ")
    assert chat.text == "I will answer in English from now on."
    await chat.send("/start")
    assert chat.text.startswith("Hello! This is the ward police channel")
    await chat.send("17")  # out of range: not an option, so the menu again
    assert "did not understand" in chat.text


async def test_button_press_works_like_typing_its_number(app) -> None:
    chat = Chat(app, "binh")
    await chat.send(action="menu:language")
    await chat.send(action="lang:en")
    assert chat.text == "I will answer in English from now on."
    await chat.send(action="lang:xx")  # a forged button: no action packs it
    assert "did not understand" in chat.text
    await chat.send(action="no-such-action")
    assert "did not understand" in chat.text


async def test_app_language_is_a_hint_until_the_user_chooses(app) -> None:
    chat = Chat(app, "chi", language_hint="en-GB")
    await chat.send("/start")
    assert chat.text.startswith("Hello!")
    await chat.send(action="lang:vi")
    await chat.send("/start")
    assert WELCOME_VI in chat.text


async def test_commands_addressed_to_the_bot_and_case(app) -> None:
    chat = Chat(app, "dung")
    await chat.send("/START@wardbot")
    assert WELCOME_VI in chat.text


async def test_groups_get_a_pointer_to_a_private_chat_and_silence_otherwise(app) -> None:
    group = Chat(app, "123", kind=ChatKind.GROUP, chat_id="-100777")
    await group.send("/start")
    assert "nhắn tin riêng" in group.text
    await group.send("hello everyone")
    assert group.last == []


async def test_odd_input_gets_a_polite_answer(app) -> None:
    chat = Chat(app, "em")
    for text in ["", "   ", "\u200b", "🙂" * 500, "a\x00b", "/", "/ngonngu", "x" * 10_000]:
        await chat.send(text)
        assert "Xin lỗi, tôi chưa hiểu" in chat.text


async def _open_with_survey(settings: Settings):
    app = await open_app(settings)
    app.dispatcher = Dispatcher(app.services, [*build_routers(), survey], fallback=fallback)
    return app


async def test_restart_mid_conversation_resumes_at_the_same_step(settings: Settings) -> None:
    first = await _open_with_survey(settings)
    chat = Chat(first, "giang")
    await chat.send("/survey")
    await chat.send("2")  # free text: "2" is the answer, not option 2
    assert chat.text == "colour?"
    await first.close()

    second = await _open_with_survey(settings)  # a new process, same database and keys
    try:
        chat = Chat(second, "giang")
        await chat.send("2")  # the options offered before the restart still count
        assert chat.text == "2 likes blue"
    finally:
        await second.close()


async def test_a_failing_handler_loses_nothing_and_logs_no_content(settings, caplog) -> None:
    app = await _open_with_survey(settings)
    try:
        chat = Chat(app, "hoa")
        await chat.send("/survey")
        await chat.send("Lan")
        with caplog.at_level(logging.DEBUG):
            await chat.send("/boom")
        assert "Xin lỗi, hệ thống vừa gặp sự cố" in chat.text
        assert "secret tip text" not in caplog.text and "RuntimeError" in caplog.text
        await chat.send("1")  # the state before the failure is intact
        assert chat.text == "Lan likes red"
    finally:
        await app.close()


async def test_two_messages_at_once_from_one_chat_are_both_kept(settings: Settings) -> None:
    app = await _open_with_survey(settings)
    try:
        first, second = Chat(app, "khanh"), Chat(app, "khanh")
        await first.send("/survey")
        await asyncio.gather(first.send("Khanh"), second.send(action="menu:language"))
        await first.send("/survey")
        await first.send("K2")
        await first.send(action="colour:red")
        assert first.text == "K2 likes red"
    finally:
        await app.close()


async def test_first_messages_of_a_new_chat_at_once(app) -> None:
    chats = [Chat(app, "new-person") for _ in range(4)]
    await asyncio.gather(*(chat.send("/start") for chat in chats))
    assert all(WELCOME_VI in chat.text for chat in chats)


def test_routers_refuse_a_second_registration() -> None:
    router = Router("dup")

    @router.command("x")
    async def one(ctx: Context) -> None: ...

    with pytest.raises(ValueError, match="registered twice"):

        @router.command("x")
        async def two(ctx: Context) -> None: ...
