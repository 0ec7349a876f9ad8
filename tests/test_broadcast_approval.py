"""Ad-hoc broadcasts need two people: an officer drafts and a different commander
approves; nothing reaches residents before that. Subscribing and /stop in the chat."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from sqlalchemy import func, select

from bot.app import App, open_app
from bot.jobs import broadcast_tick
from broadcasts import deliveries
from kernel.clock import utcnow
from kernel.messages import ChatKind
from kernel.routes import Route
from storage import group_chats, subscribers
from storage.models import Broadcast, BroadcastStatus, Delivery, Officer, OfficerRole
from tests.helpers import Chat, add_phu_lien, enrol, group_id, outbox_for

UNKNOWN = "Xin lỗi, tôi chưa hiểu ý bạn."
TEXT = "Bà con phường {ward} lưu ý: tối thứ Bảy họp tổ dân phố về phòng, chống ma túy.\n{hotlines}"


@pytest.fixture
async def app(settings) -> AsyncIterator[App]:  # type: ignore[no-untyped-def]
    """Quiet hours off, so an approved broadcast is due at once whatever the hour."""
    opened = await open_app(replace(settings, quiet_start="00:00", quiet_end="00:00"))
    yield opened
    await opened.close()


async def _ward_with_audience(app) -> int:  # type: ignore[no-untyped-def]
    """Phù Liễn with a group chat for Nam Hải and two console subscribers of Tổ 9."""
    ward = await add_phu_lien(app)
    services = app.services
    nam_hai_id, to_9_id = await group_id(app, "Nam Hải"), await group_id(app, "Tổ 9")
    async with services.db.transaction() as session:
        from storage import officers
        from storage.models import ResidentialGroup

        setter = await officers.add_officer(
            session, ward_id=ward, role=OfficerRole.OFFICER, label="cán bộ đăng ký nhóm"
        )
        nam_hai = await session.get(ResidentialGroup, nam_hai_id)
        to_9 = await session.get(ResidentialGroup, to_9_id)
        await group_chats.register(
            session,
            services.vault,
            services.pseudonyms,
            Route("console", "nhom-nam-hai"),
            nam_hai,
            setter,
        )
        for person in ("cu-dan-1", "cu-dan-2"):
            await subscribers.subscribe(
                session, services.vault, services.pseudonyms, Route("console", person), to_9, "vi"
            )
    return ward


async def _draft(officer: Chat, text: str = TEXT, *, one_group: str | None = None) -> int:
    await officer.send("/broadcast")
    await officer.send(text)
    if one_group:
        await officer.send(action="bc:scope:one")
        await officer.send(one_group)
    else:
        await officer.send(action="bc:scope:all")
    assert "Xem trước" in officer.text
    await officer.send(action="bc:submit")
    async with officer.app.services.db.transaction() as session:
        return int(await session.scalar(select(func.max(Broadcast.id))) or 0)


async def _status(app, broadcast_id: int) -> str:  # type: ignore[no-untyped-def]
    async with app.services.db.transaction() as session:
        return (await session.get(Broadcast, broadcast_id)).status  # type: ignore[union-attr]


async def test_an_officers_draft_waits_for_a_commander_then_goes_to_everyone(app) -> None:
    ward = await _ward_with_audience(app)
    officer = await enrol(app, ward, OfficerRole.OFFICER, "officer-1", "Trinh sát Minh")
    commander = await enrol(app, ward, OfficerRole.COMMANDER, "commander-1", "Trưởng CA Hùng")

    await officer.send("/broadcast")
    await officer.send("Họp tổ {ngay} tối nay")  # an unknown placeholder: asked again
    assert "Không gửi được" in officer.text and "{ngay}" in officer.text
    await officer.send(TEXT)
    await officer.send(action="bc:scope:all")
    preview = officer.text
    assert "Bà con phường Phù Liễn lưu ý" in preview and "0225 000 0000" in preview
    assert "1 nhóm chat và 2 người đăng ký" in preview
    await officer.send(action="bc:submit")
    assert "chờ chỉ huy duyệt" in officer.text
    async with app.services.db.transaction() as session:
        draft_id = int(await session.scalar(select(func.max(Broadcast.id))) or 0)
        assert not await deliveries.start_due(session, utcnow())  # not before approval
    assert await _status(app, draft_id) == BroadcastStatus.PENDING_APPROVAL

    asked = await outbox_for(app, "commander-1")
    assert f"/approve {draft_id}" in asked and "Bà con phường Phù Liễn lưu ý" in asked
    await officer.send(f"/approve {draft_id}")  # an officer cannot approve: no such command
    assert officer.text.startswith(UNKNOWN)
    assert await _status(app, draft_id) == BroadcastStatus.PENDING_APPROVAL
    await commander.send(f"/approve {draft_id}")
    assert f"#{draft_id}" in commander.text and "đã được duyệt" in commander.text
    assert "Trưởng CA Hùng" in await outbox_for(app, "officer-1")
    await commander.send(f"/reject {draft_id}")
    assert "đã được quyết định" in commander.text
    assert await _status(app, draft_id) == BroadcastStatus.SCHEDULED

    async with app.services.db.transaction() as session:
        await deliveries.start_due(session, utcnow())
        broadcast = await session.get(Broadcast, draft_id)
        await deliveries.expand(session, broadcast, 100)
        targets = (
            await session.scalars(
                select(Delivery.target_kind).where(Delivery.broadcast_id == draft_id)
            )
        ).all()
    assert sorted(targets) == ["chat", "subscriber", "subscriber"]
    # Console chats have no live connection: the messages wait for them in the outbox.
    await broadcast_tick(app.services)
    for person in ("cu-dan-1", "cu-dan-2"):
        box = await outbox_for(app, person)
        assert "Bà con phường Phù Liễn lưu ý" in box and "Muốn dừng: /huy" in box
    group_box = await outbox_for(app, "nhom-nam-hai")
    assert "Bà con phường Phù Liễn lưu ý" in group_box and "/huy" not in group_box
    assert await _status(app, draft_id) == BroadcastStatus.DONE
    assert f"Bản tin #{draft_id} đã gửi xong: 3 đã nhận" in await outbox_for(app, "officer-1")
    await officer.send("/broadcasts")
    assert f"#{draft_id}" in officer.text


async def test_a_commanders_own_draft_needs_a_second_commander(app) -> None:
    ward = await _ward_with_audience(app)
    first = await enrol(app, ward, OfficerRole.COMMANDER, "commander-1", "Trưởng CA Hùng")
    draft_id = await _draft(first, one_group="tổ 9")
    assert "chỉ huy thứ hai" in first.text  # nobody else can approve yet
    await first.send(f"/approve {draft_id}")
    assert "chỉ huy khác" in first.text
    await first.send(action=f"bc:approve:{draft_id}")  # the button is refused the same way
    assert "chỉ huy khác" in first.text
    assert await _status(app, draft_id) == BroadcastStatus.PENDING_APPROVAL

    second = await enrol(app, ward, OfficerRole.COMMANDER, "commander-2", "Phó CA Lan")
    await second.send(action=f"bc:reject:{draft_id}")
    assert "bị từ chối" in second.text
    assert await _status(app, draft_id) == BroadcastStatus.REJECTED
    assert "Phó CA Lan" in await outbox_for(app, "commander-1")
    async with app.services.db.transaction() as session:
        assert not await deliveries.start_due(session, utcnow())
        assert await session.scalar(select(func.count()).select_from(Delivery)) == 0


async def test_residents_and_other_wards_cannot_broadcast_or_decide(app) -> None:
    ward = await _ward_with_audience(app)
    officer = await enrol(app, ward, OfficerRole.OFFICER, "officer-1", "Trinh sát Minh")
    draft_id = await _draft(officer)
    async with app.services.db.transaction() as session:
        from storage import wards

        other = (await wards.add_ward(session, "Đông Hải")).id
    outsider = await enrol(app, other, OfficerRole.COMMANDER, "other-ward", "Trưởng CA Đông Hải")
    await outsider.send(f"/approve {draft_id}")
    assert f"Không có bản tin #{draft_id}" in outsider.text
    resident = Chat(app, "cu-dan-1")
    for command in ("/broadcast", f"/approve {draft_id}", "/broadcasts"):
        await resident.send(command)
        assert UNKNOWN in resident.text
    await resident.send(action=f"bc:approve:{draft_id}")
    assert "Trinh sát" not in resident.text
    await outsider.send("/approve abc")
    assert "/approve SỐ" in outsider.text
    assert await _status(app, draft_id) == BroadcastStatus.PENDING_APPROVAL
    async with app.services.db.transaction() as session:
        officers_left = await session.scalar(select(func.count()).select_from(Officer))
    assert officers_left == 3  # setter, officer, outsider: nothing else was created


async def test_subscribe_by_typing_the_tdp_name_then_stop(app) -> None:
    ward = await add_phu_lien(app)
    person = Chat(app, "ba-tam")
    await person.send("/start")
    await person.pick("Nhận tin phòng, chống ma túy")
    assert "tổ dân phố" in person.text
    await person.send("Lạch Tray")
    assert "chưa tìm thấy tổ dân phố “Lạch Tray”" in person.text
    await person.send("quy tuc 1")  # no accents, lower case
    assert "Quy Tức 1" in person.text and "/huy" in person.text
    await person.send("/dangky")
    assert "Bạn đang nhận tin phòng, chống ma túy của tổ Quy Tức 1" in person.text
    quy_tuc = await group_id(app, "Quy Tức 1")
    async with app.services.db.transaction() as session:
        counts = await subscribers.counts_by_group(session, ward)
    assert counts == {quy_tuc: 1}
    await person.send("/stop")
    assert "không nhận" in person.text
    async with app.services.db.transaction() as session:
        assert await subscribers.counts_by_group(session, ward) == {}
    await person.send("/huy")
    assert "/dangky" in person.text
    in_group = Chat(app, "ba-tam", kind=ChatKind.GROUP, chat_id="nhom")
    await in_group.send("/subscribe")
    assert "nhắn tin riêng cho bot" in in_group.text


async def test_a_typed_number_never_picks_from_a_notice_that_came_from_the_outbox(app) -> None:
    """On a channel without buttons a notice shows what to type ("/approve 4"), not
    numbered options: a commander typing 1 afterwards picks from their own last menu,
    which is what a number answers, and the broadcast stays pending until /approve."""
    ward = await _ward_with_audience(app)
    officer = await enrol(app, ward, OfficerRole.OFFICER, "officer-2", "Trinh sát Lan")
    commander = await enrol(app, ward, OfficerRole.COMMANDER, "commander-2", "Trưởng CA Hà")
    await commander.send("/start")  # the commander's chat has a numbered menu open
    assert commander.options()
    draft_id = await _draft(officer)
    asked = await outbox_for(app, "commander-2")
    vi = app.services.translator.get("vi").gettext
    assert f"{vi('Approve')}: /approve {draft_id}" in asked
    assert f"{vi('Reject')}: /reject {draft_id}" in asked
    assert f"1. {vi('Approve')}" not in asked and "\n1. " not in asked
    await commander.send("1")  # the first option of the commander's own menu
    assert vi("What is your tip about?") in commander.text
    assert await _status(app, draft_id) == BroadcastStatus.PENDING_APPROVAL
    await commander.send(f"/approve {draft_id}")
    assert await _status(app, draft_id) == BroadcastStatus.SCHEDULED


async def test_a_ward_gone_while_writing_drops_the_draft_and_says_so(app, monkeypatch) -> None:
    """Officers go with their ward (ON DELETE CASCADE), but a ward removed while one of
    them is half-way through a draft must not leave them with an empty preview or no
    answer at all: they are told, in their language, and nothing is drafted."""
    from sqlalchemy.ext.asyncio import AsyncSession

    from storage.models import Ward

    ward = await _ward_with_audience(app)
    officer = await enrol(app, ward, OfficerRole.OFFICER, "officer-1", "Trinh sát Minh")
    real_get = AsyncSession.get
    gone = False

    async def get(self, entity, ident, **kw):  # type: ignore[no-untyped-def]
        if gone and entity is Ward:
            return None
        return await real_get(self, entity, ident, **kw)

    monkeypatch.setattr(AsyncSession, "get", get)
    sorry = "Phường của bạn không còn trong dữ liệu của bot"

    for step in ("text", "group", "submit"):
        gone = False
        await officer.send("/broadcast")
        if step != "text":
            await officer.send(TEXT)
            await officer.send(action="bc:scope:one")
        if step == "submit":
            await officer.send("tổ 9")
            assert "Xem trước" in officer.text
        gone = True
        if step == "submit":
            await officer.send(action="bc:submit")
        else:
            await officer.send(TEXT if step == "text" else "tổ 9")
        assert sorry in officer.text and "không có tin nào được gửi" in officer.text, step
        gone = False
        await officer.send(action="bc:submit")  # the draft is gone with it
        assert "Không có bản nháp" in officer.text, step
    async with app.services.db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(Broadcast)) == 0
