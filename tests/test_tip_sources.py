"""Tips from every source, tip boxes and their openings, area officers (storage level:
the chat flows and the CLI build on these)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from bot.app import App
from kernel.clock import utcnow
from kernel.tip_sources import RECORDED_BY_OFFICERS, TipSource
from storage import areas, officers, tip_boxes, tips, triage, wards
from storage.areas import AreaRefused
from storage.models import AuditEntry, Officer, OfficerRole, ResidentialGroup, Tip, TipStatus
from storage.tip_boxes import OpeningRefused
from storage.triage import Received, RecordRefused
from tests.helpers import add_phu_lien, enrol, group_id

WHAT = "Có người lạ tập kết hàng ở bãi đất trống cuối ngõ 7 vào tối thứ sáu"


async def _officer(app: App, ward: int, label: str) -> Officer:
    async with app.services.db.transaction() as session:
        return next(o for o in await officers.list_officers(session, ward) if o.label == label)


async def _group(app: App, name: str) -> ResidentialGroup:
    gid = await group_id(app, name)
    async with app.services.db.transaction() as session:
        group = await wards.get_group(session, gid)
        assert group is not None
        return group


async def _record(
    app: App, officer: Officer, source: TipSource, **changes: object
) -> tuple[Tip, tips.Receipt]:
    values: dict[str, object] = {
        "ward_id": officer.ward_id,
        "group_id": None,
        "source": source,
        "category": "dealing",
        "urgent": False,
        "content": {"what": WHAT},
        "received_at": utcnow() - timedelta(hours=2),
    }
    values.update(changes)
    s = app.services
    async with s.db.transaction() as session:
        return await triage.record_received(
            session,
            s.vault,
            s.receipts,
            s.audit,
            s.sla,
            officer,
            Received(**values),  # type: ignore[arg-type]
        )


@pytest.mark.parametrize("source", RECORDED_BY_OFFICERS)
async def test_a_recorded_tip_is_a_tip_like_any_other(app: App, source: TipSource) -> None:
    ward = await add_phu_lien(app)
    await enrol(app, ward, OfficerRole.OFFICER, "officer-1", "Trinh sát Minh")
    officer = await _officer(app, ward, "Trinh sát Minh")
    received_at = utcnow() - timedelta(hours=2)
    tip, receipt = await _record(app, officer, source, received_at=received_at)
    s = app.services
    async with s.db.transaction() as session:
        stored = await session.get(Tip, tip.id)
        assert stored is not None
        assert stored.source == source
        assert stored.status == TipStatus.ACKNOWLEDGED
        assert tips.read_content(s.vault, stored)["what"] == WHAT
        assert tips.read_route(s.vault, stored) is None  # nobody to write back to
        # Deadlines count from when the police received it, and it was acknowledged then.
        assert stored.acknowledged_at is not None and stored.ack_due_at is not None
        assert stored.acknowledged_at <= stored.ack_due_at
        assert stored.close_due_at is not None
        assert stored.close_due_at - received_at <= s.sla.close + timedelta(hours=1)
        assert stored.close_due_at - received_at >= s.sla.close
        # The receipt given to a person who reported in person finds it, anonymously.
        found = await tips.find_by_receipt(session, s.receipts, receipt.code, receipt.secret)
        assert isinstance(found, Tip) and found.id == tip.id
        actions = (
            await session.scalars(select(AuditEntry.action).where(AuditEntry.tip_id == tip.id))
        ).all()
        assert actions == ["recorded", "status"]


async def test_recording_refuses_what_is_not_a_recorded_tip(app: App) -> None:
    ward = await add_phu_lien(app)
    await enrol(app, ward, OfficerRole.OFFICER, "officer-1", "Trinh sát Minh")
    officer = await _officer(app, ward, "Trinh sát Minh")
    async with app.services.db.transaction() as session:
        other = await wards.add_ward(session, "Đông Hải")
        other_id = other.id
    refusals = [
        {"source": TipSource.BOT},
        {"ward_id": other_id},
        {"received_at": utcnow() + timedelta(hours=1)},
        {"received_at": utcnow() - timedelta(days=93)},
        {"content": {"what": "   "}},
    ]
    for changes in refusals:
        source = changes.pop("source", TipSource.HOTLINE)
        with pytest.raises(RecordRefused):
            await _record(app, officer, source, **changes)  # type: ignore[arg-type]
    async with app.services.db.transaction() as session:
        assert (await session.scalars(select(Tip.id))).all() == []


async def test_a_tip_goes_first_to_its_area_officer(app: App) -> None:
    ward = await add_phu_lien(app)
    await enrol(app, ward, OfficerRole.OFFICER, "o1", "CSKV An")
    await enrol(app, ward, OfficerRole.OFFICER, "o2", "CSKV Bình")
    await enrol(app, ward, OfficerRole.OFFICER, "o3", "Trinh sát Cường")
    await enrol(app, ward, OfficerRole.COMMANDER, "c1", "Trưởng CA Hùng")
    an, binh = await _officer(app, ward, "CSKV An"), await _officer(app, ward, "CSKV Bình")
    group, elsewhere = await _group(app, "Nam Hải"), await _group(app, "Tổ 9")
    async with app.services.db.transaction() as session:
        await areas.set_area(session, group, an, binh)
    officer = await _officer(app, ward, "Trinh sát Cường")

    def labels(recipients: areas.Recipients) -> list[str]:
        return sorted(o.label for o in recipients.officers)

    cases = [
        ({"group_id": group.id}, ["CSKV An", "CSKV Bình"], True),
        ({"group_id": group.id, "urgent": True}, ["CSKV An", "CSKV Bình", "Trưởng CA Hùng"], True),
        (
            {"group_id": elsewhere.id},
            ["CSKV An", "CSKV Bình", "Trinh sát Cường", "Trưởng CA Hùng"],
            False,
        ),
        ({}, ["CSKV An", "CSKV Bình", "Trinh sát Cường", "Trưởng CA Hùng"], False),
    ]
    for changes, expected, area in cases:
        tip, _ = await _record(app, officer, TipSource.HOTLINE, **changes)
        async with app.services.db.transaction() as session:
            stored = await session.get(Tip, tip.id)
            assert stored is not None
            recipients = await areas.new_tip_recipients(session, stored)
        assert (labels(recipients), recipients.area) == (expected, area)

    # A revoked area officer no longer counts: the deputy alone hears of it.
    async with app.services.db.transaction() as session:
        gone = await officers.get_officer(session, an.id)
        assert gone is not None
        await officers.revoke(session, gone)
    tip, _ = await _record(app, officer, TipSource.HOTLINE, group_id=group.id)
    async with app.services.db.transaction() as session:
        stored = await session.get(Tip, tip.id)
        assert stored is not None
        assert labels(await areas.new_tip_recipients(session, stored)) == ["CSKV Bình"]


async def test_areas_are_given_only_to_active_officers_of_the_ward(app: App) -> None:
    ward = await add_phu_lien(app)
    await enrol(app, ward, OfficerRole.OFFICER, "o1", "CSKV An")
    an = await _officer(app, ward, "CSKV An")
    group = await _group(app, "Nam Hải")
    async with app.services.db.transaction() as session:
        other = await wards.add_ward(session, "Đông Hải")
        stranger = await officers.add_officer(
            session, ward_id=other.id, role=OfficerRole.OFFICER, label="Người khác"
        )
        invited = await officers.add_officer(
            session, ward_id=ward, role=OfficerRole.OFFICER, label="Chưa nhận lời mời"
        )
        for officer, deputy in [(stranger, None), (invited, None), (an, an)]:
            with pytest.raises(AreaRefused):
                await areas.set_area(session, group, officer, deputy)
        assert await areas.area_of(session, group.id) is None
        await areas.set_area(session, group, None, an)  # a deputy alone is the officer
        area = await areas.area_of(session, group.id)
        assert area is not None and area.officer is not None and area.officer.id == an.id
        assert set(await areas.areas_of_ward(session, ward)) == {group.id}
        await areas.set_area(session, group, None)
        assert await areas.areas_of_ward(session, ward) == {}


async def test_tip_boxes_boards_and_openings(app: App) -> None:
    ward = await add_phu_lien(app)
    await enrol(app, ward, OfficerRole.OFFICER, "o1", "CSKV An")
    an = await _officer(app, ward, "CSKV An")
    group, bare = await _group(app, "Nam Hải"), await _group(app, "Tổ 9")
    today = date(2026, 12, 4)
    async with app.services.db.transaction() as session:
        await tip_boxes.set_points(
            session, group, box_since=date(2026, 3, 1), board_since=date(2026, 3, 15)
        )
        points = await tip_boxes.points_of_ward(session, ward)
        assert points[group.id].box_since == date(2026, 3, 1)
        assert bare.id not in points

        def opening(where: ResidentialGroup, **changes: object) -> object:
            values: dict[str, object] = {
                "opened_on": date(2026, 11, 30),
                "opened_by": "CSKV An và Tổ trưởng Nam Hải",
                "tips_found": 0,
                "recorded_by": an,
                "today": today,
            }
            values.update(changes)
            return tip_boxes.record_opening(session, where, **values)  # type: ignore[arg-type]

        await opening(group)  # an empty box is an opening too
        await opening(group, opened_on=date(2026, 12, 3), tips_found=2)
        for where, changes in [
            (bare, {}),  # no box there
            (group, {"opened_on": date(2026, 2, 1)}),  # before it had one
            (group, {"opened_on": date(2026, 12, 5)}),  # in the future
            (group, {"tips_found": -1}),
            (group, {"tips_found": 501}),
            (group, {"opened_by": "  "}),
        ]:
            with pytest.raises(OpeningRefused):
                await opening(where, **changes)
        found = await tip_boxes.openings_between(
            session, ward, date(2026, 11, 1), date(2026, 11, 30)
        )
        assert [(o.opened_on, o.tips_found) for o in found] == [(date(2026, 11, 30), 0)]
        december = await tip_boxes.openings_between(session, ward, date(2026, 12, 1), today)
        assert [o.tips_found for o in december] == [2]
        await tip_boxes.set_points(session, group, box_since=None, board_since=None)
        assert await tip_boxes.points_of_ward(session, ward) == {}
