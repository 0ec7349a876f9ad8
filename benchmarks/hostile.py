"""A hostile resident against everyone else: while one resident sends crafted files at
the report wizard's files step (a many-scan JPEG, a PDF of compressed streams inflating
to gigabytes, a PDF of millions of drawing operators, a PNG declaring 100,000 x 100,000
pixels), 50 other residents go through /start, "Report a tip", a category, "Cancel" and
"Yes, delete it", round after round. Everything goes through the real Telegram channel
(aiogram, polling) against the stand-in Bot API on 127.0.0.1, in this process, with a
fresh SQLite database and keyring in a temporary directory; the files are cleaned by the
product's FileSandbox with its default limits.

    .venv/bin/python benchmarks/hostile.py [--residents 50] [--cycles 2] [--profile]

First a quiet phase (no hostile files) for comparison, then the attack: the hostile
resident, already at the files step, sends its files one after another, each as soon as
the previous one was answered (the JPEG as a photo, the others as documents), for as
long as the bystanders' rounds go on: at least `--attack-rounds` rounds and `--cycles`
times over the four files. A bystander waits 0.3-1.5 s between steps (`--think-min`,
`--think-max`); each round starts within a second (`--stagger`). A bystander's latency
is from the update being queued at the stand-in to the bot's first message to that
chat arriving there, split into the time the update waited at the stand-in (until a
getUpdates handed it out) and the time in the bot; a resident whose round went wrong
is replaced by a new one. The whole run stops starting rounds and files after
`--budget` seconds (150).

Targets: bystander p99 under 1,000 ms, no bystander errors (the apology, or no answer
within 10 s), every hostile file refused politely, the main process under 400 MB (the
sandbox's workers are processes of their own; the files are generated in a child so
their generators do not count either).

Ends with: RESULT bystander_p99_ms=.. bystander_errors=.. hostile_refused=N/M main_peak_mb=..
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
import cProfile
import io
import json
import math
import platform
import pstats
import random
import resource
import secrets
import shutil
import subprocess
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from types import SimpleNamespace
from typing import Any

TOKEN = "424242:HOSTILE-bench"  # noqa: S105  # the stand-in server's token, not a secret
HERE = Path(__file__).resolve()
HOSTILE = 6_100_000_001
BYSTANDER_BASE = 6_200_000_000
ANSWER_TIMEOUT = 10.0  # a bystander without an answer by then counts as an error
HOSTILE_TIMEOUT = 90.0  # the sandbox's wall clock (30 s) with room to spare
# (label, generator in tests/hostile_files.py, how it is sent, file name, MIME type)
HOSTILE_FILES = (
    ("many-scan JPEG", "many_scan_jpeg", "photo", "scan.jpg", "image/jpeg"),
    (
        "compressed-stream PDF bomb",
        "pdf_compression_bomb",
        "document",
        "report.pdf",
        "application/pdf",
    ),
    ("parse-bomb PDF", "pdf_parse_bomb", "document", "notes.pdf", "application/pdf"),
    ("huge-dimension PNG", "huge_dimension_png", "document", "map.png", "image/png"),
)
# A bystander's round: what is sent, and the button the bot's answer must show.
ROUND = (
    ("/start", "say", "/start", "report:start"),
    ("Report a tip", "press", "report:start", "report:cat:"),
    ("a category", "press", "report:cat:*", "report:cancel"),
    ("Cancel", "press", "report:cancel", "report:discard"),
    ("Yes, delete it", "press", "report:discard", "report:start"),
)
CATEGORIES = ("dealing", "use", "addiction", "venue", "growing", "other")


# ---- the hostile files, made in a child process ---------------------------------------------


def generate(out: Path) -> None:
    """Write each hostile file to `out`; print how long each took and the child's peak."""
    import tests.hostile_files as hostile

    figures = {}
    for _label, name, *_rest in HOSTILE_FILES:
        started = time.perf_counter()
        data = getattr(hostile, name)()
        figures[name] = {"seconds": time.perf_counter() - started, "bytes": len(data)}
        (out / f"{name}.bin").write_bytes(data)
    figures["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(figures), flush=True)


def wait_for_generators(limit: float = 600.0) -> None:
    """tests/hostile_files.py is written by someone else: wait for it to appear."""
    target = HERE.parent.parent / "tests" / "hostile_files.py"
    deadline = time.monotonic() + limit
    while not target.exists():
        if time.monotonic() > deadline:
            raise SystemExit("tests/hostile_files.py did not appear")
        print("waiting for tests/hostile_files.py ...", flush=True)
        time.sleep(15)


def make_files(workdir: Path) -> tuple[dict[str, bytes], dict]:
    out = workdir / "hostile"
    out.mkdir()
    done = subprocess.run(  # noqa: S603
        [sys.executable, str(HERE), "--role", "generate", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        sys.stderr.write(done.stderr[-3000:])
        raise SystemExit(f"generating the hostile files failed ({done.returncode})")
    figures = json.loads(lines[-1])
    files = {name: (out / f"{name}.bin").read_bytes() for _l, name, *_r in HOSTILE_FILES}
    return files, figures


# ---- the stand-in, with times ----------------------------------------------------------------


def stand_in_class() -> type:
    from tests.fakes.telegram_bot_api import FakeTelegram

    class TimedTelegram(FakeTelegram):
        """The stand-in Bot API, noting when each update was queued and first handed out
        and when each message arrived, and keeping the messages per chat (so that waiting
        for one chat's answer does not scan every message sent)."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.by_chat: dict[int, list[dict[str, Any]]] = defaultdict(list)
            self.arrived: dict[int, asyncio.Event] = {}
            self.queued_at: dict[int, float] = {}
            self.fetched_at: dict[int, float] = {}
            self.polls = 0
            self.polled_updates = 0

        def _queue(self, update: dict[str, Any]) -> dict[str, Any]:
            queued = super()._queue(update)
            self.queued_at[queued["update_id"]] = time.monotonic()
            return queued

        async def _m_getUpdates(self, params: dict, uploads: dict) -> Any:
            response = await super()._m_getUpdates(params, uploads)
            # No await since the answer was made: the queue is as it was then.
            limit = min(100, int(params.get("limit") or 100))
            handed = list(self._updates)[:limit] if not self._stopping.is_set() else []
            now = time.monotonic()
            self.polls += 1
            self.polled_updates += len(handed)
            for update in handed:
                self.fetched_at.setdefault(update["update_id"], now)
            return response

        def _record(self, method: str, params: dict, content: dict, **extra: Any) -> Any:
            response = super()._record(method, params, content, **extra)
            entry = self.sent[-1]
            entry["at"] = time.monotonic()
            self.by_chat[entry["chat_id"]].append(entry)
            event = self.arrived.get(entry["chat_id"])
            if event is not None:
                event.set()
            return response

        def press(self, chat_id: int, message: dict[str, Any], data: str) -> dict[str, Any]:
            """user_presses() on a message already found."""
            query_id = secrets.token_hex(8)
            self._callbacks.add(query_id)
            return self._queue(
                {
                    "callback_query": {
                        "id": query_id,
                        "from": self._user(chat_id),
                        "chat_instance": str(chat_id),
                        "data": data,
                        "message": message["result"],
                    }
                }
            )

    return TimedTelegram


def buttons(entry: dict[str, Any]) -> list[str]:
    markup = entry.get("reply_markup") or {}
    return [b.get("callback_data", "") for row in markup.get("inline_keyboard", []) for b in row]


def shows(entry: dict[str, Any], want: str) -> bool:
    return any(data.startswith(want) for data in buttons(entry))


async def answers(fake: Any, chat: int, since: int, want: str, within: float) -> list[dict]:
    """The chat's messages from index `since`, once one shows a button starting with
    `want` or an apology came (or the time is up)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    event = fake.arrived.setdefault(chat, asyncio.Event())
    while True:
        new = fake.by_chat[chat][since:]
        if any(shows(e, want) or e.get("text", "") in APOLOGIES for e in new):
            return new
        remaining = deadline - loop.time()
        if remaining <= 0:
            return new
        event.clear()
        try:
            await asyncio.wait_for(event.wait(), remaining)
        except TimeoutError:
            pass


def newest_with(fake: Any, chat: int, data: str) -> dict[str, Any] | None:
    for entry in reversed(fake.by_chat[chat]):
        if data in buttons(entry):
            return entry
    return None


APOLOGIES: set[str] = set()  # filled from the catalogue once the app is open
CLEANING: list[float] = []  # seconds each FileSandbox.clean() call took


# ---- the residents ---------------------------------------------------------------------------


class Tally:
    def __init__(self) -> None:
        self.latencies: list[float] = []  # ms
        self.by_step: dict[str, list[float]] = defaultdict(list)
        self.waited: list[float] = []  # ms at the stand-in before a getUpdates took it
        self.in_bot: list[float] = []  # ms from being handed out to the answer
        self.errors: Counter[str] = Counter()
        self.per_round: list[list[float]] = []  # ms, the latencies of each round


async def bystander_round(
    fake: Any,
    chat: int,
    rng: random.Random,
    tally: Tally,
    think: tuple[float, float],
    stagger: float,
) -> bool:
    """One resident's round; False when it went wrong (the resident is then replaced)."""
    await asyncio.sleep(rng.uniform(0, stagger))
    for index, (name, how, what, want) in enumerate(ROUND):
        if index:
            await asyncio.sleep(rng.uniform(*think))
        since = len(fake.by_chat[chat])
        if how == "say":
            update = fake.user_sends(chat, what)
        else:
            data = what
            if what == "report:cat:*":
                data = "report:cat:" + rng.choice(CATEGORIES)
            shown = newest_with(fake, chat, data)
            if shown is None:
                tally.errors["unexpected"] += 1
                return False
            update = fake.press(chat, shown, data)
        queued = fake.queued_at[update["update_id"]]
        new = await answers(fake, chat, since, want, ANSWER_TIMEOUT)
        if not new:
            tally.errors["missing"] += 1
            tally.latencies.append(ANSWER_TIMEOUT * 1000)
            tally.per_round[-1].append(ANSWER_TIMEOUT * 1000)
            tally.by_step[name].append(ANSWER_TIMEOUT * 1000)
            return False
        latency = (new[0]["at"] - queued) * 1000
        tally.latencies.append(latency)
        tally.per_round[-1].append(latency)
        tally.by_step[name].append(latency)
        fetched = fake.fetched_at.get(update["update_id"])
        if fetched is not None:
            tally.waited.append((fetched - queued) * 1000)
            tally.in_bot.append((new[0]["at"] - fetched) * 1000)
        if any(e.get("text", "") in APOLOGIES for e in new):
            tally.errors["apology"] += 1
            return False
        if not any(shows(e, want) for e in new):
            tally.errors["unexpected"] += 1
            return False
    return True


async def bystanders(
    fake: Any,
    people: list[int],
    rng: random.Random,
    tally: Tally,
    think: tuple[float, float],
    stagger: float,
    *,
    rounds: int,
    until: asyncio.Event | None = None,
    deadline: float = math.inf,
    fresh: Any,
) -> int:
    """Rounds of every resident at once: at least `rounds`, and on until `until` is set
    (or the deadline passes). A resident whose round went wrong is replaced by a new one."""
    done = 0
    while done < rounds or (until is not None and not until.is_set()):
        if done >= rounds and time.monotonic() > deadline:
            break
        tally.per_round.append([])
        outcomes = await asyncio.gather(
            *(
                bystander_round(fake, chat, random.Random(rng.random()), tally, think, stagger)
                for chat in people
            )
        )
        people[:] = [chat if ok else next(fresh) for chat, ok in zip(people, outcomes, strict=True)]
        done += 1
    return done


async def walk(fake: Any, chat: int, steps: list[tuple[str, str, str]]) -> None:
    """The hostile resident's way to the files step (not measured)."""
    for number, (how, what, want) in enumerate(steps, start=1):
        since = len(fake.by_chat[chat])
        if how == "say":
            fake.user_sends(chat, what)
        else:
            shown = newest_with(fake, chat, what)
            if shown is None:
                raise SystemExit(f"the wizard showed no button for step {number}")
            fake.press(chat, shown, what)
        new = await answers(fake, chat, since, want, 30)
        if not any(shows(e, want) for e in new):
            raise SystemExit(f"the wizard did not go on after step {number}")


async def hostile(
    fake: Any,
    files: dict[str, bytes],
    texts: dict[str, Any],
    results: list[dict],
    *,
    cycles: int,
    cycled: asyncio.Event,
    stop: asyncio.Event,
    deadline: float,
) -> None:
    """Each hostile file in turn, the next as soon as the previous one was answered: at
    least `cycles` times over (then `cycled` is set), and on until `stop` is set."""
    cycle = 0
    while cycle < cycles or not stop.is_set():
        for label, name, how, file_name, mime in HOSTILE_FILES:
            if time.monotonic() > deadline or (cycle >= cycles and stop.is_set()):
                return
            since = len(fake.by_chat[HOSTILE])
            if how == "photo":
                update = fake.user_sends_photo(HOSTILE, files[name])
            else:
                update = fake.user_sends_document(HOSTILE, files[name], file_name, mime)
            queued = fake.queued_at[update["update_id"]]
            new = await answers(fake, HOSTILE, since, "report:files-done", HOSTILE_TIMEOUT)
            outcome = classify([e.get("text", "") for e in new], texts)
            result = {
                "label": label,
                "outcome": outcome,
                "seconds": (new[0]["at"] - queued) if new else HOSTILE_TIMEOUT,
                "waited": fake.fetched_at.get(update["update_id"], queued) - queued,
                "cleaning": CLEANING.pop() if CLEANING else math.nan,
            }
            results.append(result)
            if cycle == 0:
                print(
                    f"  hostile: {label} ({len(files[name]):,} bytes): {outcome} after "
                    f"{result['seconds']:.2f} s ({result['waited']:.2f} s at the stand-in, "
                    f"{result['cleaning']:.2f} s in FileSandbox.clean)",
                    flush=True,
                )
        cycle += 1
        if cycle == cycles:
            cycled.set()


def classify(replies: list[str], texts: dict[str, Any]) -> str:
    """What the bot made of a hostile file, from its replies."""
    for text in replies:
        reason = next((r for r, t in texts["refusals"].items() if t in text), None)
        if reason is not None:
            return f"refused ({reason})"
        if texts["unfinished"] in text:
            return "refused (unfinished)"
        if text.startswith(texts["accepted"]):
            return "ACCEPTED"
        if text in APOLOGIES:
            return "apology"
    return "other answer" if replies else "no answer"


# ---- figures ---------------------------------------------------------------------------------


def rank(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def most(values: Any) -> float:
    return max((v for v in values if not math.isnan(v)), default=math.nan)


def summary(values: list[float]) -> str:
    if not values:
        return "no samples"
    return (
        f"n={len(values)} p50 {rank(values, 0.5):.0f} ms, p90 {rank(values, 0.9):.0f} ms, "
        f"p99 {rank(values, 0.99):.0f} ms, max {max(values):.0f} ms"
    )


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def report(
    phase: str, tally: Tally, seconds: float, rounds: int, polls: tuple[int, int], cpu: float
) -> None:
    print(
        f"{phase}: {rounds} rounds in {seconds:.1f} s, {len(tally.latencies)} answers "
        f"({len(tally.latencies) / max(seconds, 1e-9):.1f} updates/s), "
        f"errors {dict(tally.errors) or 0}; the main process used {cpu:.1f} s of CPU "
        f"({100 * cpu / max(seconds, 1e-9):.0f}% of one core; load average "
        f"{os.getloadavg()[0]:.2f})",
        flush=True,
    )
    print(f"  latency        {summary(tally.latencies)}")
    print(f"  at stand-in    {summary(tally.waited)}  (queued until a getUpdates handed it out)")
    print(f"  in the bot     {summary(tally.in_bot)}  (handed out until the answer arrived)")
    for name, values in tally.by_step.items():
        print(f"  {name:15}{summary(values)}")
    print("  p99 by round   " + ", ".join(f"{rank(r, 0.99):.0f}" for r in tally.per_round) + " ms")
    calls, handed = polls
    print(
        f"  getUpdates: {calls} calls ({calls / max(seconds, 1e-9):.1f}/s) handing out "
        f"{handed} updates, {handed / max(calls, 1):.1f} a call, for "
        f"{len(tally.latencies)} new ones (an update still in hand is handed out again "
        f"by every call while it or an earlier one is unfinished)",
        flush=True,
    )


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ---- the run ---------------------------------------------------------------------------------


async def bench(args: argparse.Namespace, workdir: Path, files: dict[str, bytes]) -> dict:
    from bot.app import open_app
    from bot.channels.telegram import TelegramChannel
    from engine.conversation import _UNFINISHED
    from handlers.resident.report import _rejection
    from kernel.config import ChannelSettings, Settings
    from storage.attachments import RejectReason
    from tests.channels import running
    from tests.helpers import add_phu_lien

    started = time.monotonic()
    async with stand_in_class()(TOKEN) as fake:
        settings = Settings(
            data_dir=workdir,
            database_url=f"sqlite+aiosqlite:///{workdir / 'wardbot.db'}",
            keyring_path=workdir / "keys" / "keyring.json",
            telegram=ChannelSettings("telegram", TOKEN, fake.base_url),
        )
        app = await open_app(settings)
        try:
            await add_phu_lien(app)
            vi = app.services.translator.get("vi")
            APOLOGIES.update(
                {
                    vi.gettext(
                        "Sorry, something went wrong on our side. Nothing you sent before "
                        "was lost. Please try again in a moment."
                    ),
                    vi.gettext(
                        "Sorry, part of this answer could not be prepared. Please try again "
                        "in a moment."
                    ),
                }
            )
            ctx = SimpleNamespace(_=vi.gettext)
            texts = {
                "refusals": {r.value: _rejection(ctx, r) for r in RejectReason},  # type: ignore[arg-type]
                "unfinished": vi.gettext(_UNFINISHED),
                "accepted": vi.gettext("✓ File {number} received; hidden data removed.").split(
                    "{number}"
                )[0],
            }
            channel = TelegramChannel(app.dispatcher, settings.telegram)  # type: ignore[arg-type]
            sandbox = app.services.sandbox
            clean = sandbox.clean

            async def timed_clean(data: bytes) -> Any:  # measures only: the same call
                begun = time.monotonic()
                try:
                    return await clean(data)
                finally:
                    CLEANING.append(time.monotonic() - begun)

            sandbox.clean = timed_clean  # type: ignore[method-assign]
            async with running(channel):
                ready_mb = peak_mb()
                print(
                    f"bot running after {time.monotonic() - started:.1f} s; main process "
                    f"peak so far {ready_mb:.0f} MB",
                    flush=True,
                )
                rng = random.Random(20260626)
                counter = iter(range(BYSTANDER_BASE, BYSTANDER_BASE + 10_000_000))
                people = [next(counter) for _ in range(args.residents)]
                think = (args.think_min, args.think_max)

                # The quiet phase: the same load, no hostile file.
                quiet = Tally()
                t0 = time.monotonic()
                polls_before, cpu_before = (fake.polls, fake.polled_updates), cpu_seconds()
                rounds = await bystanders(
                    fake,
                    people,
                    rng,
                    quiet,
                    think,
                    args.stagger,
                    rounds=args.quiet_rounds,
                    fresh=counter,
                )
                report(
                    "quiet",
                    quiet,
                    time.monotonic() - t0,
                    rounds,
                    (fake.polls - polls_before[0], fake.polled_updates - polls_before[1]),
                    cpu_seconds() - cpu_before,
                )
                quiet_mb = peak_mb()
                print(f"  main process peak {quiet_mb:.0f} MB", flush=True)

                # The hostile resident reaches the files step, then the attack.
                await walk(
                    fake,
                    HOSTILE,
                    [
                        ("say", "/start", "report:start"),
                        ("press", "report:start", "report:cat:"),
                        ("press", "report:cat:dealing", "report:grp:none"),
                        ("press", "report:grp:none", "report:where-skip"),
                        ("press", "report:where-skip", "report:when:today"),
                        ("press", "report:when:today", "report:cancel"),
                        ("say", "có người lạ hay đến ngõ này ban đêm", "report:what-done"),
                        ("press", "report:what-done", "report:files-done"),
                    ],
                )
                attack = Tally()
                results: list[dict] = []
                cycled, stop = asyncio.Event(), asyncio.Event()
                deadline = started + args.budget
                polls_before, cpu_before = (fake.polls, fake.polled_updates), cpu_seconds()
                profiler = cProfile.Profile() if args.profile else None
                if profiler is not None:
                    profiler.enable()
                t0 = time.monotonic()
                attacking = asyncio.create_task(
                    hostile(
                        fake,
                        files,
                        texts,
                        results,
                        cycles=args.cycles,
                        cycled=cycled,
                        stop=stop,
                        deadline=deadline,
                    )
                )
                attacking.add_done_callback(lambda _task: cycled.set())
                rounds = await bystanders(
                    fake,
                    people,
                    rng,
                    attack,
                    think,
                    args.stagger,
                    rounds=args.attack_rounds,
                    until=cycled,
                    deadline=deadline,
                    fresh=counter,
                )
                stop.set()
                await attacking
                elapsed = time.monotonic() - t0
                if profiler is not None:
                    profiler.disable()
                report(
                    "under attack",
                    attack,
                    elapsed,
                    rounds,
                    (fake.polls - polls_before[0], fake.polled_updates - polls_before[1]),
                    cpu_seconds() - cpu_before,
                )
                if profiler is not None:
                    out = io.StringIO()
                    stats = pstats.Stats(profiler, stream=out)
                    stats.sort_stats("cumulative").print_stats(30)
                    stats.sort_stats("tottime").print_stats(25)
                    print(out.getvalue())
        finally:
            await app.close()
    refused = sum(1 for r in results if r["outcome"].startswith("refused"))
    by_kind: dict[str, list[dict]] = defaultdict(list)
    for r in results:
        by_kind[r["label"]].append(r)
    print(
        "hostile files, from sending to the refusal (of which at the stand-in, and in "
        "FileSandbox.clean):"
    )
    for label, rows in by_kind.items():
        total = [r["seconds"] for r in rows]
        print(
            f"  {label:27} n={len(rows)} mean {sum(total) / len(total):.2f} s, max "
            f"{max(total):.2f} s; at the stand-in max {max(r['waited'] for r in rows):.2f} s;"
            f" cleaning max {most(r['cleaning'] for r in rows):.2f} s"
        )
    print(f"  outcomes: {dict(Counter(r['outcome'] for r in results))}")
    return {
        "quiet_p99": rank(quiet.latencies, 0.99),
        "p99": rank(attack.latencies, 0.99),
        "errors": sum(attack.errors.values()) + sum(quiet.errors.values()),
        "refused": refused,
        "sent": len(results),
        "ready_mb": ready_mb,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--residents", type=int, default=50)
    parser.add_argument("--cycles", type=int, default=2, help="times each hostile file is sent")
    parser.add_argument("--quiet-rounds", type=int, default=2)
    parser.add_argument("--attack-rounds", type=int, default=4, help="at least this many")
    parser.add_argument("--think-min", type=float, default=0.3, help="seconds between steps")
    parser.add_argument("--think-max", type=float, default=1.5)
    parser.add_argument("--stagger", type=float, default=1.0, help="spread of round starts, s")
    parser.add_argument("--budget", type=float, default=150.0, help="seconds for the whole run")
    parser.add_argument("--profile", action="store_true", help="cProfile the attack phase")
    parser.add_argument("--role", default="bench", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role == "generate":
        generate(args.out)
        return 0
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, {platform.system()}; load average "
        f"{os.getloadavg()[0]:.2f} at the start",
        flush=True,
    )
    wait_for_generators()
    workdir = Path(tempfile.mkdtemp(prefix="wardbot-hostile-"))
    try:
        t0 = time.monotonic()
        files, made = make_files(workdir)
        print(
            f"hostile files generated in a child in {time.monotonic() - t0:.1f} s (child "
            f"peak {made['peak_mb']:.0f} MB): "
            + ", ".join(
                f"{label} {made[name]['bytes']:,} bytes" for label, name, *_r in HOSTILE_FILES
            ),
            flush=True,
        )
        figures = asyncio.run(bench(args, workdir, files))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    main_peak = peak_mb()
    print(
        f"bystander p99: {figures['quiet_p99']:.0f} ms quiet, {figures['p99']:.0f} ms under "
        f"attack; main process peak {main_peak:.0f} MB ({figures['ready_mb']:.0f} MB with "
        f"the bot running, before any traffic)"
    )
    result = {
        "bystander_p99_ms": f"{figures['p99']:.0f}",
        "bystander_errors": figures["errors"],
        "hostile_refused": f"{figures['refused']}/{figures['sent']}",
        "main_peak_mb": f"{main_peak:.0f}",
    }
    print("RESULT " + " ".join(f"{key}={value}" for key, value in result.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
