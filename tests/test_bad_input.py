"""Every bad input answered, none failing: whatever a resident, an officer or a forged
update sends at whatever step of whatever conversation, the answer is a proper one in
the chat's language, never the apology for a failure, and nothing is logged as an error.

The scene puts one chat at every registered step of every conversation, by the public
path (buttons, commands and typed text, as a resident or an officer would), and keeps
each conversation's state as it was stored there. Each input is then sent from a chat
restored to that state, so every example starts from the same step, however the one
before ended. Hypothesis generates the inputs: text with lone surrogates, NUL and other
control characters, direction marks, emoji, Vietnamese, 5,000 characters; button data of
every registered prefix with any suffix (huge, negative, other scripts' digits); commands
with any arguments; files and location pins that make no sense.

Failures show the step and the generated input (made up here, never anyone's tip); log
records are shown by their message only, which never carries content."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import App
from campaign.quiz import week_of
from engine.conversation import _UNFINISHED
from handlers import build_routers
from handlers.ids import MAX_ID, parse_id, parse_number, parse_typed_id
from kernel.messages import Attachment, ChannelInfo, ChatKind, Inbound
from kernel.routes import Route
from storage import conversations, wards
from storage.models import OfficerRole
from storage.pseudonyms import Purpose
from tests.channels import running
from tests.helpers import RECEIPT, Chat, add_phu_lien, enrol, group_id, mix_all

# ---- what the bot answers when it failed --------------------------------------------------

APOLOGIES = (
    "Sorry, something went wrong on our side. Nothing you sent before was lost. "
    "Please try again in a moment.",
    "Sorry, part of this could not be saved. Please try again in a moment.",
    "Sorry, part of this answer could not be prepared. Please try again in a moment.",
    _UNFINISHED,
)

# ---- what is registered -----------------------------------------------------------------

ROUTERS = build_routers()
STEPS = sorted({step for router in ROUTERS for step in router.steps})
PREFIXES = sorted({kind.head() for router in ROUTERS for kind in router.actions})
COMMANDS = sorted({name for router in ROUTERS for name in router.commands})

# Where the scene puts a chat: every registered step, and the idle chats around them.
PRIVATE_STAGES = (
    *STEPS,
    "new resident",  # never wrote before; the bot serves two wards, so it asks which
    "resident menu",
    "tdp:name (pledge)",
    "officer",
    "commander",
)
GROUP_STAGES = ("group: resident", "group: officer")

# ---- generated inputs -------------------------------------------------------------------

SURROGATES = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
ODD = st.sampled_from(
    [
        "\x00",
        "\x07",
        "\x1b",
        "\x7f",
        "\r",
        "\n",
        "\t",
        "\u200b",
        "\u200d",
        "\u200e",
        "\u200f",
        "\u202e",
        "\u2066",
        "\ufeff",
        "\ufffd",
        "\U0001f600",
        "\U0001f1fb",
        "\U0001f3f3\ufe0f\u200d\U0001f308",
        "a\u0301",
        "ư",
        "Ư",
        "đ",
        "ệ",
        "١",
        "١٢",
        "１",
        "１２",
        "²",
        "Ⅻ",
        "٫",
        "/",
        "@",
        ":",
        "|",
        "#",
        "＃",
    ]
)
VIETNAMESE = st.text(
    alphabet="aăâbcdđeêghiklmnoôơpqrstuưvxyàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợ"
    "ùúủũụừứửữựỳýỷỹỵĐƯ 0123456789,.?!",
    max_size=120,
)
NUMBERS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.sampled_from(
        [
            "0",
            "00",
            "007",
            "1",
            "-1",
            "+1",
            " 1",
            "1 ",
            "1.0",
            "1e9",
            "0x1f",
            "٣",
            "١٢",
            "１２",
            "²",
            str(MAX_ID),
            str(MAX_ID + 1),
            str(2**63),
            "9" * 40,
            "9" * 5000,
        ]
    ),
)
LONG = st.builds(
    lambda piece, n: piece * n,
    st.sampled_from(["a", "ư", "9", "\U0001f600", "\ud800", "Nhà số 12 ngõ 5 "]),
    st.integers(min_value=300, max_value=5200),
)
TEXT = st.one_of(
    st.text(st.characters(exclude_categories=()), max_size=40),
    st.lists(st.one_of(SURROGATES, ODD, st.characters(max_codepoint=0x7F)), max_size=30).map(
        "".join
    ),
    VIETNAMESE,
    NUMBERS,
    ODD,
    LONG,
)
# Placeholders in arguments, filled in from the scene: a real tip's code and a group's id.
PLACEHOLDERS = [
    "{code}",
    "{code} confirmed",
    "{code} xác minh",
    "{code} duplicate {code}",
    "{code} use 1",
    "{code} danger 9",
    "{code} ask?",
    "{code} 1",
    "{code} ١",
    "{code} 99999999999",
    "AB12CD3",
    "ab12-cd3",
    "g{group}",
    "w{ward}",
    "w{other}",
    "g" + "9" * 40,
    "w" + "9" * 12,
    "g-1",
    "g١٢",
    "2026-13",
    "9999-99",
    "2026-1",
    "#１２",
    "１２",
]
ARGS = st.one_of(
    TEXT,
    st.sampled_from(PLACEHOLDERS),
    st.builds(lambda a, b: f"{a} {b}", st.sampled_from(["{code}", "AB12CD3", "1"]), TEXT),
)
SUFFIX = st.one_of(
    NUMBERS,
    TEXT,
    st.sampled_from(["", ":", "none", "one", "all", "yes", "school", "household", "{week}:1"]),
    st.builds(lambda n: f"{n}:2026:achieved", NUMBERS),
    st.builds(lambda n: f"1|2026-01-01T00:00:00+00:00|{n}", NUMBERS),
)


def _message(**fields: Any) -> dict[str, Any]:
    return fields


MESSAGES = st.one_of(
    st.builds(_message, text=TEXT),
    st.builds(lambda p, s: _message(action=p + s), st.sampled_from(PREFIXES), SUFFIX),
    st.builds(lambda s: _message(action=s), TEXT),
    st.builds(
        lambda c, at, a: _message(text=f"/{c}{at} {a}"),
        st.sampled_from(COMMANDS).map(lambda c: c.upper() if c.startswith("s") else c),
        st.sampled_from(["", "@wardbot", "@other_bot"]),
        ARGS,
    ),
    st.builds(lambda c: _message(text=f"/{c}"), st.sampled_from(COMMANDS)),
    st.builds(_message, text=st.sampled_from(["1", "2", "3", "8", "9", "99", " 2 ", "2.", "３"])),
    st.builds(
        lambda kind, size, caption: _message(
            text=caption, attachments=(Attachment(kind, "", "", size),)
        ),
        st.sampled_from(["photo", "document", "sticker", "voice", "audio", "video", "other"]),
        st.integers(min_value=-1, max_value=2**40),
        st.one_of(st.just(""), TEXT),
    ),
    st.builds(
        lambda latitude, longitude, text: _message(location=(latitude, longitude), text=text),
        st.floats(),
        st.floats(),
        st.one_of(st.just(""), TEXT),
    ),
)


# ---- the scene --------------------------------------------------------------------------


@dataclass
class Stage:
    name: str
    chat: Chat = field(repr=False)
    state: dict[str, Any] = field(repr=False)  # the conversation's state as stored there


@dataclass
class Scene:
    app: App = field(repr=False)
    stages: dict[str, Stage] = field(repr=False)
    fill: dict[str, str] = field(repr=False)  # what the placeholders stand for
    apologies: tuple[str, ...] = field(repr=False)  # in every language

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # how Hypothesis shows it
        printer.text("Scene()")


def _account(app: App, route: Route) -> str:
    return app.services.pseudonyms.of(Purpose.CONVERSATION, route.channel, *route.account_parts())


async def _state_of(app: App, chat: Chat) -> dict[str, Any]:
    async with app.services.db.transaction() as session:
        stored = await conversations.load(session, app.services.vault, _account(app, chat.route))
        return stored.state.to_json()


async def restore(app: App, chat: Chat, state: dict[str, Any]) -> None:
    async with app.services.db.transaction() as session:
        stored = await conversations.load(session, app.services.vault, _account(app, chat.route))
        stored.state = conversations.ConversationState.from_json(dict(state))
        await conversations.save(session, app.services.vault, stored)


async def _stage(app: App, name: str, chat: Chat, step: str | None = None) -> Stage:
    state = await _state_of(app, chat)
    assert state["step"] == (name if step is None else step), name
    return Stage(name, chat, state)


@pytest.fixture
async def scene(app: App) -> Scene:
    ward = await add_phu_lien(app)
    async with app.services.db.transaction() as session:
        other = (await wards.add_ward(session, "Đông Hải")).id
    group = await group_id(app, "Nam Hải")
    officer = await enrol(app, ward, OfficerRole.OFFICER, "officer-1", "Trinh sát Minh")
    commander = await enrol(app, ward, OfficerRole.COMMANDER, "commander-1", "Trưởng CA Hùng")
    # The same states are also tried on a channel with buttons that can delete messages
    # and send files (where these chats are strangers: officers are enrolled on the console).
    app.dispatcher.register_channel(
        ChannelInfo(BUTTONS, can_delete_messages=True, can_send_files=True)
    )
    stages: list[Stage] = []

    # A resident walks the report wizard by its buttons, stopping at every step.
    resident = Chat(app, "resident-wizard")
    await resident.send(f"/start w{ward}")
    stages.append(await _stage(app, "resident menu", resident, ""))
    for action, step in [
        ("report:start", "report:category"),
        ("report:cat:use", "report:group"),
        ("report:grp:none", "report:where"),
        ("report:where-skip", "report:when"),
        ("report:when:today", "report:what"),
    ]:
        await resident.send(action=action)
        stages.append(await _stage(app, step, resident))
    await resident.send("Quán nước đầu ngõ 41 có người bán ma túy đá")
    for action, step in [
        ("report:what-done", "report:files"),
        ("report:files-done", "report:contact"),
        ("report:contact:yes", "report:confirm"),
    ]:
        await resident.send(action=action)
        stages.append(await _stage(app, step, resident))
    await resident.send(action="report:send")
    receipt = RECEIPT.search(resident.text)
    assert receipt, "no receipt"
    code, secret = receipt["code"], receipt["secret"]
    await mix_all(app)
    await officer.send(f"/ask {code} Bạn thấy việc này vào lúc mấy giờ?")
    assert "✓" in officer.text

    # Someone checks that tip with its receipt, and answers the police.
    checker = Chat(app, "resident-status")
    await checker.send("/status")
    stages.append(await _stage(app, "status:receipt", checker))
    await checker.send(f"{code} {secret}")
    stages.append(await _stage(app, "status:view", checker))
    await checker.send(action="status:add")
    stages.append(await _stage(app, "status:adding", checker))
    await checker.send(action="status:answer")
    stages.append(await _stage(app, "status:answering", checker))

    # Residential groups are asked for by subscribing and by pledging.
    subscriber = Chat(app, "resident-sub", language_hint="en")
    await subscriber.send(f"/start w{ward}")
    await subscriber.send("/subscribe")
    stages.append(await _stage(app, "tdp:name", subscriber))
    pledger = Chat(app, "resident-pledge")
    await pledger.send(f"/start w{ward}")
    await pledger.send("/pledge")
    await pledger.send(action="pledge:sign")
    stages.append(await _stage(app, "tdp:name (pledge)", pledger, "tdp:name"))
    stages.append(await _stage(app, "new resident", Chat(app, "resident-new"), ""))

    # An officer's conversations that take typed text.
    await officer.send("/drugfree")
    stages.append(await _stage(app, "df:name", officer))
    await officer.send("/orgpledge")
    await officer.send(action="op:kind:school")
    stages.append(await _stage(app, "op:name", officer))
    await officer.send("Trường THCS Phù Liễn")
    stages.append(await _stage(app, "op:group", officer))
    await officer.send("/broadcast")
    stages.append(await _stage(app, "bc:text", officer))
    await officer.send("Tuần này phường ra quân phòng, chống ma túy. Gọi {hotlines}.")
    await officer.send(action="bc:scope:one")
    stages.append(await _stage(app, "bc:group", officer))
    # Recording a tip received another way, tip boxes, areas and a report's remarks.
    await officer.send("/ghitin")
    await officer.send(action="rec:src:hotline")
    await officer.send(action="rec:cat:use")
    stages.append(await _stage(app, "rec:group", officer))
    await officer.send(action="rec:grp:none")
    await officer.send(action="rec:urgent:no")
    stages.append(await _stage(app, "rec:text", officer))
    await officer.send("/hommthu")
    stages.append(await _stage(app, "box:group", officer))
    await officer.send("Nam Hải")
    await officer.send(action="box:set:box")
    await officer.send("/hommthu")
    await officer.send("Nam Hải")
    await officer.send(action="box:open")
    stages.append(await _stage(app, "box:found", officer))
    await commander.send("/khuvuc")
    stages.append(await _stage(app, "area:group", commander))
    await commander.send("/nhanxet")
    stages.append(await _stage(app, "remarks:text", commander))
    await officer.send("/queue")
    stages.append(await _stage(app, "officer", officer, ""))
    await commander.send(f"/tip {code}")
    stages.append(await _stage(app, "commander", commander, ""))
    await commander.send(action=f"police:note:{code}")
    stages.append(await _stage(app, "police:note", commander))

    for user in ("resident-group", "officer-1"):
        chat = Chat(app, user, kind=ChatKind.GROUP, chat_id="group-1")
        name = "group: officer" if user == "officer-1" else "group: resident"
        stages.append(await _stage(app, name, chat, ""))

    by_name = {stage.name: stage for stage in stages}
    assert sorted(by_name) == sorted((*PRIVATE_STAGES, *GROUP_STAGES))
    assert STEPS == sorted(app.dispatcher._steps)  # every step the bot has is a stage
    assert PREFIXES == sorted(kind.head() for kind in app.dispatcher._actions)
    fill = {"{code}": code, "{group}": str(group), "{ward}": str(ward), "{other}": str(other)}
    fill["{week}"] = week_of(datetime.now(app.services.settings.zone).date())
    apologies = tuple(
        app.services.translator.get(language).gettext(message)
        for language in ("vi", "en")
        for message in APOLOGIES
    )
    return Scene(app, by_name, fill, apologies)


def _filled(scene: Scene, text: str | None) -> str | None:
    if text is None:
        return None
    for placeholder, value in scene.fill.items():
        text = text.replace(placeholder, value)
    return text


BUTTONS = "telegram"


async def answer(
    scene: Scene, stage_name: str, message: dict[str, Any], caplog, channel: str = "console"
) -> Chat:
    """Send `message` from the chat of `stage_name` (on `channel`), restored to its step,
    and require a proper answer: some reply in a private chat, never an apology, no error
    logged. Returns the chat, with what it was answered."""
    stage = scene.stages[stage_name]
    chat = stage.chat if channel == stage.chat.channel else replace(stage.chat, channel=channel)
    await restore(scene.app, chat, stage.state)
    caplog.clear()
    message = {**message, "text": _filled(scene, message.get("text", ""))}
    if "action" in message:
        message["action"] = _filled(scene, message["action"])
    replies = await chat.send(**message)
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], f"errors logged at {stage_name}"
    if chat.kind is ChatKind.PRIVATE:
        assert replies or chat.deleted, f"no answer at {stage_name}"
    for reply in replies:
        assert not any(a in reply.text for a in scene.apologies), f"an apology at {stage_name}"
    return chat


EXAMPLES = int(os.environ.get("WARDBOT_BAD_INPUT_EXAMPLES", "1000"))
CHANNELS = st.sampled_from(["console", BUTTONS])
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,  # no .hypothesis folder in the checkout; a failure prints its example
    # One scene serves every example: restoring the stage's state is what resets it.
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)


@FUZZ
@given(stage=st.sampled_from(PRIVATE_STAGES), message=MESSAGES, channel=CHANNELS)
async def test_any_input_at_any_step_gets_a_proper_answer(
    scene, caplog, stage, message, channel
) -> None:
    await answer(scene, stage, message, caplog, channel)


@settings(FUZZ, max_examples=max(20, EXAMPLES // 5))
@given(stage=st.sampled_from(GROUP_STAGES), message=MESSAGES, channel=CHANNELS)
async def test_any_input_in_a_group_chat_fails_nothing(
    scene, caplog, stage, message, channel
) -> None:
    await answer(scene, stage, message, caplog, channel)


# ---- the inputs that failed before, at every step ---------------------------------------

NASTY_TEXT = [
    "\ud800",
    "a\udfffb",
    "\ud83d",  # the first half of an emoji
    "\ud83d\ude00",  # both halves, as JSON's escapes decode them
    "Nhà số 12\x00 ngõ 5",
    "9" * 40,
    "9" * 5000,
    "\u202eđá túy am\u202c",
]
HUGE = ["9" * 40, str(MAX_ID + 1), "-1", "١٢", "１２", "\ud800", "9" * 5000]
ID_PREFIXES = [
    "report:grp:",
    "report:list:",
    "sub:grp:",
    "pledge:grp:",
    "tdp:list:",
    "ward:",
    "status:q:",
    "quiz:a:{week}:",
    "df:pick:",
    "df:save:",
    "police:queue:",
    "police:tip:",
    "bc:approve:",
    "bc:reject:",
    "op:kind:",
]


async def test_every_step_answers_lone_surrogates_and_huge_numbers(scene, caplog) -> None:
    for name in (*PRIVATE_STAGES, *GROUP_STAGES):
        for text in NASTY_TEXT:
            await answer(scene, name, _message(text=text), caplog)
        for prefix in ID_PREFIXES:
            for number in HUGE[:3]:
                await answer(scene, name, _message(action=prefix + number), caplog)


async def test_huge_numbers_in_buttons_are_stale_buttons(scene, caplog) -> None:
    """Each id prefix at the step whose buttons carry it, with every kind of bad number."""
    home = {
        "report:grp:": "report:group",
        "report:list:": "report:group",
        "sub:grp:": "tdp:name",
        "pledge:grp:": "tdp:name (pledge)",
        "tdp:list:": "tdp:name",
        "status:q:": "status:view",
    }
    police = ("df:", "police:", "bc:", "op:")
    for prefix in ID_PREFIXES:
        stage = home.get(prefix, "commander" if prefix.startswith(police) else "new resident")
        for number in HUGE:
            await answer(scene, stage, _message(action=prefix + number), caplog)


def _unknown(chat: Chat) -> bool:
    """Whether `chat` got the unknown-command answer, in either language."""
    return any(t in chat.text for t in ("Xin lỗi, tôi chưa hiểu ý bạn", "I did not understand"))


async def test_a_page_that_is_not_there_is_the_first_page_not_an_empty_ward(scene, caplog) -> None:
    """A page past the list (an outdated button) shows the first one; a number no
    button carries (out of range, negative, another script's) is no button at all."""
    for stage, prefix in [("report:group", "report:list:"), ("tdp:name", "tdp:list:")]:
        for page in ["99", str(MAX_ID)]:
            await answer(scene, stage, _message(action=prefix + page), caplog)
            text = scene.stages[stage].chat.text
            assert "page 1 of 2" in text or "trang 1/2" in text, stage
            assert "Cấp Tiến" in scene.stages[stage].chat.options()  # the first of 12
        for page in ["9" * 40, str(2**31), "-1", "١"]:
            await answer(scene, stage, _message(action=prefix + page), caplog)
            assert _unknown(scene.stages[stage].chat), stage


async def test_a_forged_group_id_asks_for_the_group_again(scene, caplog) -> None:
    """In the resident's language, as for any group that is not the ward's; a number no
    button carries gets the unknown-command answer."""
    for stage, prefix, again in [
        ("report:group", "report:grp:", "Sự việc ở tổ dân phố nào"),
        ("tdp:name", "sub:grp:", "Which residential group"),
        ("tdp:name (pledge)", "pledge:grp:", "Gia đình bạn ở tổ dân phố nào"),
    ]:
        await answer(scene, stage, _message(action=prefix + str(MAX_ID)), caplog)
        assert again in scene.stages[stage].chat.text, stage
        for number in HUGE:
            await answer(scene, stage, _message(action=prefix + number), caplog)
            assert _unknown(scene.stages[stage].chat), stage
    await answer(scene, "new resident", _message(action=f"ward:{MAX_ID}"), caplog)
    assert "Xin mời bạn chọn" in scene.stages["new resident"].chat.text
    await answer(scene, "new resident", _message(action="ward:" + "9" * 40), caplog)
    assert _unknown(scene.stages["new resident"].chat)


async def test_officers_may_type_full_width_numbers(scene, caplog) -> None:
    """A phone keyboard's １２ is 12 where an officer types a number; ١٢ is not."""
    commander = await answer(scene, "commander", _message(text="/approve １２"), caplog)
    assert "Không có bản tin #12 ở phường của đồng chí." in commander.text
    await answer(scene, "commander", _message(text="/approve ١٢"), caplog)
    assert "Cách dùng: /approve SỐ · /reject SỐ" in commander.text
    await answer(scene, "commander", _message(text="/reject " + "9" * 40), caplog)
    assert "Cách dùng: /approve SỐ · /reject SỐ" in commander.text


# ---- the channel boundary and the parser ------------------------------------------------


def test_inbound_text_is_writable_whatever_the_platform_sent() -> None:
    route = Route("zalo", "chat-\ud800", "user\udc00")
    inbound = Inbound(
        route,
        text="a\ud800b \ud83d\ude00 \ude00\ud83d\x00",
        action="report:grp:\udfff",
        attachments=(Attachment("photo\ud800", "ref\ud800", "image/\udc00"),),
        language_hint="vi\ud800",
        message_id="1\ud800",
        update_id="2\ud800",
        location=(float("nan"), 106.0),
    )
    assert inbound.text == "a\ufffdb \U0001f600 \ufffd\ufffd\ufffd"
    assert inbound.action == "report:grp:\ufffd"
    assert inbound.attachments[0] == Attachment("photo\ufffd", "ref\ufffd", "image/\ufffd")
    assert (inbound.language_hint, inbound.message_id, inbound.update_id) == (
        "vi\ufffd",
        "1\ufffd",
        "2\ufffd",
    )
    assert inbound.route == Route("zalo", "chat-\ufffd", "user\ufffd")
    assert inbound.location is None
    for text in [inbound.text, inbound.action, inbound.route.chat_id]:
        text.encode("utf-8")
    plain = Inbound(Route("console", "a"), text="Nhà số 12 😀", location=(20.86, 106.68))
    assert plain.text == "Nhà số 12 😀" and plain.location == (20.86, 106.68)
    for far in [(91.0, 0.0), (0.0, -180.5), (float("inf"), 0.0)]:
        assert Inbound(Route("console", "a"), location=far).location is None


def test_ids_are_ascii_digits_within_the_column() -> None:
    assert [parse_id(t) for t in ["1", "007", str(MAX_ID)]] == [1, 7, MAX_ID]
    for bad in [
        "",
        "0",
        "-1",
        "+1",
        " 1",
        "1 ",
        "1.0",
        "١٢",
        "１２",
        "²",
        str(MAX_ID + 1),
        "9" * 40,
        "9" * 5000,
        "\ud800",
    ]:
        assert parse_id(bad) is None, repr(bad)[:20]
    assert parse_number("0") == 0 and parse_number("12", most=11) is None
    assert parse_typed_id(" １２ ") == 12 and parse_typed_id("１٢") is None


# ---- through the real channels, as JSON escapes -----------------------------------------


async def test_telegram_lone_surrogates_and_forged_buttons_are_answered(app) -> None:
    """Telegram's JSON escapes a lone surrogate as "\\ud800" and an emoji as a pair of
    escapes: the first reaches the bot as U+FFFD, the second as the emoji, and a forged
    button is answered like an unknown command."""
    from tests.fakes.telegram_bot_api import FakeTelegram
    from tests.test_channel_telegram import RESIDENT, press, say, sent_to, tg_channel

    ward = await add_phu_lien(app)
    officer = await enrol(app, ward, OfficerRole.OFFICER, "officer-1", "Trinh sát Minh")
    async with FakeTelegram(max_poll=0.5) as tg, running(tg_channel(app, tg)):
        await say(tg, RESIDENT, "/start")
        await press(tg, RESIDENT, "report:start")
        asked = await press(tg, RESIDENT, "report:cat:use")
        unknown = "Xin lỗi, tôi chưa hiểu ý bạn"
        for data, expected in [
            ("report:grp:" + "9" * 40, unknown),
            ("report:grp:\ud800", unknown),
            ("report:list:" + "9" * 40, unknown),
            ("report:list:\udc00", unknown),
        ]:
            before = len(sent_to(tg, RESIDENT))
            tg.user_presses(RESIDENT, asked["message_id"], data)
            answered = (await tg.wait_for_sent(before + 1, chat_id=RESIDENT))[before]
            assert expected in answered["text"]
        await press(tg, RESIDENT, "report:grp:none")
        await press(tg, RESIDENT, "report:where-skip")
        await press(tg, RESIDENT, "report:when:today")
        noted = await say(tg, RESIDENT, "Ma túy \ud800 ở ngõ 5 \U0001f600")
        assert "✓ Đã ghi nhận" in noted["text"]
        await press(tg, RESIDENT, "report:what-done")
        await press(tg, RESIDENT, "report:files-done")
        await press(tg, RESIDENT, "report:contact:no")
        sent = await press(tg, RESIDENT, "report:send")
        receipt = RECEIPT.search(sent["text"])
        assert receipt, "no receipt"
    await mix_all(app)
    await officer.send(f"/tip {receipt['code']}")
    assert "Ma túy \ufffd ở ngõ 5 \U0001f600" in officer.text


async def test_zalo_lone_surrogates_are_answered(app) -> None:
    from tests.fakes.zalo_server import FakeZalo
    from tests.test_channel_zalo import zalo_channel

    await add_phu_lien(app)
    async with FakeZalo(max_poll=0.5) as zalo, running(zalo_channel(app, zalo)):
        zalo.user_sends("resident-z", "/subscribe")
        await zalo.wait_for_sent(1, chat_id="resident-z")
        zalo.user_sends("resident-z", "\ud800\udbff \ud83d\ude00")
        sent = await zalo.wait_for_sent(2, chat_id="resident-z")
        assert "Tôi chưa tìm thấy tổ dân phố “\ufffd\ufffd \U0001f600”" in sent[1]["text"]
