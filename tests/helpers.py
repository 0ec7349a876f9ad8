"""Test helpers that go through the public paths: the dispatcher as a channel calls it,
and the bytes a database really keeps on disk."""

from __future__ import annotations

import io
import itertools
import logging
import os
import re
import struct
import subprocess
import sys
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import asyncpg
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from bot import cli
from bot.app import App
from bot.mixer import mix
from engine.conversation import Context, Router
from engine.flows import Flow
from engine.services import Services
from kernel.callback_data import Action, Choice
from kernel.clock import utcnow
from kernel.messages import Attachment, Button, ChatKind, Inbound, Reply
from kernel.routes import Route
from storage import tips
from storage.models import OfficerRole, Tip
from storage.tips import Receipt

WARDBOT = str(Path(sys.executable).with_name("wardbot"))
# Message ids as a platform gives them: never the same twice, even across restarts.
_MESSAGE_IDS = itertools.count(100)


@dataclass
class Chat:
    """One person talking to the bot, as a channel without buttons would pass it on."""

    app: App
    user: str
    channel: str = "console"
    kind: ChatKind = ChatKind.PRIVATE
    chat_id: str | None = None
    language_hint: str | None = None
    last: list[Reply] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    last_message_id: int = 0

    @property
    def route(self) -> Route:
        if self.kind is ChatKind.GROUP:
            return Route(self.channel, self.chat_id or "group", self.user)
        return Route(self.channel, self.chat_id or self.user)

    async def send(
        self,
        text: str = "",
        *,
        action: str | None = None,
        attachments: tuple[Attachment, ...] = (),
        location: tuple[float, float] | None = None,
    ) -> list[Reply]:
        self.last_message_id = next(_MESSAGE_IDS)
        inbound = Inbound(
            route=self.route,
            chat_kind=self.kind,
            text=text,
            action=action,
            attachments=attachments,
            location=location,
            language_hint=self.language_hint,
            message_id=str(self.last_message_id),
        )
        outbound = await self.app.dispatcher.handle(inbound)
        assert all(o.route == self.route for o in outbound)
        self.last = [o.reply for o in outbound if o.reply is not None]
        self.deleted = [i for o in outbound for i in o.delete]
        return self.last

    async def pick(self, label: str) -> list[Reply]:
        """Type the number of the option whose label contains `label`, as on Zalo."""
        options = self.options()
        matches = [i for i, option in enumerate(options, start=1) if label in option]
        assert len(matches) == 1, f"{label!r} is not exactly one of {options}"
        return await self.send(str(matches[0]))

    @property
    def text(self) -> str:
        return "\n".join(reply.text for reply in self.last)

    def options(self) -> list[str]:
        return [b.label for reply in self.last for b in reply.options()]


async def enrol(app: App, ward_id: int, role: OfficerRole, user: str, label: str) -> Chat:
    """An officer joins by invite code from a console chat named `user`."""
    async with app.services.db.transaction() as session:
        _officer, code = await app.services.invites.create(
            session, ward_id=ward_id, role=role, label=label
        )
    chat = Chat(app, user)
    await chat.send(f"/join {code.lower()}")
    assert f"Chào đồng chí {label}" in chat.text
    return chat


async def outbox_for(app: App, user: str) -> str:
    """What the console channel would print for `user` now: the notices queued for them."""
    from bot.channels import console

    out = io.StringIO()
    await console.chat(app.dispatcher, user, stdin=io.StringIO(""), stdout=out)
    return out.getvalue()


async def deliver_everything(app: App, now: datetime) -> int:
    """What a working platform would do: every due broadcast sent to every recipient,
    through the same claim and record steps the sender uses."""
    from broadcasts import deliveries
    from broadcasts.deliveries import Outcome
    from storage.models import DeliveryStatus

    services, sent = app.services, 0
    async with services.db.transaction() as session:
        await deliveries.start_due(session, now)
    while True:
        async with services.db.transaction() as session:
            growing = await deliveries.to_expand(session)
            for broadcast in growing:
                await deliveries.expand(session, broadcast, 3)  # small batches on purpose
        if not growing:
            break
    for channel in ("telegram", "zalo", "console"):
        while True:
            async with services.db.transaction() as session:
                jobs = await deliveries.claim(session, services.vault, channel, now, 7)
                await deliveries.record(
                    session, [Outcome(j, DeliveryStatus.SENT) for j in jobs], now
                )
            sent += len(jobs)
            if not jobs:
                break
    async with services.db.transaction() as session:
        await deliveries.finish_done(session, now)
    return sent


def run_wardbot(
    *args: str, env: dict[str, str], stdin: str | bytes = "", cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """The installed `wardbot` console script as its own process: only for what needs
    one (the entry point itself, signals, a second process)."""
    done = subprocess.run(
        [WARDBOT, *args],
        input=stdin.encode() if isinstance(stdin, str) else stdin,
        capture_output=True,
        env=env,
        cwd=cwd,
        timeout=120,
        check=False,
    )
    return subprocess.CompletedProcess(
        done.args, done.returncode, done.stdout.decode(), done.stderr.decode()
    )


# One `wardbot` at a time: a run swaps this process's environment, directory and streams.
_CLI_LOCK = threading.Lock()


def run_cli(
    *args: str, env: dict[str, str], stdin: str | bytes = "", cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """`wardbot ARGS...` in this process, as the console script runs it: `bot.cli.main`
    with exactly `env` as the environment, `cwd` as the directory, `stdin` as standard
    input, its output and log lines captured, its own event loop (in a thread of its
    own), and an escaping exception printed as a traceback with status 1, as Python
    would. What it changes in this process is put back afterwards."""
    data = stdin.encode() if isinstance(stdin, str) else stdin
    out, err = io.BytesIO(), io.BytesIO()
    streams = (
        io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"),
        io.TextIOWrapper(out, encoding="utf-8", write_through=True),
        io.TextIOWrapper(err, encoding="utf-8", errors="backslashreplace", write_through=True),
    )
    status: list[int] = []

    def process() -> None:
        try:
            status.append(cli.main(list(args)))
        except SystemExit as exit_:  # argparse's own usage errors and --help
            if isinstance(exit_.code, str):
                print(exit_.code, file=sys.stderr)
            status.append(exit_.code if isinstance(exit_.code, int) else int(bool(exit_.code)))
        except BaseException:  # what the interpreter does with it
            traceback.print_exc()
            status.append(1)

    with _CLI_LOCK, _as_a_process(env, cwd, streams):
        worker = threading.Thread(target=process, name="wardbot-cli")
        worker.start()
        worker.join(timeout=120)
        assert not worker.is_alive(), "wardbot did not finish within 120 s"
    for stream in streams[1:]:
        stream.flush()
    return subprocess.CompletedProcess(
        ["wardbot", *args], status[0], out.getvalue().decode(), err.getvalue().decode()
    )


@contextmanager
def _as_a_process(
    env: dict[str, str], cwd: Path | None, streams: tuple[io.TextIOWrapper, ...]
) -> Iterator[None]:
    root = logging.getLogger()
    handlers = root.handlers[:]
    levels = {name: logger.level for name, logger in _loggers()}
    environ, directory = dict(os.environ), os.getcwd()
    saved_streams = sys.stdin, sys.stdout, sys.stderr
    os.environ.clear()
    os.environ.update(env)
    if cwd is not None:
        os.chdir(cwd)
    sys.stdin, sys.stdout, sys.stderr = streams
    for handler in handlers:  # so that the command configures logging as in a new process
        root.removeHandler(handler)
    try:
        yield
    finally:
        for handler in root.handlers[:]:
            root.removeHandler(handler)
        for handler in handlers:
            root.addHandler(handler)
        for name, logger in _loggers():
            logger.setLevel(levels.get(name, logging.NOTSET))
        sys.stdin, sys.stdout, sys.stderr = saved_streams
        os.chdir(directory)
        os.environ.clear()
        os.environ.update(environ)


def _loggers() -> list[tuple[str, logging.Logger]]:
    found = [("", logging.getLogger())]
    for name, logger in logging.Logger.manager.loggerDict.items():
        if isinstance(logger, logging.Logger):
            found.append((name, logger))
    return found


def cli_ok(env: dict[str, str], *args: str) -> str:
    result = run_cli(*args, env=env)
    assert result.returncode == 0, result.stderr[-800:]
    return result.stdout


def cli_refused(env: dict[str, str], *args: str) -> str:
    """A mistake: one polite line on stderr, never a traceback."""
    result = run_cli(*args, env=env)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr and result.stderr.startswith("wardbot: ")
    return result.stderr


def needles(**values: str | int) -> dict[str, list[bytes]]:
    """The byte forms a leaked value could take on disk, by label: UTF-8 text (also
    decomposed), UTF-16, and for numbers their 4- and 8-byte binary forms. Failures name
    the label only, so a failing test never prints the value."""
    import unicodedata

    found: dict[str, list[bytes]] = {}
    for label, value in values.items():
        text = str(value)
        forms = {
            text.encode(),
            unicodedata.normalize("NFD", text).encode(),
            text.encode("utf-16-le"),
        }
        if isinstance(value, int):
            for fmt in ("<q", ">q") if abs(value) >= 2**31 else ("<q", ">q", "<i", ">i"):
                forms.add(struct.pack(fmt, value))
        found[label] = sorted(forms)
    return found


def leaks(blob: bytes, values: dict[str, list[bytes]]) -> list[str]:
    """Labels of the values found in blob."""
    return [label for label, forms in values.items() if any(form in blob for form in forms)]


async def raw_database_bytes(database_url: str) -> bytes:
    """Everything the database engine keeps on disk for this database."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        base = Path(url.database or "")
        parts = [
            p.read_bytes() for p in (base, Path(f"{base}-wal"), Path(f"{base}-shm")) if p.exists()
        ]
        assert parts, "the SQLite database file is missing"
        return b"".join(parts)
    return await _postgres_bytes(database_url)


async def _postgres_bytes(database_url: str) -> bytes:
    dsn = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("CHECKPOINT")  # flush shared buffers to the relation files
        data_dir = Path(await conn.fetchval("SHOW data_directory"))
        paths = await conn.fetch(
            """SELECT pg_relation_filepath(c.oid) AS path FROM pg_class c
               JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname = 'public' AND c.relkind IN ('r', 'i', 't', 'm')
               UNION
               SELECT pg_relation_filepath(c.reltoastrelid) FROM pg_class c
               JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname = 'public' AND c.reltoastrelid <> 0"""
        )
    finally:
        await conn.close()
    assert data_dir.is_dir(), "the PostgreSQL data directory must be readable for this test"
    chunks: list[bytes] = []
    for row in paths:
        if row["path"] is None:
            continue
        main = data_dir / row["path"]
        for segment in sorted(main.parent.glob(main.name + "*")):
            chunks.append(segment.read_bytes())
    wal = data_dir / "pg_wal"
    for segment in sorted(wal.iterdir()):
        if segment.is_file() and len(segment.name) == 24:
            chunks.append(segment.read_bytes())
    assert chunks, "no PostgreSQL relation files were found"
    return b"".join(chunks)


# A two-step conversation of the tests' own, composed through the public Router API:
# its own actions, steps and state, as a conversation of the bot declares them.
@dataclass(frozen=True)
class SurveyColour(Action, prefix="colour"):
    colour: Annotated[str, Choice(["red", "blue"])]


@dataclass(frozen=True)
class SurveyCancel(Action, prefix="survey:cancel"):
    pass


class SurveyStep(StrEnum):
    NAME = "survey:name"
    COLOUR = "survey:colour"


@dataclass
class SurveyAnswers(Flow):
    KEY = "survey"
    name: str | None = None


survey = Router("survey")


@survey.command("survey")
async def ask_name(ctx: Context) -> None:
    ctx.go(SurveyStep.NAME)
    ctx.reply("name?", [[Button("cancel", SurveyCancel())]], free_text=True)


@survey.step(SurveyStep.NAME)
async def got_name(ctx: Context) -> None:
    ctx.flow(SurveyAnswers).name = ctx.inbound.text
    ctx.go(SurveyStep.COLOUR)
    ctx.reply(
        "colour?", [[Button("red", SurveyColour("red")), Button("blue", SurveyColour("blue"))]]
    )


@survey.action(SurveyColour)
async def got_colour(ctx: Context) -> None:
    ctx.go(None)
    name = ctx.flow(SurveyAnswers).name or "?"
    ctx.end_flow(SurveyAnswers)
    ctx.reply(f"{name} likes {ctx.action(SurveyColour).colour}")


@survey.action(SurveyCancel)
async def cancel(ctx: Context) -> None:
    ctx.end_flow(SurveyAnswers)
    ctx.go(None)
    ctx.reply("cancelled")


@survey.command("boom")
async def boom(ctx: Context) -> None:
    ctx.flow(SurveyAnswers).name = "changed"
    raise RuntimeError("secret tip text must not be logged")


RECEIPT = re.compile(
    r"(?:Mã tin|Tip code): (?P<code>[0-9A-Z]{7})\n(?:Mã bí mật|Secret): (?P<secret>[0-9A-Z-]{19})"
)


async def walk_to_files(
    chat: Chat, what: str, *, category: str = "use", ward_id: int | None = None
) -> None:
    """Walk the wizard by buttons up to the step that takes photos and files."""
    await chat.send(f"/start w{ward_id}" if ward_id else "/start")
    await chat.send(action="report:start")
    await chat.send(action=f"report:cat:{category}")
    await chat.send(action="report:grp:none")
    await chat.send(action="report:where-skip")
    await chat.send(action="report:when:today")
    await chat.send(what)
    await chat.send(action="report:what-done")


async def fill_report(
    chat: Chat,
    what: str,
    *,
    category: str = "use",
    contact: bool = False,
    ward_id: int | None = None,
) -> None:
    """Walk the wizard by buttons up to the confirm screen, choosing the defaults; with
    several wards, arrive by the ward's poster link."""
    await walk_to_files(chat, what, category=category, ward_id=ward_id)
    await chat.send(action="report:files-done")
    await chat.send(action=f"report:contact:{'yes' if contact else 'no'}")


async def send_report(
    chat: Chat, what: str, *, mixed: bool = True, **choices: object
) -> tuple[str, str]:
    """A whole report by buttons; returns the receipt's code and secret. `mixed`: then
    let the mixer store it at once, as it does within minutes (bot/mixer.py)."""
    await fill_report(chat, what, **choices)  # type: ignore[arg-type]
    await chat.send(action="report:send")
    match = RECEIPT.search(chat.text)
    assert match, f"no receipt was shown: {chat.text[:300]}"
    if mixed:
        await mix_all(chat.app)
    return match["code"], match["secret"]


async def stored_tip(
    session: AsyncSession,
    services: Services,
    *,
    ward_id: int,
    category: str,
    content: dict[str, object],
    group_id: int | None = None,
    route: Route | None = None,
    urgent: bool = False,
) -> tuple[Tip, Receipt]:
    """A tip stored as the mixer stores one, for tests about what happens to stored tips."""
    receipt, secret_hash = await tips.new_receipt(session, services.receipts)
    submission = tips.Submission(
        ward_id=ward_id,
        group_id=group_id,
        category=category,
        content=content,
        route=route,
        code=receipt.code,
        secret_hash=secret_hash,
        submitted_at=utcnow(),
        urgent=urgent,
    )
    return await tips.create_tip(session, services.vault, submission), receipt


async def mix_all(app: App) -> int:
    """Commit every pending drop now (what the mixer does at its random times)."""
    return await mix(app.services, everything=True)


PLAN = Path(__file__).resolve().parents[2] / "shared" / "data" / "phu_lien_plan.toml"
# The same 12 names as ../shared/data/phu_lien_plan.toml (seed 003), for checkouts
# without the shared folder beside them.
FALLBACK_GROUPS = (
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


async def add_phu_lien(app: App) -> int:
    """The ward of seed 003 with its 2025 residential groups (../shared/data), or a
    few of them when the shared folder is not beside the checkout."""
    import tomllib

    from storage import wards

    names = FALLBACK_GROUPS
    if PLAN.exists():
        names = tuple(tomllib.loads(PLAN.read_text(encoding="utf-8"))["selected_2025"])
    async with app.services.db.transaction() as session:
        ward = await wards.add_ward(session, "Phù Liễn", city="Hải Phòng")
        ward.hotlines = [["Công an phường Phù Liễn", "0225 000 0000"]]
        rows = [wards.GroupRow(i, name) for i, name in enumerate(names, start=1)]
        await wards.import_groups(session, ward, rows)
        return ward.id


async def group_id(app: App, name: str) -> int:
    from sqlalchemy import select

    from storage.models import ResidentialGroup

    async with app.services.db.transaction() as session:
        return (
            await session.scalars(select(ResidentialGroup.id).where(ResidentialGroup.name == name))
        ).one()
