"""The audit chain's head is anchored outside the database: a cut tail (the last row,
the last three, every row, or half of them with new entries written after) is found and
located by `wardbot audit verify`, noticed by the next append, and the commanders'
digest carries the head to compare. On SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import logging
import re
import stat
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import delete, select

from bot.app import App, open_app
from bot.jobs import police_tick
from kernel.config import Settings
from storage.audit import anchor_path
from storage.models import AuditEntry, OfficerRole
from tests.helpers import Chat, add_phu_lien, enrol, outbox_for, send_report

WHAT = "Quán nước đầu ngõ 41 có người bán ma túy đá"


@dataclass
class Scene:
    app: App
    officer: Chat
    commander: Chat
    code: str
    anchors: Path


@pytest.fixture
async def scene(settings: Settings) -> AsyncIterator[Scene]:
    """A ward with an officer and a commander, a tip, and the tip viewed several times:
    a dozen audit entries, each commit's head anchored."""
    app = await open_app(dataclasses.replace(settings, digest_time="00:00"))
    try:
        ward = await add_phu_lien(app)
        officer = await enrol(app, ward, OfficerRole.OFFICER, "officer-1", "Trinh sát Minh")
        commander = await enrol(app, ward, OfficerRole.COMMANDER, "chief", "Trưởng CA Hùng")
        code, _secret = await send_report(Chat(app, "reporter"), WHAT, ward_id=ward)
        for _ in range(5):
            await officer.send(f"/tip {code}")
        await officer.send(f"/claim {code}")
        await commander.send(f"/audit {code}")
        await outbox_for(app, "chief")  # what was waiting for the commander, read
        yield Scene(app, officer, commander, code, anchor_path(settings.keyring_path))
    finally:
        await app.close()


async def entry_ids(app: App) -> list[int]:
    async with app.services.db.transaction() as session:
        return list((await session.scalars(select(AuditEntry.id).order_by(AuditEntry.id))).all())


async def cut_after(app: App, last_kept: int) -> None:
    async with app.services.db.transaction() as session:
        await session.execute(delete(AuditEntry).where(AuditEntry.id > last_kept))


def anchored(path: Path) -> list[tuple[int, str]]:
    lines = path.read_text(encoding="ascii").splitlines()
    return [(int(i), mac) for i, mac in (line.split(" ") for line in lines)]


async def test_an_intact_chain_agrees_with_every_anchor(scene: Scene, wardbot) -> None:
    ids = await entry_ids(scene.app)
    assert len(ids) >= 8
    assert stat.S_IMODE(scene.anchors.stat().st_mode) == 0o600
    lines = anchored(scene.anchors)
    async with scene.app.services.db.transaction() as session:
        head = await scene.app.services.audit.head(session)
    assert head is not None and lines[-1] == (head.id, head.mac) and head.id == ids[-1]
    assert len(lines) < len(ids)  # one line per commit, not per entry

    result = await wardbot("audit", "verify")
    assert result.code == 0, result.out + result.err
    assert f"audit log intact: {len(ids)} entries checked" in result.out
    assert f"last entry {head.id}, MAC {head.mac[:12]}" in result.out
    assert f"{len(lines)} anchored heads agree with the database" in result.out


@pytest.mark.parametrize("cut", ["last", "last-three", "all"])
async def test_a_cut_tail_is_found_and_located(scene: Scene, wardbot, cut: str) -> None:
    ids = await entry_ids(scene.app)
    kept = {"last": ids[-2], "last-three": ids[-4], "all": 0}[cut]
    await cut_after(scene.app, kept)
    async with scene.app.services.db.transaction() as session:
        assert (await scene.app.services.audit._verify_chain(session)).intact  # the old check

    result = await wardbot("audit", "verify")
    assert result.code == 3, result.out + result.err
    assert "Traceback" not in result.err
    where = (
        f"audit log BROKEN: every entry is missing; the last anchored head was {ids[-1]}"
        if cut == "all"
        else f"audit log BROKEN: entries after {kept} are missing; "
        f"the last anchored head was {ids[-1]}"
    )
    assert where in result.out


async def test_half_cut_then_written_again_is_found_and_the_commanders_told_once(
    scene: Scene, wardbot, caplog
) -> None:
    ids = await entry_ids(scene.app)
    kept = ids[len(ids) // 2 - 1]
    heads = anchored(scene.anchors)
    good = max(i for i, _mac in heads if i <= kept)
    await cut_after(scene.app, kept)

    caplog.set_level(logging.WARNING)
    await scene.officer.send(f"/tip {scene.code}")  # the bot appends after the cut
    assert WHAT in scene.officer.text  # the officer's action is not refused
    noticed = [r for r in caplog.records if "no longer holds its anchored entry" in r.message]
    assert len(noticed) == 1 and WHAT not in noticed[0].getMessage()
    assert f"entry {heads[-1][0]}" in noticed[0].getMessage()
    told = await outbox_for(scene.app, "chief")
    assert "wardbot audit verify" in told and str(heads[-1][0]) in told

    await scene.officer.send(f"/tip {scene.code}")
    await scene.officer.send(f"/claim {scene.code}")
    assert "wardbot audit verify" not in await outbox_for(scene.app, "chief")  # once

    async with scene.app.services.db.transaction() as session:
        assert (await scene.app.services.audit._verify_chain(session)).intact  # links up
    result = await wardbot("audit", "verify")
    assert result.code == 3, result.out + result.err
    # Entries written again exactly as they were (the same action in the same hour: the
    # times are coarse) verify as they did; the cut is found where they first differ.
    found = re.search(
        r"cut somewhere after entry (\d+) and written again|entries after "
        r"(\d+) are missing",
        result.out,
    )
    assert found, result.out
    assert good <= int(found.group(1) or found.group(2)) < heads[-1][0]
    top = max(i for i, _mac in anchored(scene.anchors))  # on PostgreSQL ids go on growing
    assert f"the last anchored head was {top}" in result.out


async def test_an_anchor_that_cannot_be_written_does_not_fail_the_action(
    scene: Scene, caplog
) -> None:
    scene.anchors.unlink()
    scene.anchors.mkdir()  # appending to it fails
    caplog.set_level(logging.ERROR)
    await scene.officer.send(f"/tip {scene.code}")
    assert WHAT in scene.officer.text
    await scene.officer.send(f"/tip {scene.code}")
    assert WHAT in scene.officer.text
    failed = [r for r in caplog.records if "could not append" in r.getMessage()]
    assert len(failed) == 1  # once, not at every commit
    assert all(WHAT not in r.getMessage() for r in caplog.records)
    ids = await entry_ids(scene.app)
    async with scene.app.services.db.transaction() as session:
        head = await scene.app.services.audit.head(session)
    assert head is not None and head.id == ids[-1]  # the entry was committed


async def test_the_commanders_digest_carries_the_head(scene: Scene) -> None:
    async with scene.app.services.db.transaction() as session:
        head = await scene.app.services.audit.head(session)
    assert head is not None
    await outbox_for(scene.app, "officer-1")
    await police_tick(scene.app.services)
    commander = await outbox_for(scene.app, "chief")
    officer = await outbox_for(scene.app, "officer-1")
    assert "Tổng hợp đầu ngày" in commander and "Tổng hợp đầu ngày" in officer
    assert head.mac[:12] in commander and f" {head.id}" in commander
    assert head.mac[:12] not in officer
    assert head.mac[:13] not in commander  # only the first 12 hex characters


async def test_without_an_anchor_file_verify_checks_the_chain_and_says_so(
    scene: Scene, wardbot
) -> None:
    scene.anchors.unlink()
    result = await wardbot("audit", "verify")
    assert result.code == 0, result.out + result.err
    assert "audit log intact" in result.out and "no anchor file beside the keyring" in result.out
    await scene.officer.send(f"/tip {scene.code}")  # the next entry writes it
    assert len(anchored(scene.anchors)) == 1
    again = await wardbot("audit", "verify")
    assert again.code == 0 and "1 anchored heads agree with the database" in again.out
