"""Awareness broadcasts: the monthly guarantee and the campaign calendar (planned from
the tables, across month ends and restarts), quiet hours, topic rotation, warnings
about TDPs nobody can reach, and the content library."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot.app import open_app
from bot.jobs import plan_tick
from broadcasts import deliveries, library, planner
from broadcasts.calendar import QuietHours, campaign_days
from broadcasts.deliveries import Outcome
from kernel.routes import Route
from storage import group_chats, officers, subscribers
from storage.models import (
    AwarenessMessage,
    Broadcast,
    BroadcastKind,
    CoverageAlert,
    DeliveryStatus,
    OfficerRole,
    OutboxMessage,
    ResidentialGroup,
)
from tests.helpers import add_phu_lien, deliver_everything

HCM = ZoneInfo("Asia/Ho_Chi_Minh")


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=HCM).astimezone(UTC)  # type: ignore[misc]


async def officer(app, ward_id: int, role: OfficerRole, chat: str):  # type: ignore[no-untyped-def]
    services = app.services
    async with services.db.transaction() as session:
        row = await officers.add_officer(session, ward_id=ward_id, role=role, label=f"cb {chat}")
        route = Route("telegram", chat)
        account = services.pseudonyms.of("officer", "telegram", chat)
        await officers.bind_account(session, services.vault, row, account, route)
        return row.id


async def groups_of(app, ward_id: int) -> list[ResidentialGroup]:  # type: ignore[no-untyped-def]
    async with app.services.db.transaction() as session:
        query = select(ResidentialGroup).where(ResidentialGroup.ward_id == ward_id)
        return list((await session.scalars(query.order_by(ResidentialGroup.id))).all())


async def register_chats(app, ward_id: int, officer_id: int, skip: int = 0) -> list[Route]:  # type: ignore[no-untyped-def]
    """A Telegram supergroup chat for every TDP but the last `skip`."""
    services, routes = app.services, []
    groups = await groups_of(app, ward_id)
    async with services.db.transaction() as session:
        by = await session.get(officers.Officer, officer_id)
        for index, group in enumerate(groups[: len(groups) - skip]):
            route = Route("telegram", str(-1_002_000_000_000 - 7919 * index))
            await group_chats.register(
                session, services.vault, services.pseudonyms, route, group, by
            )
            routes.append(route)
    return routes


async def plan(app, now: datetime) -> planner.Plan:  # type: ignore[no-untyped-def]
    async with app.services.db.transaction() as session:
        return await planner.plan(session, app.services.settings, now)


async def monthly(app, period: str) -> list[Broadcast]:  # type: ignore[no-untyped-def]
    async with app.services.db.transaction() as session:
        query = select(Broadcast).where(
            Broadcast.kind == BroadcastKind.MONTHLY, Broadcast.period == period
        )
        return list((await session.scalars(query)).all())


# ---- the library ----------------------------------------------------------------------


def test_the_shipped_library_is_complete_and_usable() -> None:
    shipped = library.read_library()
    rotation = [c for c in shipped if not c.campaign]
    assert len(rotation) >= 24
    assert len({c.topic for c in rotation}) >= 8
    assert {c.audience for c in rotation} == set(library.AUDIENCES)
    assert len([c for c in shipped if c.campaign == "june"]) >= 5  # one per week of June
    assert [c for c in shipped if c.campaign == "day-26-6"]
    for content in shipped:
        assert content.text_en, content.slug
        assert any(ch in content.text_vi for ch in "ạảấầẩẫậắằẳẵặẹẻẽếềểễệịỉọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹđ")
    for content in (c for c in shipped if c.topic == "report"):
        assert "{hotlines}" in content.text_vi


async def test_shipped_messages_arrive_and_the_wards_edits_survive_a_restart(settings) -> None:
    app = await open_app(settings)
    try:
        async with app.services.db.transaction() as session:
            count = await session.scalar(select(func.count()).select_from(AwarenessMessage))
            assert count == len(library.read_library())
            first = (await library.list_messages(session))[0]
            await library.edit(session, first, text_vi="Bà con {ward} lưu ý: {hotlines}")
            second = (await library.list_messages(session))[1]
            second.active = False
            second.edited = True
    finally:
        await app.close()
    app = await open_app(settings)  # the restart syncs the library file again
    try:
        async with app.services.db.transaction() as session:
            kept = await library.find(session, first.slug)
            assert kept is not None and kept.text_vi == "Bà con {ward} lưu ý: {hotlines}"
            still_off = await library.find(session, second.slug)
            assert still_off is not None and not still_off.active
    finally:
        await app.close()


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("Xin chào {name}", "unknown placeholder"),
        ("Dấu ngoặc { lẻ", "stray"),
        ("x" * 4000, "longer than"),
    ],
)
def test_a_bad_message_text_is_refused_with_a_reason(text: str, problem: str) -> None:
    with pytest.raises(library.ContentError, match=problem):
        library.Content("bad-one", "harms", "everyone", text)


def test_a_source_or_image_address_too_long_for_its_column_is_refused() -> None:
    with pytest.raises(library.ContentError, match="at most 500"):
        library.Content("bad-one", "harms", "everyone", "Xin chào", source="x" * 501)
    with pytest.raises(library.ContentError, match="at most 500"):
        library.Content(
            "bad-one", "harms", "everyone", "Xin chào", image_url="https://example.org/" + "a" * 490
        )
    with pytest.raises(library.ContentError, match="https"):
        library.Content("bad-one", "harms", "everyone", "Xin chào", image_url="http://x.vn/a.jpg")


# ---- time ---------------------------------------------------------------------------------


def test_quiet_hours_span_midnight_in_the_wards_time() -> None:
    quiet = QuietHours("21:00", "07:00", HCM)
    assert quiet.is_quiet(local(2026, 11, 22, 21, 0))
    assert quiet.is_quiet(local(2026, 11, 23, 6, 59))
    assert not quiet.is_quiet(local(2026, 11, 23, 7, 0))
    assert not quiet.is_quiet(local(2026, 11, 22, 20, 59))
    assert quiet.next_allowed(local(2026, 11, 22, 23, 30)) == local(2026, 11, 23, 7, 0)
    assert quiet.next_allowed(local(2026, 11, 23, 2, 0)) == local(2026, 11, 23, 7, 0)
    assert quiet.next_allowed(local(2026, 11, 23, 9, 0)) == local(2026, 11, 23, 9, 0)


def test_june_has_a_message_each_week_and_26_6_is_one_day() -> None:
    assert [d.day for _, d in campaign_days(2027, 6, None)] == [1, 8, 15, 22, 29]
    assert [d.isoformat() for _, d in campaign_days(2027, 6, 26)] == ["2027-06-26"]


# ---- the monthly guarantee ---------------------------------------------------------------


async def test_every_tdp_gets_one_message_a_month_across_month_ends_and_restarts(
    settings,
) -> None:
    settings = replace(settings, campaigns=())
    app = await open_app(settings)
    try:
        ward = await add_phu_lien(app)
        chief = await officer(app, ward, OfficerRole.COMMANDER, "7001")
        await register_chats(app, ward, chief)
        groups = await groups_of(app, ward)
        # 3 November, 10:00: each TDP is planned for the 5th at 09:00, none twice.
        result = await plan(app, local(2026, 11, 3, 10))
        assert len(result.planned) == len(groups) and not result.unreachable
        assert {b.scheduled_at for b in result.planned} == {local(2026, 11, 5, 9)}
        assert not (await plan(app, local(2026, 11, 3, 10, 5))).planned
    finally:
        await app.close()

    app = await open_app(settings)  # a restart plans nothing twice
    try:
        assert not (await plan(app, local(2026, 11, 4, 8))).planned
        assert await deliver_everything(app, local(2026, 11, 4, 12)) == 0  # not due yet
        assert await deliver_everything(app, local(2026, 11, 5, 9, 1)) == len(groups)
        assert not (await plan(app, local(2026, 11, 30, 23, 59))).planned  # covered
        # The month ends: the first tick of December plans December for every TDP.
        december = await plan(app, local(2026, 12, 1, 0, 1))
        assert sorted(b.group_id for b in december.planned) == sorted(g.id for g in groups)
        assert all(b.period == "2026-12" for b in december.planned)
        assert len(await monthly(app, "2026-11")) == len(groups)
    finally:
        await app.close()


async def test_a_failed_month_is_planned_again_the_next_day_then_reported(settings) -> None:
    settings = replace(settings, campaigns=())
    app = await open_app(settings)
    try:
        ward = await add_phu_lien(app)
        chief = await officer(app, ward, OfficerRole.COMMANDER, "7002")
        await register_chats(app, ward, chief)
        group = (await groups_of(app, ward))[0]
        await plan(app, local(2026, 11, 3, 10))
        async with app.services.db.transaction() as session:  # Nam Hải's chat is gone
            await deliveries.start_due(session, local(2026, 11, 5, 9))
            for broadcast in await deliveries.to_expand(session):
                await deliveries.expand(session, broadcast)
            jobs = await deliveries.claim(
                session, app.services.vault, "telegram", local(2026, 11, 5, 9), 100
            )
            await deliveries.record(
                session,
                [
                    Outcome(
                        j, DeliveryStatus.FAILED if j.group_id == group.id else DeliveryStatus.SENT
                    )
                    for j in jobs
                ],
                local(2026, 11, 5, 9),
            )
            await deliveries.finish_done(session, local(2026, 11, 5, 9, 1))
        again = await plan(app, local(2026, 11, 5, 10))
        assert [b.group_id for b in again.planned] == [group.id]
        assert again.planned[0].scheduled_at == local(2026, 11, 6, 9)  # tomorrow, usual time
        for day in (6, 7):  # it keeps failing
            async with app.services.db.transaction() as session:
                await deliveries.start_due(session, local(2026, 11, day, 9))
                for broadcast in await deliveries.to_expand(session):
                    await deliveries.expand(session, broadcast)
                jobs = await deliveries.claim(
                    session, app.services.vault, "telegram", local(2026, 11, day, 9), 100
                )
                failed = [Outcome(j, DeliveryStatus.FAILED) for j in jobs]
                await deliveries.record(session, failed, local(2026, 11, day, 9))
                await deliveries.finish_done(session, local(2026, 11, day, 9, 1))
            await plan(app, local(2026, 11, day, 10))
        final = await plan(app, local(2026, 11, 8, 10))
        assert not final.planned
        assert [(u.group.id, u.reason) for u in final.unreachable] == [(group.id, "all-failed")]
    finally:
        await app.close()


async def test_an_unreachable_tdp_is_reported_to_the_commander_once_a_month(app) -> None:
    ward = await add_phu_lien(app)
    await officer(app, ward, OfficerRole.COMMANDER, "7003")
    chief = await officer(app, ward, OfficerRole.OFFICER, "7004")
    await register_chats(app, ward, chief, skip=2)
    services = replace(app.services, settings=replace(app.services.settings, monthly_day=1))
    await plan_tick(services)
    await plan_tick(services)
    async with app.services.db.transaction() as session:
        alerts = (await session.scalars(select(CoverageAlert))).all()
        notices = await session.scalar(select(func.count()).select_from(OutboxMessage))
    assert len(alerts) == 2 and {a.reason for a in alerts} == {"no-target"}
    assert notices == 2  # one per TDP, to the one commander, however many ticks


async def test_rotation_never_repeats_a_message_to_a_tdp_within_a_year(settings) -> None:
    settings = replace(settings, campaigns=())
    app = await open_app(settings)
    try:
        ward = await add_phu_lien(app)
        chief = await officer(app, ward, OfficerRole.COMMANDER, "7005")
        await register_chats(app, ward, chief)
        groups = await groups_of(app, ward)
        seen: dict[int, list[int]] = {g.id: [] for g in groups}
        for month in range(12):
            year, number = 2027 + month // 12, month % 12 + 1
            result = await plan(app, local(year, number, 10, 10))
            for broadcast in result.planned:
                seen[broadcast.group_id].append(broadcast.message_id)
            await deliver_everything(app, local(year, number, 10, 10, 5))
        for group_id, messages in seen.items():
            assert len(messages) == 12 and len(set(messages)) == 12, group_id
        # Neighbouring TDPs do not all get the same message in the same month.
        first_month = [messages[0] for messages in seen.values()]
        assert len(set(first_month)) > 1
    finally:
        await app.close()


# ---- campaigns --------------------------------------------------------------------------


async def test_june_weekly_and_26_6_reach_every_tdp_and_count_for_the_month(app) -> None:
    ward = await add_phu_lien(app)
    chief = await officer(app, ward, OfficerRole.COMMANDER, "7006")
    await register_chats(app, ward, chief)
    groups = await groups_of(app, ward)
    async with app.services.db.transaction() as session:
        for index, group in enumerate(groups[:3]):
            await subscribers.subscribe(
                session,
                app.services.vault,
                app.services.pseudonyms,
                Route("telegram", str(5000 + index)),
                group,
                "vi",
            )
    # 31 May, 09:30: the first June message is planned a day ahead, for 1 June 09:00.
    result = await plan(app, local(2027, 5, 31, 9, 30))
    june = [b for b in result.planned if b.kind == BroadcastKind.CAMPAIGN]
    assert [b.scheduled_at for b in june] == [local(2027, 6, 1, 9)]
    assert june[0].group_id is None and june[0].period == "2027-06"
    assert await deliver_everything(app, local(2027, 5, 31, 10)) == len(groups) + 3  # May's
    sent = await deliver_everything(app, local(2027, 6, 1, 9, 1))
    assert sent == len(groups) + 3  # every group chat and every subscriber
    # June's monthly guarantee is met by the campaign: no monthly broadcast in June.
    for day in (5, 8, 15, 22, 26, 29):
        await plan(app, local(2027, 6, day, 8))
        await deliver_everything(app, local(2027, 6, day, 9, 30))
    assert await monthly(app, "2027-06") == []
    async with app.services.db.transaction() as session:
        campaign = (
            await session.scalars(select(Broadcast).where(Broadcast.kind == BroadcastKind.CAMPAIGN))
        ).all()
        slugs = {(await session.get(AwarenessMessage, b.message_id)).slug for b in campaign}
        day_26 = [b for b in campaign if b.plan_key and "day-26-6" in b.plan_key]
    assert len(campaign) == 6  # five June weeks and 26/6
    assert len(slugs) == 6  # no message twice
    assert day_26[0].scheduled_at == local(2027, 6, 26, 8) and day_26[0].to_subscribers


async def test_a_campaign_date_missed_while_the_bot_was_down_is_sent_late_not_never(app) -> None:
    ward = await add_phu_lien(app)
    chief = await officer(app, ward, OfficerRole.COMMANDER, "7007")
    await register_chats(app, ward, chief)
    # The bot was down from 25 June to 27 June 10:00 (inside the grace of two days).
    late = await plan(app, local(2027, 6, 27, 10))
    keys = [b.plan_key for b in late.planned if b.kind == BroadcastKind.CAMPAIGN]
    assert any("day-26-6" in (k or "") for k in keys)
    # Down for a week: a 26/6 message on 3 July would be odd, so it is skipped.
    other = await plan(app, local(2028, 7, 3, 10))
    assert not [b for b in other.planned if b.kind == BroadcastKind.CAMPAIGN]


async def test_planned_times_never_fall_in_quiet_hours(settings) -> None:
    settings = replace(settings, campaigns=(), monthly_time="22:30")
    app = await open_app(settings)
    try:
        ward = await add_phu_lien(app)
        chief = await officer(app, ward, OfficerRole.COMMANDER, "7008")
        await register_chats(app, ward, chief)
        result = await plan(app, local(2026, 11, 2, 10))
        assert {b.scheduled_at for b in result.planned} == {local(2026, 11, 6, 7)}
        await deliver_everything(app, local(2026, 11, 6, 7))
    finally:
        await app.close()


async def test_a_time_in_the_past_is_planned_for_now_unless_it_is_night(app) -> None:
    ward = await add_phu_lien(app)
    chief = await officer(app, ward, OfficerRole.COMMANDER, "7009")
    await register_chats(app, ward, chief)
    night = await plan(app, local(2026, 11, 20, 23, 15))  # the bot starts late in the month
    assert {b.scheduled_at for b in night.planned} == {local(2026, 11, 21, 7)}
    assert all(b.period == "2026-11" for b in night.planned)


async def test_a_broadcast_is_rendered_only_with_its_ward() -> None:
    """Texts fills {ward} from the broadcast's ward; should the ward be missing (it
    cannot while the broadcast row exists: ON DELETE CASCADE) the batch is refused
    rather than sent with an empty name."""
    from broadcasts.compose import Texts
    from kernel.i18n import Translator
    from storage.models import Ward

    class Session:
        def __init__(self, ward: Ward | None) -> None:
            self.rows = {
                Broadcast: Broadcast(ward_id=1, message_id=None, text="{ward}"),
                Ward: ward,
            }

        async def get(self, model: type, ident: int) -> object:
            return self.rows.get(model)

    job = deliveries.Job(1, 7, deliveries.CHAT, 1, 1, 0, Route("console", "x"), "vi")
    texts = Texts(Translator(), "vi")
    await texts.prepare(Session(Ward(name="Phù Liễn", hotlines=[])), [job])  # type: ignore[arg-type]
    assert texts.for_job(job) == "Phù Liễn"
    with pytest.raises(LookupError, match="ward is gone"):
        await Texts(Translator(), "vi").prepare(Session(None), [job])  # type: ignore[arg-type]


def test_a_campaign_opens_with_its_first_message_and_turns_through_the_rest() -> None:
    for year in range(2026, 2036):
        turns = [planner.campaign_turn(number, year, 5) for number in range(1, 6)]
        assert turns[0] == 0 and sorted(t for t in turns[1:] if t is not None) == [1, 2, 3, 4]
        last_year = [planner.campaign_turn(number, year - 1, 5) for number in range(2, 6)]
        assert all(a != b for a, b in zip(turns[1:], last_year, strict=True))
        # Three messages for five dates: the last two take rotation messages (None).
        assert [planner.campaign_turn(n, year, 3) for n in (1, 4, 5)] == [0, None, None]
    assert planner.campaign_turn(1, 2027, 1) == 0 and planner.campaign_turn(2, 2027, 1) is None
    assert planner.campaign_turn(1, 2027, 0) is None


async def test_june_opens_on_1_june_and_26_6_is_on_26_6_for_five_years(app) -> None:
    ward = await add_phu_lien(app)
    chief = await officer(app, ward, OfficerRole.COMMANDER, "7010")
    await register_chats(app, ward, chief)
    for year in range(2026, 2031):
        for day in (1, 8, 15, 22, 26, 29):
            await plan(app, local(year, 6, day, 8))
    async with app.services.db.transaction() as session:
        campaign = (
            await session.scalars(select(Broadcast).where(Broadcast.kind == BroadcastKind.CAMPAIGN))
        ).all()
        slug = {m.id: m.slug for m in (await session.scalars(select(AwarenessMessage))).all()}
    by_day: dict[str, str] = {}
    for broadcast in campaign:
        at = broadcast.scheduled_at.astimezone(app.services.settings.zone)
        by_day[at.date().isoformat()] = slug[broadcast.message_id]
    for year in range(2026, 2031):
        assert by_day[f"{year}-06-01"] == "june-opening", year
        weeks = [by_day[f"{year}-06-{day:02d}"] for day in (8, 15, 22, 29)]
        assert "june-opening" not in weeks and len(set(weeks)) == 4, (year, weeks)
        assert by_day[f"{year}-06-26"] in {"day-26-6-call", "day-26-6-pledge"}, year
    # Nothing addressed to schools, young people or workers went to the TDPs' chats.
    async with app.services.db.transaction() as session:
        rows = (await session.scalars(select(AwarenessMessage))).all()
    audience = {m.slug: m.audience for m in rows}
    assert {audience[s] for s in by_day.values()} <= {"everyone", "parents"}


async def test_a_year_of_monthly_planning_sends_the_tdp_chats_nothing_addressed_to_others(
    app,
) -> None:
    ward = await add_phu_lien(app)
    chief = await officer(app, ward, OfficerRole.COMMANDER, "7011")
    await register_chats(app, ward, chief)
    for month in range(1, 13):
        for day in (2, 10, 20):
            await plan(app, local(2027, month, day, 10))
            await deliver_everything(app, local(2027, month, day, 11))
    async with app.services.db.transaction() as session:
        sent = (await session.scalars(select(Broadcast))).all()
        audience = {
            m.id: m.audience for m in (await session.scalars(select(AwarenessMessage))).all()
        }
    assert len({b.period for b in sent}) == 12  # every month had its messages
    assert {audience[b.message_id] for b in sent if b.message_id} <= {"everyone", "parents"}
