"""The bot's own HTTP server against hostile clients, over real HTTP in process: secret
headers that are not text, bodies nested too deep for the JSON parser, clients that
trickle their headers or their body; and Zalo photo URLs that would send the bot into
its own network."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import secrets
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.app import App
from bot.channels.base import NetworkChannel
from bot.channels.telegram import TelegramChannel
from bot.channels.zalo import ZaloChannel
from bot.server import serve
from kernel.config import Settings
from kernel.messages import Attachment
from tests.channels import FAST, channel_settings, free_port, row_counts, until
from tests.fakes.telegram_bot_api import FakeTelegram
from tests.fakes.zalo_server import FakeZalo

ZALO_SECRET = "zalo-webhook-secret-1"  # test values
TG_SECRET = "tg_webhook-Secret_42"
ZALO_HOOK, TG_HOOK = "/zalo/hook", "/tg/hook"
MARGIN = 1.5  # seconds a loaded test machine may add to a deadline


@asynccontextmanager
async def bot_server(
    app: App, settings: Settings, channels: list[NetworkChannel], **deadlines: float
) -> AsyncIterator[int]:
    """`wardbot run` in process, with the deadlines given to `serve`; yields the port."""
    port = free_port()
    stop = asyncio.Event()
    task = asyncio.create_task(
        serve(app, replace(settings, server_port=port), stop=stop, channels=channels, **deadlines)
    )
    try:
        await until(lambda: all(c.state == "running" for c in channels) or task.done(), 15)
        if task.done():
            task.result()
        yield port
    finally:
        stop.set()
        await asyncio.wait_for(task, 60)


def zalo_hook_channel(app: App, zalo: FakeZalo) -> ZaloChannel:
    settings = channel_settings(
        "zalo",
        zalo.token,
        zalo.base_url,
        mode="webhook",
        webhook_url="https://bot.example" + ZALO_HOOK,
        webhook_secret=ZALO_SECRET,
    )
    return ZaloChannel(app.dispatcher, settings, policy=FAST, outbox_every=0.1)


@asynccontextmanager
async def zalo_webhook(
    app: App, settings: Settings, **deadlines: float
) -> AsyncIterator[tuple[FakeZalo, ZaloChannel, int]]:
    async with FakeZalo() as zalo:
        channel = zalo_hook_channel(app, zalo)
        async with bot_server(app, settings, [channel], **deadlines) as port:
            yield zalo, channel, port


def request(path: str, body: bytes, *headers: bytes, close: bool = True) -> bytes:
    """An HTTP/1.1 POST as bytes, so that a header can hold any byte at all."""
    lines = [
        f"POST {path} HTTP/1.1".encode(),
        b"Host: 127.0.0.1",
        b"Content-Type: application/json",
        f"Content-Length: {len(body)}".encode(),
        *([b"Connection: close"] if close else []),
        *headers,
    ]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


async def exchange(port: int, data: bytes) -> bytes:
    """Send `data` on a new connection; everything the server says until it closes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()


def status_of(answer: bytes) -> int:
    assert answer.startswith(b"HTTP/1.1 "), answer[:40]
    return int(answer.split(b" ", 2)[1])


async def until_closed(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, drip: bytes, limit: float
) -> tuple[float, bytes]:
    """Send `drip` one byte every 50 ms, then "a" after "a" (nothing at all when `drip`
    is empty), until the server closes the connection; how long that took, and what the
    server said meanwhile. Fails when the connection is still open after `limit` s."""
    loop = asyncio.get_running_loop()
    started = loop.time()

    async def dripping() -> None:
        for byte in itertools.chain(drip, itertools.repeat(ord("a"))):
            await asyncio.sleep(0.05)
            writer.write(bytes([byte]))
            await writer.drain()

    dripper = asyncio.create_task(dripping()) if drip else None
    received = b""
    try:
        async with asyncio.timeout(limit):
            while chunk := await reader.read(4096):
                received += chunk
    except ConnectionResetError:
        pass
    finally:
        if dripper is not None:
            dripper.cancel()
            await asyncio.gather(dripper, return_exceptions=True)
        writer.close()
    return loop.time() - started, received


def zalo_update(chat_id: str, text: str = "/start", **extra: Any) -> dict[str, Any]:
    """A bare Zalo text update, as the webhook posts it, with extra top-level fields."""
    return {
        "event_name": "message.text.received",
        "message": {
            "from": {"id": chat_id, "display_name": "Cư dân", "is_bot": False},
            "chat": {"id": chat_id, "chat_type": "PRIVATE"},
            "message_id": secrets.token_hex(10),
            "date": 1766619597466,
            "text": text,
        },
        **extra,
    }


def nested(levels: int) -> str:
    return "[" * levels + "]" * levels


# ---- the secret header ------------------------------------------------------------------


async def test_a_secret_header_that_is_not_text_is_a_wrong_secret(app, settings, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    async with FakeZalo() as zalo, FakeTelegram() as tg:
        tg_settings = channel_settings(
            "telegram",
            tg.token,
            tg.base_url,
            mode="webhook",
            webhook_url="https://bot.example" + TG_HOOK,
            webhook_secret=TG_SECRET,
        )
        telegram = TelegramChannel(app.dispatcher, tg_settings, policy=FAST, outbox_every=0.1)
        channels: list[NetworkChannel] = [zalo_hook_channel(app, zalo), telegram]
        async with bot_server(app, settings, channels) as port:
            before = await row_counts(app)
            body = json.dumps(zalo_update("resident-h1")).encode()
            for path, name in [
                (ZALO_HOOK, b"X-Bot-Api-Secret-Token"),
                (TG_HOOK, b"X-Telegram-Bot-Api-Secret-Token"),
            ]:
                for value in [
                    b"\xff\xfe\xfd",  # not UTF-8 at all
                    ZALO_SECRET.encode() + b"\xc3",  # the secret, then half a letter
                    "bí-mật-sai-hoàn-toàn".encode(),  # UTF-8, not ASCII
                    b"\xe9t\xe9" + TG_SECRET.encode(),  # Latin-1 bytes before the secret
                ]:
                    answer = await exchange(port, request(path, body, name + b": " + value))
                    assert status_of(answer) == 403, (path, value)
            assert [c.counts["webhook_refused"] for c in channels] == [4, 4]
            assert zalo.sent == [] and tg.sent == [] and await row_counts(app) == before

            # The right secret still opens the door.
            zalo.user_sends("resident-h1", "/start")
            assert await zalo.push_updates_to_webhook(
                f"http://127.0.0.1:{port}{ZALO_HOOK}", ZALO_SECRET
            ) == [200]
            await zalo.wait_for_sent(1, chat_id="resident-h1")
    assert [r.levelname for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert "Traceback" not in caplog.text


# ---- nesting ----------------------------------------------------------------------------


async def test_bodies_nested_too_deep_are_refused_before_parsing(app, settings) -> None:
    async with zalo_webhook(app, settings) as (zalo, channel, port):
        url = f"http://127.0.0.1:{port}{ZALO_HOOK}"
        headers = {"X-Bot-Api-Secret-Token": ZALO_SECRET}
        before = await row_counts(app)

        async def post(body: bytes | str) -> int:
            data = body.encode() if isinstance(body, str) else body
            async with aiohttp.ClientSession() as http:
                async with http.post(url, data=data, headers=headers) as response:
                    return response.status

        # Deep enough to exhaust the stack of a recursive parser: refused, not a crash.
        for body in [
            nested(100_000),
            "[" * 100_000,  # never closed
            '{"a":' * 50_000 + "1" + "}" * 50_000,
            '{"event_name": "message.text.received", "x": ' + nested(100_000) + "}",
        ]:
            assert await post(body) == 400, body[:20]
        assert zalo.sent == [] and await row_counts(app) == before

        # The limit counts every level: the update's own object is the first of 64.
        at_limit = json.dumps(zalo_update("resident-d1"))[:-1] + ', "x": ' + nested(63) + "}"
        assert await post(at_limit) == 200
        await zalo.wait_for_sent(1, chat_id="resident-d1")
        over = json.dumps(zalo_update("resident-d2"))[:-1] + ', "x": ' + nested(64) + "}"
        assert await post(over) == 400

        # Brackets in strings are text, however their quotes and backslashes are escaped.
        text = '"\\' * 40 + "[{" * 200 + '\\"' * 40
        assert await post(json.dumps(zalo_update("resident-d3", x=text, y=[text]))) == 200
        await zalo.wait_for_sent(1, chat_id="resident-d3")
        # ... and a string that ends in an escaped backslash ends there: what follows counts.
        sneaky = json.dumps(zalo_update("resident-d4", s="ends with \\"))[:-1]
        assert await post(sneaky + ', "x": ' + nested(64) + "}") == 400

        assert [m["chat_id"] for m in zalo.sent] == ["resident-d1", "resident-d3"]
        assert channel.counts["malformed"] == 6


async def test_telegram_bodies_nested_too_deep_are_refused_before_parsing(app, settings) -> None:
    async with FakeTelegram() as tg:
        tg_settings = channel_settings(
            "telegram",
            tg.token,
            tg.base_url,
            mode="webhook",
            webhook_url="https://bot.example" + TG_HOOK,
            webhook_secret=TG_SECRET,
        )
        channel = TelegramChannel(app.dispatcher, tg_settings, policy=FAST, outbox_every=0.1)
        async with bot_server(app, settings, [channel]) as port:
            url = f"http://127.0.0.1:{port}{TG_HOOK}"
            headers = {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET}
            before = await row_counts(app)

            async def post(body: str) -> int:
                async with aiohttp.ClientSession() as http:
                    async with http.post(url, data=body.encode(), headers=headers) as response:
                        return response.status

            for body in [
                nested(100_000),
                "{" * 100_000,  # never closed
                '{"update_id": 1, "message": ' + nested(100_000) + "}",
                '{"update_id": 2, "x": ' + '{"a":' * 50_000 + "1" + "}" * 50_000 + "}",
            ]:
                assert await post(body) == 400, body[:20]
            assert tg.sent == [] and await row_counts(app) == before

            # The update's own object is the first of 64 levels.
            def update(chat_id: int) -> str:
                sent = tg.user_sends(chat_id, "/start")
                tg.drop_updates()  # posted by hand here
                return json.dumps(sent)[:-1]

            assert await post(update(31) + ', "x": ' + nested(63) + "}") == 200
            await tg.wait_for_sent(1, chat_id=31)
            assert await post(update(32) + ', "x": ' + nested(64) + "}") == 400
            assert [m["chat_id"] for m in tg.sent] == [31]
            assert channel.counts["malformed"] == 5


# ---- trickling clients ------------------------------------------------------------------


async def test_a_trickled_body_gets_408_and_the_connection_is_closed(app, settings) -> None:
    async with zalo_webhook(app, settings, header_seconds=1.0, body_seconds=0.5) as (
        zalo,
        channel,
        port,
    ):
        before = await row_counts(app)
        body = json.dumps(zalo_update("resident-t1")).encode()
        head = request(ZALO_HOOK, b"", b"X-Bot-Api-Secret-Token: " + ZALO_SECRET.encode())
        head = head.replace(b"Content-Length: 0", f"Content-Length: {len(body)}".encode())
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(head)
        await writer.drain()
        took, answer = await until_closed(reader, writer, body, limit=0.5 + 1.0 + MARGIN)
        assert status_of(answer) == 408
        assert b"Connection: close" in answer
        # Answered after the body deadline, closed after at most the lingering time.
        assert 0.4 <= took <= 0.5 + 1.0 + MARGIN, took
        assert channel.counts["webhook_timeout"] == 1
        assert zalo.sent == [] and await row_counts(app) == before

        # A client that is not slow is not hurt by the short deadlines.
        zalo.user_sends("resident-t2", "/start")
        url = f"http://127.0.0.1:{port}{ZALO_HOOK}"
        assert await zalo.push_updates_to_webhook(url, ZALO_SECRET) == [200]
        await zalo.wait_for_sent(1, chat_id="resident-t2")


async def test_connections_without_a_prompt_request_are_closed(app, settings) -> None:
    deadline = 0.5
    async with zalo_webhook(app, settings, header_seconds=deadline, body_seconds=5.0) as (
        _zalo,
        _channel,
        port,
    ):
        limit = deadline + MARGIN

        # Connected, and then nothing at all.
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        took, said = await until_closed(reader, writer, b"", limit)
        assert deadline - 0.1 <= took <= limit and said == b"", took

        # The request line and the headers a byte at a time, never finished.
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        trickle = f"POST {ZALO_HOOK} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: ".encode()
        took, said = await until_closed(reader, writer, trickle, limit)
        assert deadline - 0.1 <= took <= limit and said == b"", took

        # A prompt request is answered, and the kept-alive connection is closed when the
        # next one trickles in just as slowly.
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert head.startswith(b"HTTP/1.1 200") and b"Connection: close" not in head
        length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
        assert json.loads(await reader.readexactly(length))["database"] == "ok"
        took, said = await until_closed(reader, writer, b"GET /healthz HTTP/1.1\r\nX-A: ", limit)
        assert deadline - 0.1 <= took <= limit and said == b"", took


# ---- Zalo photo URLs --------------------------------------------------------------------

PHOTO = b"\xff\xd8\xff\xe0 a photo, as far as the fetch is concerned"


@asynccontextmanager
async def local_server(redirect_to: str = "") -> AsyncIterator[tuple[str, Counter[str]]]:
    """A small HTTP server on 127.0.0.1 that counts the paths asked for: /p.jpg is a
    photo, /again redirects to /p.jpg, /away to `redirect_to`, anything else is 200."""
    hits: Counter[str] = Counter()

    async def handle(request: web.Request) -> web.Response:
        hits[request.path] += 1
        if request.path == "/again":
            raise web.HTTPFound("/p.jpg")
        if request.path == "/away":
            raise web.HTTPFound(redirect_to + "/secret")
        return web.Response(body=PHOTO, content_type="image/jpeg")

    server = web.Application()
    server.router.add_get("/{name}", handle)
    runner = web.AppRunner(server, access_log=None)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        yield f"http://127.0.0.1:{port}", hits
    finally:
        await runner.cleanup()


async def test_zalo_photos_come_only_from_zalo_without_redirects(app) -> None:
    async with local_server() as (inside, inside_hits):  # the bot's own network, say
        async with local_server(redirect_to=inside) as (files, hits):
            # In tests the stand-in is the API base, and so a file host the bot trusts.
            settings = channel_settings("zalo", "zalo-test-token", files)
            channel = ZaloChannel(app.dispatcher, settings, policy=FAST)
            fetch = channel.info.fetch
            try:
                assert await fetch(Attachment("photo", files + "/p.jpg", "image/jpeg", 0)) == PHOTO
                assert hits["/p.jpg"] == 1

                port = files.rsplit(":", 1)[1]
                for url in [
                    inside + "/p.jpg",  # another origin on the same machine
                    f"http://localhost:{port}/p.jpg",  # the stand-in by another name
                    f"https://127.0.0.1:{port}/p.jpg",  # ... or another scheme
                    f"http://user:pw@127.0.0.1:{port}/p.jpg",  # userinfo
                    f"http://@127.0.0.1:{port}/p.jpg",
                    "http://f21-zpc.zdn.vn/jpg/1/p.jpg",  # Zalo's host, without TLS
                    "https://f21-zpc.zdn.vn:8443/jpg/1/p.jpg",  # ... on another port
                    "https://user@f21-zpc.zdn.vn/jpg/1/p.jpg",
                    "https://evil.example\\@f21-zpc.zdn.vn/p.jpg",
                    "https://evil.example#@f21-zpc.zdn.vn/p.jpg",
                    "https://f21-zpc.zdn.vn%2eevil.example/p.jpg",
                    "https://f21-zpc.zdn.vn.evil.example/p.jpg",
                    "https://evilzdn.vn/p.jpg",
                    "https://zdn.vn@evil.example/p.jpg",
                    "https://10.0.0.1/p.jpg",  # IP literals
                    "https://[::1]/p.jpg",
                    "https://169.254.169.254/latest/meta-data",
                    "https://f21-zpc.zdn.vn\n.evil.example/p.jpg",
                    "file:///etc/passwd",
                    "ftp://f21-zpc.zdn.vn/p.jpg",
                    "p.jpg",
                    "",
                ]:
                    with pytest.raises(LookupError, match="not a Zalo file URL"):
                        await fetch(Attachment("photo", url, "image/jpeg", 0))

                # Redirects are never followed, not even within the trusted origin.
                for path in ("/again", "/away"):
                    with pytest.raises(LookupError, match="HTTP 302"):
                        await fetch(Attachment("photo", files + path, "image/jpeg", 0))
                assert hits == Counter({"/p.jpg": 1, "/again": 1, "/away": 1})
                assert inside_hits == Counter()
            finally:
                await channel.close()


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
