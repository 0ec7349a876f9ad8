"""A tip as a record for the case file: made in a document worker, its text read back."""

from __future__ import annotations

import io
import unicodedata
from datetime import timedelta

from pypdf import PdfReader

from bot.app import App
from kernel.clock import utcnow
from kernel.i18n import WorkerGettext
from kernel.tip_sources import TipSource
from reports.case_file import gather_case
from storage import tips, triage, wards
from storage.models import OfficerRole
from storage.tips import EventKind
from storage.triage import Outcome
from tests.helpers import add_phu_lien, enrol, group_id

WHAT = "Người đàn ông áo xanh giao gói nhỏ cho khách ở cổng chợ Đôn lúc 21 giờ"
NOTE = "Đã phối hợp tổ trinh sát theo dõi hai buổi tối"


def _text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    text = "\n".join(page.extract_text() or "" for page in reader.pages)
    return unicodedata.normalize("NFC", " ".join(text.split()))


async def test_the_case_file_of_a_phoned_tip(app: App) -> None:
    ward_id = await add_phu_lien(app)
    await enrol(app, ward_id, OfficerRole.COMMANDER, "c1", "Trưởng CA Hùng")
    gid = await group_id(app, "Nam Hải")
    s = app.services
    async with s.db.transaction() as session:
        commander = (await triage.ward_officers(session, ward_id))[0]
        tip, _receipt = await triage.record_received(
            session,
            s.vault,
            s.receipts,
            s.audit,
            s.sla,
            commander,
            triage.Received(
                ward_id=ward_id,
                group_id=gid,
                source=TipSource.HOTLINE,
                category="dealing",
                urgent=True,
                content={"what": WHAT, "where": "cổng chợ Đôn"},
                received_at=utcnow() - timedelta(hours=1),
            ),
        )
        await tips.add_event(
            session, s.vault, tip, EventKind.NOTE, body=NOTE, actor_officer_id=commander.id
        )
        await triage.change_status(
            session, s.vault, s.audit, tip, "closed", commander, outcome=Outcome.CONFIRMED
        )
        ward = await wards.get_ward(session, ward_id)
        assert ward is not None
        gettext = WorkerGettext("vi")
        case = await gather_case(
            session,
            s.vault,
            ward,
            tip,
            produced_by=commander,
            zone=s.settings.zone,
            gettext=gettext,
            language="vi",
            now=utcnow(),
        )
    assert WHAT not in repr(case) and NOTE not in repr(case)
    pdf = await s.documents.run("reports.case_file:render_case_file", case, gettext)
    text = _text(pdf)
    for expected in [
        "PHIẾU TIẾP NHẬN TIN BÁO",
        tip.code,
        "Đường dây nóng",
        "Nam Hải",
        "cổng chợ Đôn",
        WHAT,
        NOTE,
        "thông tin chính xác, đã xử lý",
        "Trưởng CA Hùng",
        "Tài liệu mật",
    ]:
        assert expected in text, expected
