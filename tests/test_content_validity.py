"""Content correct on the day it is sent: every shipped message and quiz question says
when it was reviewed; `valid_from` / `valid_until` keep a message out of the rotation and
the campaigns, and a question out of the quiz, outside the days it is true; and
`wardbot content review` lists what is due."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import open_app
from broadcasts import library, planner, review
from broadcasts.library import ContentError
from campaign import quiz
from kernel.clock import utcnow
from storage import awareness
from storage.models import AwarenessMessage
from tests.helpers import add_phu_lien, cli_ok, cli_refused

MESSAGE = """
[[message]]
slug = "{slug}"
topic = "community"
audience = "everyone"
source = "Seed 001"
{extra}
vi = "Kính gửi bà con phường {{ward}}, tổ dân phố họp về phòng, chống ma túy."
en = "Dear residents of Ward {{ward}}, the residential group meets about drugs."
"""

QUESTION = """
[[question]]
slug = "{slug}"
topic = "law"
source = "Luật Phòng, chống ma túy số 120/2025/QH15"
{extra}
question_vi = "Câu hỏi {slug}?"
question_en = "Question {slug}?"
options_vi = ["Một", "Hai", "Ba"]
options_en = ["One", "Two", "Three"]
answer = 2
explanation_vi = "Vì thế."
explanation_en = "Because."
"""


def write(path: Path, template: str, *entries: tuple[str, str]) -> Path:
    path.write_text("".join(template.format(slug=s, extra=e) for s, e in entries), "utf-8")
    return path


# ---- the loaders ----------------------------------------------------------------------


def test_every_shipped_message_and_question_has_a_review_date_and_a_source() -> None:
    messages, questions = library.read_library(), quiz.load()
    assert all(m.reviewed and m.source for m in messages)
    assert all(q.reviewed and q.source for q in questions)
    laws = [m for m in messages if m.topic == "law"]
    assert laws and all(m.valid_from == date(2026, 7, 1) for m in laws)  # the revised law


def test_the_library_loader_reads_dates_and_refuses_bad_ones(tmp_path: Path) -> None:
    good = write(
        tmp_path / "l.toml",
        MESSAGE,
        ("a", "reviewed = 2026-12-04"),
        ("b", 'reviewed = "2026-11-30"\nvalid_from = 2026-07-01\nvalid_until = 2027-06-30'),
    )
    a, b = library.read_library(good)
    assert (a.reviewed, a.valid_from, a.valid_until) == (date(2026, 12, 4), None, None)
    assert (b.reviewed, b.valid_from, b.valid_until) == (
        date(2026, 11, 30),
        date(2026, 7, 1),
        date(2027, 6, 30),
    )
    assert b.in_force(date(2026, 7, 1)) and b.in_force(date(2027, 6, 30))
    assert not b.in_force(date(2026, 6, 30)) and not b.in_force(date(2027, 7, 1))

    cases = {
        "": "message x: reviewed (YYYY-MM-DD) is required",
        'reviewed = "4/12/2026"': "x: reviewed must be a date written YYYY-MM-DD",
        'reviewed = "2026-02-30"': "x: reviewed must be a date written YYYY-MM-DD",
        "reviewed = 2026-12-04T08:00:00": "x: reviewed must be a date written YYYY-MM-DD",
        "reviewed = 2026-12-04\nvalid_until = 12": "x: valid_until must be a date written YYYY-MM-DD",
        "reviewed = 2026-12-04\nvalid_from = 2027-01-01\nvalid_until = 2026-12-31": "message x: valid_from is after valid_until",
    }
    for extra, problem in cases.items():
        with pytest.raises(ContentError) as caught:
            library.read_library(write(tmp_path / "bad.toml", MESSAGE, ("x", extra)))
        assert str(caught.value) == problem


def test_the_quiz_loader_reads_dates_and_refuses_bad_ones(tmp_path: Path) -> None:
    path = write(
        tmp_path / "q.toml",
        QUESTION,
        ("a", "reviewed = 2026-12-04"),
        ("b", "reviewed = 2026-12-04\nvalid_until = 2026-12-31"),
    )
    a, b = quiz.load(path)
    assert a.reviewed == date(2026, 12, 4) and b.valid_until == date(2026, 12, 31)
    cases = {
        "": "reviewed (YYYY-MM-DD) is required",
        'reviewed = "2026-13-01"': "reviewed must be a date written YYYY-MM-DD",
        "reviewed = 2026-12-04\nvalid_from = 2027-01-01\nvalid_until = 2026-12-31": "valid_from is after valid_until",
    }
    for extra, problem in cases.items():
        bad = write(tmp_path / "bad.toml", QUESTION, ("a", "reviewed = 2026-12-04"), ("x", extra))
        with pytest.raises(quiz.QuizFileError, match=re.escape("question 2: " + problem)):
            quiz.load(bad)
    no_source = tmp_path / "s.toml"
    no_source.write_text(
        write(tmp_path / "x", QUESTION, ("a", "reviewed = 2026-12-04"))
        .read_text("utf-8")
        .replace('source = "Luật', 'source_was = "Luật'),
        "utf-8",
    )
    with pytest.raises(quiz.QuizFileError, match="source is required"):
        quiz.load(no_source)
    all_dated = write(
        tmp_path / "d.toml", QUESTION, ("a", "reviewed = 2026-12-04\nvalid_until = 2027-01-01")
    )
    with pytest.raises(quiz.QuizFileError, match="valid at all times"):
        quiz.load(all_dated)


def test_a_question_outside_its_validity_is_not_asked(tmp_path: Path) -> None:
    path = write(
        tmp_path / "q.toml",
        QUESTION,
        ("always", "reviewed = 2026-12-04"),
        ("old-law", "reviewed = 2026-12-04\nvalid_until = 2026-06-30"),
        ("new-law", "reviewed = 2026-12-04\nvalid_from = 2026-07-01"),
    )
    questions = quiz.load(path)
    weeks = [quiz.week_of(date(2026, 1, 5) + timedelta(weeks=n)) for n in range(52)]
    asked = {w: quiz.question_for(questions, w).slug for w in weeks}
    before = {s for w, s in asked.items() if quiz.monday_of(w) <= date(2026, 6, 30)}
    after = {s for w, s in asked.items() if quiz.monday_of(w) >= date(2026, 7, 1)}
    assert before == {"always", "old-law"} and after == {"always", "new-law"}
    # the same question all week, whatever day it is asked
    assert all(quiz.question_for(questions, w) == quiz.question_for(questions, w) for w in weeks)


# ---- planning -------------------------------------------------------------------------


async def test_a_retired_or_not_yet_valid_message_is_never_picked(settings) -> None:
    """A legal change in the shipped file (valid_until, valid_from) reaches the database
    at the next start, even for a message the ward edited, and the rotation and the
    campaigns stop picking it on the day."""
    today = utcnow().date()
    shipped = library.read_library()
    rotation = [c for c in shipped if not c.campaign]
    keep, edited, *others = rotation
    retired = {edited.slug} | {c.slug for c in others[::2]}
    future = {c.slug for c in others[1::2]}
    changed = [
        replace(c, valid_until=today - timedelta(days=1))
        if c.slug in retired
        else replace(c, valid_from=today + timedelta(days=1))
        if c.slug in future
        else c
        for c in shipped
    ]
    app = await open_app(settings)
    try:
        services = app.services
        ward_id = await add_phu_lien(app)
        async with services.db.transaction() as session:
            row = await library.find(session, edited.slug)
            assert row is not None
            await library.edit(session, row, text_vi="Bà con phường {ward} lưu ý.")
            assert await library.sync_shipped(session, changed) == len(retired | future)
        async with services.db.transaction() as session:
            row = await library.find(session, edited.slug)
            assert row is not None and row.text_vi == "Bà con phường {ward} lưu ý."  # kept
            assert row.valid_until == today - timedelta(days=1)  # and retired all the same
            picked = {
                (await planner.pick_rotation(session, ward_id, None, f"seed-{n}")).slug  # type: ignore[union-attr]
                for n in range(60)
            }
            assert picked == {keep.slug}
            # On the day before, the retired ones were still in force, the future ones not.
            yesterday = today - timedelta(days=1)
            earlier = {m.slug for m in await awareness.rotation(session, yesterday)}
            assert earlier == {keep.slug} | retired
            later = {m.slug for m in await awareness.rotation(session, today + timedelta(days=1))}
            assert later == {keep.slug} | future
            june = [c for c in shipped if c.campaign == "june"]
            retire_june = [replace(c, valid_until=yesterday) for c in june[:2]]
            await library.sync_shipped(session, retire_june)
            left = {m.slug for m in await awareness.of_campaign(session, "june")}
            assert left == {c.slug for c in june[2:]}
            rows = (await session.scalars(select(AwarenessMessage))).all()
            assert len(rows) == len(shipped)
    finally:
        await app.close()


# ---- wardbot content review -----------------------------------------------------------


def test_months_before_keeps_the_day_or_the_months_last() -> None:
    assert review.months_before(date(2026, 12, 4), 12) == date(2025, 12, 4)
    assert review.months_before(date(2026, 3, 31), 1) == date(2026, 2, 28)
    assert review.months_before(date(2026, 1, 15), 13) == date(2024, 12, 15)
    assert review.months_before(date(2026, 1, 15), 0) == date(2026, 1, 15)


def test_content_review_lists_what_is_due(cli_env, tmp_path: Path) -> None:
    today = utcnow().date()  # the command's day in Việt Nam is this one or the next

    def day(offset: int) -> str:
        return (today + timedelta(days=offset)).isoformat()

    messages = write(
        tmp_path / "l.toml",
        MESSAGE,
        ("fresh", f"reviewed = {day(-30)}"),
        ("stale", f"reviewed = {day(-400)}"),
        ("ending", f"reviewed = {day(-30)}\nvalid_until = {day(30)}"),
        ("ended", f"reviewed = {day(-30)}\nvalid_until = {day(-10)}"),
    )
    questions = write(
        tmp_path / "q.toml",
        QUESTION,
        ("q-fresh", f"reviewed = {day(-30)}"),
        ("q-stale", f"reviewed = {day(-200)}"),
    )
    files = ("--library", str(messages), "--quiz", str(questions))
    lines = cli_ok(cli_env, "content", "review", *files).splitlines()
    assert [line.split("\t")[:2] for line in lines[:-1]] == [
        ["bản tin", "stale"],
        ["bản tin", "ending"],
        ["bản tin", "ended"],
    ]
    stale, ending, ended = (line.split("\t")[2] for line in lines[:3])
    assert stale.startswith("rà soát lần cuối ngày ") and stale.endswith("đã quá 12 tháng")
    assert ending.startswith("có hiệu lực đến hết ngày ") and " ngày" in ending
    assert ended.startswith("chỉ có hiệu lực đến hết ngày ")
    assert lines[-1] == "3 mục cần rà soát"

    six = cli_ok(cli_env, "content", "review", "--months", "6", *files).splitlines()
    assert ["câu đố", "q-stale"] in [line.split("\t")[:2] for line in six]
    assert six[-1] == "4 mục cần rà soát"

    shipped = cli_ok(cli_env, "content", "review", "--months", "1200").splitlines()
    assert shipped[-1] == "không có mục nào cần rà soát: đã kiểm tra 34 bản tin và 46 câu đố"

    assert "--months phải từ 0 trở lên" in cli_refused(
        cli_env, "content", "review", "--months", "-1"
    )
    broken = write(tmp_path / "b.toml", MESSAGE, ("x", ""))
    refused = cli_refused(cli_env, "content", "review", "--library", str(broken))
    assert "bản tin x: thiếu ngày rà soát reviewed (YYYY-MM-DD)" in refused
    english = cli_ok({**cli_env, "WARDBOT_LANG": "en"}, "content", "review", *files)
    assert "last reviewed " in english and english.splitlines()[-1] == "3 to review"
