"""`wardbot run --config cfg.toml` as an operator starts it: one process serving Telegram
and Zalo against local stand-in servers, by polling and by webhook, answering /healthz,
and stopping cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import aiohttp
import pytest

from tests.channels import free_port, until
from tests.fakes.telegram_bot_api import FakeTelegram
from tests.fakes.zalo_server import FakeZalo
from tests.helpers import WARDBOT

TG_SECRET = "run-test_secret"
ZALO_SECRET = "run-test-zalo-secret"


def config(tmp_path: Path, tg: FakeTelegram, zalo: FakeZalo, mode: str, port: int) -> Path:
    hooks = mode == "webhook"
    text = f"""
[storage]
data_dir = "{tmp_path / "data"}"

[telegram]
token = "{tg.token}"
api_base = "{tg.base_url}"
mode = "{mode}"
{f'webhook_url = "https://bot.example/hooks/telegram"{chr(10)}webhook_secret = "{TG_SECRET}"' if hooks else ""}

[zalo]
token = "{zalo.token}"
api_base = "{zalo.base_url}"
mode = "{mode}"
{f'webhook_url = "https://bot.example/hooks/zalo"{chr(10)}webhook_secret = "{ZALO_SECRET}"' if hooks else ""}

[server]
port = {port}
"""
    path = tmp_path / "cfg.toml"
    path.write_text(text, encoding="utf-8")
    return path


async def start(cfg: Path, port: int) -> asyncio.subprocess.Process:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WARDBOT_", "HTTP"))}
    process = await asyncio.create_subprocess_exec(
        WARDBOT,
        "--config",
        str(cfg),
        "run",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )

    async def healthy() -> bool:
        try:
            async with (
                aiohttp.ClientSession() as http,
                http.get(f"http://127.0.0.1:{port}/healthz") as response,
            ):
                body = await response.json()
                return response.status == 200 and body["status"] == "ok"
        except aiohttp.ClientError:
            return False

    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while not await healthy():
        if process.returncode is not None or loop.time() > deadline:
            _out, err = await process.communicate()
            raise AssertionError(f"wardbot run did not become healthy: {err.decode()[-2000:]}")
        await asyncio.sleep(0.2)
    return process


async def stop(process: asyncio.subprocess.Process) -> str:
    process.send_signal(signal.SIGTERM)
    _out, err = await asyncio.wait_for(process.communicate(), 30)
    log = err.decode()
    assert process.returncode == 0, log[-2000:]
    assert "Traceback" not in log
    return log


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_run_answers_start_on_telegram_and_zalo(tmp_path: Path, mode: str) -> None:
    port = free_port()
    async with FakeTelegram(max_poll=1) as tg, FakeZalo(max_poll=1) as zalo:
        process = await start(config(tmp_path, tg, zalo, mode, port), port)
        try:
            tg.user_sends(1001, "/start")
            zalo.user_sends("zalo-resident", "/start")
            if mode == "webhook":
                assert tg.webhook is not None and zalo.webhook is not None
                base = f"http://127.0.0.1:{port}/hooks"
                assert await tg.push_updates_to_webhook(f"{base}/telegram", TG_SECRET) == [200]
                assert await zalo.push_updates_to_webhook(f"{base}/zalo", ZALO_SECRET) == [200]
            [tg_menu] = await tg.wait_for_sent(1, chat_id=1001, timeout=20)
            [zalo_menu] = await zalo.wait_for_sent(1, chat_id="zalo-resident", timeout=20)
        finally:
            log = await stop(process)
    assert "Xin mời bạn chọn" in tg_menu["text"] and tg_menu["reply_markup"]
    assert "Xin mời bạn chọn" in zalo_menu["text"] and "\n1. " in zalo_menu["text"]
    assert "1001" not in log and "zalo-resident" not in log and tg.token not in log


async def test_sigterm_finishes_the_update_in_progress(tmp_path: Path) -> None:
    port = free_port()
    async with FakeTelegram(max_poll=1) as tg, FakeZalo(max_poll=1) as zalo:
        process = await start(config(tmp_path, tg, zalo, "polling", port), port)
        tg.delay_next("sendMessage", 2.0)
        tg.user_sends(1002, "/start")
        await until(lambda: any(method == "sendMessage" for method, _ in tg.calls), 20)
        await stop(process)  # while the reply is on its way
        assert [m["chat_id"] for m in tg.sent] == [1002]
