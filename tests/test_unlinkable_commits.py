"""Unlinkable by construction, against a copy of the running data folder (issue 15,
item 2): no commit that writes a tip, a subscription, a pledge, a quiz answer or a
receipt check also writes the person's conversation row or another per-person row.

A realistic run goes through the public paths while tests/commit_replay.py records
every commit as an attacker replays it (SQLite: the file after each commit; PostgreSQL:
xmin/xmax of the row versions left in the heap pages); the rules are checked per commit.
"""

from __future__ import annotations

import secrets

import pytest
from sqlalchemy import func, select

from bot.jobs import police_tick
from kernel.clock import utcnow
from storage import conversations, outbox, rate_limits
from storage.models import OfficerRole, Pledge, QuizAnswer, Subscriber, Tip, TipEvent
from tests.commit_replay import People, Replay, links
from tests.helpers import Chat, add_phu_lien, enrol, group_id, mix_all, outbox_for, send_report

WHAT = "Quán nước đầu ngõ 41 có người bán ma túy đá"
MORE = "Thường có xe máy đỗ trước cửa sau 22 giờ"
ANSWER = "Xe Wave màu đỏ"
CHANNELS = ("console", "telegram", "console", "telegram")


async def test_no_commit_of_a_real_run_links_a_residents_acts(app, backend) -> None:
    replay = await Replay.attach(app)
    ward = await add_phu_lien(app)
    nam_hai = await group_id(app, "Nam Hải")
    officer = await enrol(app, ward, OfficerRole.OFFICER, "officer-r", "Trinh sát An")
    commander = await enrol(app, ward, OfficerRole.COMMANDER, "commander-r", "Trưởng CA Bình")
    people = People(app, officers={officer.route, commander.route})
    residents = [Chat(app, secrets.token_hex(6), channel=channel) for channel in CHANNELS]
    receipts: list[tuple[Chat, str, str]] = []

    for number, chat in enumerate(residents, start=1):
        people.residents[chat.route] = f"resident {number}"
        await chat.send(f"/start g{nam_hai}")  # the poster's QR code
        await chat.send("/subscribe")
        await chat.send(action=f"sub:grp:{nam_hai}")
        await chat.send("/pledge")
        await chat.send(action="pledge:sign")
        await chat.send(action=f"pledge:grp:{nam_hai}")
        await chat.send("/quiz")
        week = chat.last[0].buttons[0][0].action.split(":")[2]
        await chat.send(action=f"quiz:a:{week}:{number % 3 + 1}")
        code, secret = await send_report(chat, WHAT, contact=True, ward_id=ward)
        people.reporters[code] = f"resident {number}"
        receipts.append((chat, code, secret))
    await mix_all(app)

    for chat, code, secret in receipts:
        await chat.send(f"/status {code} AAAA-BBBB-CCCC-DDDD")  # a wrong secret first
        await chat.send(f"/status {code} {secret}")
        await chat.send(action="status:add")
        await chat.send(MORE)
    await mix_all(app)

    await outbox_for(app, officer.user)  # the new-tip notices
    for _chat, code, _secret in receipts:
        await officer.send(f"/tip {code}")  # read: acknowledged
        await officer.send(f"/ask {code} Người bán đi xe gì?")
    for chat, code, secret in receipts:
        if chat.channel == "console":
            await outbox_for(app, chat.user)  # "you have a new message"
        await chat.send(f"/status {code} {secret}")
        await chat.pick("Trả lời Công an")
        await chat.send(ANSWER)
    await mix_all(app)
    await police_tick(app.services)

    async with app.services.db.transaction() as session:
        counted = {
            model.__tablename__: await session.scalar(select(func.count()).select_from(model))
            for model in (Subscriber, Pledge, QuizAnswer, Tip)
        }
        kinds = (await session.scalars(select(TipEvent.kind))).all()
    assert counted == {"subscribers": 4, "pledges": 4, "quiz_answers": 4, "tips": 4}
    assert all(kinds.count(kind) == 4 for kind in ("addition", "question", "answer")), kinds

    problems = links(await replay.commits(), people)
    if problems:  # the list alone: pseudonyms, tables and row keys, never what was sent
        pytest.fail(
            f"{len(problems)} commits link what must stay apart:\n" + "\n".join(problems),
            pytrace=False,
        )


async def test_the_replay_catches_a_tip_committed_with_its_reporters_conversation(
    app, backend
) -> None:
    """The harness can fail: one transaction writes a tip and the reporter's
    conversation, another two rate counters and the resident's outbox row (each in
    savepoints, as the code does); a conversation written alone is no problem."""
    ward = await add_phu_lien(app)
    replay = await Replay.attach(app)
    resident = Chat(app, secrets.token_hex(6))
    people = People(
        app, residents={resident.route: "resident 1"}, reporters={"AB12CD3": "resident 1"}
    )
    account = people.conversation_of(resident.route)
    vault = app.services.vault
    async with app.services.db.transaction() as session:
        stored = await conversations.load(session, vault, account)
        await conversations.save(session, vault, stored)
    async with app.services.db.transaction() as session:
        stored = await conversations.load(session, vault, account)
        stored.state.step = "report:sent"
        await conversations.save(session, vault, stored)
        session.add(Tip(ward_id=ward, code="AB12CD3", category="use"))
    async with app.services.db.transaction() as session:
        await rate_limits.record(session, "rc_account", "receipt-fail", utcnow())
        await rate_limits.record(session, "rc_code", "receipt-fail", utcnow())
        await outbox.enqueue(session, vault, app.services.pseudonyms, resident.route, {})

    commits = await replay.commits()
    problems = links(commits, people)
    assert [c.number for c in commits] == [1, 2, 3]
    assert [(w.table, w.op) for w in commits[0].writes] == [("conversations", "insert")]
    assert {(w.table, w.op) for w in commits[1].writes} == {
        ("conversations", "update"),
        ("tips", "insert"),
    }
    assert len(problems) == 2 and problems[0].startswith("commit 2: "), problems
    assert "writes tips and the conversation of resident 1" in problems[0]
    assert "inserts tip 1 and writes conversation 1 of its reporter" in problems[0]
    assert problems[1].startswith("commit 3: writes rate_counters and outbox 1 for resident 1")
    assert (
        "rows of 2 subjects: rate counter of rc_account…, rate counter of rc_code…" in (problems[1])
    )
