"""The police record tips from every source in chat (/ghitin), set area officers
(/khuvuc) and make a tip's case-file record (/hoso); residents and officers without the
role get the unknown-command answer, forged buttons change nothing."""

from __future__ import annotations

import io
import re
import unicodedata

from pypdf import PdfReader
from sqlalchemy import select

from bot.app import App
from kernel.clock import utcnow
from kernel.messages import ChannelInfo
from kernel.tip_sources import TipSource
from storage import areas
from storage.models import AuditEntry, OfficerRole, Tip, TipStatus
from tests.helpers import Chat, add_phu_lien, enrol, group_id, outbox_for

UNKNOWN = "Xin lỗi, tôi chưa hiểu ý bạn."
WHAT = "Gọi điện báo: tối nào cũng có người giao hàng ở quán net đầu ngõ 3"
RECEIPT = re.compile(r"Mã: (?P<code>[A-Z0-9]{7})\nMật mã: (?P<secret>[A-Z0-9-]{19})")


async def _record(officer: Chat, *, tdp: str = "Nam Hai", urgent: bool = False) -> tuple[str, str]:
    await officer.send("/ghitin")
    assert "Tin đến từ đâu?" in officer.text
    await officer.send(action="rec:src:hotline")
    await officer.send(action="rec:cat:dealing")
    await officer.send(tdp)
    await officer.send(action=f"rec:urgent:{'yes' if urgent else 'no'}")
    assert "Không ghi tên hay số điện thoại" in officer.text
    await officer.send(WHAT)
    assert "Đường dây nóng" in officer.text and WHAT in officer.text
    assert all(reply.protect for reply in officer.last)
    await officer.send(action="rec:save")
    found = RECEIPT.search(officer.text)
    assert found, officer.text
    assert all(reply.protect and reply.delete_after for reply in officer.last)
    return found["code"], found["secret"]


async def test_a_phoned_tip_recorded_in_chat_reaches_its_area_officer(app: App) -> None:
    ward = await add_phu_lien(app)
    taker = await enrol(app, ward, OfficerRole.OFFICER, "taker", "Trực ban Hòa")
    await enrol(app, ward, OfficerRole.OFFICER, "area", "CSKV Lan")
    commander = await enrol(app, ward, OfficerRole.COMMANDER, "boss", "Trưởng CA Hùng")
    await commander.send("/khuvuc")
    assert "Nam Hải: chưa có" in commander.text
    await commander.send("nam hai")
    await commander.pick("CSKV Lan")
    assert "Còn cán bộ phó?" in commander.text
    await commander.pick("Không có cán bộ phó")
    assert "Nam Hải: cảnh sát khu vực CSKV Lan" in commander.text
    nam_hai = await group_id(app, "Nam Hải")
    async with app.services.db.transaction() as session:
        area = await areas.area_of(session, nam_hai)
        assert area is not None and area.officer is not None and area.officer.label == "CSKV Lan"

    code, secret = await _record(taker)
    async with app.services.db.transaction() as session:
        tip = (await session.scalars(select(Tip).where(Tip.code == code))).one()
        assert (tip.source, tip.group_id, tip.status) == (
            TipSource.HOTLINE,
            nam_hai,
            TipStatus.ACKNOWLEDGED,
        )
        actions = (
            await session.scalars(select(AuditEntry.action).where(AuditEntry.action == "area"))
        ).all()
        assert actions == ["area"]
    assert f"Tin mới {code}" in await outbox_for(app, "area")
    assert code not in await outbox_for(app, "boss")
    await taker.send(f"/tip {code}")
    assert "Nguồn tin: Đường dây nóng (điện thoại)" in taker.text and WHAT in taker.text
    # The person who reported in person follows it with the receipt, anonymously.
    person = Chat(app, "a-neighbour")
    await person.send(f"/kiemtra {code} {secret}")
    assert f"Tin {code}" in person.text


async def test_only_the_police_record_and_only_commanders_set_areas(app: App) -> None:
    ward = await add_phu_lien(app)
    officer = await enrol(app, ward, OfficerRole.OFFICER, "o1", "Trinh sát Minh")
    resident = Chat(app, "resident")
    for chat, command in [(resident, "/ghitin"), (resident, "/khuvuc"), (officer, "/khuvuc")]:
        await chat.send(command)
        assert chat.text.startswith(UNKNOWN), (chat.user, command)
    await resident.send(action="rec:src:hotline")
    assert resident.text.startswith(UNKNOWN)
    # Forged and stale buttons: nothing is recorded, the officer is asked again.
    await officer.send(action="rec:save")
    assert "Không có gì để ghi" in officer.text
    # The bot's own source, an unknown category, a 40-digit group: refused as they are
    # parsed, with the unknown-command answer.
    for forged in ("rec:src:bot", "rec:cat:nonsense", f"rec:grp:{'9' * 40}", "rec:urgent:maybe"):
        await officer.send(action=forged)
        assert officer.text.startswith(UNKNOWN), forged
    await officer.send(action="rec:src:hotline")
    await officer.send(action="rec:cat:use")
    assert "Gõ tên tổ" in officer.text
    await officer.send("Qwxyz")
    assert "Không có tổ dân phố nào tên như vậy" in officer.text
    await officer.send(action="rec:cancel")
    async with app.services.db.transaction() as session:
        assert (await session.scalars(select(Tip.id))).all() == []


async def test_the_case_file_for_the_commander_as_a_protected_pdf(app: App) -> None:
    ward = await add_phu_lien(app)
    taker = await enrol(app, ward, OfficerRole.OFFICER, "taker", "Trực ban Hòa")
    code, _ = await _record(taker, urgent=True)
    await taker.send(f"/hoso {code}")  # not assigned to them, not a commander
    assert "Không có tin nào mang mã này" in taker.text
    app.dispatcher.register_channel(ChannelInfo("telegram", can_send_files=True))
    async with app.services.db.transaction() as session:
        _row, invite = await app.services.invites.create(
            session, ward_id=ward, role=OfficerRole.COMMANDER, label="Trưởng CA Hùng"
        )
    commander = Chat(app, "800", channel="telegram")
    await commander.send(f"/join {invite.lower()}")
    await commander.send(f"/hoso {code}")
    files = [(reply, m) for reply in commander.last for m in reply.media]
    assert len(files) == 1, commander.text
    reply, pdf = files[0]
    assert reply.protect and pdf.filename == f"phieu-{code}.pdf"
    text = unicodedata.normalize(
        "NFC", " ".join((PdfReader(io.BytesIO(pdf.data)).pages[0].extract_text() or "").split())
    )
    for expected in (code, "Đường dây nóng", WHAT, "khẩn cấp", "Nam Hải", "Trưởng CA Hùng"):
        assert expected in text, expected
    async with app.services.db.transaction() as session:
        produced = (
            await session.scalars(select(AuditEntry).where(AuditEntry.action == "case_file"))
        ).all()
    assert len(produced) == 1
    await commander.send("/hoso ZZZZZZZ")
    assert "Không có tin nào mang mã này" in commander.text


async def test_tip_boxes_and_their_openings_from_chat(app: App) -> None:
    ward = await add_phu_lien(app)
    officer = await enrol(app, ward, OfficerRole.OFFICER, "o1", "CSKV Lan")
    await officer.send("/hommthu")
    assert "Nam Hải: hòm thư không có" in officer.text
    await officer.send("nam hai")
    await officer.pick("Một lần mở hòm thư")
    await officer.send("0")
    assert "chưa được ghi là có hòm thư" in officer.text  # no box on record yet
    await officer.send("/hommthu")
    await officer.send("nam hai")
    await officer.pick("Có hòm thư từ hôm nay")
    assert "Nam Hải: hòm thư từ" in officer.text
    await officer.send("/hommthu")
    await officer.send("nam hai")
    await officer.pick("Một lần mở hòm thư")
    await officer.send("nhiều")
    assert "từ 0 đến 500" in officer.text
    await officer.send("2")
    assert "có 2 tin báo" in officer.text
    await officer.pick("Ghi một tin báo từ hòm thư")  # straight into /ghitin, source known
    assert "Tin báo về việc gì?" in officer.text
    nam_hai = await group_id(app, "Nam Hải")
    async with app.services.db.transaction() as session:
        from storage import tip_boxes

        today = utcnow().astimezone(app.services.settings.zone).date()
        openings = await tip_boxes.openings_between(session, ward, today, today)
        assert [(o.group_id, o.tips_found, o.opened_by) for o in openings] == [
            (nam_hai, 2, "CSKV Lan")
        ]


async def test_the_commanders_remarks_for_a_report(app: App) -> None:
    ward = await add_phu_lien(app)
    commander = await enrol(app, ward, OfficerRole.COMMANDER, "boss", "Trưởng CA Hùng")
    officer = await enrol(app, ward, OfficerRole.OFFICER, "o1", "CSKV Lan")
    await officer.send("/nhanxet")
    assert officer.text.startswith(UNKNOWN)
    await commander.send("/nhanxet 2026-Q3")
    assert "Quý III/2026" in commander.text
    await commander.send("Thiếu kinh phí cho camera; đề xuất hỗ trợ thêm.")
    assert "Đã lưu vào báo cáo Quý III/2026" in commander.text
    await commander.send("/nhanxet 2026-q3")
    assert "Thiếu kinh phí cho camera" in commander.text
    await commander.send("-")
    async with app.services.db.transaction() as session:
        from storage import report_remarks

        assert await report_remarks.read(session, ward, "2026-Q3") == ""
    await commander.send("/nhanxet quý ba")
    assert "Cách dùng" in commander.text


async def test_a_location_pin_opens_in_a_map_app(app: App) -> None:
    from tests.helpers import RECEIPT as SENT
    from tests.helpers import mix_all

    ward = await add_phu_lien(app)
    officer = await enrol(app, ward, OfficerRole.OFFICER, "o1", "CSKV Lan")
    resident = Chat(app, "resident-pin")
    await resident.send("/start")
    for action in ("report:start", "report:cat:use", "report:grp:none"):
        await resident.send(action=action)
    await resident.send(location=(20.85, 106.68))
    for action in ("report:when:today",):
        await resident.send(action=action)
    await resident.send(WHAT)
    for action in ("report:what-done", "report:files-done", "report:contact:no", "report:send"):
        await resident.send(action=action)
    sent = SENT.search(resident.text)
    assert sent, resident.text
    await mix_all(app)
    await officer.send(f"/tip {sent['code']}")
    assert "geo:20.85,106.68" in officer.text
    assert "openstreetmap.org/?mlat=20.85&mlon=106.68" in officer.text
    assert all(reply.protect for reply in officer.last)  # and so no link preview is fetched


async def test_audit_tells_a_recorded_tip_and_its_case_file(app: App) -> None:
    ward = await add_phu_lien(app)
    taker = await enrol(app, ward, OfficerRole.OFFICER, "taker", "Trực ban Hòa")
    commander = await enrol(app, ward, OfficerRole.COMMANDER, "boss", "Trưởng CA Hùng")
    code, _ = await _record(taker)
    await commander.send(f"/audit {code}")
    assert "Trực ban Hòa ghi tin báo, nhận qua nguồn đường dây nóng (điện thoại)" in commander.text
