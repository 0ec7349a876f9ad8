"""The police triage queue: enrolment, roles, transitions, deadlines, audit, relay."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from bot.app import App, open_app
from bot.jobs import police_tick
from kernel.clock import utcnow
from kernel.routes import Route
from storage import outbox, tips, triage
from storage.models import AuditEntry, OfficerRole, OutboxMessage, Tip, TipEvent, TipStatus
from storage.triage import ALLOWED, Outcome, TransitionRefused
from tests.helpers import Chat, add_phu_lien, enrol, mix_all, outbox_for, send_report

UNKNOWN = "Xin lỗi, tôi chưa hiểu ý bạn."
NOT_FOUND = "Không có tin nào mang mã này trong phường."
WHAT = "Quán nước đầu ngõ 41 có người bán ma túy đá"


@dataclass
class Police:
    ward: int
    other_ward: int
    officer: Chat
    commander: Chat
    outsider: Chat
    revoked: Chat
    resident: Chat


@pytest.fixture
async def police(app) -> Police:
    ward = await add_phu_lien(app)
    async with app.services.db.transaction() as session:
        from storage import wards

        other = (await wards.add_ward(session, "Đông Hải")).id
    officer = await enrol(app, ward, OfficerRole.OFFICER, "officer-1", "Trinh sát Minh")
    commander = await enrol(app, ward, OfficerRole.COMMANDER, "commander-1", "Trưởng CA Hùng")
    outsider = await enrol(app, other, OfficerRole.COMMANDER, "other-ward", "Trưởng CA Đông Hải")
    revoked = await enrol(app, ward, OfficerRole.OFFICER, "revoked-1", "Cán bộ cũ")
    async with app.services.db.transaction() as session:
        from storage import officers

        gone = (await officers.list_officers(session, ward))[-1]
        await officers.revoke(session, gone)
    return Police(ward, other, officer, commander, outsider, revoked, Chat(app, "resident-1"))


async def _tip(app: App, code: str) -> Tip:
    async with app.services.db.transaction() as session:
        return (await session.scalars(select(Tip).where(Tip.code == code))).one()


async def test_invites_are_one_time_and_expire(app) -> None:
    ward = await add_phu_lien(app)
    async with app.services.db.transaction() as session:
        _officer, code = await app.services.invites.create(
            session, ward_id=ward, role=OfficerRole.OFFICER, label="A"
        )
        _expired, old_code = await app.services.invites.create(
            session, ward_id=ward, role=OfficerRole.OFFICER, label="B"
        )
        _expired.invite_expires_at = utcnow() - timedelta(minutes=1)
    first = Chat(app, "first")
    await first.send(f"/join {code}")
    assert "Chào đồng chí A" in first.text
    second = Chat(app, "second")
    await second.send(f"/join {code}")
    assert second.text.startswith(UNKNOWN)  # used: the same answer as a wrong code
    await second.send(f"/join {old_code}")
    assert second.text.startswith(UNKNOWN)
    await second.send("/join ABCDE-FGHJK")
    assert second.text.startswith(UNKNOWN)
    async with app.services.db.transaction() as session:
        _c, another = await app.services.invites.create(
            session, ward_id=ward, role=OfficerRole.OFFICER, label="C"
        )
    await first.send(f"/join {another}")  # one chat account, one officer
    assert first.text.startswith(UNKNOWN)


# Who may run what: "ok" runs, "unknown" gets the unknown-command answer,
# "not-found" runs but cannot see the tip (another ward).
MATRIX = {
    "/queue": {
        "officer": "ok",
        "commander": "ok",
        "outsider": "ok",
        "revoked": "unknown",
        "resident": "unknown",
    },
    "/tip {code}": {
        "officer": "ok",
        "commander": "ok",
        "outsider": "not-found",
        "revoked": "unknown",
        "resident": "unknown",
    },
    "/claim {code}": {
        "officer": "ok",
        "commander": "ok",
        "outsider": "not-found",
        "revoked": "unknown",
        "resident": "unknown",
    },
    "/assign {code} 1": {
        "officer": "unknown",
        "commander": "ok",
        "outsider": "not-found",
        "revoked": "unknown",
        "resident": "unknown",
    },
    "/triage {code} venue 1": {
        "officer": "ok",
        "commander": "ok",
        "outsider": "not-found",
        "revoked": "unknown",
        "resident": "unknown",
    },
    "/note {code} đã cử tổ công tác": {
        "officer": "ok",
        "commander": "ok",
        "outsider": "not-found",
        "revoked": "unknown",
        "resident": "unknown",
    },
    "/ask {code} quán tên gì?": {
        "officer": "ok",
        "commander": "ok",
        "outsider": "not-found",
        "revoked": "unknown",
        "resident": "unknown",
    },
    "/reply {code} cảm ơn bạn": {
        "officer": "ok",
        "commander": "ok",
        "outsider": "not-found",
        "revoked": "unknown",
        "resident": "unknown",
    },
    "/stats": {
        "officer": "ok",
        "commander": "ok",
        "outsider": "ok",
        "revoked": "unknown",
        "resident": "unknown",
    },
    "/audit {code}": {
        "officer": "unknown",
        "commander": "ok",
        "outsider": "not-found",
        "revoked": "unknown",
        "resident": "unknown",
    },
    "/close {code} confirmed": {
        "officer": "ok",
        "commander": "ok",
        "outsider": "not-found",
        "revoked": "unknown",
        "resident": "unknown",
    },
}


@pytest.mark.parametrize("role", ["resident", "officer", "commander", "revoked", "outsider"])
async def test_every_command_for_every_role(app, police, role) -> None:
    code, _secret = await send_report(Chat(app, "reporter"), WHAT, ward_id=police.ward)
    chat: Chat = getattr(police, role)
    for template, expected in MATRIX.items():
        await chat.send(template.format(code=code))
        outcome = expected[role]
        if outcome == "unknown":
            assert chat.text.startswith(UNKNOWN), (template, role)
        elif outcome == "not-found":
            assert NOT_FOUND in chat.text, (template, role)
        else:
            assert not chat.text.startswith(UNKNOWN) and NOT_FOUND not in chat.text, (
                template,
                role,
            )
    tip = await _tip(app, code)
    closed = role in ("officer", "commander")
    assert (tip.status == TipStatus.CLOSED) is closed
    assert tip.wrapped_key is not None


async def test_help_lists_only_what_the_role_may_use(app, police) -> None:
    await police.officer.send("/help")
    assert "/queue" in police.officer.text and "/assign" not in police.officer.text
    await police.commander.send("/help")
    assert "/assign" in police.commander.text and "/audit" in police.commander.text
    await police.resident.send("/help")
    assert "/queue" not in police.resident.text and "Báo tin, tố giác" in police.resident.options()
    await police.revoked.send("/help")
    assert "/queue" not in police.revoked.text


async def test_group_chats_refuse_police_commands_without_revealing_anything(app, police) -> None:
    from kernel.messages import ChatKind

    in_group = Chat(app, "officer-1", kind=ChatKind.GROUP, chat_id="-100555")
    await in_group.send("/queue")
    assert in_group.text == "Để trao đổi với Công an phường, bạn vui lòng nhắn tin riêng cho bot."


@pytest.mark.parametrize("start", list(TipStatus))
async def test_every_transition_allowed_or_refused(app, police, start) -> None:
    code, _ = await send_report(Chat(app, f"r-{start}"), WHAT, ward_id=police.ward)
    for target in TipStatus:
        async with app.services.db.transaction() as session:
            tip = (await session.scalars(select(Tip).where(Tip.code == code))).one()
            tip.status = start
            officer = (await triage.ward_officers(session, police.ward))[0]
            kwargs: dict[str, object] = {}
            if target == TipStatus.ASSIGNED:
                kwargs["assignee"] = officer
            if target == TipStatus.CLOSED:
                kwargs["outcome"] = Outcome.CONFIRMED
            try:
                await triage.change_status(
                    session, app.services.vault, app.services.audit, tip, target, officer, **kwargs
                )
                allowed = True
            except TransitionRefused:
                allowed = False
            assert allowed == (target in ALLOWED[start]), (start, target)
            if allowed:
                event = (
                    await session.scalars(select(TipEvent).order_by(TipEvent.id.desc()))
                ).first()
                assert (event.from_status, event.to_status, event.actor_officer_id) == (
                    start,
                    target,
                    officer.id,
                )
            await session.rollback()


async def test_claim_work_close_and_the_reporter_sees_the_outcome(app, police) -> None:
    reporter = Chat(app, "reporter")
    code, secret = await send_report(reporter, WHAT, contact=True, ward_id=police.ward)
    officer = police.officer
    await officer.send(f"/claim {code}")
    assert f"Đồng chí đã nhận xử lý tin {code}" in officer.text
    await officer.send(f"/claim {code}")
    assert "đã do đồng chí xử lý" in officer.text
    await officer.send(f"/note {code} đã cử tổ công tác")
    assert (await _tip(app, code)).status == TipStatus.INVESTIGATING
    await officer.send(f"/close {code} xác minh")
    assert "Đã kết thúc tin" in officer.text
    await officer.send(f"/note {code} thêm")
    assert "đã kết thúc" in officer.text
    await officer.send(f"/claim {code}")
    assert "không thể chuyển" in officer.text
    await reporter.send(f"/status {code} {secret}")
    assert "đã kết thúc: thông tin chính xác, đã xử lý" in reporter.text


async def test_merge_and_duplicate(app, police) -> None:
    first, _ = await send_report(Chat(app, "r1"), WHAT, ward_id=police.ward)
    second, _ = await send_report(Chat(app, "r2"), WHAT + " (lần 2)", ward_id=police.ward)
    third, _ = await send_report(Chat(app, "r3"), WHAT + " (lần 3)", ward_id=police.ward)
    await police.officer.send(f"/merge {second} {first}")
    assert f"Đã gộp tin {second} vào tin {first}" in police.officer.text
    await police.officer.send(f"/close {third} duplicate {first}")
    assert f"Đã gộp tin {third} vào tin {first}" in police.officer.text
    tip = await _tip(app, second)
    assert tip.outcome == Outcome.DUPLICATE and tip.merged_into_id == (await _tip(app, first)).id
    await police.officer.send(f"/merge {first} {first}")
    assert "tin khác đang mở" in police.officer.text


async def test_queue_orders_by_priority_then_age_and_pages(app, police) -> None:
    codes = [
        (await send_report(Chat(app, f"q{i}"), f"{WHAT} {i}", ward_id=police.ward))[0]
        for i in range(12)
    ]
    urgent, _ = await send_report(
        Chat(app, "q-urgent"), "có người cầm dao đe dọa", category="danger", ward_id=police.ward
    )
    await police.officer.send("/queue")
    lines = police.officer.text.splitlines()[1:]
    assert len(lines) == 10 and urgent in lines[0] and lines[0].startswith("🔴")
    assert codes[0] in lines[1]  # then the oldest
    await police.officer.pick("Xem thêm")
    rest = police.officer.text.splitlines()[1:]
    assert len(rest) == 3 and codes[-1] in rest[-1]
    assert "Xem thêm ▶" not in police.officer.options() and len(police.officer.options()) == 3


async def test_tip_view_is_protected_audited_and_acknowledges(app, police) -> None:
    code, _ = await send_report(Chat(app, "reporter"), WHAT, ward_id=police.ward)
    replies = await police.officer.send(f"/tip {code}")
    assert WHAT in replies[0].text and replies[0].protect and replies[0].delete_after == 600
    tip = await _tip(app, code)
    assert tip.status == TipStatus.ACKNOWLEDGED and tip.acknowledged_at is not None
    async with app.services.db.transaction() as session:
        actions = [e.action for e in await app.services.audit.history(session, tip.id)]
    assert actions[:3] == ["received", "view", "status"]
    await police.commander.send(f"/audit {code}")
    assert "Trinh sát Minh xem nội dung tin." in police.commander.text


async def test_a_tip_without_an_area_officer_reaches_everyone_on_duty(app, police) -> None:
    code, _ = await send_report(Chat(app, "reporter"), WHAT, ward_id=police.ward)
    officer_box = await outbox_for(app, "officer-1")
    assert f"Tin mới {code}" in officer_box and WHAT not in officer_box
    assert f"Tin mới {code}" in await outbox_for(app, "commander-1")
    urgent, _ = await send_report(
        Chat(app, "reporter-2"), "ngáo đá cầm dao", category="danger", ward_id=police.ward
    )
    commander_box = await outbox_for(app, "commander-1")
    assert f"Tin KHẨN {urgent}" in commander_box and "ngáo đá" not in commander_box
    assert f"Tin KHẨN {urgent}" in await outbox_for(app, "officer-1")
    assert urgent not in await outbox_for(app, "other-ward") + await outbox_for(app, "revoked-1")


async def test_messages_waiting_for_one_reporter_cannot_be_linked(app, police) -> None:
    reporter = Chat(app, "900", channel="telegram")  # nothing sends Telegram here: they wait
    code, _secret = await send_report(reporter, WHAT, contact=True, ward_id=police.ward)
    await police.officer.send(f"/ask {code} Người bán đi xe gì?")
    await police.officer.send(f"/ask {code} Thường vào giờ nào?")
    async with app.services.db.transaction() as session:
        waiting = (
            await session.scalars(
                select(OutboxMessage.recipient).where(OutboxMessage.channel == "telegram")
            )
        ).all()
    person = outbox.recipient_of(app.services.pseudonyms, Route("telegram", "900"))
    assert len(waiting) == 2 and len(set(waiting)) == 2 and person not in waiting
    assert all(len(r) == len(person) and r[:3] == person[:3] for r in waiting)
    # The console collects by person, so its rows still name theirs: notices arrive.
    assert f"{code}" in await outbox_for(app, "officer-1")


async def test_ask_and_answer_relayed_without_identifiers(app, police) -> None:
    reporter = Chat(app, "Nguyễn Văn Tâm 0987654321")
    code, secret = await send_report(reporter, WHAT, contact=True, ward_id=police.ward)
    await outbox_for(app, "officer-1")  # the new-tip notice
    await police.officer.send(f"/ask {code} Người bán đi xe gì?")
    assert "Đã gửi câu hỏi" in police.officer.text
    notice = await outbox_for(app, "Nguyễn Văn Tâm 0987654321")
    assert "Bạn có tin nhắn mới" in notice
    assert "Trinh sát Minh" not in notice and "officer-1" not in notice and code not in notice
    await reporter.send(f"/status {code} {secret}")
    await reporter.pick("Trả lời Công an")
    await reporter.send("Xe Wave đỏ")
    await mix_all(app)  # the answer goes through the mixer, like a tip
    tip = await _tip(app, code)
    assert tip.status == TipStatus.INVESTIGATING or tip.status == TipStatus.ACKNOWLEDGED
    officer_box = await outbox_for(app, "officer-1")
    assert f"Người báo tin {code} vừa nhắn thêm" in officer_box
    await police.officer.send(f"/tip {code}")
    seen = police.officer.text
    assert (
        "Người báo tin trả lời: Xe Wave đỏ" in seen
        and "Hỏi người báo tin: Người bán đi xe gì?" in seen
    )
    assert "Nguyễn Văn Tâm" not in seen and "0987654321" not in seen


async def test_no_contact_reporter_cannot_be_asked(app, police) -> None:
    code, _ = await send_report(Chat(app, "quiet"), WHAT, contact=False, ward_id=police.ward)
    await police.officer.send(f"/ask {code} còn ở đó không?")
    assert "yêu cầu không liên hệ" in police.officer.text


async def test_assign_notifies_the_assignee(app, police) -> None:
    code, _ = await send_report(Chat(app, "reporter"), WHAT, ward_id=police.ward)
    await outbox_for(app, "officer-1")
    await police.commander.send(f"/assign {code} trinh sat minh")
    assert "Đã giao tin" in police.commander.text
    assert f"Đồng chí được giao xử lý tin {code}" in await outbox_for(app, "officer-1")
    await police.commander.send(f"/assign {code} nobody")
    assert "Không có cán bộ này" in police.commander.text


async def test_escalation_survives_a_restart_and_happens_once(settings) -> None:
    app = await open_app(settings)
    try:
        ward = await add_phu_lien(app)
        await enrol(app, ward, OfficerRole.COMMANDER, "commander-1", "Trưởng CA Hùng")
        urgent, _ = await send_report(Chat(app, "r"), "cầm dao", category="danger")
        normal, _ = await send_report(Chat(app, "r2"), WHAT)
        await outbox_for(app, "commander-1")
        tip = await _tip(app, urgent)
        sent = tips.submitted_at(app.services.vault, tip)  # deadlines count from here
        assert timedelta(minutes=15) <= tip.ack_due_at - sent < timedelta(minutes=20)
        assert (await _tip(app, normal)).ack_due_at - sent >= timedelta(hours=23)
        assert await police_tick(app.services) == 0  # nothing overdue yet
    finally:
        await app.close()

    # Time passes while the bot is down: the deadline is in the database, not in memory.
    app = await open_app(settings)
    try:
        async with app.services.db.transaction() as session:
            await session.execute(
                update(Tip)
                .where(Tip.code == urgent)
                .values(ack_due_at=utcnow() - timedelta(minutes=1))
            )
        assert await police_tick(app.services) == 1
        box = await outbox_for(app, "commander-1")
        assert f"Tin {urgent} chưa được tiếp nhận đúng hạn" in box and normal not in box
        assert await police_tick(app.services) == 0
        assert await outbox_for(app, "commander-1") == "" or urgent not in await outbox_for(
            app, "commander-1"
        )
    finally:
        await app.close()


async def test_morning_digest_once_a_day(settings) -> None:
    app = await open_app(dataclasses.replace(settings, digest_time="00:00"))
    try:
        ward = await add_phu_lien(app)
        await enrol(app, ward, OfficerRole.OFFICER, "officer-1", "Trinh sát Minh")
        await send_report(Chat(app, "r"), WHAT)
        await outbox_for(app, "officer-1")
        await police_tick(app.services)
        assert "Tổng hợp đầu ngày của Phù Liễn: 1 tin đang mở (1 tin mới)" in await outbox_for(
            app, "officer-1"
        )
        await police_tick(app.services)
        assert "Tổng hợp" not in await outbox_for(app, "officer-1")
    finally:
        await app.close()


async def test_audit_verify_catches_an_edited_or_deleted_row(app, police, cli_env) -> None:
    from tests.helpers import run_cli

    code, _ = await send_report(Chat(app, "reporter"), WHAT, ward_id=police.ward)
    await police.officer.send(f"/tip {code}")
    await police.officer.send(f"/claim {code}")
    intact = run_cli("audit", "verify", env=cli_env)
    assert intact.returncode == 0 and "nguyên vẹn" in intact.stdout, intact.stderr
    async with app.services.db.transaction() as session:
        entries = (await session.scalars(select(AuditEntry).order_by(AuditEntry.id))).all()
        target = entries[len(entries) // 2]
        target_id, original = target.id, target.action
        await session.execute(
            update(AuditEntry).where(AuditEntry.id == target_id).values(action="nothing")
        )
    edited = run_cli("audit", "verify", env=cli_env)
    assert edited.returncode == 3 and f"mục {target_id}: mục này đã bị sửa" in edited.stdout
    async with app.services.db.transaction() as session:
        await session.execute(
            update(AuditEntry).where(AuditEntry.id == target_id).values(action=original)
        )
        assert (await app.services.audit.verify(session)).intact
        await session.delete(await session.get(AuditEntry, target_id))
    deleted = run_cli("audit", "verify", env=cli_env)
    assert deleted.returncode == 3 and "liên kết với mục trước bị đứt" in deleted.stdout


async def test_revoked_officer_loses_access_at_once(app, police) -> None:
    code, _ = await send_report(Chat(app, "reporter"), WHAT, ward_id=police.ward)
    await police.officer.send(f"/tip {code}")
    assert WHAT in police.officer.text
    async with app.services.db.transaction() as session:
        from storage import officers

        me = next(
            o
            for o in await officers.list_officers(session, police.ward)
            if o.label == "Trinh sát Minh"
        )
        await officers.revoke(session, me)
    await police.officer.send(f"/tip {code}")
    assert police.officer.text.startswith(UNKNOWN)


async def test_buttons_do_what_the_commands_do(app, police) -> None:
    code, _ = await send_report(Chat(app, "reporter"), WHAT, ward_id=police.ward)
    officer = police.officer
    await officer.send("/queue")
    await officer.pick(code)
    assert WHAT in officer.text
    await officer.pick("Nhận xử lý")
    assert f"Đồng chí đã nhận xử lý tin {code}" in officer.text
    await officer.send(action=f"police:close:{code}")
    await officer.pick("đã xác minh, chưa phát hiện vi phạm")
    assert (await _tip(app, code)).outcome == Outcome.UNFOUNDED
    await police.resident.send(action=f"police:tip:{code}")  # a forged button
    assert police.resident.text.startswith(UNKNOWN)
