"""The city's view: one row per ward, figures only, small counts masked."""

from __future__ import annotations

from datetime import timedelta

from bot.app import App
from kernel.clock import utcnow
from kernel.tip_sources import TipSource
from reports.city import gather_city
from reports.periods import parse_report_period
from storage import officers, triage, wards
from storage.models import OfficerRole


def english(text: str) -> str:
    return text


async def test_one_row_per_ward_with_small_counts_masked(app: App) -> None:
    s = app.services
    now = utcnow()
    period = parse_report_period(now.astimezone(s.settings.zone).strftime("%Y-%m"))
    async with s.db.transaction() as session:
        counts = {"Phù Liễn": 4, "Đông Hải": 1, "Tràng Cát": 2, "Nam Sơn": 0}
        for name, n in counts.items():
            ward = await wards.add_ward(session, name, city="Hải Phòng")
            await wards.import_groups(session, ward, [wards.GroupRow(1, f"Tổ 1 {name}")])
            officer = await officers.add_officer(
                session, ward_id=ward.id, role=OfficerRole.COMMANDER, label=f"CA {name}"
            )
            for _ in range(n):
                await triage.record_received(
                    session,
                    s.vault,
                    s.receipts,
                    s.audit,
                    s.sla,
                    officer,
                    triage.Received(
                        ward_id=ward.id,
                        group_id=None,
                        source=TipSource.HOTLINE,
                        category="use",
                        urgent=False,
                        content={"what": "x"},
                        received_at=now - timedelta(minutes=5),
                    ),
                )
    async with s.db.transaction() as session:
        city = await gather_city(
            session, period, zone=s.settings.zone, now=now + timedelta(minutes=1), gettext=english
        )
    shown = {line.ward: (str(line.received), line.received_on_time) for line in city.lines}
    assert set(shown) == set(counts)
    assert shown["Phù Liễn"][0] == "4" and shown["Phù Liễn"][1] is not None
    assert shown["Phù Liễn"][1].part == shown["Phù Liễn"][1].whole == 4
    # One and two: masked, and their shares (which would give the counts away) not shown.
    assert shown["Đông Hải"] == ("<3", None) and shown["Tràng Cát"] == ("<3", None)
    assert shown["Nam Sơn"][0] == "0"
    assert city.received == 7
    assert (city.received_on_time.part, city.received_on_time.whole) == (7, 7)
    assert city.groups_reached.whole == 4  # one TDP each, one month


async def test_a_citys_staff_see_figures_only_never_a_tip(app: App) -> None:
    from tests.helpers import Chat, add_phu_lien, enrol, outbox_for, send_report

    ward = await add_phu_lien(app)
    async with app.services.db.transaction() as session:
        await wards.add_ward(session, "Đông Hải", city="Hải Phòng")
    await enrol(app, ward, OfficerRole.OFFICER, "officer", "Trinh sát Minh")
    viewer = await enrol(app, ward, OfficerRole.CITY, "city-1", "Phòng PC04 thành phố")
    code, _ = await send_report(Chat(app, "resident"), "Có người bán ma túy ở chợ", ward_id=ward)
    assert code in await outbox_for(app, "officer")
    assert code not in await outbox_for(app, "city-1")  # never told of a tip
    for command in ("/queue", f"/tip {code}", f"/hoso {code}", "/ghitin", "/baocao", "/stats"):
        await viewer.send(command)
        assert viewer.text.startswith("Xin lỗi, tôi chưa hiểu ý bạn."), command
    await viewer.send(action=f"police:tip:{code}")
    assert viewer.text.startswith("Xin lỗi, tôi chưa hiểu ý bạn.")
    await viewer.send("/help")
    assert "/thanhpho" in viewer.text and "/queue" not in viewer.text
    await viewer.send("/thanhpho")
    # One tip in the city: the ward's count is withheld, the total alone says it.
    assert "Phù Liễn: x tin báo" in viewer.text and "Đông Hải: 0 tin báo" in viewer.text
    assert "Có người bán" not in viewer.text and code not in viewer.text
    async with app.services.db.transaction() as session:
        # Not an area officer either.
        from storage import areas
        from storage.areas import AreaRefused

        group = (await wards.match_groups(session, await wards.get_ward(session, ward), "Nam Hải"))[
            0
        ]
        city_staff = next(
            o for o in await officers.list_officers(session, ward) if o.role == OfficerRole.CITY
        )
        try:
            await areas.set_area(session, group, city_staff)
        except AreaRefused:
            pass
        else:
            raise AssertionError("a city's staff became an area officer")
