"""The report's section on tips: by source, in time, misses, outcomes, tip boxes, and the
commander's remarks, with small counts masked as everywhere in the report."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from bot.app import App
from kernel.clock import utcnow
from kernel.tip_sources import TipSource
from reports.periods import parse_report_period
from reports.tip_work import gather_tip_work
from storage import report_remarks, tip_boxes, triage, wards
from storage.models import OfficerRole, Tip
from storage.triage import Outcome
from tests.helpers import add_phu_lien, enrol, group_id


def english(text: str) -> str:
    return text


async def test_tip_work_of_a_month(app: App) -> None:
    ward_id = await add_phu_lien(app)
    await enrol(app, ward_id, OfficerRole.COMMANDER, "c1", "Trưởng CA Hùng")
    nam_hai = await group_id(app, "Nam Hải")
    s = app.services
    now = utcnow()
    period = parse_report_period(now.astimezone(s.settings.zone).strftime("%Y-%m"))
    async with s.db.transaction() as session:
        commander = (await triage.ward_officers(session, ward_id))[0]
        ward = await wards.get_ward(session, ward_id)
        group = await wards.get_group(session, nam_hai)
        assert ward is not None and group is not None

        async def record(source: TipSource) -> Tip:
            tip, _ = await triage.record_received(
                session,
                s.vault,
                s.receipts,
                s.audit,
                s.sla,
                commander,
                triage.Received(
                    ward_id=ward_id,
                    group_id=nam_hai,
                    source=source,
                    category="use",
                    urgent=False,
                    content={"what": "x"},
                    received_at=now - timedelta(minutes=30),
                ),
            )
            return tip

        phoned = [await record(TipSource.HOTLINE) for _ in range(5)]
        boxed = await record(TipSource.TIP_BOX)
        for _ in range(2):
            await record(TipSource.VNEID)
        for tip in phoned[:2]:
            await triage.change_status(
                session, s.vault, s.audit, tip, "closed", commander, outcome=Outcome.CONFIRMED
            )
        await triage.change_status(
            session, s.vault, s.audit, boxed, "closed", commander, outcome=Outcome.UNFOUNDED
        )
        late_id = phoned[0].id
        await tip_boxes.set_points(
            session, group, box_since=period.first, board_since=period.first - timedelta(days=40)
        )
        await tip_boxes.record_opening(
            session,
            group,
            opened_on=period.first,
            opened_by="CSKV và tổ trưởng",
            tips_found=1,
            recorded_by=commander,
            today=period.last,
        )
        await report_remarks.write(
            session, commander, period.key, "  Thiếu  kinh phí\nĐề xuất bổ sung   camera "
        )
    async with s.db.transaction() as session:
        # The first phoned tip was closed a day after its deadline.
        await session.execute(
            update(Tip)
            .where(Tip.id == late_id)
            .values(close_due_at=now - timedelta(days=1, hours=1))
        )
    async with s.db.transaction() as session:
        ward = await wards.get_ward(session, ward_id)
        assert ward is not None
        work = await gather_tip_work(
            session,
            ward,
            period,
            zone=s.settings.zone,
            now=now + timedelta(minutes=1),
            gettext=english,
        )
    assert work.received == 8
    assert work.received_on_time.part == work.received_on_time.whole == 8
    assert (work.handled_on_time.part, work.handled_on_time.whole) == (2, 3)
    assert work.met is False
    # Five by phone are printed; one from a tip box and two through VNeID are masked,
    # and so are their shares.
    assert [(line.label, str(line.count)) for line in work.by_source] == [
        ("Hotline (by phone)", "5"),
        ("Tip box", "<3"),
        ("VNeID", "<3"),
    ]
    assert [share.source for share in work.source_shares] == ["Hotline (by phone)"]
    assert [(m.source, m.deadline, m.late_by, m.still_open) for m in work.misses] == [
        ("Hotline (by phone)", "handled", "1 d", False)
    ]
    assert [(line.label, str(line.count)) for line in work.outcomes] == [
        ("checked; nothing was found", "<3"),
        ("confirmed and acted on", "<3"),
    ]
    assert work.groups_with_box.part == 1 and work.groups_with_board.part == 1
    assert work.groups_with_box.whole == len(work.boxes)
    line = next(b for b in work.boxes if b.group == "Nam Hải")
    assert (line.box_since, line.openings) == (period.first.strftime("%d/%m/%Y"), 1)
    assert (work.openings, work.tips_in_boxes) == (1, 1)
    assert work.remarks == "Thiếu kinh phí\nĐề xuất bổ sung camera"


async def test_remarks_are_per_period_and_cleared_by_an_empty_text(app: App) -> None:
    ward_id = await add_phu_lien(app)
    await enrol(app, ward_id, OfficerRole.COMMANDER, "c1", "Trưởng CA Hùng")
    async with app.services.db.transaction() as session:
        commander = (await triage.ward_officers(session, ward_id))[0]
        await report_remarks.write(session, commander, "2026-H2", "Sơ kết: đề xuất A")
        await report_remarks.write(session, commander, "2026-11", "Tháng 11")
        assert await report_remarks.read(session, ward_id, "2026-H2") == "Sơ kết: đề xuất A"
        await report_remarks.write(session, commander, "2026-H2", "   ")
        assert await report_remarks.read(session, ward_id, "2026-H2") == ""
        assert await report_remarks.read(session, ward_id, "2026-11") == "Tháng 11"
