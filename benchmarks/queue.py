"""How fast the police queue answers with a million tips: `/queue` and `/tip` for one
ward, through the real dispatcher, on SQLite and (when WARDBOT_TEST_DATABASE_URL is set)
PostgreSQL.

    .venv/bin/python benchmarks/queue.py [--tips 1000000] [--wards 100] [--runs 50]

Ends with: RESULT sqlite_queue_ms=.. sqlite_tip_ms=.. pg_queue_ms=.. pg_tip_ms=..
"""

from __future__ import annotations

import os
import sys

# This file is named queue.py, as the issue asks, so its directory must leave sys.path
# before anything imports the standard library's queue (asyncio does).
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]
sys.path.insert(0, os.path.dirname(_HERE))


import argparse
import asyncio
import os
import platform
import random
import secrets
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import make_url

from bot.app import App, open_app
from kernel.config import Settings
from kernel.messages import ChatKind, Inbound
from kernel.routes import Route
from storage import triage
from storage.crypto import RecordRef
from storage.models import OfficerRole, ResidentialGroup, Tip, TipStatus, Ward
from storage.receipts import ALPHABET

BATCH = 20_000
OPEN_STATES = (TipStatus.NEW, TipStatus.ACKNOWLEDGED, TipStatus.ASSIGNED, TipStatus.INVESTIGATING)
CATEGORIES = ("dealing", "use", "addiction", "venue", "growing", "danger", "other")


def code_for(number: int) -> str:
    """Unique 7-character tip codes, as the receipts module spells them."""
    chars = []
    for _ in range(7):
        number, digit = divmod(number, len(ALPHABET))
        chars.append(ALPHABET[digit])
    return "".join(reversed(chars))


def tip_row(number: int, ward_id: int, group_id: int, now: datetime, rng: random.Random) -> dict:
    created = now - timedelta(minutes=rng.randrange(2 * 365 * 24 * 60))
    state = TipStatus.CLOSED if rng.random() < 0.8 else rng.choice(OPEN_STATES)
    urgent = rng.random() < 0.05
    closed = state == TipStatus.CLOSED
    return {
        "ward_id": ward_id,
        "group_id": group_id,
        "code": code_for(number),
        "category": rng.choice(CATEGORIES),
        "priority": 1 if urgent else rng.choice((2, 2, 3)),
        "priority_hint": 2,
        "urgent": urgent,
        "status": state,
        "language": "vi",
        "created_at": created,
        "updated_at": created,
        "is_open": not closed,
        "closed_at": created + timedelta(days=rng.randrange(1, 40)) if closed else None,
        "outcome": "confirmed" if closed else None,
        "ack_due_at": created + (timedelta(minutes=15) if urgent else timedelta(hours=24)),
        "close_due_at": created + timedelta(days=30),
        "wrapped_key": os.urandom(65),
        "sealed_content": os.urandom(300),
    }


async def fill(app: App, tips: int, wards: int) -> int:
    """Wards, groups and tips by bulk insert; the measured ward's tips are real sealed
    records (its content is decrypted by /tip), the rest random bytes of the same size."""
    rng = random.Random(7)
    now = datetime.now(UTC)
    db = app.services.db
    async with db.transaction() as session:
        await session.execute(
            insert(Ward),
            [
                {
                    "code": f"w{i}",
                    "name": f"Phường {i}",
                    "search_key": f"phuong {i}",
                    "city": "",
                    "hotlines": [],
                    "created_at": now,
                }
                for i in range(1, wards + 1)
            ],
        )
        await session.execute(
            insert(ResidentialGroup),
            [
                {
                    "ward_id": w,
                    "name": f"Tổ {g}",
                    "search_key": f"to {g}",
                    "aliases": [],
                    "alias_keys": "",
                    "active": True,
                    "created_at": now,
                }
                for w in range(1, wards + 1)
                for g in range(1, 41)
            ],
        )
    measured = max(1, tips // 100)
    vault = app.services.vault
    number = 0
    async with db.transaction() as session:
        rows = []
        for _ in range(measured):
            number += 1
            row = tip_row(number, 1, rng.randrange(1, 41), now, rng)
            row["id"] = number
            ref = RecordRef("tips", number)
            row["wrapped_key"] = vault.new_key(ref)
            row["sealed_content"] = vault.cipher(row["wrapped_key"], ref).seal_json(
                "content", {"what": "nội dung thử nghiệm", "where": "ngõ 5", "when": "today"}
            )
            rows.append(row)
        await session.execute(insert(Tip), rows)
        if db.url.get_backend_name() == "postgresql":
            # The explicit ids of the measured ward bypassed the sequence.
            await session.execute(
                text("SELECT setval(pg_get_serial_sequence('tips', 'id'), :last)"), {"last": number}
            )
    while number < tips:
        async with db.transaction() as session:
            rows = []
            for _ in range(min(BATCH, tips - number)):
                number += 1
                ward = rng.randrange(2, wards + 1) if wards > 1 else 1
                rows.append(tip_row(number, ward, (ward - 1) * 40 + rng.randrange(1, 41), now, rng))
            await session.execute(insert(Tip), rows)
    return measured


async def analyze(app: App) -> None:
    async with app.services.db.engine.connect() as connection:
        await connection.execute(text("ANALYZE"))
        await connection.commit()


async def plan(app: App) -> list[str]:
    query = (
        select(Tip.id)
        .where(Tip.ward_id == 1, Tip.is_open.is_(True))
        .order_by(Tip.priority, Tip.created_at, Tip.id)
        .limit(11)
    )
    engine = app.services.db.engine
    sql = str(query.compile(engine.sync_engine, compile_kwargs={"literal_binds": True}))
    prefix = "EXPLAIN QUERY PLAN " if app.services.db.is_sqlite else "EXPLAIN "
    async with engine.connect() as connection:
        rows = (await connection.exec_driver_sql(prefix + sql)).all()
    return [" ".join(str(c) for c in row) for row in rows]


async def timed(call, runs: int) -> list[float]:  # type: ignore[no-untyped-def]
    for _ in range(3):
        await call(0)
    times = []
    for index in range(runs):
        started = time.perf_counter()
        await call(index)
        times.append((time.perf_counter() - started) * 1000)
    return times


async def measure(url: str, data_dir: Path, args: argparse.Namespace) -> tuple[float, float]:
    settings = Settings(data_dir=data_dir, database_url=url, keyring_path=data_dir / "keyring.json")
    app = await open_app(settings)
    try:
        started = time.perf_counter()
        measured = await fill(app, args.tips, args.wards)
        await analyze(app)
        async with app.services.db.transaction() as session:
            total = await session.scalar(select(func.count()).select_from(Tip))
            open_codes = list(
                (
                    await session.scalars(
                        select(Tip.code).where(Tip.ward_id == 1, Tip.is_open.is_(True))
                    )
                ).all()
            )
        print(
            f"  filled {total:,} tips ({measured:,} in the measured ward, {len(open_codes):,} open) "
            f"in {time.perf_counter() - started:.0f} s"
        )
        for line in await plan(app):
            print(f"  plan: {line}")
        async with app.services.db.transaction() as session:
            _officer, code = await app.services.invites.create(
                session, ward_id=1, role=OfficerRole.OFFICER, label="Bench"
            )
        route = Route("console", "bench-officer")
        dispatcher = app.dispatcher
        await dispatcher.handle(Inbound(route, ChatKind.PRIVATE, f"/join {code}"))

        async def queue(_index: int) -> None:
            replies = await dispatcher.handle(Inbound(route, ChatKind.PRIVATE, "/queue"))
            assert replies and "Các tin đang mở" in replies[0].reply.text

        picks = random.Random(3).sample(open_codes, min(len(open_codes), args.runs + 3))

        async def tip(index: int) -> None:
            replies = await dispatcher.handle(
                Inbound(route, ChatKind.PRIVATE, f"/tip {picks[index]}")
            )
            assert "nội dung thử nghiệm" in replies[0].reply.text

        async def raw_queue(_index: int) -> None:
            async with app.services.db.transaction() as session:
                await triage.queue(session, 1)

        results = {}
        for name, call in (("queue", queue), ("tip", tip), ("storage queue()", raw_queue)):
            times = await timed(call, args.runs)
            results[name] = statistics.median(times)
            p95 = sorted(times)[int(len(times) * 0.95) - 1]
            print(f"  {name:16} median {statistics.median(times):7.1f} ms   p95 {p95:7.1f} ms")
        return results["queue"], results["tip"]
    finally:
        await app.close()


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tips", type=int, default=1_000_000)
    parser.add_argument("--wards", type=int, default=100)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()} cores={os.cpu_count()} python={platform.python_version()}"
    )
    figures: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        print("SQLite:")
        q, t = await measure(f"sqlite+aiosqlite:///{tmp}/bench.db", Path(tmp), args)
        figures.update(sqlite_queue_ms=f"{q:.1f}", sqlite_tip_ms=f"{t:.1f}")
    pg = os.environ.get("WARDBOT_TEST_DATABASE_URL", "").strip()
    if pg:
        name = f"wardbot_bench_{secrets.token_hex(4)}"
        admin = make_url(pg).set(drivername="postgresql").render_as_string(hide_password=False)
        connection = await asyncpg.connect(admin)
        await connection.execute(f'CREATE DATABASE "{name}"')
        await connection.close()
        try:
            with tempfile.TemporaryDirectory() as tmp:
                print("PostgreSQL:")
                url = make_url(pg).set(database=name).render_as_string(hide_password=False)
                q, t = await measure(url, Path(tmp), args)
                figures.update(pg_queue_ms=f"{q:.1f}", pg_tip_ms=f"{t:.1f}")
        finally:
            connection = await asyncpg.connect(admin)
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await connection.close()
    else:
        figures.update(pg_queue_ms="skipped", pg_tip_ms="skipped")
    print("RESULT " + " ".join(f"{key}={value}" for key, value in figures.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
