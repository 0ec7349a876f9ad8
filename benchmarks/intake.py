"""Intake at the framework's speed: residents' updates through one real `wardbot run`
(a subprocess started with the CLI, Telegram in webhook mode, a fresh data folder and
keyring in a temporary directory) against the stand-in Bot API, compared with a bare
aiogram 3 bot (one handler answering every message and button press with one
sendMessage, in webhook mode, in its own subprocess, against a stand-in of its own),
on SQLite and on PostgreSQL.

    .venv/bin/python benchmarks/intake.py [--seconds 15] [--rounds 3] [--in-flight 100]
        [--users 1000] [--pg-url postgresql+asyncpg://postgres@127.0.0.1:5432/wardbot_bench_intake]
    .venv/bin/python benchmarks/intake.py --quick        # a smoke run (about 3 minutes)

A default run takes 8 to 9 minutes: the SQLite run, then the PostgreSQL one (skipped,
saying so, when --pg-url cannot be reached; its public schema is dropped and created
again first). `--quick` runs one short round of each kind, with 25 in flight.

The driver (this process) plays residents, each a private chat of its own, and POSTs
their updates to the webhook with the secret header, as Telegram does; the stand-ins
(tests/fakes/telegram_bot_api.py, also in this process) record when each reply
arrives. A resident waits for its reply before its next step. The mix, per session: 45%
report a tip (/start, "Report a tip", a category, the residential group from the list,
typed without accents or "I don't know", the place typed or skipped, when, the tip text,
"no files", follow-up yes/no, Send, the receipt, then "delete this conversation" or
"keep it"), 30% browse the menu and its sub-menus (the campaign, invite, quiz, hotlines,
language, subscribe, check a tip, back to the menu), 25% `/status CODE SECRET` with a
receipt some resident got (the tip stored or still in the mixer), then "Done" and "keep
it". The bare bot gets the same kind of updates (the same texts and button data; it
answers every one with "Đã nhận." and shows no button, so where wardbot's answer decides
the next step, as with a group picked from the list, the bare run takes the step wardbot
would most often show).

Per backend, after a warm-up (not counted): `--rounds` saturated rounds of `--seconds`,
alternating wardbot, bare, wardbot, bare..., each with `--in-flight` residents at once
and no pause (so that many updates are always outstanding); throughput is the updates
whose first reply reached the stand-in within the round, per second. The residents are
kept from round to round: when a round ends each finishes the step it waits for and
pauses until the target's next round, so reports reach their receipt. Then
`--light-rounds` light rounds of `--light-seconds`, alternating the same way: 5
residents pausing a random, exponentially distributed time between steps, about
`--light-rate` updates/s in all (Poisson-like); latency is from the webhook POST being
sent to the update's first reply reaching the stand-in. Both wardbot and the bare bot
answer the webhook only after their replies went out.

Checked, for wardbot: `failed` (answered with the apology, not answered within 10 s, or
a webhook answer other than 200); `lost` (a receipt the driver got whose tip is not in
the `tips` table once the bot was stopped with SIGTERM: `tips.mix_minutes` is 1, the
smallest allowed, and the mixer stores every waiting tip at stop); `twice` (an update
answered more than once: more messages in its window, up to the same resident's next
update, than that step sends, or the step's screen twice). The wardbot log (stderr, in
the temporary directory) is scanned for ERROR and WARNING lines.

Memory: wardbot's main process (VmRSS, and its peak VmHWM, from /proc) with Telegram
AND Zalo configured (Zalo in webhook mode against tests/fakes/zalo_server.py), idle
after start, under the saturated load, and during an ad-hoc broadcast to
`--broadcast-subscribers` subscribers (added with the storage layer before the SQLite
run, like benchmarks/broadcast.py; sent at 300 messages/s), against the bare bot's
idle VmRSS.

Targets: ratios >= 0.5, light-load p99 < 100 ms, failed = lost = twice = 0 at 100 in
flight, rss_ratio <= 1.25.

Ends with: RESULT sqlite_ratio=.. pg_ratio=.. sqlite_p99_ms=.. pg_p99_ms=.. failed=..
lost=.. twice=.. rss_ratio=..
"""

from __future__ import annotations

import os
import sys

# benchmarks/queue.py would shadow the standard library's queue: this directory leaves
# sys.path, the project's root takes its place.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]
sys.path.insert(0, os.path.dirname(_HERE))

import argparse
import asyncio
import json
import math
import platform
import random
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import tempfile
import time
import unicodedata
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
ROOT = HERE.parent.parent
TOKEN = "515151:INTAKE-bench"  # noqa: S105  # the stand-in's token, not a secret
BARE_TOKEN = "616161:BARE-bench"  # noqa: S105  # the stand-in's token, not a secret
ZALO_TOKEN = "zalo-intake-bench"  # noqa: S105  # the stand-in's token, not a secret
SECRET = "intake_bench-Secret_16"  # noqa: S105  # the webhook secret of this run only
ZALO_SECRET = "zalo-intake-Secret-16"  # noqa: S105
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105  # a header name
ZALO_HEADER = "X-Bot-Api-Secret-Token"  # a header name
DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/wardbot_bench_intake"
ANSWER_TIMEOUT = 10.0  # an update without a reply by then has failed
POST_TIMEOUT = 30.0
SUBSCRIBER_BASE = 7_500_000_000
USER_BASES = {
    ("wardbot", "sqlite"): 8_100_000_000,
    ("wardbot", "pg"): 8_200_000_000,
    ("bare", "sqlite"): 8_910_000_000,
    ("bare", "pg"): 8_920_000_000,
}
LIGHT_AGENTS = 5  # residents at light load, each pausing 1 s on average
BROADCAST_RATE = 300
BARE_REPLY = "Đã nhận."
TARGETS = "ratios >= 0.5, light-load p99 < 100 ms, failed = lost = twice = 0 at 100 in flight, rss_ratio <= 1.25"
# The ward of seed 003 and its 2025 residential groups (as tests/helpers.py).
WARD = ("Phù Liễn", "phu-lien", "Hải Phòng")
GROUPS = (
    "Nam Hải",
    "Quy Tức 1",
    "Tổ 9",
    "Đẩu Sơn 1",
    "Tổ 6",
    "Cấp Tiến",
    "Lệ Tảo 1",
    "Lệ Tảo 2",
    "Đẩu Phượng 2",
    "Hòa Bình",
    "Đồng Tử 2",
    "Minh Khai",
)
CATEGORIES = (
    "dealing",
    "use",
    "addiction",
    "venue",
    "trafficking",
    "growing",
    "wanted",
    "driving",
    "disguised",
    "online",
    "school",
    "other",
)
PLACES = (
    "Ngõ 12 phố Lê Lợi, gần quán nước đầu ngõ",
    "sau chợ Đẩu Sơn, dãy nhà trọ cuối đường",
    "ngo 5 duong Tran Phu, canh tiem sua xe",
    "Công viên bờ hồ, ghế đá gần cổng phía tây",
    "khu nhà trọ sau trường tiểu học",
)
TEXTS = (
    "Có mấy thanh niên lạ hay tụ tập ở đây vào ban đêm, thấy đưa nhau gói nhỏ rồi đi ngay.",
    "Nhà trọ này có người ra vào liên tục sau 11 giờ đêm, có mùi khét lạ bay ra.",
    "toi thay co nguoi ban thuoc lac o quan karaoke, thuong vao thu sau va thu bay",
    "Một nhóm học sinh mua kẹo và thuốc lá điện tử của một người đi xe máy không biển số.",
    "Người này vừa đi cai nghiện về nhưng mấy hôm nay lại thấy sử dụng, có lúc rất kích động.",
    "Có người trồng mấy cây lạ giống cần sa trong vườn sau nhà, che lưới kín.",
)
# The apologies (engine/conversation.py), looked up in the Vietnamese catalogue too.
APOLOGY_IDS = (
    "Sorry, something went wrong on our side. Nothing you sent before was lost. "
    "Please try again in a moment.",
    "Sorry, part of this answer could not be prepared. Please try again in a moment.",
    "Sorry, part of this could not be saved. Please try again in a moment.",
)
RECEIPT = re.compile(r"/status (\S{7}) (\S{4}-\S{4}-\S{4}-\S{4})")


# ---- small helpers -------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rank(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def summary(values: list[float]) -> str:
    if not values:
        return "no samples"
    return (
        f"n={len(values):<5} p50 {rank(values, 0.5):6.0f} ms  p90 {rank(values, 0.9):6.0f} ms"
        f"  p99 {rank(values, 0.99):6.0f} ms  max {max(values):6.0f} ms"
    )


def proc_status(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM of a process, in MB (empty once it is gone)."""
    found: dict[str, float] = {}
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    name, value = line.split(":", 1)
                    found[name] = int(value.split()[0]) / 1024
    except OSError:
        pass
    return found


def cpu_of(pid: int | None) -> float:
    """CPU seconds used so far by `pid` (None: this process)."""
    if pid is None:
        times = os.times()
        return times.user + times.system
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return math.nan
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def plain(text: str) -> str:
    """How a resident types a name without accents: 'Đẩu Sơn 1' -> 'dau son 1'."""
    text = text.replace("Đ", "D").replace("đ", "d")
    return "".join(
        c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c)
    ).lower()


def apologies() -> set[str]:
    from kernel.i18n import Translator  # Babel only: the bot itself is not loaded here

    translator = Translator()
    found = set(APOLOGY_IDS)
    for language in ("vi", "en"):
        found.update(translator.get(language).gettext(m) for m in APOLOGY_IDS)
    return found


# ---- the stand-ins (in this process) -------------------------------------------------------


@dataclass(slots=True)
class Seen:
    """One message a bot sent to a resident's chat, as the stand-in received it."""

    at: float
    text: str
    buttons: tuple[str, ...]
    result: dict[str, Any]


def stand_in_class() -> type:
    from tests.fakes.telegram_bot_api import FakeTelegram

    class BenchTelegram(FakeTelegram):
        """The stand-in Bot API, keeping each chat's messages with the time they arrived
        and waking whoever waits for that chat; broadcast messages are only counted."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.by_chat: dict[int, list[Seen]] = defaultdict(list)
            self.waiting: dict[int, asyncio.Event] = {}
            self.broadcast_received: Counter[int] = Counter()
            self.broadcast_last = 0.0

        def _record(self, method: str, params: dict, content: dict, **extra: Any) -> Any:
            response = super()._record(method, params, content, **extra)
            entry = self.sent.pop()  # kept here instead, small
            chat = entry["chat_id"]
            if SUBSCRIBER_BASE <= chat < SUBSCRIBER_BASE + 10_000_000 or chat < 0:
                self.broadcast_received[chat] += 1
                self.broadcast_last = time.monotonic()
                return response
            markup = entry.get("reply_markup") or {}
            buttons = tuple(
                b.get("callback_data", "") for row in markup.get("inline_keyboard", []) for b in row
            )
            self.by_chat[chat].append(
                Seen(time.monotonic(), content.get("text", ""), buttons, entry["result"])
            )
            event = self.waiting.get(chat)
            if event is not None:
                event.set()
            return response

        def text_update(self, chat: int, text: str, language: str) -> dict[str, Any]:
            message = self._message(chat, None, None, language)
            message["text"] = text
            if text.startswith("/"):
                message["entities"] = [
                    {"type": "bot_command", "offset": 0, "length": len(text.split()[0])}
                ]
            self._next_update_id += 1
            return {"update_id": self._next_update_id, "message": message}

        def press_update(self, chat: int, data: str, language: str) -> dict[str, Any]:
            shown = None
            for seen in reversed(self.by_chat[chat]):
                if data in seen.buttons:
                    shown = seen.result
                    break
            if shown is None:  # the bare bot shows no buttons: its last message carries it
                seen_list = self.by_chat[chat]
                shown = (
                    seen_list[-1].result
                    if seen_list
                    else {
                        "message_id": self._message_id(chat),
                        "date": int(time.time()),
                        "chat": self._chat(chat, None),
                        "from": self.bot_user,
                        "text": "…",
                    }
                )
            query = f"{chat:x}{self._next_update_id:x}"
            self._callbacks.add(query)
            self._next_update_id += 1
            return {
                "update_id": self._next_update_id,
                "callback_query": {
                    "id": query,
                    "from": self._user(chat, language),
                    "chat_instance": str(chat),
                    "data": data,
                    "message": shown,
                },
            }

        def forget_calls(self) -> None:
            """What the base class keeps of every call, not needed here."""
            self.calls.clear()
            self.sent.clear()
            self.answered_callbacks.clear()
            self.webhook_calls.clear()
            self._callbacks.clear()

    return BenchTelegram


# ---- the bare aiogram bot (its own process) ------------------------------------------------


async def run_bare(api: str, port: int) -> None:
    """A trivial aiogram 3 bot in webhook mode: one sendMessage per message or press."""
    from aiogram import Bot, Dispatcher, Router
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram.types import CallbackQuery, Message
    from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
    from aiohttp import web

    bot = Bot(BARE_TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(api)))
    router = Router()

    @router.message()
    async def on_message(message: Message) -> None:
        await message.answer(BARE_REPLY)

    @router.callback_query()
    async def on_press(query: CallbackQuery) -> None:
        await bot.send_message(query.message.chat.id, BARE_REPLY)  # type: ignore[union-attr]

    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    app = web.Application()
    # Answer the webhook once the handler is done, as wardbot does.
    SimpleRequestHandler(dispatcher, bot, secret_token=SECRET, handle_in_background=False).register(
        app, path="/webhook/bare"
    )
    setup_application(app, dispatcher, bot=bot)
    await bot.set_webhook(
        f"http://127.0.0.1:{port}/webhook/bare",
        secret_token=SECRET,
        allowed_updates=["message", "callback_query"],
    )
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    print("ready", flush=True)
    await stop.wait()
    await runner.cleanup()


# ---- setting up with the storage layer (child processes) -----------------------------------


async def add_audience(config: Path, people: int) -> None:
    """`people` subscribers spread over the ward's TDPs, and one ward-wide ad-hoc
    broadcast scheduled a year ahead (it keeps the monthly planner from planning one
    meanwhile; `start_broadcast` makes it due)."""
    from datetime import timedelta

    from bot.app import open_app
    from kernel.clock import utcnow
    from kernel.config import load
    from kernel.routes import Route
    from storage import subscribers, wards
    from storage.models import Broadcast, BroadcastKind, BroadcastStatus

    app = await open_app(load(config))
    services = app.services
    try:
        async with services.db.transaction() as session:
            ward = await wards.find_ward(session, WARD[1])
            assert ward is not None
            tdps = await wards.list_groups(session, ward)
            ward_id = ward.id
        for start in range(0, people, 1000):
            async with services.db.transaction() as session:
                for number in range(start, min(people, start + 1000)):
                    route = Route("telegram", str(SUBSCRIBER_BASE + number))
                    await subscribers.subscribe(
                        session,
                        services.vault,
                        services.pseudonyms,
                        route,
                        tdps[number % len(tdps)],
                        "vi",
                    )
        async with services.db.transaction() as session:
            session.add(
                Broadcast(
                    ward_id=ward_id,
                    kind=BroadcastKind.ADHOC,
                    period=utcnow().strftime("%Y-%m"),
                    text="Tháng hành động phòng, chống ma túy: mỗi người dân là một chiến sỹ, mỗi "
                    "gia đình là một pháo đài. Đường dây nóng:\n{hotlines}",
                    status=BroadcastStatus.SCHEDULED,
                    scheduled_at=utcnow() + timedelta(days=365),
                    created_at=utcnow(),
                )
            )
    finally:
        await app.close()


async def start_broadcast(config: Path) -> None:
    """Make the waiting ad-hoc broadcast due now (the running bot's tick starts it)."""
    from sqlalchemy import update

    from kernel.clock import utcnow
    from kernel.config import load
    from storage.db import Database
    from storage.models import Broadcast, BroadcastKind, BroadcastStatus

    db = Database(load(config).database_url)
    try:
        async with db.transaction() as session:
            await session.execute(
                update(Broadcast)
                .where(
                    Broadcast.kind == BroadcastKind.ADHOC,
                    Broadcast.status == BroadcastStatus.SCHEDULED,
                )
                .values(scheduled_at=utcnow())
            )
    finally:
        await db.dispose()


def child(role: str, config: Path, *extra: str) -> float:
    started = time.monotonic()
    done = subprocess.run(  # noqa: S603
        [
            sys.executable,
            str(HERE),
            "--role",
            role,
            "--config",
            str(config),
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        sys.stderr.write(done.stderr[-3000:])
        raise SystemExit(f"{role} failed ({done.returncode})")
    return time.monotonic() - started


# ---- PostgreSQL ------------------------------------------------------------------------------


async def pg_reset(url: str) -> str | None:
    """Create the database if needed and give it an empty public schema; None when
    done, else why PostgreSQL cannot be used."""
    import asyncpg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    params = {
        "user": parsed.username,
        "password": parsed.password,
        "host": parsed.host or "127.0.0.1",
        "port": parsed.port or 5432,
    }
    try:
        admin = await asyncpg.connect(database="postgres", timeout=5, **params)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    try:
        exists = await admin.fetchval(
            "SELECT 1 FROM pg_database WHERE datname = $1", parsed.database
        )
        if not exists:
            await admin.execute(f'CREATE DATABASE "{parsed.database}"')
    finally:
        await admin.close()
    connection = await asyncpg.connect(database=parsed.database, timeout=5, **params)
    try:
        await connection.execute("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public")
    finally:
        await connection.close()
    return None


async def pg_stored(url: str) -> tuple[set[str], int]:
    import asyncpg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    connection = await asyncpg.connect(
        user=parsed.username,
        password=parsed.password,
        host=parsed.host,
        port=parsed.port or 5432,
        database=parsed.database,
        timeout=5,
    )
    try:
        codes = {row[0] for row in await connection.fetch("SELECT code FROM tips")}
        drops = await connection.fetchval("SELECT count(*) FROM drops")
    finally:
        await connection.close()
    return codes, int(drops)


def sqlite_stored(path: Path) -> tuple[set[str], int]:
    connection = sqlite3.connect(path)
    try:
        codes = {row[0] for row in connection.execute("SELECT code FROM tips")}
        drops = connection.execute("SELECT count(*) FROM drops").fetchone()[0]
    finally:
        connection.close()
    return codes, int(drops)


# ---- the processes -----------------------------------------------------------------------------


def wardbot_command() -> list[str]:
    script = Path(sys.executable).with_name("wardbot")
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot.cli"]


class Wardbot:
    """One `wardbot run`: its configuration, its setup through the CLI, its log."""

    def __init__(
        self, workdir: Path, backend: str, database_url: str, telegram_api: str, zalo_api: str
    ) -> None:
        self.workdir = workdir / f"wardbot-{backend}"
        self.workdir.mkdir()
        self.backend = backend
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/webhook/telegram"
        self.zalo_url = f"http://127.0.0.1:{self.port}/webhook/zalo"
        self.config = self.workdir / "wardbot.toml"
        self.log = self.workdir / "wardbot.log"
        self.database = self.workdir / "data" / "wardbot.db"
        # Every resident sends many tips here; the smallest mixing delay allowed. No
        # planned broadcast during the rounds; no quiet hours for the one sent at the end.
        self.config.write_text(f"""\
[storage]
data_dir = "data"
database_url = "{database_url}"
keyring = "keys/keyring.json"
[bot]
default_ward = "{WARD[1]}"
[tips]
per_hour = 1000
per_day = 10000
status_failures_per_hour = 100
mix_minutes = 1
[log]
level = "INFO"
[telegram]
api_base = "{telegram_api}"
mode = "webhook"
webhook_url = "{self.url}"
rate_per_second = {BROADCAST_RATE}
[zalo]
api_base = "{zalo_api}"
mode = "webhook"
webhook_url = "{self.zalo_url}"
[server]
host = "127.0.0.1"
port = {self.port}
[broadcasts]
default_campaigns = false
monthly_day = 28
quiet_start = "00:00"
quiet_end = "00:00"
""")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("WARDBOT_")}
        self.env.update(
            WARDBOT_TELEGRAM_TOKEN=TOKEN,
            WARDBOT_TELEGRAM_WEBHOOK_SECRET=SECRET,
            WARDBOT_ZALO_TOKEN=ZALO_TOKEN,
            WARDBOT_ZALO_WEBHOOK_SECRET=ZALO_SECRET,
            WARDBOT_LANG="en",
        )
        self.process: subprocess.Popen[bytes] | None = None

    def cli(self, *args: str) -> str:
        done = subprocess.run(  # noqa: S603
            [*wardbot_command(), "--config", str(self.config), *args],
            capture_output=True,
            text=True,
            env=self.env,
            cwd=self.workdir,
            timeout=300,
            check=False,
        )
        if done.returncode != 0:
            sys.stderr.write(done.stderr[-3000:])
            raise SystemExit(f"wardbot {' '.join(args[:2])} failed ({done.returncode})")
        return done.stdout

    def set_up(self) -> float:
        started = time.monotonic()
        groups = self.workdir / "groups.csv"
        groups.write_text("name\n" + "".join(f"{name}\n" for name in GROUPS), encoding="utf-8")
        self.cli("ward", "add", WARD[0], "--code", WARD[1], "--city", WARD[2])
        self.cli("ward", "hotline", WARD[1], "Công an phường Phù Liễn=0225 000 0000")
        self.cli("tdp", "import", str(groups), "--ward", WARD[1])
        return time.monotonic() - started

    async def start(self) -> float:
        started = time.monotonic()
        self.process = subprocess.Popen(  # noqa: S603, ASYNC220  # starting it does not block
            [*wardbot_command(), "--config", str(self.config), "run"],
            env=self.env,
            cwd=self.workdir,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self.log.open("wb"),
        )
        await wait_healthy(f"http://127.0.0.1:{self.port}/healthz", self.process, self.log)
        return time.monotonic() - started

    async def stop(self) -> tuple[float, int | None]:
        """SIGTERM, and the wait for a graceful exit (the mixer stores every tip); the
        stand-ins in this process go on answering meanwhile."""
        assert self.process is not None
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            code: int | None = await asyncio.to_thread(self.process.wait, 120)
        except subprocess.TimeoutExpired:
            self.process.kill()
            await asyncio.to_thread(self.process.wait)
            code = None
        return time.monotonic() - started, code

    def log_lines(self) -> tuple[Counter[str], Counter[str], list[str]]:
        """ERROR and WARNING lines by message (the time stamp left out), and any other
        line (a traceback would be one)."""
        errors: Counter[str] = Counter()
        warnings: Counter[str] = Counter()
        other: list[str] = []
        line_format = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ (\w+) (.*)$")
        for line in self.log.read_text(encoding="utf-8", errors="replace").splitlines():
            match = line_format.match(line)
            if match is None:
                other.append(line)
            elif match[1] in ("ERROR", "CRITICAL"):
                errors[match[2]] += 1
            elif match[1] == "WARNING":
                warnings[match[2]] += 1
        return errors, warnings, other


async def wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    from aiohttp import ClientSession, ClientTimeout

    deadline = time.monotonic() + 90
    async with ClientSession(timeout=ClientTimeout(total=3)) as session:
        while True:
            if process.poll() is not None:
                sys.stderr.write(log.read_text(errors="replace")[-3000:])  # noqa: ASYNC240  # ending
                raise SystemExit(f"the process at {url} exited ({process.returncode})")
            try:
                async with session.get(url) as response:
                    body = await response.json(content_type=None)
                    if response.status == 200 and body.get("status") == "ok":
                        return
            except Exception:  # noqa: S110  # not listening yet
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"{url} did not become healthy")
            await asyncio.sleep(0.2)


class Bare:
    def __init__(self, workdir: Path, api: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/webhook/bare"
        self.log = workdir / "bare.log"
        self.process = subprocess.Popen(  # noqa: S603
            [sys.executable, str(HERE), "--role", "bare", "--api", api, "--port", str(self.port)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self.log.open("wb"),
        )

    def ready(self) -> None:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if line.strip() != b"ready":
            sys.stderr.write(self.log.read_text(errors="replace")[-3000:])
            raise SystemExit("the bare aiogram bot did not start")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class Memory:
    """Samples the VmRSS of the bot processes, labelled by phase."""

    def __init__(self) -> None:
        self.pids: dict[str, int] = {}
        self.phase = "start"
        self.peaks: dict[tuple[str, str], float] = {}
        self.task: asyncio.Task[None] | None = None

    def watch(self, name: str, pid: int) -> None:
        self.pids[name] = pid

    def sample(self) -> None:
        for name, pid in self.pids.items():
            rss = proc_status(pid).get("VmRSS")
            if rss is not None:
                key = (name, self.phase)
                self.peaks[key] = max(self.peaks.get(key, 0.0), rss)

    async def run(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(0.2)

    def start(self) -> None:
        self.task = asyncio.create_task(self.run())

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)


# ---- the driver ----------------------------------------------------------------------------


class StepFailed(Exception):
    """No usable answer (the apology, none, or not the expected screen)."""


@dataclass(slots=True)
class Step:
    target: str
    phase: str
    round: int
    kind: str
    chat: int
    start: int  # index of the chat's messages at the stand-in when the update was sent
    want: tuple[str, ...]
    most: int  # the most messages this step sends
    sent_at: float = 0.0
    status: int = 0  # the webhook's HTTP status (0: no answer)
    # From the analysis, once everything arrived:
    first_at: float = math.nan
    count: int = 0
    screens: int = 0
    apology: bool = False


@dataclass
class Target:
    name: str  # "wardbot" or "bare"
    backend: str
    url: str
    fake: Any
    pid: int
    session: Any = None
    steps: list[Step] = field(default_factory=list)
    receipts: list[tuple[str, str]] = field(default_factory=list)  # codes and secrets got

    @property
    def bare(self) -> bool:
        return self.name == "bare"


class Pool:
    """The residents: idle ones are handed out one at a time; one whose session went
    wrong (or was cut by the round's end) is replaced by a new one."""

    def __init__(self, base: int, size: int) -> None:
        self._idle: deque[int] = deque(range(base, base + size))
        self._next = base + size

    def take(self) -> int:
        if self._idle:
            return self._idle.popleft()
        self._next += 1
        return self._next

    def give(self, chat: int) -> None:
        self._idle.append(chat)

    def retire(self, chat: int) -> None:
        self._idle.append(self._next)
        self._next += 1


class Resident:
    """One resident's session against one target."""

    def __init__(self, run: Run, chat: int, rng: random.Random) -> None:
        self.run, self.target, self.chat, self.rng = run, run.target, chat, rng
        self.language = "en" if chat % 10 == 3 else "vi"

    async def say(self, kind: str, text: str, want: tuple[str, ...], most: int = 1) -> list[Seen]:
        return await self._step(
            kind, want, most, lambda: self.target.fake.text_update(self.chat, text, self.language)
        )

    async def press(self, kind: str, data: str, want: tuple[str, ...], most: int = 1) -> list[Seen]:
        return await self._step(
            kind, want, most, lambda: self.target.fake.press_update(self.chat, data, self.language)
        )

    async def _step(self, kind: str, want: tuple[str, ...], most: int, build: Any) -> list[Seen]:
        run, target = self.run, self.target
        await run.pause_if_over()
        while run.think:
            await asyncio.sleep(self.rng.expovariate(1 / run.think))
            if time.monotonic() < run.deadline:
                break
            await run.pause_if_over()
        if target.bare:
            want, most = (), 1
        fake = target.fake
        seen = fake.by_chat[self.chat]
        step = Step(target.name, run.phase, run.number, kind, self.chat, len(seen), want, most)
        target.steps.append(step)
        body = json.dumps(build()).encode()
        run.begin()
        try:
            step.sent_at = time.monotonic()
            try:
                async with target.session.post(
                    target.url, data=body, headers=run.headers
                ) as answer:
                    await answer.read()
                    step.status = answer.status
            except Exception:  # no answer: status 0, a failure
                step.status = 0
            return await self._answer(step, want)
        finally:
            run.end()

    async def _answer(self, step: Step, want: tuple[str, ...]) -> list[Seen]:
        fake = self.target.fake
        seen = fake.by_chat[self.chat]
        # The reply went out before the webhook was answered; one left in the outbox
        # may still come, within the time an answer is waited for.
        event = fake.waiting.setdefault(self.chat, asyncio.Event())
        while True:
            new = seen[step.start :]
            if any(s.text in APOLOGIES for s in new):
                raise StepFailed
            if new and (not want or any(_shows(s, want) for s in new)):
                break
            left = step.sent_at + ANSWER_TIMEOUT - time.monotonic()
            if left <= 0:
                raise StepFailed
            event.clear()
            try:
                await asyncio.wait_for(event.wait(), left)
            except TimeoutError:
                pass
        if step.status != 200:
            raise StepFailed
        return new


def _shows(seen: Seen, want: tuple[str, ...]) -> bool:
    return any(data.startswith(want) for data in seen.buttons)


def buttons(messages: list[Seen], prefix: str) -> list[str]:
    return [d for s in messages for d in s.buttons if d.startswith(prefix)]


class Run:
    """The residents driving one target at one load, kept from round to round: when a
    round's time is up, each finishes the step it is waiting for and then pauses until
    the next round, so sessions (a whole report takes about 13 updates) go on across
    rounds instead of being cut."""

    def __init__(
        self,
        target: Target,
        agents: int,
        think: float,
        pool: Pool,
        rng: random.Random,
        receipts: list[tuple[str, str]],
    ) -> None:
        self.target, self.agents, self.think, self.pool, self.rng = target, agents, think, pool, rng
        self.receipts = receipts  # the receipts residents got, for /status
        self.phase, self.number = "", 0
        self.seconds = 0.0
        self.deadline = -math.inf
        self.started = 0.0
        self.headers = {"Content-Type": "application/json", SECRET_HEADER: SECRET}
        self.scripts = Counter[str]()
        self.in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._next: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._tasks: list[asyncio.Task[None]] = []

    async def go(self, phase: str, number: int, seconds: float) -> None:
        """One round: residents send for `seconds`, then the last answers are waited for."""
        self.phase, self.number, self.seconds = phase, number, seconds
        self.started = time.monotonic()
        self.deadline = self.started + seconds
        waiting, self._next = self._next, asyncio.get_running_loop().create_future()
        waiting.set_result(None)
        if not self._tasks:
            self._tasks = [
                asyncio.create_task(self.agent(random.Random(self.rng.random())))
                for _ in range(self.agents)
            ]
        await asyncio.sleep(seconds)
        while self.in_flight:
            self._idle.clear()
            await self._idle.wait()

    async def pause_if_over(self) -> None:
        while time.monotonic() >= self.deadline:
            await asyncio.shield(self._next)

    def begin(self) -> None:
        self.in_flight += 1

    def end(self) -> None:
        self.in_flight -= 1
        if not self.in_flight:
            self._idle.set()

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def agent(self, rng: random.Random) -> None:
        while True:
            await self.pause_if_over()
            chat = self.pool.take()
            resident = Resident(self, chat, rng)
            pick = rng.random()
            script, name = (
                (report, "report")
                if pick < 0.45
                else ((browse, "browse") if pick < 0.75 else (status, "status"))
            )
            self.scripts[name] += 1
            try:
                await script(resident)
            except StepFailed:
                self.pool.retire(chat)
                continue
            self.pool.give(chat)


# ---- what residents do -------------------------------------------------------------------


async def report(r: Resident) -> None:
    rng, bare = r.rng, r.target.bare
    await r.say("/start", "/start", ("report:start",))
    await r.press("wizard button", "report:start", ("report:cat:",))
    danger = rng.random() < 0.05
    category = "danger" if danger else rng.choice(CATEGORIES)
    # "Psychosis or danger": the emergency numbers first, then the group question.
    await r.press("wizard button", f"report:cat:{category}", ("report:list:0",), 2 if danger else 1)
    where_next = "report:where-skip"
    pick = rng.random()
    if pick < 0.5:
        shown = await r.press("wizard button", "report:list:0", ("report:grp:",))
        ids = [d for d in buttons(shown, "report:grp:") if d[len("report:grp:") :].isdecimal()]
        chosen = rng.choice(ids) if ids else f"report:grp:{rng.randint(1, len(GROUPS))}"
        await r.press("wizard button", chosen, (where_next,), 2)
    elif pick < 0.75:
        shown = await r.say(
            "group typed",
            plain(rng.choice(GROUPS)),
            (where_next, "report:grp-other", "report:list:0"),
            2,
        )
        if not bare and not buttons(shown, where_next):
            ids = [d for d in buttons(shown, "report:grp:") if d[len("report:grp:") :].isdecimal()]
            if ids:  # several matched: the first
                await r.press("wizard button", ids[0], (where_next,), 2)
            else:  # none matched
                await r.press("wizard button", "report:grp:none", (where_next,))
    else:
        await r.press("wizard button", "report:grp:none", (where_next,))
    # "Danger now" already said when: the wizard goes straight to what happened.
    after_where = ("report:back",) if danger else ("report:when:",)
    if rng.random() < 0.6:
        await r.say("place typed", rng.choice(PLACES), after_where)
    else:
        await r.press("wizard button", "report:where-skip", after_where)
    if not danger:
        when = rng.choice(("now", "today", "earlier"))
        await r.press("wizard button", f"report:when:{when}", ("report:back",))
    for _ in range(1 if rng.random() < 0.7 else 2):
        await r.say("tip text", rng.choice(TEXTS), ("report:what-done",))
    await r.press("wizard button", "report:what-done", ("report:files-done",))
    await r.press("wizard button", "report:files-done", ("report:contact:",))
    contact = "yes" if rng.random() < 0.4 else "no"
    await r.press("wizard button", f"report:contact:{contact}", ("report:send",))
    # The receipt, then the offer to delete the conversation.
    shown = await r.press("tip send", "report:send", ("cleanup:delete",), 2)
    if not bare:
        for seen in shown:
            found = RECEIPT.search(seen.text)
            if found:
                r.target.receipts.append((found[1], found[2]))
                break
    if rng.random() < 0.5:
        await r.press("menu button", "cleanup:delete", ("menu:home",))
    else:
        await r.press("menu button", "menu:home", ("report:start",))


async def browse(r: Resident) -> None:
    rng = r.rng
    await r.say("/start", "/start", ("report:start",))
    for _ in range(rng.randint(2, 4)):
        pick = rng.randrange(6)
        if pick == 0:
            await r.press("menu button", "info:campaign", ("pledge:start",))
            if rng.random() < 0.5:
                await r.press("menu button", "invite:show", ("menu:home",))
            else:
                await r.press("menu button", "quiz:start", ("quiz:a:", "invite:show", "menu:home"))
        elif pick == 1:
            await r.press("menu button", "info:hotline", ("report:start",))
        elif pick == 2:
            await r.press("menu button", "menu:language", ("lang:vi",))
            await r.press("menu button", f"lang:{r.language}", ("report:start",))
        elif pick == 3:
            await r.press("menu button", "sub:start", ("tdp:list:0", "sub:stop", "sub:grp:"))
            await r.press("menu button", "menu:home", ("report:start",))
        elif pick == 4:
            await r.press("menu button", "status:start", ("menu:home",))
            await r.press("menu button", "menu:home", ("report:start",))
        else:
            await r.press("menu button", "menu:home", ("report:start",))


async def status(r: Resident) -> None:
    """A receipt some resident got, checked from this account."""
    receipts = r.run.receipts
    if receipts:
        code, secret = r.rng.choice(receipts)
    else:
        code, secret = "AB12CD3", "ABCD-EFGH-JKMN-PQRS"
    shown = await r.say("/status", f"/status {code} {secret}", ("menu:home", "status:done"))
    if buttons(shown, "status:done"):  # the tip is stored: its state, then "Done"
        await r.press("menu button", "status:done", ("cleanup:delete",))
    await r.press("menu button", "menu:home", ("report:start",))


# ---- figures -------------------------------------------------------------------------------


def analyse(target: Target) -> None:
    """Each step's messages: from its own index at the stand-in up to the same chat's
    next step (or the end), so a late or repeated answer is seen where it landed."""
    by_chat: dict[int, list[Step]] = defaultdict(list)
    for step in target.steps:
        by_chat[step.chat].append(step)
    for chat, steps in by_chat.items():
        seen = target.fake.by_chat[chat]
        for index, step in enumerate(steps):
            end = steps[index + 1].start if index + 1 < len(steps) else len(seen)
            window = seen[step.start : end]
            step.count = len(window)
            step.first_at = window[0].at if window else math.nan
            step.apology = any(s.text in APOLOGIES for s in window)
            step.screens = sum(1 for s in window if step.want and _shows(s, step.want))


def latency_ms(step: Step) -> float:
    if math.isnan(step.first_at) or step.first_at - step.sent_at > ANSWER_TIMEOUT:
        return ANSWER_TIMEOUT * 1000
    return (step.first_at - step.sent_at) * 1000


def failed(step: Step) -> bool:
    return step.status != 200 or step.apology or latency_ms(step) >= ANSWER_TIMEOUT * 1000


def twice(step: Step) -> bool:
    return step.count > step.most or step.screens > 1


def unexpected(step: Step) -> bool:
    return not failed(step) and bool(step.want) and step.screens == 0


APOLOGIES: set[str] = set()


@dataclass
class RoundFigures:
    target: str
    phase: str
    number: int
    seconds: float
    answered: int
    rate: float
    cpu_target: float
    cpu_driver: float
    # Bot API requests the bot made in the round, by method.
    calls: Counter[str] = field(default_factory=Counter)


def round_figures(run: Run, cpu: tuple[float, float]) -> RoundFigures:
    analyse(run.target)  # cheap enough; the final analysis sees everything
    end = run.started + run.seconds
    mine = [s for s in run.target.steps if s.phase == run.phase and s.round == run.number]
    answered = sum(1 for s in mine if run.started <= s.first_at <= end and not failed(s))
    return RoundFigures(
        run.target.name, run.phase, run.number, run.seconds, answered, answered / run.seconds, *cpu
    )


def describe_round(backend: str, figures: RoundFigures, steps: list[Step], of: int) -> str:
    values = [latency_ms(s) for s in steps]
    bad = sum(1 for s in steps if failed(s))
    return (
        f"  {backend:6} {figures.phase:9} {figures.number}/{of} {figures.target:7} "
        f"{figures.answered:6,} answered in {figures.seconds:.0f} s = {figures.rate:7.1f}/s"
        f"  p50 {rank(values, 0.5):5.0f} ms  p99 {rank(values, 0.99):6.0f} ms  failed {bad}"
        f"  CPU: bot {100 * figures.cpu_target / figures.seconds:3.0f}%, driver+stand-in "
        f"{100 * figures.cpu_driver / figures.seconds:3.0f}%  load {os.getloadavg()[0]:.1f}"
        f"\n{'':30} requests to the Bot API per answered update: "
        + (
            ", ".join(
                f"{method} {count / max(1, figures.answered):.2f}"
                for method, count in figures.calls.most_common()
            )
            or "none"
        )
    )


# ---- a backend: wardbot and the bare bot, alternating -----------------------------------------


@dataclass
class Outcome:
    backend: str
    ratio: float = math.nan
    ratios: list[float] = field(default_factory=list)
    light_p99: float = math.nan
    failed: int = 0
    lost: int = 0
    twice: int = 0
    unexpected: int = 0
    idle_mb: float = math.nan
    errors: Counter[str] = field(default_factory=Counter)


async def one_round(
    run: Run, phase: str, number: int, seconds: float, memory: Memory
) -> RoundFigures:
    memory.phase = phase
    target = run.target
    before = cpu_of(target.pid), cpu_of(None)
    timer = asyncio.get_running_loop().call_later(
        seconds, lambda: after.extend((cpu_of(target.pid), cpu_of(None)))
    )
    after: list[float] = []  # CPU over the round's seconds, not the wait for the last answers
    await run.go(phase, number, seconds)
    timer.cancel()
    if not after:
        after.extend((cpu_of(target.pid), cpu_of(None)))
    figures = round_figures(run, (after[0] - before[0], after[1] - before[1]))
    figures.calls.update(method for method, _params in target.fake.calls)
    target.fake.forget_calls()
    await asyncio.sleep(0.5)
    return figures


async def bench_backend(
    args: argparse.Namespace,
    backend: str,
    database_url: str,
    workdir: Path,
    bare: Bare,
    bare_fake: Any,
    memory: Memory,
    rng: random.Random,
) -> Outcome:
    from aiohttp import ClientSession, ClientTimeout, TCPConnector

    from tests.fakes.zalo_server import FakeZalo

    outcome = Outcome(backend)
    print(f"\n== {backend} ==", flush=True)
    async with stand_in_class()(TOKEN) as fake, FakeZalo(ZALO_TOKEN) as zalo:
        bot = Wardbot(workdir, backend, database_url, fake.base_url, zalo.base_url)
        took = bot.set_up()
        print(
            f"set up with the CLI (ward add, ward hotline, tdp import: {len(GROUPS)} TDPs) "
            f"in {took:.1f} s",
            flush=True,
        )
        audience = args.broadcast_subscribers if backend == "sqlite" else 0
        if audience:
            took = child("audience", bot.config, "--subscribers", str(audience))
            print(
                f"{audience:,} subscribers and a waiting ad-hoc broadcast added with the "
                f"storage layer in {took:.1f} s",
                flush=True,
            )
        took = await bot.start()
        assert bot.process is not None
        memory.watch("wardbot", bot.process.pid)
        print(
            f"wardbot run (Telegram and Zalo, webhooks) healthy after {took:.1f} s; log: {bot.log}",
            flush=True,
        )
        await asyncio.sleep(3)
        idle = proc_status(bot.process.pid)
        outcome.idle_mb = idle.get("VmRSS", math.nan)
        print(
            f"idle: wardbot main process VmRSS {outcome.idle_mb:.0f} MB (VmHWM "
            f"{idle.get('VmHWM', math.nan):.0f} MB)",
            flush=True,
        )
        connector = TCPConnector(limit=args.in_flight + 10)
        timeout = ClientTimeout(total=POST_TIMEOUT)
        async with ClientSession(connector=connector, timeout=timeout) as http:
            await check_zalo(http, bot, zalo)
            ours = Target("wardbot", backend, bot.url, fake, bot.process.pid, http)
            theirs = Target("bare", backend, bare.url, bare_fake, bare.process.pid, http)
            pools = {
                t.name: Pool(USER_BASES[(t.name, backend)], args.users) for t in (ours, theirs)
            }
            figures: list[RoundFigures] = []
            receipts = ours.receipts  # the bare bot's residents check wardbot's receipts too
            runs = {
                (t.name, phase): Run(t, agents, think, pools[t.name], rng, receipts)
                for t in (ours, theirs)
                for phase, agents, think in (
                    ("saturated", args.in_flight, 0.0),
                    ("light", LIGHT_AGENTS, LIGHT_AGENTS / args.light_rate),
                )
            }
            for target in (ours, theirs):  # warm-up: first contacts, lazily loaded parts
                await one_round(runs[(target.name, "saturated")], "warm-up", 1, args.warmup, memory)
            print(f"  warm-up: {args.warmup:.0f} s each at saturation, not counted", flush=True)
            for phase, rounds, seconds in (
                ("saturated", args.rounds, args.seconds),
                ("light", args.light_rounds, args.light_seconds),
            ):
                for number in range(1, rounds + 1):
                    for target in (ours, theirs):
                        result = await one_round(
                            runs[(target.name, phase)], phase, number, seconds, memory
                        )
                        figures.append(result)
                        mine = [s for s in target.steps if s.phase == phase and s.round == number]
                        print(describe_round(backend, result, mine, rounds), flush=True)
            for run in runs.values():
                await run.close()
            memory.sample()
            under_load = proc_status(bot.process.pid)
            if audience:
                await broadcast(bot, fake, audience, memory)
        memory.phase = "end"
        memory.sample()
        await asyncio.sleep(1.5)  # anything still on its way to the stand-in
        peak = proc_status(bot.process.pid)
        stop_took, code = await bot.stop()
        memory.pids.pop("wardbot", None)
        print(f"wardbot stopped with SIGTERM in {stop_took:.1f} s (exit status {code})", flush=True)
        analyse(ours)
        analyse(theirs)
        stored, waiting = (
            sqlite_stored(bot.database) if backend == "sqlite" else await pg_stored(database_url)
        )
    got = {code for code, _secret in ours.receipts}
    outcome.lost = len(got - stored)
    saturated = [f for f in figures if f.phase == "saturated"]
    for number in range(1, args.rounds + 1):
        pair = {f.target: f.rate for f in saturated if f.number == number}
        if pair.get("bare"):
            outcome.ratios.append(pair["wardbot"] / pair["bare"])
    outcome.ratio = statistics.median(outcome.ratios) if outcome.ratios else math.nan
    report_steps(backend, ours, theirs, args)
    light = [latency_ms(s) for s in ours.steps if s.phase == "light"]
    outcome.light_p99 = rank(light, 0.99)
    outcome.failed = sum(1 for s in ours.steps if failed(s))
    outcome.twice = sum(1 for s in ours.steps if twice(s))
    outcome.unexpected = sum(1 for s in ours.steps if unexpected(s))
    rates = {name: [f.rate for f in saturated if f.target == name] for name in ("wardbot", "bare")}
    print(
        f"  saturated throughput: wardbot {fmt_rates(rates['wardbot'])}, bare aiogram "
        f"{fmt_rates(rates['bare'])}; ratio per pair "
        + ", ".join(f"{r:.3f}" for r in outcome.ratios)
        + f"; median {outcome.ratio:.3f}",
        flush=True,
    )
    print(
        f"  tips: {len(got):,} receipts, {len(stored):,} tips stored, {waiting} drops left "
        f"after the stop; lost {outcome.lost}, stored without a receipt reaching the "
        f"driver {len(stored - got)}",
        flush=True,
    )
    print(
        f"  memory: wardbot VmRSS idle {outcome.idle_mb:.0f} MB, after the rounds "
        f"{under_load.get('VmRSS', math.nan):.0f} MB, peak during saturated rounds "
        f"{memory.peaks.get(('wardbot', 'saturated'), math.nan):.0f} MB, VmHWM at the end "
        f"{peak.get('VmHWM', math.nan):.0f} MB",
        flush=True,
    )
    errors, warnings, other = bot.log_lines()
    outcome.errors = errors
    print(
        f"  wardbot log: {sum(errors.values())} ERROR lines, {sum(warnings.values())} WARNING "
        f"lines, {len(other)} other lines",
        flush=True,
    )
    for message, count in (errors + warnings).most_common(12):
        print(f"    {count:6} x {message[:160]}")
    for line in other[:10]:
        print(f"    | {line[:160]}")
    ours.steps.clear()
    theirs.steps.clear()
    return outcome


def fmt_rates(rates: list[float]) -> str:
    return "/".join(f"{r:.0f}" for r in rates) + " updates/s"


async def check_zalo(http: Any, bot: Wardbot, zalo: Any) -> None:
    """One /start over the Zalo webhook: the second channel is really up."""
    update = {
        "event_name": "message.text.received",
        "message": {
            "from": {"id": "zalo-bench-1", "display_name": "Cư dân", "is_bot": False},
            "chat": {"id": "zalo-bench-1", "chat_type": "PRIVATE"},
            "text": "/start",
            "message_id": "00aa11bb22cc33dd44ee",
            "date": int(time.time() * 1000),
        },
    }
    started = time.monotonic()
    async with http.post(bot.zalo_url, json=update, headers={ZALO_HEADER: ZALO_SECRET}) as answer:
        await answer.read()
        status = answer.status
    try:
        await zalo.wait_for_sent(1, chat_id="zalo-bench-1", timeout=10)
        print(
            f"zalo: /start over the webhook answered {status}, reply at the stand-in after "
            f"{1000 * (time.monotonic() - started):.0f} ms",
            flush=True,
        )
    except AssertionError:
        print(f"zalo: /start over the webhook answered {status}, NO reply within 10 s", flush=True)


async def broadcast(bot: Wardbot, fake: Any, audience: int, memory: Memory) -> None:
    """The waiting ad-hoc broadcast made due; the bot's own tick starts and sends it."""
    memory.phase = "broadcast"
    took = await asyncio.to_thread(child, "start-broadcast", bot.config)
    started = time.monotonic()
    deadline = started + 60 + audience / BROADCAST_RATE * 3
    # The stand-in only counts; polling that count is simplest.
    while len(fake.broadcast_received) < audience and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.2)
    received = len(fake.broadcast_received)
    first_to_last = fake.broadcast_last - started
    assert bot.process is not None
    status = proc_status(bot.process.pid)
    print(
        f"  broadcast: made due by a child in {took:.1f} s; {received:,} of {audience:,} "
        f"subscribers received it ({sum(fake.broadcast_received.values()):,} messages) within "
        f"{first_to_last:.1f} s; wardbot VmRSS peak during it "
        f"{memory.peaks.get(('wardbot', 'broadcast'), math.nan):.0f} MB, VmHWM "
        f"{status.get('VmHWM', math.nan):.0f} MB",
        flush=True,
    )


def report_steps(backend: str, ours: Target, theirs: Target, args: argparse.Namespace) -> None:
    for target in (ours, theirs):
        steps = [s for s in target.steps if s.phase != "warm-up"]
        kinds = Counter(s.kind for s in steps)
        total = sum(kinds.values())
        print(
            f"  {target.name} updates by kind (warm-up left out): "
            + ", ".join(f"{k} {100 * n / total:.0f}%" for k, n in kinds.most_common()),
            flush=True,
        )
        for phase in ("saturated", "light"):
            mine = [s for s in steps if s.phase == phase]
            print(f"  {target.name} {phase}: {summary([latency_ms(s) for s in mine])}")
            for kind in (
                "tip send",
                "/status",
                "tip text",
                "/start",
                "wizard button",
                "group typed",
                "place typed",
                "menu button",
            ):
                values = [latency_ms(s) for s in mine if s.kind == kind]
                if values:
                    print(f"      {kind:14} {summary(values)}")
        everything = target.steps
        bad = [s for s in everything if failed(s)]
        if bad:
            reasons = Counter(
                "HTTP " + str(s.status)
                if s.status != 200
                else ("apology" if s.apology else "no answer within 10 s")
                for s in bad
            )
            print(
                f"  {target.name} failed: {len(bad)} ({dict(reasons)}; by kind "
                f"{dict(Counter(s.kind for s in bad))})"
            )
        doubled = [s for s in everything if twice(s)]
        if doubled:
            print(
                f"  {target.name} answered more than once: {len(doubled)} (by kind "
                f"{dict(Counter(s.kind for s in doubled))}; messages "
                f"{dict(Counter(s.count for s in doubled))})"
            )
        odd = [s for s in everything if unexpected(s)]
        if odd:
            print(
                f"  {target.name} answered with another screen than expected: {len(odd)} "
                f"(by kind and wanted button: "
                f"{dict(Counter((s.kind, s.want[0]) for s in odd).most_common(6))})"
            )


# ---- the whole run -------------------------------------------------------------------------------


async def bench(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    rng = random.Random(20260616)
    memory = Memory()
    memory.start()
    outcomes: dict[str, Outcome] = {}
    async with stand_in_class()(BARE_TOKEN) as bare_fake:
        bare = Bare(workdir, bare_fake.base_url)
        await asyncio.to_thread(bare.ready)
        memory.watch("bare", bare.process.pid)
        await asyncio.sleep(3)
        bare_idle = proc_status(bare.process.pid)
        print(
            f"bare aiogram bot (webhook, handle_in_background=False) idle: VmRSS "
            f"{bare_idle.get('VmRSS', math.nan):.0f} MB (VmHWM "
            f"{bare_idle.get('VmHWM', math.nan):.0f} MB)",
            flush=True,
        )
        try:
            backends = [("sqlite", "")]  # the default: data/wardbot.db
            if args.skip_pg:
                print("PostgreSQL: skipped (--skip-pg)")
            else:
                problem = await pg_reset(args.pg_url)
                if problem is None:
                    backends.append(("pg", args.pg_url))
                else:
                    print(f"PostgreSQL: skipped, {args.pg_url} is unreachable ({problem})")
            for backend, url in backends:
                if backend == "pg" and outcomes:
                    await pg_reset(args.pg_url)
                outcomes[backend] = await bench_backend(
                    args, backend, url, workdir, bare, bare_fake, memory, rng
                )
            bare_end = proc_status(bare.process.pid)
        finally:
            bare.stop()
            await memory.stop()
    print(
        f"\nbare aiogram bot: VmRSS idle {bare_idle.get('VmRSS', math.nan):.0f} MB, peak "
        f"under load {memory.peaks.get(('bare', 'saturated'), math.nan):.0f} MB, VmHWM at the "
        f"end {bare_end.get('VmHWM', math.nan):.0f} MB"
    )
    return {"outcomes": outcomes, "bare_idle": bare_idle.get("VmRSS", math.nan)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="per saturated round")
    parser.add_argument("--rounds", type=int, default=3, help="saturated rounds per bot")
    parser.add_argument("--in-flight", type=int, default=100, help="updates outstanding at once")
    parser.add_argument("--users", type=int, default=1000, help="residents per bot and backend")
    parser.add_argument("--light-seconds", type=float, default=20.0, help="per light round")
    parser.add_argument("--light-rounds", type=int, default=2, help="light rounds per bot")
    parser.add_argument("--light-rate", type=float, default=5.0, help="updates/s at light load")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds per bot, not counted")
    parser.add_argument(
        "--broadcast-subscribers",
        type=int,
        default=2000,
        help="subscribers of the broadcast during the SQLite run (0: none)",
    )
    parser.add_argument("--pg-url", default=DEFAULT_PG)
    parser.add_argument("--skip-pg", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument(
        "--quick", action="store_true", help="a short smoke run: one round each, 25 in flight"
    )
    parser.add_argument("--role", default="main", help=argparse.SUPPRESS)
    parser.add_argument("--api", default="", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--config", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--subscribers", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role == "bare":
        asyncio.run(run_bare(args.api, args.port))
        return 0
    if args.role == "audience":
        asyncio.run(add_audience(args.config, args.subscribers))
        return 0
    if args.role == "start-broadcast":
        asyncio.run(start_broadcast(args.config))
        return 0
    if args.quick:
        # 25 in flight, so that some reports reach their receipt in so short a run
        args.seconds, args.rounds, args.light_seconds, args.light_rounds = 5.0, 1, 8.0, 1
        args.warmup, args.users, args.in_flight = 3.0, 200, 25
        args.broadcast_subscribers = min(args.broadcast_subscribers, 300)
    APOLOGIES.update(apologies())
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, {platform.system()}; load average "
        f"{os.getloadavg()[0]:.2f} at the start",
        flush=True,
    )
    print(f"targets: {TARGETS}", flush=True)
    workdir = Path(tempfile.mkdtemp(prefix="wardbot-intake-"))
    started = time.monotonic()
    try:
        figures = asyncio.run(bench(args, workdir))
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    outcomes: dict[str, Outcome] = figures["outcomes"]
    sqlite, pg = outcomes.get("sqlite"), outcomes.get("pg")
    rss_ratio = sqlite.idle_mb / figures["bare_idle"] if sqlite else math.nan
    print(
        f"\nrss: wardbot idle (Telegram and Zalo) {sqlite.idle_mb if sqlite else math.nan:.0f} "
        f"MB / bare aiogram idle {figures['bare_idle']:.0f} MB = {rss_ratio:.2f}"
    )
    errors = sum((o.errors for o in outcomes.values()), Counter())
    if errors:
        print(f"wardbot ERROR lines: {sum(errors.values())}, distinct:")
        for message, count in errors.most_common():
            print(f"  {count:6} x {message[:200]}")
    else:
        print("wardbot ERROR lines: none")
    unexpected_total = sum(o.unexpected for o in outcomes.values())
    print(
        f"answered with another screen than the step expects (not counted as failed): "
        f"{unexpected_total}"
    )
    print(f"targets: {TARGETS}")
    print(f"whole run: {time.monotonic() - started:.0f} s")

    def number(value: float, digits: int) -> str:
        return "n/a" if value is None or math.isnan(value) else f"{value:.{digits}f}"

    result = {
        "sqlite_ratio": number(sqlite.ratio if sqlite else math.nan, 3),
        "pg_ratio": number(pg.ratio if pg else math.nan, 3),
        "sqlite_p99_ms": number(sqlite.light_p99 if sqlite else math.nan, 0),
        "pg_p99_ms": number(pg.light_p99 if pg else math.nan, 0),
        "failed": sum(o.failed for o in outcomes.values()),
        "lost": sum(o.lost for o in outcomes.values()),
        "twice": sum(o.twice for o in outcomes.values()),
        "rss_ratio": number(rss_ratio, 2),
    }
    print("RESULT " + " ".join(f"{key}={value}" for key, value in result.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
