"""One poller per bot token. On PostgreSQL the processes of one bot agree on which of
them polls (an advisory lock): the others ask the platform for nothing and take over
when it stops or dies. Where they cannot agree (SQLite, or another deployment with the
same token), Telegram's 409 Conflict is logged once, shown in /healthz, and no update is
answered twice. Against the stand-in Bot API over real HTTP, which answers 409 to the
older of two getUpdates open at once, as Telegram does."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import text

from bot.app import App, open_app
from bot.channels.base import NetworkChannel, PollOptions
from bot.channels.telegram import TelegramChannel
from bot.channels.zalo import ZaloChannel
from bot.server import serve
from kernel.config import Settings
from tests.channels import FAST, channel_settings, free_port, until
from tests.fakes.telegram_bot_api import FakeTelegram
from tests.fakes.zalo_server import FakeZalo
from tests.helpers import WARDBOT

QUICK = PollOptions(
    leader_retry=0.2,
    leader_check=0.5,
    conflict_check=0.2,
    conflict_stuck=2.0,
    conflict_first=2.0,
    conflict_most=8.0,
)
CHATS = [731_000 + n for n in range(10)]
CONFLICT_LINE = "another instance is polling with this token"


def tg_channel(app: App, fake: FakeTelegram) -> TelegramChannel:
    settings = channel_settings("telegram", fake.token, fake.base_url)
    return TelegramChannel(
        app.dispatcher, settings, policy=FAST, outbox_every=0.1, poll_options=QUICK
    )


def send_updates(fake: FakeTelegram, count: int, start: int = 0) -> None:
    """Messages `start` to `start + count` of 200, one reply each: 20 in a row per chat,
    more than a conversation remembers (16), so that only the polling can keep each one
    answered once."""
    for n in range(start, start + count):
        fake.user_sends(CHATS[(n // 20) % len(CHATS)], "/hotline")


def replies_per_chat(fake: FakeTelegram) -> list[int]:
    """How many replies each chat got (counts only: no chat id in a failure message)."""
    counts = Counter(m["chat_id"] for m in fake.sent)
    return [counts.get(chat, 0) for chat in CHATS]


@asynccontextmanager
async def bot_process(app: App, settings: Settings, channel: NetworkChannel) -> AsyncIterator[str]:
    """What `wardbot run` runs, with its own database engine: the HTTP server (/healthz),
    the scheduler and the channel, until the block ends; yields the server's URL."""
    port = free_port()
    stop = asyncio.Event()
    task = asyncio.create_task(
        serve(app, replace(settings, server_port=port), stop=stop, channels=[channel])
    )
    try:
        await until(lambda: channel.state in ("running", "standby") or task.done(), 15)
        if task.done():
            task.result()
        yield f"http://127.0.0.1:{port}"
    finally:
        stop.set()
        await asyncio.wait_for(task, 60)


async def healthz(base: str) -> dict:
    async with aiohttp.ClientSession() as http, http.get(f"{base}/healthz") as response:
        return await response.json()


# ---- PostgreSQL: one process leads ---------------------------------------------------


async def test_on_postgresql_one_process_polls_and_another_takes_over(
    backend: str, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    if backend != "postgresql":
        pytest.skip("the processes agree on one poller through PostgreSQL")
    caplog.set_level(logging.INFO)
    first, second = await open_app(settings), await open_app(settings)
    try:
        async with FakeTelegram(max_poll=1) as tg:
            leader, other = tg_channel(first, tg), tg_channel(second, tg)
            async with bot_process(first, settings, leader) as leader_url:
                await until(lambda: leader.state == "running")
                async with bot_process(second, settings, other) as other_url:
                    await until(lambda: other.state == "standby")
                    assert (await healthz(other_url))["status"] == "ok"
                    assert (await healthz(other_url))["channels"]["telegram"]["state"] == "standby"
                    assert (await healthz(leader_url))["channels"]["telegram"]["state"] == "running"
                    send_updates(tg, 100)
                    await tg.wait_for_sent(100, timeout=60)
                    polls = len([c for c in tg.calls if c[0] == "getUpdates"])
                    await asyncio.sleep(1.5)  # several lead retries of the other process
                    assert other.state == "standby" and other.counts["updates"] == 0
                    assert tg.poll_conflicts == 0  # two open polls would have made one
                    send_updates(tg, 100, start=100)
                    await until(lambda: len(tg.sent) >= 130, 60)
                    # The leader stops half-way: it finishes what it is answering, leaves
                    # the rest to Telegram, and the other takes over within the retry.
                    await leader.stop()
                    stopped = asyncio.get_running_loop().time()
                    await until(lambda: other.state == "running", 10)
                    took = asyncio.get_running_loop().time() - stopped
                    await tg.wait_for_sent(200, timeout=60)
                    await asyncio.sleep(1.5)  # anything answered twice would show now
                    health = (await healthz(other_url))["channels"]["telegram"]
        assert replies_per_chat(tg) == [20] * 10  # each of the 200 answered exactly once
        assert len(tg.sent) == 200 and tg.pending_updates() == 0
        assert leader.counts["updates"] + other.counts["updates"] >= 200
        assert polls > 0 and tg.poll_conflicts == 0
        assert health["state"] == "running" and health["poll_takeovers"] == 1
        assert took < 3.0
    finally:
        await first.close()
        await second.close()
    log = caplog.text
    assert "stands by" in log and "this one polls now" in log
    assert tg.token not in log and tg.token.split(":")[1] not in log
    assert not any(str(chat) in log for chat in CHATS)


async def test_the_lock_is_named_by_a_keyed_hash_of_the_token(app: App) -> None:
    async with FakeTelegram() as tg:
        channel = tg_channel(app, tg)
        name = channel.poller_lock()
        other = TelegramChannel(app.dispatcher, channel_settings("telegram", "99:other", ""))
    assert name.startswith("poller:") and name != other.poller_lock()
    assert tg.token not in name and tg.token.split(":")[1] not in name
    assert name == tg_channel(app, tg).poller_lock()  # every process finds the same


async def test_zalo_polls_from_one_process_on_postgresql(backend: str, settings: Settings) -> None:
    if backend != "postgresql":
        pytest.skip("the processes agree on one poller through PostgreSQL")
    first, second = await open_app(settings), await open_app(settings)
    try:
        async with FakeZalo(max_poll=1) as zalo:
            zsettings = channel_settings("zalo", zalo.token, zalo.base_url)
            leader = ZaloChannel(
                first.dispatcher, zsettings, policy=FAST, outbox_every=0.1, poll_options=QUICK
            )
            other = ZaloChannel(
                second.dispatcher, zsettings, policy=FAST, outbox_every=0.1, poll_options=QUICK
            )
            async with bot_process(first, settings, leader):
                await until(lambda: leader.state == "running")
                async with bot_process(second, settings, other):
                    await until(lambda: other.state == "standby")
                    for n in range(10):
                        zalo.user_sends("zalo-chat", f"/hotline {n}")
                    await zalo.wait_for_sent(10, chat_id="zalo-chat", timeout=30)
                    assert other.counts["updates"] == 0
                    await leader.stop()
                    await until(lambda: other.state == "running", 10)
                    zalo.user_sends("zalo-chat", "/hotline")
                    await zalo.wait_for_sent(11, chat_id="zalo-chat", timeout=30)
        assert other.counts["updates"] == 1 and leader.counts["updates"] == 10
    finally:
        await first.close()
        await second.close()


async def test_a_leader_whose_lock_connection_dies_stops_polling_and_another_leads(
    backend: str, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    if backend != "postgresql":
        pytest.skip("the processes agree on one poller through PostgreSQL")
    caplog.set_level(logging.INFO)
    first, second = await open_app(settings), await open_app(settings)
    try:
        async with FakeTelegram(max_poll=1) as tg:
            leader, other = tg_channel(first, tg), tg_channel(second, tg)
            async with bot_process(first, settings, leader), bot_process(second, settings, other):
                await until(lambda: leader.state == "running" and other.state == "standby")
                send_updates(tg, 100)
                await tg.wait_for_sent(100, timeout=60)
                # The database ends the leader's lock session (a restart, a network cut).
                async with first.services.db.engine.connect() as connection:
                    ended = await connection.scalar(
                        text(
                            "SELECT count(pg_terminate_backend(pid)) FROM pg_locks WHERE "
                            "locktype = 'advisory' AND objid = "
                            "(hashtext(:name)::bigint & 4294967295)::oid"
                        ),
                        {"name": f"wardbot:{leader.poller_lock()}"},
                    )
                assert ended == 1
                # Up to 30 seconds: a loaded machine is slow, and this is about who polls.
                await until(lambda: other.state == "running", 30)
                await until(lambda: leader.state == "standby", 30)
                send_updates(tg, 100, start=100)
                await tg.wait_for_sent(200, timeout=60)
                await asyncio.sleep(1.5)
        assert replies_per_chat(tg) == [20] * 10 and len(tg.sent) == 200
        assert other.counts["poll_takeovers"] == 1
    finally:
        await first.close()
        await second.close()
    assert "the database connection holding the polling lead is lost" in caplog.text


# ---- SQLite, or another deployment: Telegram's 409 ------------------------------------


async def test_a_second_poller_is_a_conflict_logged_once_and_nothing_is_answered_twice(
    backend: str, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    if backend != "sqlite":
        pytest.skip("on PostgreSQL only one process polls")
    caplog.set_level(logging.INFO)
    first, second = await open_app(settings), await open_app(settings)
    try:
        async with FakeTelegram(max_poll=1) as tg:
            older, newer = tg_channel(first, tg), tg_channel(second, tg)
            async with bot_process(first, settings, older) as older_url:
                await until(lambda: older.state == "running")
                async with bot_process(second, settings, newer):
                    # The newer poll ends the older one's (409): the older stands aside.
                    await until(lambda: older.state == "conflict", 10)
                    health = await healthz(older_url)
                    assert health["status"] == "degraded"
                    assert health["channels"]["telegram"]["state"] == "conflict"
                    assert health["channels"]["telegram"]["poll_conflict"] >= 1
                    for burst in range(4):  # with quiet between: the pollers may swap
                        send_updates(tg, 50, start=50 * burst)
                        await until(lambda: tg.pending_updates() == 0, 60)
                        await asyncio.sleep(2.5)
                    await tg.wait_for_sent(200, timeout=60)
                    await asyncio.sleep(1.0)  # anything answered twice would show now
                    assert replies_per_chat(tg) == [20] * 10
                    assert len(tg.sent) == 200
                    conflicts = tg.poll_conflicts
                # The newer one has stopped: the older polls again and answers.
                await until(lambda: older.state == "running", 20)
                assert (await healthz(older_url))["status"] == "ok"
                before = len(tg.sent)
                tg.user_sends(CHATS[0], "/hotline")
                await tg.wait_for_sent(before + 1, timeout=20)
                await asyncio.sleep(3)  # polling alone again: no new conflict
                assert tg.poll_conflicts == conflicts
        assert len(tg.sent) == 201
    finally:
        await first.close()
        await second.close()
    warnings = [r for r in caplog.records if CONFLICT_LINE in r.getMessage()]
    # Each process says it once (the reminder comes after ten minutes), however often
    # the two swapped: not once per 409 (there were several).
    assert 1 <= len(warnings) <= 2 < conflicts + 1
    assert all(r.levelno == logging.WARNING for r in warnings)
    assert "409 Conflict" in warnings[0].getMessage()
    assert "polling again after a conflict" in caplog.text
    log = caplog.text
    assert tg.token not in log and tg.token.split(":")[1] not in log
    assert not any(str(chat) in log for chat in CHATS)


# ---- real processes: kill -9 the leader ------------------------------------------------


def run_config(tmp_path: Path, name: str, tg: FakeTelegram, database_url: str, port: int) -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(
        f"""
[storage]
data_dir = "{tmp_path / name}"
database_url = "{database_url}"
keyring = "{tmp_path / "keys" / "keyring.json"}"

[telegram]
token = "{tg.token}"
api_base = "{tg.base_url}"
mode = "polling"

[server]
port = {port}
""",
        encoding="utf-8",
    )
    return path


async def start_run(cfg: Path, port: int) -> asyncio.subprocess.Process:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WARDBOT_", "HTTP"))}
    process = await asyncio.create_subprocess_exec(
        WARDBOT,
        "--config",
        str(cfg),
        "run",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while True:
        try:
            body = await healthz(f"http://127.0.0.1:{port}")
            if body["status"] == "ok":
                return process
        except aiohttp.ClientError:
            pass
        if process.returncode is not None or loop.time() > deadline:
            _out, err = await process.communicate()
            raise AssertionError(f"wardbot run did not become healthy: {err.decode()[-2000:]}")
        await asyncio.sleep(0.2)


async def test_killing_the_polling_process_lets_another_take_over(
    backend: str, database_url: str, tmp_path: Path
) -> None:
    if backend != "postgresql":
        pytest.skip("the processes agree on one poller through PostgreSQL")
    ports = free_port(), free_port()
    async with FakeTelegram(max_poll=1) as tg:
        cfgs = [
            run_config(tmp_path, n, tg, database_url, p) for n, p in zip("ab", ports, strict=True)
        ]
        first = await start_run(cfgs[0], ports[0])
        second = await start_run(cfgs[1], ports[1])
        try:
            states = [
                (await healthz(f"http://127.0.0.1:{p}"))["channels"]["telegram"]["state"]
                for p in ports
            ]
            assert states == ["running", "standby"]
            send_updates(tg, 100)
            await tg.wait_for_sent(100, timeout=60)
            await until(lambda: tg.pending_updates() == 0, 30)
            first.send_signal(signal.SIGKILL)
            await first.wait()
            killed = asyncio.get_running_loop().time()

            async def leading() -> bool:
                body = await healthz(f"http://127.0.0.1:{ports[1]}")
                return body["channels"]["telegram"]["state"] == "running"

            while not await leading():
                assert asyncio.get_running_loop().time() - killed < 15, "no takeover"
                await asyncio.sleep(0.1)
            took = asyncio.get_running_loop().time() - killed
            send_updates(tg, 100, start=100)
            await tg.wait_for_sent(200, timeout=60)
            await asyncio.sleep(1.5)
        finally:
            for process in (first, second):
                if process.returncode is None:
                    process.send_signal(signal.SIGTERM)
            _out, err = await asyncio.wait_for(second.communicate(), 30)
            await asyncio.wait_for(first.wait(), 30)
    log = err.decode()
    assert replies_per_chat(tg) == [20] * 10 and len(tg.sent) == 200
    assert tg.poll_conflicts == 0
    assert took < 5.0  # the lead is retried every 2 s; the dead one's lock goes at once
    assert "this one polls now" in log and "Traceback" not in log
    assert tg.token not in log and not any(str(chat) in log for chat in CHATS)


async def test_a_webhook_set_meanwhile_is_a_conflict_until_it_is_removed(
    app: App, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with FakeTelegram(max_poll=1) as tg:
        channel = tg_channel(app, tg)
        async with bot_process(app, settings, channel) as url:
            await until(lambda: channel.state == "running")
            tg.webhook = {
                "url": "https://elsewhere.example/hook",
                "secret_token": None,
                "allowed_updates": None,
            }  # another instance, in webhook mode
            await until(lambda: channel.state == "conflict", 10)
            await asyncio.sleep(3)  # past the quiet wait: still no polling while it is set
            assert channel.state == "conflict"
            assert (await healthz(url))["channels"]["telegram"]["state"] == "conflict"
            tg.webhook = None
            await until(lambda: channel.state == "running", 15)
            tg.user_sends(CHATS[0], "/hotline")
            await tg.wait_for_sent(1, timeout=20)
    warnings = [r for r in caplog.records if "a webhook is set for this token" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
