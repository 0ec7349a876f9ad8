"""`wardbot tips add`, `wardbot area` and `wardbot box`, run in-process as an operator
would: tips from every source with their receipts, area officers, tip boxes."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from bot.app import App
from bot.jobs import police_tick
from kernel.clock import utcnow
from kernel.tip_sources import TipSource
from storage import areas, tip_boxes, tips
from storage.models import AuditEntry, OfficerRole, Tip, TipStatus
from tests.helpers import (
    add_phu_lien,
    enrol,
    group_id,
    leaks,
    needles,
    outbox_for,
    raw_database_bytes,
)

WHAT = "Bà bán nước đầu ngõ 12 nói có người lạ giao hàng đêm thứ bảy"


async def test_tips_recorded_from_the_command_line_get_receipts(
    app: App, wardbot, settings
) -> None:
    ward = await add_phu_lien(app)
    done = await wardbot(
        "tips",
        "add",
        "--source",
        "hotline",
        "--category",
        "muaban",
        "--tdp",
        "nam hai",
        "--urgent",
        "--text",
        WHAT,
    )
    assert done.code == 0, done.err
    code, secret = done.out.strip().splitlines()[-1].split("\t")
    nam_hai = await group_id(app, "Nam Hải")
    async with app.services.db.transaction() as session:
        tip = (await session.scalars(select(Tip).where(Tip.code == code))).one()
        assert (tip.source, tip.category, tip.urgent) == (TipSource.HOTLINE, "dealing", True)
        assert tip.group_id == nam_hai
        assert tip.status == TipStatus.ACKNOWLEDGED and tip.ward_id == ward
        assert tips.read_content(app.services.vault, tip)["what"] == WHAT
        found = await tips.find_by_receipt(session, app.services.receipts, code, secret)
        assert isinstance(found, Tip) and found.id == tip.id
        recorded = await session.scalar(
            select(AuditEntry).where(AuditEntry.tip_id == tip.id, AuditEntry.action == "recorded")
        )
        assert recorded is not None and recorded.detail["source"] == "hotline"
    assert leaks(await raw_database_bytes(settings.database_url), needles(what=WHAT)) == []


async def test_a_batch_of_tips_from_a_csv_file_is_all_or_nothing(
    app: App, wardbot, tmp_path
) -> None:
    await add_phu_lien(app)
    good = tmp_path / "tips.csv"
    good.write_text(
        "source,category,tdp,urgent,received,text\n"
        "tip_box,sudung,Tổ 9,,2026-12-01 08:00,Thanh niên tụ tập hút ở nhà hoang\n"
        "vneid,other,,có,,Tin từ VNeID về điểm bán\n",
        encoding="utf-8",
    )
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "source,category,tdp,urgent,received,text\n"
        "hotline,dealing,,,,Một tin đúng\n"
        "bot,dealing,,,,Nguồn không hợp lệ\n",
        encoding="utf-8",
    )
    refused = await wardbot("tips", "add", "--csv", str(bad))
    assert refused.code == 1 and "line 3" in refused.err and "Traceback" not in refused.err
    async with app.services.db.transaction() as session:
        assert (await session.scalars(select(Tip.id))).all() == []  # nothing half-stored
    done = await wardbot("tips", "add", "--csv", str(good))
    assert done.code == 0, done.err
    assert len(done.out.strip().splitlines()) == 3  # the heading, then two receipts
    async with app.services.db.transaction() as session:
        stored = (await session.scalars(select(Tip).order_by(Tip.id))).all()
    assert [(t.source, t.category, t.urgent) for t in stored] == [
        (TipSource.TIP_BOX, "use", False),
        (TipSource.VNEID, "other", True),
    ]
    for args, problem in [
        (("--source", "hotline"), "standard input"),
        (("--source", "hotline", "--text", "x", "--category", "nonsense"), "category"),
        (("--source", "hotline", "--text", "x", "--received", "yesterday"), "2026-11-22 14:30"),
        (("--source", "hotline", "--text", "x", "--received", "2020-01-01 10:00"), "92 days"),
    ]:
        refused = await wardbot("tips", "add", *args)
        assert refused.code != 0 and problem in refused.err, (args, refused.err)


async def test_area_officers_and_tip_boxes_from_the_command_line(app: App, wardbot) -> None:
    ward = await add_phu_lien(app)
    await enrol(app, ward, OfficerRole.OFFICER, "o1", "CSKV Lan")
    await enrol(app, ward, OfficerRole.OFFICER, "o2", "CSKV Tuấn")
    done = await wardbot(
        "area", "set", "--tdp", "Nam Hai", "--officer", "cskv lan", "--deputy", "CSKV Tuan"
    )
    assert done.code == 0, done.err
    assert "CSKV Lan" in done.out and "CSKV Tuấn" in done.out
    nam_hai = await group_id(app, "Nam Hải")
    async with app.services.db.transaction() as session:
        area = await areas.area_of(session, nam_hai)
        assert area is not None and area.officer is not None and area.deputy is not None
        assert (area.officer.label, area.deputy.label) == ("CSKV Lan", "CSKV Tuấn")
    listing = await wardbot("area", "list")
    assert "Nam Hải\tCSKV Lan\tCSKV Tuấn" in listing.out
    same = await wardbot(
        "area", "set", "--tdp", "Nam Hai", "--officer", "CSKV Lan", "--deputy", "cskv lan"
    )
    assert same.code == 1 and "two different" in same.err
    nobody = await wardbot("area", "set", "--tdp", "Nam Hai", "--officer", "Ai đó")
    assert nobody.code == 1 and "officer list" in nobody.err
    assert (await wardbot("area", "clear", "--tdp", "Nam Hai")).code == 0
    async with app.services.db.transaction() as session:
        assert await areas.area_of(session, nam_hai) is None

    early = await wardbot("box", "open", "--tdp", "Nam Hai", "--by", "CSKV Lan", "--found", "0")
    assert early.code == 1 and "box set" in early.err  # no box yet
    assert (
        await wardbot(
            "box",
            "set",
            "--tdp",
            "Nam Hai",
            "--box-since",
            "2026-01-05",
            "--board-since",
            "2026-02-01",
        )
    ).code == 0
    opened = await wardbot(
        "box",
        "open",
        "--tdp",
        "Nam Hai",
        "--date",
        "2026-12-01",
        "--by",
        "CSKV Lan và tổ trưởng",
        "--found",
        "2",
    )
    assert opened.code == 0, opened.err
    assert "tips add --source tip_box" in opened.out
    negative = await wardbot("box", "open", "--tdp", "Nam Hai", "--by", "x", "--found", "-1")
    assert negative.code == 1 and "0 to 500" in negative.err
    async with app.services.db.transaction() as session:
        points = await tip_boxes.points_of_ward(session, ward)
        assert str(points[nam_hai].board_since) == "2026-02-01"
    assert (await wardbot("box", "set", "--tdp", "Nam Hai", "--board-since", "none")).code == 0
    async with app.services.db.transaction() as session:
        points = await tip_boxes.points_of_ward(session, ward)
        assert (
            points[nam_hai].board_since is None and str(points[nam_hai].box_since) == "2026-01-05"
        )
    shown = await wardbot("box", "list")
    assert "Nam Hải\tsince 05/01/2026\tnone\t" in shown.out


async def test_a_groups_tip_goes_to_its_area_officer_then_to_everyone(app: App, wardbot) -> None:
    ward = await add_phu_lien(app)
    await enrol(app, ward, OfficerRole.OFFICER, "area-1", "CSKV Lan")
    await enrol(app, ward, OfficerRole.OFFICER, "other-1", "Trinh sát Minh")
    await enrol(app, ward, OfficerRole.COMMANDER, "boss-1", "Trưởng CA Hùng")
    assert (await wardbot("area", "set", "--tdp", "Nam Hai", "--officer", "CSKV Lan")).code == 0
    done = await wardbot("tips", "add", "--source", "vneid", "--tdp", "Nam Hai", "--text", WHAT)
    code = done.out.strip().splitlines()[-1].split("\t")[0]
    assert f"Tin mới {code}" in await outbox_for(app, "area-1")
    assert code not in await outbox_for(app, "other-1") + await outbox_for(app, "boss-1")
    # Its area officer did not acknowledge it in time: everyone on duty is asked.
    async with app.services.db.transaction() as session:
        await session.execute(
            update(Tip)
            .where(Tip.code == code)
            .values(
                status=TipStatus.NEW,
                acknowledged_at=None,
                ack_due_at=utcnow() - timedelta(minutes=1),
            )
        )
    assert await police_tick(app.services) == 1
    for user in ("other-1", "boss-1", "area-1"):
        box = await outbox_for(app, user)
        assert f"Tin {code}" in box and "khu vực" in box, (user, box)
    assert await police_tick(app.services) == 0  # once per deadline
