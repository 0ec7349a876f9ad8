"""Tips reach the tips table through sealed drops, which the mixer commits in shuffled
batches at random times within bounds; times beside tips are coarse."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.app import open_app
from bot.jobs import MIX_SECONDS
from bot.mixer import mix
from engine.services import URGENT_MIX
from kernel.clock import utcnow
from storage import drops, tips
from storage.models import AuditEntry, Drop, RateCounter, Tip, TipEvent
from tests.helpers import Chat, add_phu_lien, fill_report, mix_all, send_report

WHAT = "Có người lạ bán hàng cấm ở đầu ngõ 7 vào buổi tối"


@pytest.fixture
async def ward(app) -> int:
    return await add_phu_lien(app)


async def _count(app, model) -> int:  # type: ignore[no-untyped-def]
    async with app.services.db.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_a_sent_tip_waits_sealed_and_its_receipt_already_works(app, ward) -> None:
    chat = Chat(app, "an")
    code, secret = await send_report(chat, WHAT, mixed=False)
    assert await _count(app, Tip) == 0 and await _count(app, Drop) == 1
    async with app.services.db.transaction() as session:
        row = (await session.scalars(select(Drop))).one()
    assert code.encode() not in row.sealed_payload and WHAT.encode() not in row.sealed_payload
    assert code not in row.code_key

    checker = Chat(app, "later")
    await checker.send(f"/status {code} {secret}")
    assert f"Tin {code} đã được nhận" in checker.text and "vài phút" in checker.text
    await checker.send(f"/status {code} AAAA-BBBB-CCCC-DDDD")  # a wrong secret is wrong
    assert "chưa đúng" in checker.text

    assert await mix_all(app) == 1
    assert await _count(app, Tip) == 1 and await _count(app, Drop) == 0
    await checker.send(f"/status {code} {secret}")
    assert f"Tin {code}" in checker.text and "Tình trạng" in checker.text


async def test_the_mixer_waits_within_its_bounds(app, ward) -> None:
    """Nothing is stored before its time, an urgent tip within a minute of sending with
    the tick, any other within tips.mix_minutes."""
    normal, urgent = Chat(app, "normal"), Chat(app, "urgent")
    before = utcnow()
    await send_report(normal, WHAT, mixed=False)
    await fill_report(urgent, "Đang có đánh nhau, có người cầm dao", category="danger")
    await urgent.send(action="report:send")
    after = utcnow()
    async with app.services.db.transaction() as session:
        dues = sorted(d.due_at for d in (await session.scalars(select(Drop))).all())
    assert len(dues) == 2
    assert all(d >= before + timedelta(seconds=5) for d in dues)
    assert dues[0] <= after + URGENT_MIX
    assert URGENT_MIX + timedelta(seconds=MIX_SECONDS) <= timedelta(minutes=1)
    assert dues[1] <= after + timedelta(minutes=app.services.settings.mix_minutes)

    assert await mix(app.services, now=before) == 0  # nothing is due yet
    assert await mix(app.services, now=after + URGENT_MIX) >= 1  # the urgent one, at least
    async with app.services.db.transaction() as session:
        assert (await session.scalars(select(Tip.urgent))).all().count(True) == 1
    assert await mix(app.services, now=after + timedelta(minutes=10)) + await _count(app, Tip) >= 2
    assert await _count(app, Tip) == 2 and await _count(app, Drop) == 0


async def test_a_batch_is_stored_in_shuffled_order(app, ward) -> None:
    """Tip ids follow the batch's order, not the order the tips were sent in."""
    sent = []
    for n in range(8):
        code, _ = await send_report(Chat(app, f"r{n}"), f"{WHAT} số {n}", mixed=False)
        sent.append(code)
    orders = set()
    for _round in range(3):  # 8! orders: the same order thrice by chance is impossible
        await mix_all(app)
        async with app.services.db.transaction() as session:
            stored = (await session.scalars(select(Tip.code).order_by(Tip.id))).all()
            orders.add(tuple(stored[-8:]))
        for n in range(8):
            code, _ = await send_report(Chat(app, f"r{n}-{_round}"), WHAT, mixed=False)
    assert len(orders) > 1 or tuple(sent) not in orders


async def test_times_beside_a_tip_are_coarse_and_the_exact_one_is_sealed(app, ward) -> None:
    before = utcnow()
    code, _ = await send_report(Chat(app, "an"), WHAT)
    after = utcnow()
    async with app.services.db.transaction() as session:
        tip = (await session.scalars(select(Tip).where(Tip.code == code))).one()
        times = [tip.created_at, tip.updated_at]
        times += (await session.scalars(select(TipEvent.created_at))).all()
        times += (await session.scalars(select(AuditEntry.created_at))).all()
        sent = tips.submitted_at(app.services.vault, tip)
        ack_due, close_due = tip.ack_due_at, tip.close_due_at
    assert times and all(t.minute == t.second == t.microsecond == 0 for t in times)
    assert before <= sent <= after  # the police still know when it was sent
    sla = app.services.sla
    assert sent + sla.ack <= ack_due < sent + sla.ack + timedelta(hours=1)
    assert ack_due.minute == ack_due.second == 0
    assert sent + sla.close <= close_due < sent + sla.close + timedelta(hours=1)


async def test_an_urgent_deadline_is_rounded_up_to_five_minutes(app, ward) -> None:
    chat = Chat(app, "urgent")
    await fill_report(chat, "Đang có đánh nhau, có người cầm dao", category="danger")
    await chat.send(action="report:send")
    await mix_all(app)
    async with app.services.db.transaction() as session:
        tip = (await session.scalars(select(Tip))).one()
        sent = tips.submitted_at(app.services.vault, tip)
    assert tip.urgent
    due = tip.ack_due_at
    assert sent + app.services.sla.urgent_ack <= due
    assert due < sent + app.services.sla.urgent_ack + timedelta(minutes=5)
    assert due.minute % 5 == 0 and due.second == 0


async def test_the_tip_limit_is_kept_in_the_sealed_conversation(settings) -> None:
    app = await open_app(dataclasses.replace(settings, tips_per_hour=2, tips_per_day=2))
    try:
        await add_phu_lien(app)
        chat = Chat(app, "busy")
        await send_report(chat, WHAT)
        await send_report(chat, WHAT + " lần hai")
        await chat.send(action="report:start")
        assert "vui lòng đợi" in chat.text.lower()
        await chat.send("/start")  # a new start forgets the draft, not the tips sent
        await chat.send(action="report:start")
        assert "vui lòng đợi" in chat.text.lower()
        await send_report(Chat(app, "other"), WHAT)  # another account is not slowed down
        assert await _count(app, RateCounter) == 0  # no counter row ties the tips together
        assert await _count(app, Tip) == 3
    finally:
        await app.close()


async def test_what_a_reporter_adds_goes_through_the_mixer(app, ward) -> None:
    chat = Chat(app, "an")
    code, secret = await send_report(chat, WHAT, contact=True)
    await chat.send(f"/status {code} {secret}")
    await chat.send(action="status:add")
    await chat.send("Thêm: xe máy biển số 15B1-23456")
    assert "vài phút" in chat.text
    async with app.services.db.transaction() as session:
        kinds = (await session.scalars(select(TipEvent.kind))).all()
    assert tips.EventKind.ADDITION not in kinds and await _count(app, Drop) == 1
    await chat.send(action="status:stop")
    await chat.send(action="status:stop-yes")
    assert await _count(app, Drop) == 2
    await mix_all(app)
    async with app.services.db.transaction() as session:
        kinds = (await session.scalars(select(TipEvent.kind))).all()
        tip = (await session.scalars(select(Tip).where(Tip.code == code))).one()
    assert tips.EventKind.ADDITION in kinds and tips.EventKind.CONTACT_STOPPED in kinds
    assert tip.sealed_route is None


async def test_a_drop_that_cannot_be_stored_is_kept_for_the_next_round(app, ward) -> None:
    await send_report(Chat(app, "an"), WHAT, mixed=False)
    async with app.services.db.transaction() as session:
        payload = (await drops.take(session, app.services.vault, utcnow(), everything=True))[0]
        broken = {**payload.payload, "ward_id": 10**6}  # its ward was deleted meanwhile
        await drops.put(
            session,
            app.services.vault,
            app.services.pseudonyms,
            broken,
            due=utcnow(),
            code=broken["code"],
        )
    assert await mix_all(app) == 0
    assert await _count(app, Drop) == 1 and await _count(app, Tip) == 0
