"""The Zalo Bot API client against the fake Zalo over real HTTP on 127.0.0.1, and
split_text's promises. Nothing here contacts Zalo."""

from __future__ import annotations

import asyncio
import hmac
import logging
import pickle
import random
import socket
import time
import unicodedata
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.channels.zalo_api import (
    EVENT_IMAGE,
    EVENT_STICKER,
    EVENT_TEXT,
    EVENT_UNSUPPORTED,
    ZaloBotAPI,
    ZaloError,
    ZaloForbidden,
    ZaloNetworkError,
    ZaloRateLimited,
    ZaloServerError,
    ZaloUnauthorized,
    ZaloUpdate,
    parse_update,
    split_text,
    zalo_length,
)
from tests.fakes.zalo_server import FakeZalo

CHAT = "e4ea2cd5189df1c3a88c"
OTHER_CHAT = "7c1d0b9e52aa41f09d33"
TIP = "Có người bán ma túy ở hẻm 42 đường Lê Lợi, tối nào cũng có"


@pytest.fixture(params=["http-status", "body-only"])
async def zalo(request: pytest.FixtureRequest) -> AsyncIterator[FakeZalo]:
    """The fake, answering errors with the HTTP status, and (as Zalo also does) with
    HTTP 200 and the code only in the body."""
    async with FakeZalo(errors_as_http_status=request.param == "http-status") as fake:
        yield fake


@pytest.fixture
async def api(zalo: FakeZalo) -> AsyncIterator[ZaloBotAPI]:
    client = ZaloBotAPI(zalo.token, api_base=zalo.base_url, request_timeout=3.0)
    yield client
    await client.close()


# ---- calls -------------------------------------------------------------------------------


async def test_get_me_returns_the_bot(api: ZaloBotAPI, zalo: FakeZalo) -> None:
    me = await api.get_me()
    assert me["id"] == zalo.bot_info["id"]
    assert me["account_type"] == "BASIC"
    assert zalo.calls == [("getMe", {})]


async def test_send_message_is_recorded(api: ZaloBotAPI, zalo: FakeZalo) -> None:
    result = await api.send_message(CHAT, TIP)
    assert set(result) >= {"message_id", "date"}
    assert zalo.calls == [("sendMessage", {"chat_id": CHAT, "text": TIP})]
    [sent] = await zalo.wait_for_sent(1, chat_id=CHAT)
    assert sent["text"] == TIP
    assert sent["message_id"] == result["message_id"]


async def test_exactly_2000_characters_go_out(api: ZaloBotAPI, zalo: FakeZalo) -> None:
    await api.send_message(CHAT, "ư" * 2000)
    assert len(zalo.sent[0]["text"]) == 2000


@pytest.mark.parametrize(
    "text",
    ["", "a" * 2001, "😀" * 1001],  # 1,001 emoji are 2,002 UTF-16 code units
    ids=["empty", "2001-chars", "emoji-over-limit"],
)
async def test_send_message_refuses_bad_lengths_without_calling(
    api: ZaloBotAPI, zalo: FakeZalo, text: str
) -> None:
    with pytest.raises(ValueError, match="1-2000") as caught:
        await api.send_message(CHAT, text)
    assert zalo.calls == []
    assert text[:20] not in str(caught.value) or not text


async def test_fake_enforces_the_text_limit_like_zalo(zalo: FakeZalo) -> None:
    url = f"{zalo.base_url}/bot{zalo.token}/sendMessage"
    async with aiohttp.ClientSession() as session:
        for text in ("", "x" * 2001):
            async with session.post(url, json={"chat_id": CHAT, "text": text}) as response:
                body = await response.json()
            assert body["ok"] is False
            assert body["error_code"] == 400
    assert zalo.sent == []


async def test_send_photo_and_chat_action(api: ZaloBotAPI, zalo: FakeZalo) -> None:
    await api.send_photo(CHAT, "https://media.example/a.jpg", caption="Bản đồ")
    await api.send_photo(CHAT, "https://media.example/b.jpg")
    await api.send_chat_action(CHAT)
    assert zalo.calls == [
        (
            "sendPhoto",
            {"chat_id": CHAT, "photo": "https://media.example/a.jpg", "caption": "Bản đồ"},
        ),
        ("sendPhoto", {"chat_id": CHAT, "photo": "https://media.example/b.jpg"}),
        ("sendChatAction", {"chat_id": CHAT, "action": "typing"}),
    ]
    assert [s["method"] for s in zalo.sent] == ["sendPhoto", "sendPhoto"]
    with pytest.raises(ValueError):
        await api.send_photo(CHAT, "file:///etc/passwd")


# ---- updates -----------------------------------------------------------------------------


async def test_each_kind_of_update_is_parsed(api: ZaloBotAPI, zalo: FakeZalo) -> None:
    zalo.user_sends(CHAT, TIP)
    zalo.user_sends_image(CHAT, "https://photo.example/p.jpg", caption="ảnh hiện trường")
    zalo.user_sends_sticker(CHAT)
    zalo.user_sends_unsupported(CHAT)
    zalo.user_sends(OTHER_CHAT, "/start", user_id="u-77", chat_type="GROUP")

    updates = [u for _ in range(5) for u in await api.get_updates(timeout=1)]

    assert [u.event_name for u in updates] == [
        EVENT_TEXT,
        EVENT_IMAGE,
        EVENT_STICKER,
        EVENT_UNSUPPORTED,
        EVENT_TEXT,
    ]
    text, image, sticker, unsupported, group = updates
    assert (text.chat_id, text.user_id, text.chat_type, text.text) == (
        CHAT,
        CHAT,
        "PRIVATE",
        TIP,
    )
    assert text.message_id and text.date_ms > 1_600_000_000_000
    assert image.photo_url == "https://photo.example/p.jpg"
    assert image.text == "ảnh hiện trường"
    assert sticker.text == "" and sticker.photo_url is None
    assert sticker.raw["message"]["sticker"]
    assert unsupported.text == ""
    assert (group.chat_id, group.user_id, group.chat_type) == (OTHER_CHAT, "u-77", "GROUP")
    assert zalo.calls[0] == ("getUpdates", {"timeout": "1"})


@pytest.mark.parametrize("kind", ["missing_ids", "unknown_event", "not_a_message"])
async def test_malformed_updates_are_skipped_and_counted(
    api: ZaloBotAPI, zalo: FakeZalo, kind: str
) -> None:
    zalo.send_malformed_update(kind)
    zalo.user_sends(CHAT, TIP)
    assert await api.get_updates(timeout=1) == []
    assert api.skipped_updates == 1
    [update] = await api.get_updates(timeout=1)
    assert update.text == TIP


async def test_long_poll_ends_empty_after_its_timeout(api: ZaloBotAPI) -> None:
    started = time.monotonic()
    assert await api.get_updates(timeout=1) == []
    assert 0.9 <= time.monotonic() - started < 3


async def test_long_poll_returns_as_soon_as_a_message_arrives(
    api: ZaloBotAPI, zalo: FakeZalo
) -> None:
    started = time.monotonic()
    poll = asyncio.create_task(api.get_updates(timeout=8))
    await asyncio.sleep(0.2)
    zalo.user_sends(CHAT, TIP)
    [update] = await asyncio.wait_for(poll, 3)
    assert update.text == TIP
    assert time.monotonic() - started < 2


async def test_get_updates_rejects_a_negative_timeout(api: ZaloBotAPI) -> None:
    with pytest.raises(ValueError):
        await api.get_updates(timeout=-1)


def test_parse_update_reads_the_documented_shape_and_variants() -> None:
    update = {
        "event_name": EVENT_TEXT,
        "message": {
            "chat": {"id": CHAT, "chat_type": "PRIVATE"},
            "text": "Xin chào",
            "message_id": "16f6366b3f02645a3d15",
            "date": 1766619597466,
            "from": {"id": CHAT, "first_name": "Nguyen Van A"},
        },
    }
    parsed = parse_update(update)
    assert parsed is not None
    assert (parsed.text, parsed.date_ms, parsed.chat_type) == ("Xin chào", 1766619597466, "PRIVATE")
    assert parse_update({"ok": True, "result": update}) == parsed  # webhook, wrapped

    seconds = {**update, "message": {**update["message"], "date": 1766619597}}
    assert parse_update(seconds).date_ms == 1766619597000  # type: ignore[union-attr]
    numeric = {
        **update,
        "message": {**update["message"], "chat": {"id": 123}, "from": {"id": 123}},
    }
    assert parse_update(numeric).chat_id == "123"  # type: ignore[union-attr]
    assert parse_update(numeric).chat_type == "PRIVATE"  # type: ignore[union-attr]
    unclear = {**update, "message": {**update["message"], "chat": {"id": "g-1"}}}
    assert parse_update(unclear).chat_type == "GROUP"  # type: ignore[union-attr]
    older = {
        "event_name": EVENT_IMAGE,
        "message": {**update["message"], "photo": "https://p.example/x.jpg"},
    }
    assert parse_update(older).photo_url == "https://p.example/x.jpg"  # type: ignore[union-attr]
    bad_date = {**update, "message": {**update["message"], "date": "soon"}}
    assert parse_update(bad_date).date_ms == 0  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "payload",
    [
        None,
        [],
        "text",
        {},
        {"event_name": "message.voice.received", "message": {}},
        {"event_name": EVENT_TEXT},
        {"event_name": EVENT_TEXT, "message": {"chat": {"id": "c"}, "message_id": "m"}},
        {
            "event_name": EVENT_TEXT,
            "message": {"chat": {"id": True}, "from": {"id": "u"}, "message_id": "m"},
        },
        {
            "event_name": EVENT_TEXT,
            "message": {"chat": {"id": "c"}, "from": {"id": "u"}, "message_id": "m", "text": 5},
        },
    ],
)
def test_parse_update_returns_none_for_what_it_cannot_read(payload: Any) -> None:
    assert parse_update(payload) is None


# ---- errors ------------------------------------------------------------------------------


async def test_wrong_token_is_unauthorized(zalo: FakeZalo) -> None:
    async with ZaloBotAPI("wrong-token-1234", api_base=zalo.base_url) as client:
        with pytest.raises(ZaloUnauthorized) as caught:
            await client.get_me()
    assert caught.value.code == 401
    assert "wrong-token-1234" not in str(caught.value) + repr(caught.value)


async def test_blocked_chat_is_forbidden(api: ZaloBotAPI, zalo: FakeZalo) -> None:
    await api.send_message(CHAT, "trước")
    zalo.block(CHAT)
    with pytest.raises(ZaloForbidden) as caught:
        await api.send_message(CHAT, TIP)
    assert caught.value.code == 403
    await api.send_message(OTHER_CHAT, "vẫn gửi được")
    assert [s["chat_id"] for s in zalo.sent] == [CHAT, OTHER_CHAT]


@pytest.mark.parametrize("in_header", [False, True], ids=["body-parameter", "retry-after"])
async def test_rate_limit_carries_retry_after(
    api: ZaloBotAPI, zalo: FakeZalo, in_header: bool
) -> None:
    zalo.fail_next("sendMessage", status=429, retry_after=7, retry_after_header=in_header)
    with pytest.raises(ZaloRateLimited) as caught:
        await api.send_message(CHAT, TIP)
    assert caught.value.retry_after == 7
    await api.send_message(CHAT, TIP)  # the next one goes through
    assert len(zalo.sent) == 1


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_server_errors(api: ZaloBotAPI, zalo: FakeZalo, status: int) -> None:
    zalo.fail_next("sendMessage", status=status, times=2)
    for _ in range(2):
        with pytest.raises(ZaloServerError) as caught:
            await api.send_message(CHAT, TIP)
        assert caught.value.code == status
    await api.send_message(CHAT, TIP)


async def test_bad_request_is_a_plain_zalo_error(api: ZaloBotAPI, zalo: FakeZalo) -> None:
    zalo.fail_next("sendMessage", status=400)
    with pytest.raises(ZaloError) as caught:
        await api.send_message(CHAT, TIP)
    assert type(caught.value) is ZaloError
    assert caught.value.code == 400


async def test_an_html_error_page_is_a_server_error_and_hides_the_token(
    api: ZaloBotAPI, zalo: FakeZalo
) -> None:
    zalo.fail_next(
        "getMe",
        status=502,
        raw_body=f"<html><p>The URL /bot{zalo.token}/getMe failed upstream</p></html>",
    )
    with pytest.raises(ZaloServerError) as caught:
        await api.get_me()
    assert caught.value.description == "Bad Gateway"
    assert zalo.token not in str(caught.value)


async def test_slow_answer_times_out_as_network_error(zalo: FakeZalo) -> None:
    zalo.delay_next("sendMessage", 3)
    async with ZaloBotAPI(zalo.token, api_base=zalo.base_url, request_timeout=0.3) as client:
        started = time.monotonic()
        with pytest.raises(ZaloNetworkError) as caught:
            await client.send_message(CHAT, TIP)
        assert time.monotonic() - started < 2
    assert caught.value.code == 0
    assert caught.value.__cause__ is None and caught.value.__context__ is None


async def test_connection_refused_is_a_network_error() -> None:
    with socket.socket() as sock:  # a port that was free a moment ago and has no listener
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with ZaloBotAPI("secret-token-xyz", api_base=f"http://127.0.0.1:{port}") as client:
        with pytest.raises(ZaloNetworkError) as caught:
            await client.get_me()
    assert "secret-token-xyz" not in str(caught.value) + repr(caught.value)
    assert caught.value.__cause__ is None and caught.value.__context__ is None


async def test_error_texts_never_hold_the_token_a_chat_id_or_the_text(
    api: ZaloBotAPI, zalo: FakeZalo, caplog: pytest.LogCaptureFixture
) -> None:
    echo = f"cannot send {TIP!r} to {CHAT} via /bot{zalo.token}/sendMessage"
    caplog.set_level(logging.DEBUG)
    failures: list[ZaloError] = []
    for status in (400, 403, 429, 500):
        zalo.fail_next("sendMessage", status=status, description=echo)
        with pytest.raises(ZaloError) as caught:
            await api.send_message(CHAT, TIP)
        failures.append(caught.value)
    zalo.block(CHAT)
    with pytest.raises(ZaloForbidden) as blocked:
        await api.send_message(CHAT, TIP)
    failures.append(blocked.value)
    for failure in failures:
        for shown in (str(failure), repr(failure), failure.description):
            for secret in (zalo.token, CHAT, TIP):
                assert secret not in shown
        assert pickle.loads(pickle.dumps(failure)).code == failure.code  # noqa: S301
    for secret in (zalo.token, CHAT, TIP):
        assert secret not in caplog.text


async def test_reprs_hide_ids_text_and_token(api: ZaloBotAPI, zalo: FakeZalo) -> None:
    zalo.user_sends_image(CHAT, "https://photo.example/secret.jpg", caption=TIP)
    [update] = await api.get_updates(timeout=1)
    shown = repr(update) + str(update)
    for secret in (CHAT, TIP, update.message_id, "secret.jpg"):
        assert secret not in shown
    assert "message.image.received" in shown
    assert zalo.token not in repr(api)
    assert hash(update) == hash(update)  # usable in sets despite the raw dict


async def test_closed_client_and_shared_session(zalo: FakeZalo) -> None:
    async with aiohttp.ClientSession() as session:
        client = ZaloBotAPI(zalo.token, api_base=zalo.base_url, session=session)
        await client.get_me()
        await client.close()
        await client.close()
        assert not session.closed  # not ours to close
        with pytest.raises(RuntimeError):
            await client.get_me()


def test_constructor_refuses_bad_settings() -> None:
    with pytest.raises(ValueError):
        ZaloBotAPI("")
    with pytest.raises(ValueError):
        ZaloBotAPI("to/ken")
    with pytest.raises(ValueError):
        ZaloBotAPI("token", api_base="ftp://example.org")
    with pytest.raises(ValueError):
        ZaloBotAPI("token", request_timeout=0)


# ---- webhook -----------------------------------------------------------------------------


async def test_webhook_set_info_delete(api: ZaloBotAPI, zalo: FakeZalo) -> None:
    assert await api.get_webhook_info() == {"url": ""}  # Zalo answers 404 when none is set
    result = await api.set_webhook("https://ward.example/zalo", "s3cret-ward-token")
    assert result["url"] == "https://ward.example/zalo"
    assert zalo.webhook is not None and zalo.webhook["secret_token"] == "s3cret-ward-token"
    info = await api.get_webhook_info()
    assert info["url"] == "https://ward.example/zalo" and info["updated_at"] > 0
    with pytest.raises(ZaloError) as caught:  # documented: no polling while a webhook is set
        await api.get_updates(timeout=1)
    assert caught.value.code == 409
    await api.delete_webhook()
    assert zalo.webhook is None
    assert await api.get_webhook_info() == {"url": ""}


@pytest.mark.parametrize(
    "secret", ["short12", "x" * 257, "has space 123", "dấu-tiếng-việt"], ids=str
)
async def test_set_webhook_validates_the_secret_locally(
    api: ZaloBotAPI, zalo: FakeZalo, secret: str
) -> None:
    with pytest.raises(ValueError) as caught:
        await api.set_webhook("https://ward.example/zalo", secret)
    assert secret not in str(caught.value)
    assert zalo.calls == []


async def test_updates_pushed_to_a_webhook_carry_the_secret(zalo: FakeZalo) -> None:
    secret = "webhook-secret-42"
    received: list[ZaloUpdate] = []

    async def hook(request: web.Request) -> web.Response:
        given = request.headers.get("X-Bot-Api-Secret-Token", "")
        if not hmac.compare_digest(given.encode(), secret.encode()):
            return web.Response(status=401)
        update = parse_update(await request.json())
        if update is not None:
            received.append(update)
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/zalo", hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    site = web.SockSite(runner, sock)
    await site.start()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/zalo"
    try:
        zalo.user_sends(CHAT, TIP)
        zalo.user_sends_image(CHAT, "https://photo.example/p.jpg")
        assert await zalo.push_updates_to_webhook(url, secret) == [200, 200]
        zalo.user_sends(CHAT, "bọc trong result")
        assert await zalo.push_updates_to_webhook(url, secret, wrapped=True) == [200]
        zalo.user_sends(CHAT, "sai khóa")
        zalo.user_sends(CHAT, "không có khóa")
        assert await zalo.push_updates_to_webhook(url, "wrong-secret-00") == [401, 401]
    finally:
        await runner.cleanup()
    assert [u.event_name for u in received] == [EVENT_TEXT, EVENT_IMAGE, EVENT_TEXT]
    assert received[0].text == TIP and received[2].text == "bọc trong result"


async def test_push_without_a_secret_is_refused(zalo: FakeZalo) -> None:
    seen: list[str | None] = []

    async def hook(request: web.Request) -> web.Response:
        seen.append(request.headers.get("X-Bot-Api-Secret-Token"))
        return web.Response(status=401)

    app = web.Application()
    app.router.add_post("/zalo", hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    await web.SockSite(runner, sock).start()
    try:
        zalo.user_sends(CHAT, TIP)
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/zalo"
        assert await zalo.push_updates_to_webhook(url, None) == [401]
    finally:
        await runner.cleanup()
    assert seen == [None]


# ---- split_text --------------------------------------------------------------------------


def _check_parts(text: str, parts: list[str], limit: int) -> None:
    assert "".join(parts) == text
    assert all(1 <= zalo_length(part) <= limit for part in parts)


def test_short_and_empty_texts() -> None:
    assert split_text("") == []
    assert split_text(TIP) == [TIP]
    assert split_text("  cách đầu và cuối  ") == ["  cách đầu và cuối  "]


def test_5000_characters_with_lines_split_on_line_breaks() -> None:
    lines = [f"Dòng {i:03}: " + "x" * 88 for i in range(50)]  # 50 lines of 98 + "\n"
    text = "\n".join(lines)
    assert 4900 < len(text) < 5000
    parts = split_text(text)
    _check_parts(text, parts, 2000)
    assert len(parts) == 3
    assert all(part.endswith("\n") for part in parts[:-1])
    assert all(part.startswith("Dòng") for part in parts)


def test_one_4500_character_word_is_cut_hard() -> None:
    text = "a" * 4500
    assert [len(p) for p in split_text(text)] == [2000, 2000, 500]


def test_words_are_kept_whole_without_line_breaks() -> None:
    text = " ".join(f"từ{i}" for i in range(1200))
    parts = split_text(text, limit=500)
    _check_parts(text, parts, 500)
    assert all(part.endswith(" ") for part in parts[:-1])
    assert [w for p in parts for w in p.split()] == text.split()


def test_vietnamese_is_kept_exactly_in_nfc_and_nfd() -> None:
    sentence = "Người dân phường Bến Nghé báo tin về điểm bán ma túy gần chợ. "
    for form in ("NFC", "NFD"):
        text = unicodedata.normalize(form, sentence * 60)
        parts = split_text(text, limit=300)
        _check_parts(text, parts, 300)
        assert unicodedata.normalize(form, "".join(parts)) == text
        glued = unicodedata.normalize(form, "Nguyễnđườngphường" * 40)  # no spaces at all
        hard = split_text(glued, limit=100)
        _check_parts(glued, hard, 100)
        assert not any(unicodedata.combining(part[0]) for part in hard)


def test_a_hard_cut_never_separates_a_letter_from_its_accents() -> None:
    letter = "e\u0302\u0301"  # ế written with combining marks (NFD)
    text = "a" * 9 + letter + "b" * 5
    assert split_text(text, limit=10) == ["a" * 9, letter + "b" * 5]


def test_crlf_stays_together() -> None:
    text = "\r\n".join("Dòng số " + str(i) * 30 for i in range(40))
    parts = split_text(text, limit=200)
    _check_parts(text, parts, 200)
    assert all(part.endswith("\r\n") for part in parts[:-1])
    # The limit falls between CR and LF: the cut moves before the CR instead.
    blob = "x" * 9 + "\r\n" + "y" * 20
    assert split_text(blob, limit=10) == ["x" * 9, "\r\n" + "y" * 8, "y" * 10, "y" * 2]


def test_emoji_count_as_utf16_and_are_never_split() -> None:
    text = "😀" * 1500
    parts = split_text(text)
    _check_parts(text, parts, 2000)
    assert [len(p) for p in parts] == [1000, 500]
    family = "👨\u200d👩\u200d👧"
    glued = family * 10
    parts = split_text(glued, limit=20)  # a family is 8 code units: two fit in a part
    assert parts == [family * 2] * 5


def test_leading_and_trailing_whitespace() -> None:
    text = "\n\n  " + ("chữ " * 700) + "\n\n"
    parts = split_text(text, limit=1000)
    _check_parts(text, parts, 1000)
    assert parts[0].startswith("\n\n  ")
    assert all(not part[0].isspace() for part in parts[1:])
    assert parts[-1].endswith("\n\n")


def test_no_break_space_is_not_a_break() -> None:
    text = "10\u00a0000\u00a0đồng " * 20
    for part in split_text(text, limit=40):
        assert not part.startswith("000")


def test_limit_must_leave_room() -> None:
    with pytest.raises(ValueError):
        split_text("abc", limit=1)


def test_split_text_properties_on_random_texts() -> None:
    alphabet = [
        *"aăâbcdđeêghiklmnoôơpqrstuưvxyáàảãạ ",
        " ",
        "  ",
        "\n",
        "\n\n",
        "\r\n",
        "\t",
        "\u00a0",
        "😀",
        "\u0301",
        "\u200d",
        "👍🏽",
        "ệ",
    ]
    rng = random.Random(20240611)
    for _ in range(400):
        limit = rng.randint(2, 60)
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 400)))
        parts = split_text(text, limit)
        _check_parts(text, parts, limit)
        if zalo_length(text) <= limit:
            assert parts == ([text] if text else [])
