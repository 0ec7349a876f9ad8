"""Broadcast delivery at the rate limit: 10,000 subscribers and 200 group chats sent one
ward-wide message through the real sender (aiogram client, SQLite outbox, token
buckets) against a stand-in Bot API server that answers 429 beyond its limits and 500
to 1% of sends; then the same audience sent by a published peer, python-telegram-bot's
AIORateLimiter, against the same server; then our sender killed with SIGKILL three
times at random moments and restarted.

    .venv/bin/pip install -e '.[bench]'      # the peer library
    .venv/bin/python benchmarks/broadcast.py [--subscribers 10000] [--groups 200] [--rate 100]

The server enforces the same overall cap as both senders are configured with (`--rate`
messages/s; Telegram's own is 30/s, raised here so the three runs fit in ten minutes),
1 message/s per private chat and 20/min per group. The server, each sender and the
peer run in their own processes; peak_mb is our sender's peak resident memory.

Ends with: RESULT ratio_to_min=.. rate429=.. lost=.. duplicates=.. peer_ratio=..
peak_mb=.. crash_lost=.. crash_duplicates=..
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
import platform
import random
import resource
import shutil
import signal
import subprocess
import tempfile
import time
from collections import Counter
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

TOKEN = "424242:BENCH-token"  # noqa: S105  # the stand-in server's token, not a secret
HERE = Path(__file__).resolve()
PEOPLE_BASE = 7_100_000_000
GROUP_BASE = -1_003_000_000_000


# ---- the stand-in server (its own process) -------------------------------------------------


async def serve(rate: int, error_rate: float, control: Path) -> None:
    """Run the fake Bot API server until stdin closes; `control` receives its URL, and
    on SIGUSR1 its counts (per chat, 429s, 5xx, requests) are written next to it."""
    from tests.fakes.telegram_bot_api import FakeTelegram

    async with FakeTelegram(
        TOKEN,
        enforce_limits=True,
        server_error_rate=error_rate,
        overall_per_second=rate,
        seed=20260626,
    ) as fake:
        loop = asyncio.get_running_loop()
        accepted: list[float] = []  # monotonic times of sends within the limits
        within_limits = fake._over_limit

        def counting(chat_id: int) -> int:
            wait = within_limits(chat_id)
            if not wait:
                accepted.append(time.monotonic())
            return wait

        fake._over_limit = counting  # type: ignore[method-assign]

        def dump() -> None:
            per_chat = Counter(m["chat_id"] for m in fake.sent)
            requests = sum(1 for name, _ in fake.calls if name == "sendMessage")
            figures = {
                "per_chat": {str(k): v for k, v in per_chat.items()},
                "rate_limited": fake.rate_limited,
                "server_errors": fake.server_errors,
                "requests": requests,
                "accepted": accepted,
            }
            tmp = control.with_suffix(".tmp")
            tmp.write_text(json.dumps(figures))
            tmp.replace(control.with_suffix(".stats"))

        def reset() -> None:
            fake.sent.clear()
            fake.calls.clear()
            fake.rate_limited = fake.server_errors = 0
            accepted.clear()

        loop.add_signal_handler(signal.SIGUSR1, dump)
        loop.add_signal_handler(signal.SIGUSR2, reset)
        control.write_text(fake.base_url)  # noqa: ASYNC240  # once, a few bytes, at start
        stop = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()


class Server:
    def __init__(self, rate: int, error_rate: float, workdir: Path):
        self.control = workdir / "server.url"
        self.process = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                str(HERE),
                "--role",
                "server",
                "--rate",
                str(rate),
                "--error-rate",
                str(error_rate),
                "--control",
                str(self.control),
            ],
        )
        deadline = time.monotonic() + 30
        while not self.control.exists() or not self.control.read_text():
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise SystemExit("the stand-in server did not start")
            time.sleep(0.05)
        self.url = self.control.read_text().strip()

    def stats(self) -> dict:
        target = self.control.with_suffix(".stats")
        target.unlink(missing_ok=True)
        self.process.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + 30
        while not target.exists():
            if time.monotonic() > deadline:
                raise SystemExit("the stand-in server did not report")
            time.sleep(0.05)
        return json.loads(target.read_text())

    def reset(self) -> None:
        self.process.send_signal(signal.SIGUSR2)
        time.sleep(0.3)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


# ---- the audience ------------------------------------------------------------------------


def bench_settings(database: Path, workdir: Path, rate: int):  # type: ignore[no-untyped-def]
    from kernel.config import ChannelSettings, SendLimits, Settings

    return Settings(
        data_dir=workdir,
        database_url=f"sqlite+aiosqlite:///{database}",
        keyring_path=workdir / "keyring.json",
        campaigns=(),
        quiet_start="00:00",
        quiet_end="00:00",
        telegram=ChannelSettings(
            "telegram", TOKEN, "http://127.0.0.1:1", limits=SendLimits(per_second=float(rate))
        ),
    )


async def build_audience(settings, groups: int, people: int) -> int:  # type: ignore[no-untyped-def]
    """A ward with `groups` TDPs, a registered group chat each, `people` subscribers, and
    one approved ward-wide broadcast due now. Returns the number of recipients."""
    from bot.app import open_app
    from kernel.clock import utcnow
    from kernel.routes import Route
    from storage import group_chats, officers, subscribers, wards
    from storage.models import Broadcast, BroadcastKind, BroadcastStatus, OfficerRole

    app = await open_app(settings)
    services = app.services
    try:
        async with services.db.transaction() as session:
            ward = await wards.add_ward(session, "Phù Liễn", city="Hải Phòng")
            ward.hotlines = [["Công an phường Phù Liễn", "0225 000 0000"]]
            rows = [wards.GroupRow(i, f"Tổ dân phố {i}") for i in range(1, groups + 1)]
            await wards.import_groups(session, ward, rows)
            chief = await officers.add_officer(
                session, ward_id=ward.id, role=OfficerRole.COMMANDER, label="Chỉ huy"
            )
            tdps = await wards.list_groups(session, ward)
            for index, group in enumerate(tdps):
                route = Route("telegram", str(GROUP_BASE - index))
                await group_chats.register(
                    session, services.vault, services.pseudonyms, route, group, chief
                )
            ward_id = ward.id
        for start in range(0, people, 1000):
            async with services.db.transaction() as session:
                for number in range(start, min(people, start + 1000)):
                    route = Route("telegram", str(PEOPLE_BASE + number))
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
                    scheduled_at=utcnow(),
                    created_at=utcnow(),
                )
            )
    finally:
        await app.close()
    return groups + people


def expected_chats(groups: int, people: int) -> set[str]:
    return {str(GROUP_BASE - i) for i in range(groups)} | {
        str(PEOPLE_BASE + n) for n in range(people)
    }


def losses_and_duplicates(stats: dict, expected: set[str]) -> tuple[int, int]:
    received = stats["per_chat"]
    lost = sum(1 for chat in expected if chat not in received)
    duplicates = sum(count - 1 for chat, count in received.items() if chat in expected)
    return lost, duplicates


# ---- our sender (its own process) ----------------------------------------------------------


async def run_sender(database: Path, workdir: Path, api: str, rate: int) -> None:
    """Send the pending broadcast until every delivery is finished; print a JSON line."""
    from bot.app import open_app
    from bot.channels.telegram import TelegramChannel
    from bot.jobs import broadcast_tick
    from storage.models import Delivery, DeliveryStatus

    settings = bench_settings(database, workdir, rate)
    settings = replace(settings, telegram=replace(settings.telegram, api_base=api))
    app = await open_app(settings)
    channel = TelegramChannel(app.dispatcher, settings.telegram)
    stop = asyncio.Event()
    started = time.monotonic()
    baseline_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    sender = asyncio.create_task(channel.broadcasts.run(stop))
    await broadcast_tick(app.services)  # starts the broadcast and adds its recipients
    waiting = (DeliveryStatus.PENDING, DeliveryStatus.SENDING)
    try:
        while True:
            await asyncio.sleep(0.1)
            async with app.services.db.transaction() as session:
                left = await session.scalar(
                    select(func.count()).select_from(Delivery).where(Delivery.status.in_(waiting))
                )
            if not left:
                break
        elapsed = time.monotonic() - started
    finally:
        stop.set()
        await sender
        await channel.close()
        await app.close()
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "elapsed": elapsed,
                "started": started,
                "peak_mb": peak_kb / 1024,
                "baseline_mb": baseline_kb / 1024,
                "counts": dict(channel.broadcasts.counts),
            }
        ),
        flush=True,
    )


def sender_command(database: Path, workdir: Path, api: str, rate: int) -> list[str]:
    return [
        sys.executable,
        str(HERE),
        "--role",
        "sender",
        "--database",
        str(database),
        "--workdir",
        str(workdir),
        "--api",
        api,
        "--rate",
        str(rate),
    ]


# ---- the peer: python-telegram-bot's AIORateLimiter (its own process) ----------------------


async def run_peer(api: str, rate: int, groups: int, people: int) -> None:
    """What a python-telegram-bot user writes to broadcast: every send through the
    AIORateLimiter (same overall cap, 20/min per group), retried on 5xx and timeouts."""
    from telegram.error import NetworkError, RetryAfter, TimedOut
    from telegram.ext import AIORateLimiter, ExtBot

    limiter = AIORateLimiter(
        overall_max_rate=rate,
        overall_time_period=1,
        group_max_rate=20,
        group_time_period=60,
        max_retries=5,
    )
    bot = ExtBot(TOKEN, base_url=f"{api}/bot", rate_limiter=limiter)
    text = (
        "Tháng hành động phòng, chống ma túy: mỗi người dân là một chiến sỹ, mỗi gia đình "
        "là một pháo đài."
    )
    chats = [GROUP_BASE - i for i in range(groups)] + [PEOPLE_BASE + n for n in range(people)]
    gate = asyncio.Semaphore(256)
    failed = 0

    async def send(chat: int) -> None:
        nonlocal failed
        async with gate:
            for attempt in range(5):
                try:
                    await bot.send_message(chat, text)
                    return
                except RetryAfter as exc:
                    await asyncio.sleep(
                        float(
                            exc.retry_after.total_seconds()
                            if isinstance(exc.retry_after, timedelta)
                            else exc.retry_after
                        )
                    )
                except (NetworkError, TimedOut):
                    await asyncio.sleep(0.5 * 2**attempt)
            failed += 1

    async with bot:
        started = time.monotonic()
        await asyncio.gather(*(send(chat) for chat in chats))
        elapsed = time.monotonic() - started
    print(json.dumps({"elapsed": elapsed, "failed": failed}), flush=True)


# ---- the runs ------------------------------------------------------------------------------


def timeline(accepted: list[float], started: float) -> str:
    """Where the time went: before the first send, the steady rate, and the tail."""
    if len(accepted) < 10:
        return "too few sends for a timeline"
    times = sorted(accepted)
    low, high = times[len(times) // 10], times[len(times) * 9 // 10]
    steady = (len(times) * 8 // 10) / max(high - low, 1e-9)
    return (
        f"first send {times[0] - started:.1f} s after start, steady {steady:.1f}/s "
        f"(middle 80%), last send {times[-1] - started:.1f} s after start"
    )


def run_json(command: list[str], timeout: float) -> dict:
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)  # noqa: S603
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        sys.stderr.write(done.stderr[-3000:])
        raise SystemExit(f"a benchmark process failed ({done.returncode})")
    return json.loads(lines[-1])


def crash_run(database: Path, workdir: Path, api: str, rate: int, total: int) -> float:
    """Kill our sender with SIGKILL three times at random moments, restarting it each
    time, then let it finish. Returns the wall time."""
    rng = random.Random(2606)
    started = time.monotonic()
    expected_time = total / rate
    for kill in range(3):
        process = subprocess.Popen(  # noqa: S603
            sender_command(database, workdir, api, rate),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.1, 0.3) * expected_time)
        process.send_signal(signal.SIGKILL)
        process.wait()
        print(f"  crash mode: sender killed with SIGKILL ({kill + 1}/3)", flush=True)
    run_json(sender_command(database, workdir, api, rate), timeout=1800)
    return time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--groups", type=int, default=200)
    parser.add_argument("--rate", type=int, default=100, help="overall cap, messages/s")
    parser.add_argument("--error-rate", type=float, default=0.01)
    parser.add_argument("--skip-peer", action="store_true")
    parser.add_argument("--role", default="main", help=argparse.SUPPRESS)
    parser.add_argument("--control", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--database", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--api", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role == "server":
        asyncio.run(serve(args.rate, args.error_rate, args.control))
        return 0
    if args.role == "sender":
        asyncio.run(run_sender(args.database, args.workdir, args.api, args.rate))
        return 0
    if args.role == "peer":
        asyncio.run(run_peer(args.api, args.rate, args.groups, args.subscribers))
        return 0
    return orchestrate(args)


def orchestrate(args: argparse.Namespace) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="wardbot-bench-"))
    try:
        return _orchestrate(args, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _orchestrate(args: argparse.Namespace, workdir: Path) -> int:
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, {platform.system()}",
        flush=True,
    )
    rate, groups, people = args.rate, args.groups, args.subscribers
    base = workdir / "audience.db"
    t0 = time.monotonic()
    total = asyncio.run(build_audience(bench_settings(base, workdir, rate), groups, people))
    print(
        f"audience: {groups} group chats and {people} subscribers "
        f"({time.monotonic() - t0:.1f} s to build)",
        flush=True,
    )
    crash_db = workdir / "crash.db"
    shutil.copyfile(base, crash_db)
    expected = expected_chats(groups, people)
    minimum = total / rate
    server = Server(rate, args.error_rate, workdir)
    try:
        ours = run_json(sender_command(base, workdir, server.url, rate), timeout=1800)
        stats = server.stats()
        lost, duplicates = losses_and_duplicates(stats, expected)
        rate429 = stats["rate_limited"] / max(1, stats["requests"])
        print(
            f"ours: {total} messages in {ours['elapsed']:.1f} s (minimum at {rate}/s: "
            f"{minimum:.1f} s), {stats['requests']} requests, {stats['rate_limited']} "
            f"answered 429, {stats['server_errors']} answered 500, lost {lost}, "
            f"duplicates {duplicates}, peak {ours['peak_mb']:.0f} MB ("
            f"{ours['baseline_mb']:.0f} MB before the first send: Python with aiogram, "
            f"SQLAlchemy and the bot loaded)",
            flush=True,
        )
        print("  " + timeline(stats["accepted"], ours["started"]), flush=True)
        peer_ratio = "n/a"
        if not args.skip_peer:
            server.reset()
            peer = run_json(
                [
                    sys.executable,
                    str(HERE),
                    "--role",
                    "peer",
                    "--api",
                    server.url,
                    "--rate",
                    str(rate),
                    "--groups",
                    str(groups),
                    "--subscribers",
                    str(people),
                ],
                timeout=1800,
            )
            peer_stats = server.stats()
            peer_lost, peer_dup = losses_and_duplicates(peer_stats, expected)
            print(
                f"peer (python-telegram-bot AIORateLimiter): {peer['elapsed']:.1f} s, "
                f"{peer_stats['requests']} requests, {peer_stats['rate_limited']} answered "
                f"429, lost {peer_lost}, duplicates {peer_dup}",
                flush=True,
            )
            peer_ratio = f"{ours['elapsed'] / peer['elapsed']:.3f}"
        server.reset()
        crash_time = crash_run(crash_db, workdir, server.url, rate, total)
        crash_stats = server.stats()
        crash_lost, crash_dup = losses_and_duplicates(crash_stats, expected)
        print(
            f"crash mode: 3 kills, finished in {crash_time:.1f} s, lost {crash_lost}, "
            f"duplicates {crash_dup}",
            flush=True,
        )
    finally:
        server.stop()
    figures = {
        "ratio_to_min": f"{ours['elapsed'] / minimum:.3f}",
        "rate429": f"{rate429:.4f}",
        "lost": lost,
        "duplicates": duplicates,
        "peer_ratio": peer_ratio,
        "peak_mb": f"{ours['peak_mb']:.0f}",
        "crash_lost": crash_lost,
        "crash_duplicates": crash_dup,
    }
    print("RESULT " + " ".join(f"{key}={value}" for key, value in figures.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
