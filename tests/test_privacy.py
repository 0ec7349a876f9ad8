"""The raw bytes a database keeps on disk carry no tip text, no user id, no name.

The database is filled only through public paths (the dispatcher as a channel calls it,
the storage repositories the later features use), then every file the engine wrote for
it is read: the SQLite file and its WAL, or PostgreSQL's relation files and its WAL.
"""

from __future__ import annotations

import logging
import secrets
from datetime import date

from sqlalchemy import func, select

from bot.app import open_app
from engine.conversation import Dispatcher
from handlers import build_routers, fallback
from kernel.clock import utcnow
from kernel.messages import ChatKind
from kernel.routes import Route
from kernel.tip_sources import TipSource
from storage import areas, officers, pledges, tip_boxes, tips, triage, wards
from storage.models import OfficerRole, QuizAnswer
from storage.tips import read_content, read_event_body, read_route
from tests.helpers import Chat, leaks, needles, raw_database_bytes, stored_tip, survey


async def test_raw_database_bytes_hold_no_identifiers_or_tip_text(settings, caplog) -> None:
    tag = secrets.token_hex(4)
    telegram_user = 7_000_000_000 + secrets.randbelow(10**9)
    group_user = 5_000_000_000 + secrets.randbelow(10**9)
    officer_chat = 6_000_000_000 + secrets.randbelow(10**9)
    console_name = f"Nguyễn Thị Mai {tag}"
    tip_text = f"Nhà số 12 ngõ 5 có người bán ma túy đá {tag}"
    tip_place = f"quán karaoke Hoa Hồng {tag}"
    draft_text = f"Trần Văn Bình {tag}"
    note_text = f"đã xác minh, đối tượng Lê Văn C {tag}"
    hotline_text = f"gọi điện báo: kho hàng sau chợ Đôn {tag}"
    phone = f"09{secrets.randbelow(10**8):08d}"
    secret_values = needles(
        telegram_user=telegram_user,
        group_user=group_user,
        officer_chat=officer_chat,
        console_name=console_name,
        tip_text=tip_text,
        tip_place=tip_place,
        draft_text=draft_text,
        note_text=note_text,
        phone=phone,
        hotline_text=hotline_text,
    )

    caplog.set_level(logging.DEBUG)
    app = await open_app(settings)
    app.dispatcher = Dispatcher(app.services, [*build_routers(), survey], fallback=fallback)
    try:
        # Residents talking to the bot, on several channels, one with a draft in progress.
        resident = Chat(app, str(telegram_user), channel="telegram")
        await resident.send("/start")
        await resident.send("/survey")
        await resident.send(draft_text)  # stays in the sealed draft
        console_user = Chat(app, console_name)
        await console_user.send("/start")
        await console_user.send(action="lang:en")
        in_group = Chat(
            app, str(group_user), channel="telegram", kind=ChatKind.GROUP, chat_id="-1001"
        )
        await in_group.send("/start")

        async with app.services.db.transaction() as session:
            ward = await wards.add_ward(session, "Phù Liễn", city="Hải Phòng")
            rows = [wards.GroupRow(1, "Đẩu Sơn 1", "DS1"), wards.GroupRow(2, "Nam Hải")]
            await wards.import_groups(session, ward, rows)
            group = (await wards.find_groups(session, ward, "dau son 1"))[0]
            officer = await officers.add_officer(
                session, ward_id=ward.id, role=OfficerRole.OFFICER, label="Tổ trinh sát 1"
            )
            await officers.bind_account(
                session,
                app.services.vault,
                officer,
                app.services.pseudonyms.of("officer", "telegram", str(officer_chat)),
                Route("telegram", str(officer_chat)),
            )
            tip, receipt = await stored_tip(
                session,
                app.services,
                ward_id=ward.id,
                group_id=group.id,
                category="dealing",
                content={"what": tip_text, "where": tip_place, "contact": phone},
                route=Route("telegram", str(telegram_user)),
            )
            event = await tips.add_event(
                session,
                app.services.vault,
                tip,
                "note",
                body=note_text,
                actor_officer_id=officer.id,
                to_status="acknowledged",
            )
            tip_id, event_id = tip.id, event.id
            # A tip told by phone, recorded by the officer, and the group's tip box.
            await triage.record_received(
                session,
                app.services.vault,
                app.services.receipts,
                app.services.audit,
                app.services.sla,
                officer,
                triage.Received(
                    ward_id=ward.id,
                    group_id=group.id,
                    source=TipSource.HOTLINE,
                    category="dealing",
                    urgent=False,
                    content={"what": hotline_text},
                    received_at=utcnow(),
                ),
            )
            await tip_boxes.set_points(session, group, box_since=date(2026, 1, 1), board_since=None)
            await tip_boxes.record_opening(
                session,
                group,
                opened_on=date(2026, 2, 1),
                opened_by="CSKV và tổ trưởng",
                tips_found=1,
                recorded_by=officer,
                today=date(2026, 2, 2),
            )
            await areas.set_area(session, group, officer)

        # The same resident takes part in the campaign: subscribes, pledges, answers the
        # quiz. Each is kept under its own pseudonym, none under the account.
        await resident.send("/subscribe")
        await resident.send("Nam Hải")
        await resident.send("/pledge")
        await resident.send(action="pledge:sign")
        await resident.send(action=f"pledge:grp:{group.id}")
        await resident.send("/quiz")
        await resident.send("1")
        async with app.services.db.transaction() as session:
            assert (await pledges.household_counts(session, ward.id)).total == 1
            assert await session.scalar(select(func.count()).select_from(QuizAnswer)) == 1

        # The same values come back out through the keys: they were really stored.
        async with app.services.db.transaction() as session:
            tip = await session.get(tips.Tip, tip_id)
            assert read_content(app.services.vault, tip)["what"] == tip_text
            assert read_route(app.services.vault, tip).chat_id == str(telegram_user)
            event = await session.get(tips.TipEvent, event_id)
            assert read_event_body(app.services.vault, tip, event) == note_text
        secret_values.update(needles(receipt_secret=receipt.secret))
    finally:
        await app.close()

    raw = await raw_database_bytes(settings.database_url)
    # Control: public names are stored as written, so the scan does see real data.
    public = needles(group_name="Đẩu Sơn 1", officer_label="Tổ trinh sát 1")
    assert leaks(raw, public) == ["group_name", "officer_label"]
    assert leaks(raw, secret_values) == []
    assert leaks(caplog.text.encode(), secret_values) == []


async def test_shredded_tip_cannot_be_read_back(app) -> None:
    tag = secrets.token_hex(4)
    text = f"Có người trồng cần sa sau nhà văn hóa {tag}"
    async with app.services.db.transaction() as session:
        ward = await wards.add_ward(session, "Phù Liễn")
        tip, _ = await stored_tip(
            session, app.services, ward_id=ward.id, category="growing", content={"what": text}
        )
        sealed = tip.sealed_content
        await tips.shred(session, tip)
        tip_id = tip.id
    async with app.services.db.transaction() as session:
        tip = await session.get(tips.Tip, tip_id)
        assert tip.wrapped_key is None and tip.sealed_content is None
        try:
            read_content(app.services.vault, tip)
        except tips.TipShredded:
            pass
        else:  # pragma: no cover
            raise AssertionError("a shredded tip was readable")
    assert sealed is not None and text.encode() not in sealed


async def test_sqlite_keeps_no_commit_history_after_a_tip_or_a_subscription(app, backend) -> None:
    """The commits that wrote a tip or a subscription are copied into the database file
    and the WAL emptied at once: a copy of the running folder taken afterwards cannot
    replay which rows were written together, or in which order."""
    if backend != "sqlite":
        return  # PostgreSQL's WAL and transaction ids: see README's privacy model
    from pathlib import Path

    from tests.helpers import add_phu_lien, send_report

    await add_phu_lien(app)
    wal = Path(f"{app.services.db.url.database}-wal")
    resident = Chat(app, "an")
    await resident.send("/start")
    assert wal.stat().st_size > 0  # ordinary conversation commits are in the WAL
    await send_report(resident, "có người bán hàng ở ngõ 3")
    assert wal.stat().st_size == 0
    await resident.send("/subscribe")
    await resident.send("Nam Hải")
    assert wal.stat().st_size == 0
