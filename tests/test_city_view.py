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
