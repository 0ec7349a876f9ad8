"""The "every resident is a soldier" campaign in the chat: the family pledge (text
first, once per household, withdrawal), the weekly quiz (scoring, one answer a week),
invitations, organisation pledges and the drug-free tracker entered by officers."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from campaign import quiz
from campaign.quiz import question_for, week_of
from kernel import drug_free as rules
from kernel.drug_free import DrugFreeStatus, Mark, Target, TransitionError
from storage import drug_free, pledges, quiz_answers, wards
from storage.models import AuditEntry, DrugFreeRecord, OfficerRole, Pledge, PledgeKind, QuizAnswer
from tests.helpers import Chat, add_phu_lien, enrol, group_id

REGISTERED, ACHIEVED = DrugFreeStatus.REGISTERED, DrugFreeStatus.ACHIEVED
MAINTAINED, LOST = DrugFreeStatus.MAINTAINED, DrugFreeStatus.LOST


async def _households(app, ward_id: int) -> pledges.HouseholdCounts:  # type: ignore[no-untyped-def]
    async with app.services.db.transaction() as session:
        return await pledges.household_counts(session, ward_id)


async def test_family_pledge_shows_the_text_first_counts_once_and_can_be_withdrawn(app) -> None:
    ward_id = await add_phu_lien(app)
    nam_hai = await group_id(app, "Nam Hải")
    family = Chat(app, "gia-dinh-1")
    await family.send(f"/start g{nam_hai}")  # the poster's QR code
    await family.send("/pledge")
    assert "Cam kết “Gia đình không ma túy”" in family.text
    assert "Không sử dụng, tàng trữ" in family.text  # the pledge itself, before any button
    assert (await _households(app, ward_id)).total == 0  # reading is not signing

    await family.pick("Gia đình tôi xin cam kết")
    assert "Ký cam kết cùng tổ dân phố Nam Hải?" in family.text
    await family.pick("Đúng")
    assert "Cam kết của gia đình đã được ghi nhận cùng tổ dân phố Nam Hải" in family.text
    assert "tổ dân phố Nam Hải đã có 1 gia đình cam kết" in family.text

    # Twice: the command shows the pledge on record; a stale button does not count again.
    await family.send("/camket")
    assert "Gia đình đã ký cam kết" in family.text and "Nam Hải" in family.text
    await family.send(action=f"pledge:grp:{nam_hai}")
    assert (await _households(app, ward_id)).by_group == {nam_hai: 1}

    await family.send("/pledge")
    await family.pick("Rút lại cam kết")
    await family.pick("Đồng ý rút lại")
    assert "Cam kết của gia đình đã được rút lại" in family.text
    assert (await _households(app, ward_id)).total == 0
    await family.send(action="pledge:withdraw-yes")
    assert "không có cam kết nào để rút lại" in family.text

    # A second family types its TDP without accents; the first signs again.
    other = Chat(app, "gia-dinh-2")
    await other.send("/pledge")
    await other.pick("Gia đình tôi xin cam kết")
    await other.send("dau son 1")
    assert "cùng tổ dân phố Đẩu Sơn 1" in other.text
    await family.send("/pledge")
    await family.pick("Gia đình tôi xin cam kết")
    await family.pick("Đúng")
    counts = await _households(app, ward_id)
    assert counts.total == 2 and counts.by_group[nam_hai] == 1
    async with app.services.db.transaction() as session:
        rows = await session.scalar(select(func.count()).select_from(Pledge))
    assert rows == 2  # the first family's row was reused, not doubled


async def test_a_pledge_for_a_tdp_that_does_not_exist_asks_again(app) -> None:
    await add_phu_lien(app)
    family = Chat(app, "gia-dinh-3")
    await family.send("/pledge")
    await family.pick("Gia đình tôi xin cam kết")
    await family.send("Qwxz")
    assert "chưa tìm thấy tổ dân phố “Qwxz”" in family.text
    await family.send(action="pledge:grp:999999")  # a forged or stale button
    assert "Tổ dân phố nào" in family.text or "tổ dân phố nào" in family.text
    async with app.services.db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(Pledge)) == 0


def test_the_quiz_file_is_complete_and_rotates_one_question_a_week() -> None:
    questions = quiz.load()
    assert len(questions) >= 26  # half a year without a repeat
    assert {q.topic for q in questions} >= {"law", "harms", "signs", "disguised", "reporting"}
    weeks = [
        week_of(date(2026, 1, 5).fromordinal(date(2026, 1, 5).toordinal() + 7 * i))
        for i in range(len(questions))
    ]
    asked = [question_for(questions, w).slug for w in weeks]
    assert sorted(asked) == sorted(q.slug for q in questions)  # each once per cycle
    assert question_for(questions, "2026-W47") == question_for(
        questions, week_of(date(2026, 11, 22))
    )
    with pytest.raises(ValueError):
        quiz.monday_of("2026-47")


async def test_quiz_scores_the_first_answer_of_the_week_and_explains_it(app) -> None:
    ward_id = await add_phu_lien(app)
    nam_hai = await group_id(app, "Nam Hải")
    week = week_of(date.today())  # the handler's week (the ward's zone may be a day ahead)
    right = Chat(app, "nguoi-tra-loi-1")
    await right.send(f"/start g{nam_hai}")
    await right.send("/quiz")
    week = right.last[0].buttons[0][0].action.split(":")[2]
    question = question_for(app.services.quiz, week)
    assert question.text("vi") in right.text and "Câu hỏi tuần này" in right.text
    assert right.options()[: len(question.choices("vi"))] == list(question.choices("vi"))
    await right.pick(question.right_choice("vi"))
    assert "Chính xác!" in right.text and question.why("vi") in right.text
    assert "đúng 1/1 câu" in right.text

    # A second press, or /quiz again, does not change the first answer.
    wrong_choice = next(n for n in range(1, 4) if n != question.answer)
    await right.send(action=f"quiz:a:{week}:{wrong_choice}")
    assert "Bạn đã trả lời câu hỏi tuần này rồi" in right.text
    assert "đúng 1/1 câu" in right.text

    wrong = Chat(app, "nguoi-tra-loi-2")
    await wrong.send("/quiz")
    await wrong.send(action=f"quiz:a:{week}:{wrong_choice}")
    assert "Chưa đúng." in wrong.text and question.right_choice("vi") in wrong.text
    assert "đúng 0/1 câu" in wrong.text

    # An old week's button: that question has closed, this week's is asked instead.
    late = Chat(app, "nguoi-tra-loi-3")
    await late.send(action="quiz:a:2024-W01:1")
    assert "Câu hỏi đó đã hết hạn" in late.text and question.text("vi") in late.text

    async with app.services.db.transaction() as session:
        answers = (await session.scalars(select(QuizAnswer))).all()
        assert sorted(a.correct for a in answers) == [False, True]
        first, last = date(2000, 1, 1), date(2100, 1, 1)
        figures = await quiz_answers.participation(session, ward_id, first, last)
    assert (figures.participants, figures.answers, figures.correct) == (2, 2, 1)
    assert figures.by_group == {nam_hai: 1}  # the other resident never named a TDP


async def test_a_quiz_answer_counts_for_a_tdp_of_the_ward_it_is_given_in(app) -> None:
    ward_a = await add_phu_lien(app)
    nam_hai = await group_id(app, "Nam Hải")
    async with app.services.db.transaction() as session:
        ward_b = (await wards.add_ward(session, "Đông Hải")).id
    family = Chat(app, "gia-dinh-hai-phuong")
    await family.send(f"/start g{nam_hai}")
    await family.send("/pledge")
    await family.pick("Gia đình tôi xin cam kết")
    await family.pick("Đúng")  # the pledge stays with Nam Hải, in Phù Liễn
    await family.send(f"/start w{ward_b}")  # then the family uses the bot of another ward
    await family.send("/quiz")
    await family.send(action=family.last[0].buttons[0][0].action)
    async with app.services.db.transaction() as session:
        first, last = date(2000, 1, 1), date(2100, 1, 1)
        in_b = await quiz_answers.participation(session, ward_b, first, last)
        in_a = await quiz_answers.participation(session, ward_a, first, last)
    assert (in_b.participants, in_b.by_group) == (1, {})  # not Nam Hải of another ward
    assert in_a.participants == 0
    async with app.services.db.transaction() as session:  # kept to the month, not the day
        days = [
            *(await session.scalars(select(Pledge.signed_on))).all(),
            *(await session.scalars(select(QuizAnswer.answered_on))).all(),
        ]
    assert len(days) == 2 and all(d.day == 1 for d in days)


async def test_invite_link_opens_the_bot_with_the_residents_tdp(app, settings) -> None:
    from dataclasses import replace

    from engine.conversation import Dispatcher
    from handlers import build_routers, fallback

    services = replace(
        app.services,
        settings=replace(
            settings, telegram_username="phulien_bot", zalo_link="https://zalo.me/1234567890"
        ),
    )
    app.dispatcher = Dispatcher(services, build_routers(), fallback=fallback)
    await add_phu_lien(app)
    nam_hai = await group_id(app, "Nam Hải")
    resident = Chat(app, "nguoi-moi")
    await resident.send(f"/start g{nam_hai}")
    await resident.send("/invite")
    assert f"https://t.me/phulien_bot?start=g{nam_hai}" in resident.text
    assert f"https://zalo.me/1234567890 rồi gửi /start g{nam_hai}" in resident.text


def test_drug_free_statuses_follow_each_other_in_order() -> None:
    assert rules.allowed_next(None, 2025) == (REGISTERED,)
    rules.check(None, 2025, REGISTERED)
    rules.check(Mark(2025, REGISTERED), 2025, ACHIEVED)
    rules.check(Mark(2025, ACHIEVED), 2026, MAINTAINED)
    rules.check(Mark(2026, MAINTAINED), 2026, LOST)
    rules.check(Mark(2026, LOST), 2027, REGISTERED)
    rules.check(Mark(2025, REGISTERED), 2026, REGISTERED)  # not achieved: try again
    for latest, year, status in (
        (None, 2025, ACHIEVED),  # registered first
        (Mark(2025, REGISTERED), 2025, REGISTERED),  # already
        (Mark(2025, ACHIEVED), 2025, MAINTAINED),  # maintained is for a later year
        (Mark(2025, REGISTERED), 2025, LOST),  # nothing to lose yet
        (Mark(2026, ACHIEVED), 2025, LOST),  # years in order
        (None, 1999, REGISTERED),
    ):
        with pytest.raises(TransitionError):
            rules.check(latest, year, status)


def test_targets_count_drug_free_tdps_at_the_end_of_each_year() -> None:
    marks = {
        1: [Mark(2025, REGISTERED), Mark(2025, ACHIEVED), Mark(2026, MAINTAINED)],
        2: [Mark(2025, REGISTERED), Mark(2025, ACHIEVED), Mark(2026, LOST)],
        3: [Mark(2025, REGISTERED), Mark(2026, ACHIEVED)],
        4: [Mark(2025, REGISTERED)],
    }
    targets = [Target(2025, share=0.30), Target(2026, count=3), Target(2027, share=0.6)]
    rows = {r.year: r for r in rules.progress(marks, 10, targets, 2026)}
    assert (rows[2025].achieved, rows[2025].required, rows[2025].met) == (2, 3, False)
    assert (rows[2026].achieved, rows[2026].required, rows[2026].met) == (2, 3, False)
    assert (rows[2027].achieved, rows[2027].required) == (2, 6)  # so far, against 60%
    assert Target(2025, share=0.30).label(40) == "30% (12/40)"
    assert Target(2025, share=0.30).required(40) == 12  # 12/40 of seed 003, not 13
    with pytest.raises(ValueError):
        Target(2025, share=1.5)


async def test_officers_record_drug_free_status_and_see_progress(app, settings) -> None:
    from dataclasses import replace

    from engine.conversation import Dispatcher
    from handlers import build_routers, fallback

    targets = {"phu-lien": (Target(2025, share=0.30), Target(2030, share=1.0))}
    services = replace(app.services, settings=replace(settings, targets=targets))
    app.dispatcher = Dispatcher(services, build_routers(), fallback=fallback)
    ward_id = await add_phu_lien(app)
    officer = await enrol(app, ward_id, OfficerRole.OFFICER, "cb-1", "Lê Văn An")
    resident = Chat(app, "nguoi-dan")
    await resident.send("/drugfree Nam Hải")
    assert "Tổ dân phố Nam Hải" not in resident.text  # not for residents

    await officer.send("/drugfree nam hai")
    assert "Tổ dân phố Nam Hải: chưa đăng ký." in officer.text
    assert officer.options()[0] == "đăng ký xây dựng"
    await officer.pick("đăng ký xây dựng")
    await officer.pick("Xác nhận")
    assert "Đã ghi nhận: Nam Hải" in officer.text
    await officer.send("/drugfree Nam Hải")
    assert "đạt" in officer.options()[0]
    await officer.pick(officer.options()[0])
    await officer.pick("Xác nhận")
    await officer.send("/progress")
    year = date.today().year
    assert f"{year}: 1/{12} tổ dân phố không ma túy" in officer.text

    # A stale button cannot record a status that no longer follows: a confirm button
    # with no confirmation shown for it records nothing, nor does a stale pick.
    nam_hai = await group_id(app, "Nam Hải")
    vi = app.services.translator.get("vi").gettext
    await officer.send(action=f"df:save:{nam_hai}:{year}:registered")
    assert vi("Nothing to record. Start again with /drugfree.") in officer.text
    await officer.send(action=f"df:pick:{nam_hai}:{year}:registered")
    assert "Chưa ghi nhận" in officer.text
    async with app.services.db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(DrugFreeRecord)) == 2
        marks = await drug_free.marks_by_group(session, ward_id)
        audit = await session.scalar(
            select(func.count()).where(AuditEntry.action == "drug_free.record")
        )
    assert [m.status for m in next(iter(marks.values()))] == [REGISTERED, ACHIEVED]
    assert audit == 2


async def test_officers_record_a_schools_pledge_once(app) -> None:
    ward_id = await add_phu_lien(app)
    officer = await enrol(app, ward_id, OfficerRole.OFFICER, "cb-2", "Phạm Thị Hoa")
    for attempt in range(2):
        await officer.send("/orgpledge")
        await officer.pick("trường học")
        await officer.send("Trường THCS Quán Trữ")
        await officer.send("Đẩu Sơn 1")
        assert "Trường THCS Quán Trữ" in officer.text and "Đẩu Sơn 1" in officer.text
        await officer.pick("Xác nhận")
        if attempt == 0:
            assert "Đã ghi nhận: Trường THCS Quán Trữ" in officer.text
        else:
            assert "Chưa ghi nhận" in officer.text and "đã được ghi nhận" in officer.text
    async with app.services.db.transaction() as session:
        rows = await pledges.organisations(session, ward_id)
    assert [(r.kind, r.name) for r in rows] == [(PledgeKind.SCHOOL, "Trường THCS Quán Trữ")]
    # Old buttons of a closed form record nothing and say how to start again.
    await officer.send(action="op:cancel")
    for stale in ("op:ward", "op:save"):
        await officer.send(action=stale)
        assert officer.text == "Không có gì để ghi nhận. Xin bắt đầu lại bằng lệnh /orgpledge."
