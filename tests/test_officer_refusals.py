"""What callers may not do gets nothing but the unknown-command answer; forged buttons
and typed numbers are checked before any query; /join is throttled (issue 15, items
14 and 15). Everything goes through the dispatcher, as a channel would pass it on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.app import App
from kernel.callback_data import MAX_ID
from kernel.messages import Reply
from storage.models import (
    Broadcast,
    BroadcastStatus,
    DrugFreeRecord,
    Officer,
    OfficerRole,
    OfficerStatus,
    RateCounter,
)
from tests.helpers import Chat, add_phu_lien, enrol, group_id, send_report

UNKNOWN = "Sorry, I did not understand that. Please choose from the menu below."
FAILED = (
    "Sorry, something went wrong on our side. Nothing you sent before was lost. "
    "Please try again in a moment."
)
HUGE = "9" * 40  # past every integer column: OverflowError or DBAPIError if it reached one
WHAT = "Quán nước đầu ngõ 41 có người bán ma túy đá"


def vi(app: App, message: str) -> str:
    return app.services.translator.get("vi").gettext(message)


async def unknown_answer(chat: Chat) -> list[Reply]:
    """What this chat gets for a command that does not exist."""
    await chat.send("/khong_co_lenh_nay")
    assert chat.text.startswith(vi(chat.app, UNKNOWN))
    return list(chat.last)


@dataclass
class Ward:
    id: int
    officer: Chat
    commander: Chat
    resident: Chat


@pytest.fixture
async def ward(app) -> Ward:
    ward_id = await add_phu_lien(app)
    officer = await enrol(app, ward_id, OfficerRole.OFFICER, "officer-1", "Trinh sát Minh")
    commander = await enrol(app, ward_id, OfficerRole.COMMANDER, "commander-1", "Trưởng CA Hùng")
    return Ward(ward_id, officer, commander, Chat(app, "resident-1"))


async def _draft(officer: Chat) -> int:
    await officer.send("/broadcast")
    await officer.send("Bà con phường {ward} lưu ý họp tổ tối nay.\n{hotlines}")
    await officer.send(action="bc:scope:all")
    await officer.send(action="bc:submit")
    async with officer.app.services.db.transaction() as session:
        return int(await session.scalar(select(func.max(Broadcast.id))) or 0)


# ---- the matrix: what a role may not use does not exist for it -------------------------

# Commands and buttons only a commander may use: to a plain officer they do not exist.
COMMANDER_ONLY = [
    "/assign {code} 1",
    "/audit {code}",
    "/baocao",
    "/baocao 2026-01",
    "/baocao không-phải-tháng",
    "/monthly_report",
    "/approve {draft}",
    "/duyet {draft}",
    "/reject {draft}",
    "/tuchoi {draft}",
    "/approve abc",
    "/approve",
    "action:bc:approve:{draft}",
    "action:bc:reject:{draft}",
    "action:bc:approve:" + HUGE,
    "action:wardreport:month:",
    "action:wardreport:month:2026-01",
    "action:wardreport:month:garbage",
    "action:wardreport:month:" + HUGE,
]
# Everything of the police side: to a resident none of it exists.
POLICE_ONLY = [
    *COMMANDER_ONLY,
    "/queue",
    "/tip {code}",
    "/claim {code}",
    "/triage {code} venue 1",
    "/note {code} đã cử tổ công tác",
    "/ask {code} quán tên gì?",
    "/reply {code} cảm ơn bạn",
    "/close {code} confirmed",
    "/merge {code} {code}",
    "/stats",
    "/broadcast",
    "/thongbao",
    "/broadcasts",
    "/progress",
    "/tiendo",
    "/drugfree Nam Hải",
    "/khongmatuy Nam Hải",
    "/orgpledge",
    "/camketdonvi",
    "/register_group Nam Hải",
    "/dangkynhom Nam Hải",
    "action:police:queue:",
    "action:police:queue:2|2026-01-01T00:00:00+00:00|1",
    "action:police:tip:{code}",
    "action:police:claim:{code}",
    "action:police:close:{code}",
    "action:police:closeas:{code}:confirmed",
    "action:bc:scope:all",
    "action:bc:submit",
    "action:bc:again",
    "action:bc:cancel",
    "action:df:pick:{group}:{year}:registered",
    "action:df:save:{group}:{year}:registered",
    "action:df:cancel",
    "action:op:kind:school",
    "action:op:ward",
    "action:op:save",
    "action:op:cancel",
]


async def _send(chat: Chat, template: str, **values: object) -> None:
    filled = template.format(**values)
    if filled.startswith("action:"):
        await chat.send(action=filled.removeprefix("action:"))
    else:
        await chat.send(filled)


@pytest.mark.parametrize("role", ["officer", "resident"])
async def test_what_a_role_may_not_use_is_exactly_an_unknown_command(app, ward, role) -> None:
    code, _secret = await send_report(Chat(app, "reporter"), WHAT, ward_id=ward.id)
    draft = await _draft(ward.officer)
    values = {
        "code": code,
        "draft": draft,
        "group": await group_id(app, "Nam Hải"),
        "year": date.today().year,
    }
    chat: Chat = getattr(ward, role)
    expected = await unknown_answer(chat)
    for template in COMMANDER_ONLY if role == "officer" else POLICE_ONLY:
        await _send(chat, template, **values)
        assert chat.last == expected, template
    async with app.services.db.transaction() as session:
        broadcast = await session.get(Broadcast, draft)
        assert broadcast is not None and broadcast.status == BroadcastStatus.PENDING_APPROVAL
        assert await session.scalar(select(func.count()).select_from(DrugFreeRecord)) == 0


async def test_a_commander_still_decides_and_gets_polite_answers(app, ward) -> None:
    draft = await _draft(ward.officer)
    commander = ward.commander
    usage = vi(app, "Usage: {usage}").format(usage=vi(app, "/approve NUMBER · /reject NUMBER"))
    for typed in (f"/approve {HUGE}", "/approve ١٢", "/approve 2147483648", "/reject -1"):
        await commander.send(typed)
        assert commander.text == usage, typed
    await commander.send(action=f"bc:reject:{HUGE}")  # no button carries it
    assert commander.text == vi(app, UNKNOWN)
    await commander.send(action="bc:reject:2147483647")  # one could: there is none
    assert commander.text == vi(app, "No broadcast #{id} in your ward.").format(id=2147483647)
    await commander.send(f"/approve 00{draft}")
    assert f"#{draft}" in commander.text and vi(app, FAILED) not in commander.text
    async with app.services.db.transaction() as session:
        broadcast = await session.get(Broadcast, draft)
        assert broadcast is not None and broadcast.status == BroadcastStatus.SCHEDULED


async def test_a_commanders_malformed_month_is_answered_politely(app, ward) -> None:
    how = vi(
        app,
        "Please write the month like this: /baocao 2026-11 (or a quarter, half-year or year: "
        "2026-Q3, 2026-H1, 2026)",
    )
    commander = ward.commander
    for month in ("garbage", "2026-13", "2026-00", "1999-12", HUGE, "2026-11-01", "٢٠٢٦-١١"):
        await commander.send(f"/baocao {month}")
        assert commander.text == how, month
    for month in ("garbage", "2026-13", "٢٠٢٦-١١"):  # a commander's /report: the same answer
        await commander.send(f"/report {month}")
        assert commander.text == how, month
    for month in ("2026-13", "2026-00", "1999-12", "-"):  # a button could carry these
        await commander.send(action=f"wardreport:month:{month}")
        assert commander.text == how, month
    for month in ("garbage", HUGE, "2026-11-01", "٢٠٢٦-١١"):  # no button carries these
        await commander.send(action=f"wardreport:month:{month}")
        assert commander.text == vi(app, UNKNOWN), month
    await commander.send(action="wardreport:month:2026-01")
    assert vi(app, "Monthly report {month}, {ward}").split("{")[0] in commander.text


# ---- the queue's paging cursor --------------------------------------------------------


async def test_a_forged_or_malformed_queue_cursor_is_an_unknown_command(app, ward) -> None:
    for i in range(11):
        await send_report(Chat(app, f"q{i}"), f"{WHAT} {i}", ward_id=ward.id)
    officer = ward.officer
    await officer.send("/queue")
    first_page = officer.text
    more = [b.action for reply in officer.last for b in reply.options() if "queue:" in b.action]
    assert len(more) == 1
    await officer.send(action=more[0])  # the real cursor still pages
    assert officer.text != first_page and len(officer.text.splitlines()) == 2

    _, cursor = more[0].split("police:queue:")
    priority, stamp, tip_id = cursor.split("|")
    moment = datetime.fromisoformat(stamp)
    assert moment.utcoffset() == timedelta(0)
    hanoi = moment.astimezone(app.services.settings.zone).isoformat()
    await officer.send(action=f"police:queue:{priority}|{hanoi}|{tip_id}")  # aware, +07:00
    assert officer.text != first_page and len(officer.text.splitlines()) == 2

    naive = moment.replace(tzinfo=None).isoformat()
    forged = [
        f"{priority}|{naive}|{tip_id}",  # naive: raised inside the database layer before
        f"{priority}|{stamp}|{HUGE}",
        f"{HUGE}|{stamp}|{tip_id}",
        f"{priority}|{stamp}|2147483648",
        f"{priority}|0001-01-01T00:00:00+14:00|{tip_id}",  # overflows when made UTC
        f"{priority}|9999-12-31T23:59:59-14:00|{tip_id}",
        f"{priority}|1999-12-31T23:00:00+00:00|{tip_id}",
        f"{priority}|2026-13-01T00:00:00+00:00|{tip_id}",
        f"{priority}|{stamp}|-1",
        f"{priority}|{stamp}|0",
        f"0|{stamp}|{tip_id}",
        f"٢|{stamp}|{tip_id}",
        f" {priority}|{stamp}|{tip_id}",
        f"{priority}|{stamp}",
        f"{priority}|{stamp}|{tip_id}|1",
        "garbage",
        "|||",
        "x" * 500,
    ]
    for value in forged:
        await officer.send(action=f"police:queue:{value}")
        assert officer.text == vi(app, UNKNOWN), value
    await officer.send(action="police:queue:")  # the first page's own button
    assert officer.text == first_page


async def test_a_forged_close_button_does_not_echo_its_code(app, ward) -> None:
    await ward.officer.send(action="police:close:<b>KHÔNG-CÓ</b>")  # no button carries it
    assert ward.officer.text == vi(app, UNKNOWN)
    await ward.officer.send(action="police:close:ZZZZZZZ")  # one could: no such tip
    assert ward.officer.text == vi(
        app, "No tip with that code in your ward. Use /queue to see the open tips."
    )
    assert ward.officer.options() == []


# ---- the drug-free tracker's buttons ------------------------------------------------------


async def _records(app: App) -> list[tuple[int, str]]:
    async with app.services.db.transaction() as session:
        rows = (await session.scalars(select(DrugFreeRecord))).all()
    return [(row.year, row.status) for row in rows]


async def test_drug_free_records_only_this_year_after_the_confirmation(app, ward) -> None:
    officer = ward.officer
    nothing = vi(app, "Nothing to record. Start again with /drugfree.")
    nam_hai = await group_id(app, "Nam Hải")
    year = datetime.now(app.services.settings.zone).year

    # A confirm button no confirmation was shown for: nothing, whatever the year.
    for forged in (
        f"{nam_hai}:2000:registered",
        f"{nam_hai}:2100:registered",
        f"{nam_hai}:{year}:registered",
    ):
        await officer.send(action=f"df:save:{forged}")
        assert officer.text == nothing, forged
    # A pick of another year, or of a group that is not there, is refused the same way.
    for forged in (
        f"{nam_hai}:{year - 1}:registered",
        f"{nam_hai}:{year + 1}:registered",
        f"{MAX_ID}:{year}:registered",
    ):
        await officer.send(action=f"df:pick:{forged}")
        assert officer.text == nothing, forged
    # What no button carries (a number out of range, another script's digits, an unknown
    # status, missing fields) is no button at all: the unknown-command answer.
    for forged in (
        f"{HUGE}:{year}:registered",
        f"{nam_hai}:{HUGE}:registered",
        f"{nam_hai}:{year}:bogus",
        "",
        "::",
        f"2147483648:{year}:registered",
        f"{nam_hai}:٢٠٢٦:registered",
        f"{nam_hai}:1999:registered",
    ):
        for kind in ("df:save:", "df:pick:"):
            await officer.send(action=kind + forged)
            assert officer.text == vi(app, UNKNOWN), kind + forged
    assert await _records(app) == []

    await officer.send("/drugfree Nam Hải")
    [pick] = [b.action for r in officer.last for b in r.options() if b.action.startswith("df:pick")]
    assert pick == f"df:pick:{nam_hai}:{year}:registered"
    await officer.send(action=pick)
    [confirm] = [b.action for r in officer.last for b in r.options() if "df:save" in b.action]
    # Another year on the confirm button than the one shown: not recorded, and the
    # confirmation shown is void (a forged button ends it).
    await officer.send(action=f"df:save:{nam_hai}:2000:registered")
    assert officer.text == nothing
    await officer.send(action=confirm)
    assert officer.text == nothing
    assert await _records(app) == []

    await officer.send(action=pick)
    await officer.send(action=confirm)
    assert vi(app, "Recorded: {tdp} is {status} for {year}.").split(":")[0] in officer.text
    await officer.send(action=confirm)  # pressed twice: recorded once
    assert officer.text == nothing
    assert await _records(app) == [(year, "registered")]


async def test_drug_free_buttons_of_another_ward_are_not_followed(app, ward) -> None:
    async with app.services.db.transaction() as session:
        from storage import wards

        other = await wards.add_ward(session, "Đông Hải")
        await wards.import_groups(session, other, [wards.GroupRow(1, "Tổ 1 Đông Hải")])
    theirs = await group_id(app, "Tổ 1 Đông Hải")
    year = datetime.now(app.services.settings.zone).year
    await ward.officer.send(action=f"df:pick:{theirs}:{year}:registered")
    assert ward.officer.text == vi(app, "Nothing to record. Start again with /drugfree.")
    assert await _records(app) == []


# ---- /join -------------------------------------------------------------------------------


async def _invite(app: App, ward_id: int, label: str) -> str:
    async with app.services.db.transaction() as session:
        _officer, code = await app.services.invites.create(
            session, ward_id=ward_id, role=OfficerRole.OFFICER, label=label
        )
    return str(code)


async def _status_of(app: App, label: str) -> str:
    async with app.services.db.transaction() as session:
        found = await session.scalar(select(Officer).where(Officer.label == label))
        assert found is not None
        return found.status


async def test_join_is_throttled_per_account_even_for_a_right_code(app) -> None:
    ward_id = await add_phu_lien(app)
    code = await _invite(app, ward_id, "Cán bộ mới")
    guesser = Chat(app, "guesser")
    expected = await unknown_answer(guesser)
    for attempt in range(5):
        await guesser.send(f"/join ABCDE-FGH{attempt}K")
        assert guesser.last == expected
    await guesser.send(f"/join {code}")  # right, but throttled: the same answer
    assert guesser.last == expected
    assert await _status_of(app, "Cán bộ mới") == OfficerStatus.INVITED
    for junk in ("/join", f"/join {HUGE}", "/join " + "A" * 5000):
        await guesser.send(junk)
        assert guesser.last == expected

    someone = Chat(app, "someone-else")  # another account is not held back by it
    await someone.send(f"/join {code}")
    assert (
        vi(app, "Welcome, {label}. You are enrolled as ward police.").format(label="Cán bộ mới")
        in someone.text
    )
    async with app.services.db.transaction() as session:
        subjects = (await session.scalars(select(RateCounter.subject))).all()
    assert subjects and not any("guesser" in s or "someone" in s for s in subjects)


async def test_join_is_throttled_for_all_accounts_together(app) -> None:
    from handlers import enrol as enrolment

    ward_id = await add_phu_lien(app)
    code = await _invite(app, ward_id, "Cán bộ mới")
    per_account = min(limit.count for limit in enrolment.PER_ACCOUNT)
    overall = enrolment.OVERALL[0].count
    accounts = -(-overall // per_account)
    sent = 0
    for n in range(accounts):
        chat = Chat(app, f"bot-{n}")
        for _ in range(per_account):
            if sent < overall:
                await chat.send("/join ZZZZZ-ZZZZZ")
                sent += 1
    fresh = Chat(app, "fresh-account")
    expected = await unknown_answer(fresh)
    await fresh.send(f"/join {code}")  # the whole bot is throttled now
    assert fresh.last == expected
    assert await _status_of(app, "Cán bộ mới") == OfficerStatus.INVITED

    async with app.services.db.transaction() as session:  # an hour later it works again
        for row in (await session.scalars(select(RateCounter))).all():
            row.hour = row.hour - timedelta(hours=1)
    await fresh.send(f"/join {code}")
    assert "Cán bộ mới" in fresh.text
    assert await _status_of(app, "Cán bộ mới") == OfficerStatus.ACTIVE
