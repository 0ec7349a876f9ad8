"""Memory of the main `wardbot run` process against a bare aiogram 3 bot (issue 16).

    .venv/bin/python benchmarks/memory.py [--subscribers 5000] [--settle 5]

One real `wardbot run` (a subprocess started with the CLI, SQLite, Telegram AND Zalo in
webhook mode against the stand-ins of tests/fakes/, a fresh data folder and keyring in a
temporary directory) and the bare aiogram bot of benchmarks/intake.py (one handler, in
webhook mode), both set up with intake.py's own helpers. Measured from /proc:

- the bare bot's VmRSS, idle, `--settle` seconds after it is ready;
- wardbot's VmRSS, idle, `--settle` seconds after /healthz first answers ok;
- wardbot's VmHWM (peak) during an ad-hoc broadcast to `--subscribers` subscribers
  (added with the storage layer before the start, sent by the bot's own tick at
  `--rate` messages/s, 300 as in intake.py; Telegram's own limit is 30); the peak is reset (/proc/PID/clear_refs) just before the broadcast is
  made due, so it is the broadcast's, not the start's.

Target: both ratios to the bare bot's idle VmRSS at most 1.25.

Ends with: RESULT idle_ratio=.. broadcast_ratio=.. idle_mb=.. bare_mb=..
"""

from __future__ import annotations

import os
import sys

# benchmarks/queue.py would shadow the standard library's queue: this directory leaves
# sys.path, the project's root takes its place (as in intake.py, whose helpers are used).
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]
sys.path.insert(0, os.path.dirname(_HERE))

import argparse
import asyncio
import math
import platform
import shutil
import tempfile
from pathlib import Path

from benchmarks import intake

TARGET = 1.25


def breakdown(pid: int) -> str:
    """RssAnon (the heap), RssFile (mapped code and data files), in MB."""
    found = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(("RssAnon:", "RssFile:")):
                name, value = line.split(":", 1)
                found[name] = int(value.split()[0]) / 1024
    except OSError:
        return "gone"
    return ", ".join(f"{name} {value:.1f} MB" for name, value in found.items())


def reset_peak(pid: int) -> bool:
    """VmHWM starts again from the current VmRSS (Linux; False where not allowed)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


async def measure(args: argparse.Namespace, workdir: Path) -> dict[str, float]:
    from tests.fakes.zalo_server import FakeZalo

    memory = intake.Memory()
    memory.start()
    figures: dict[str, float] = {}
    async with intake.stand_in_class()(intake.BARE_TOKEN) as bare_fake:
        bare = intake.Bare(workdir, bare_fake.base_url)
        try:
            await asyncio.to_thread(bare.ready)
            await asyncio.sleep(args.settle)
            status = intake.proc_status(bare.process.pid)
            figures["bare_mb"] = status.get("VmRSS", math.nan)
            print(
                f"bare aiogram bot (webhook) idle: VmRSS {figures['bare_mb']:.1f} MB "
                f"(VmHWM {status.get('VmHWM', math.nan):.1f} MB)",
                flush=True,
            )
        finally:
            bare.stop()
    async with intake.stand_in_class()(intake.TOKEN) as fake, FakeZalo(intake.ZALO_TOKEN) as zalo:
        bot = intake.Wardbot(workdir, "sqlite", "", fake.base_url, zalo.base_url)
        took = bot.set_up()
        print(f"set up with the CLI in {took:.1f} s", flush=True)
        took = await asyncio.to_thread(
            intake.child, "audience", bot.config, "--subscribers", str(args.subscribers)
        )
        print(
            f"{args.subscribers:,} subscribers and a waiting ad-hoc broadcast added in "
            f"{took:.1f} s",
            flush=True,
        )
        took = await bot.start()
        assert bot.process is not None
        pid = bot.process.pid
        memory.watch("wardbot", pid)
        print(f"wardbot run (Telegram and Zalo webhooks) healthy after {took:.1f} s", flush=True)
        try:
            await asyncio.sleep(args.settle)
            status = intake.proc_status(pid)
            figures["idle_mb"] = status.get("VmRSS", math.nan)
            figures["start_peak_mb"] = status.get("VmHWM", math.nan)
            print(
                f"wardbot idle: VmRSS {figures['idle_mb']:.1f} MB (VmHWM since start "
                f"{figures['start_peak_mb']:.1f} MB; {breakdown(pid)})",
                flush=True,
            )
            if not reset_peak(pid):
                print("note: cannot reset VmHWM here; the broadcast peak includes the start's")
            await intake.broadcast(bot, fake, args.subscribers, memory)
            status = intake.proc_status(pid)
            figures["broadcast_mb"] = status.get("VmHWM", math.nan)
            figures["after_mb"] = status.get("VmRSS", math.nan)
            figures["received"] = len(fake.broadcast_received)
            print(
                f"wardbot during the broadcast: VmHWM {figures['broadcast_mb']:.1f} MB; "
                f"VmRSS after it {figures['after_mb']:.1f} MB ({breakdown(pid)})",
                flush=True,
            )
        finally:
            await memory.stop()
            took, code = await bot.stop()
            print(f"wardbot stopped in {took:.1f} s (exit status {code})", flush=True)
        errors, warnings, other = bot.log_lines()
        print(
            f"wardbot log: {sum(errors.values())} ERROR, {sum(warnings.values())} WARNING, "
            f"{len(other)} other lines",
            flush=True,
        )
        for line in [*errors, *warnings][:10]:
            print(f"  {line[:200]}")
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=5000)
    parser.add_argument("--settle", type=float, default=5.0, help="seconds before 'idle'")
    parser.add_argument(
        "--rate",
        type=int,
        default=intake.BROADCAST_RATE,
        help="the bot's telegram.rate_per_second (intake.py's 300 by default)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    intake.BROADCAST_RATE = args.rate  # read by intake.Wardbot's configuration and broadcast()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}; load average {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    workdir = Path(tempfile.mkdtemp(prefix="wardbot-memory-"))
    try:
        figures = asyncio.run(measure(args, workdir))
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    bare = figures["bare_mb"]
    idle_ratio = figures["idle_mb"] / bare
    broadcast_ratio = figures["broadcast_mb"] / bare
    print(
        f"idle {figures['idle_mb']:.1f} / {bare:.1f} MB = {idle_ratio:.3f}; broadcast peak "
        f"{figures['broadcast_mb']:.1f} / {bare:.1f} MB = {broadcast_ratio:.3f} "
        f"(target <= {TARGET}); {int(figures['received']):,} of {args.subscribers:,} "
        f"subscribers received it"
    )
    print(
        f"RESULT idle_ratio={idle_ratio:.3f} broadcast_ratio={broadcast_ratio:.3f} "
        f"idle_mb={figures['idle_mb']:.1f} bare_mb={bare:.1f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
