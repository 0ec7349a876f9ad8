"""The weekly quiz: questions on the law and the harms of drugs (campaign/quiz.toml),
one per ISO week, the same for everyone in that week, rotating in file order.

Each question says when it was last `reviewed` against its `source`, and may say from
and until when it is true (`valid_from`, `valid_until`): a question is asked only in a
week whose Monday it is in force on, so a legal change retires it on time."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

QUIZ_FILE = Path(__file__).with_name("quiz.toml")
TOPICS = ("law", "harms", "signs", "disguised", "reporting", "support", "campaign")
_SLUG = re.compile(r"^[a-z0-9-]{1,40}$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MAX_OPTION = 60
# Monday of ISO week 1 of 2024: weeks are counted from here so the rotation is stable.
_EPOCH = date(2024, 1, 1)


@dataclass(frozen=True)
class Question:
    slug: str
    topic: str
    source: str
    question: dict[str, str]  # language -> text
    options: dict[str, tuple[str, ...]]
    answer: int  # 1-based
    explanation: dict[str, str]
    reviewed: date | None = None  # required in the file (load)
    valid_from: date | None = None
    valid_until: date | None = None

    def in_force(self, day: date) -> bool:
        """True on the days between valid_from and valid_until, both included."""
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_until is None or day <= self.valid_until
        )

    def text(self, language: str) -> str:
        return self.question.get(language) or self.question["vi"]

    def choices(self, language: str) -> tuple[str, ...]:
        return self.options.get(language) or self.options["vi"]

    def why(self, language: str) -> str:
        return self.explanation.get(language) or self.explanation["vi"]

    def right_choice(self, language: str) -> str:
        return self.choices(language)[self.answer - 1]


class QuizFileError(ValueError):
    pass


def load(path: Path = QUIZ_FILE) -> tuple[Question, ...]:
    """Every question of the file, checked: a bad file stops the bot at start, not a
    resident in the middle of a quiz."""
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    questions = []
    for number, entry in enumerate(raw.get("question", []), start=1):
        try:
            questions.append(_question(entry))
        except (KeyError, TypeError, ValueError) as exc:
            raise QuizFileError(f"{path.name}: question {number}: {exc}") from None
    if not questions:
        raise QuizFileError(f"{path.name}: no questions")
    if len({q.slug for q in questions}) != len(questions):
        raise QuizFileError(f"{path.name}: two questions have the same slug")
    if all(q.valid_from or q.valid_until for q in questions):
        raise QuizFileError(f"{path.name}: at least one question must be valid at all times")
    return tuple(questions)


def _date(entry: dict[str, object], field: str, *, required: bool = False) -> date | None:
    value = entry.get(field)
    if value is None:
        if required:
            raise ValueError(f"{field} (YYYY-MM-DD) is required")
        return None
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _DATE.match(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"{field} must be a date written YYYY-MM-DD")


def _question(entry: dict[str, object]) -> Question:
    slug = str(entry["slug"])
    if not _SLUG.match(slug):
        raise ValueError(f"slug {slug!r} must be lowercase letters, digits and -")
    topic = str(entry["topic"])
    if topic not in TOPICS:
        raise ValueError(f"unknown topic {topic!r}")
    options = {}
    for language in ("vi", "en"):
        found = entry[f"options_{language}"]
        if not isinstance(found, list) or not 3 <= len(found) <= 4:
            raise ValueError(f"options_{language} needs 3 or 4 options")
        if any(not isinstance(o, str) or not o.strip() or len(o) > MAX_OPTION for o in found):
            raise ValueError(f"each option must be 1 to {MAX_OPTION} characters")
        options[language] = tuple(found)
    if len(options["vi"]) != len(options["en"]):
        raise ValueError("options_vi and options_en differ in number")
    answer = entry["answer"]
    if not isinstance(answer, int) or not 1 <= answer <= len(options["vi"]):
        raise ValueError("answer must be the number of one option")
    source = str(entry.get("source", ""))
    if not source.strip():
        raise ValueError("source is required")
    reviewed = _date(entry, "reviewed", required=True)
    valid_from, valid_until = _date(entry, "valid_from"), _date(entry, "valid_until")
    if valid_from and valid_until and valid_from > valid_until:
        raise ValueError("valid_from is after valid_until")
    return Question(
        slug=slug,
        topic=topic,
        source=source,
        question={lang: str(entry[f"question_{lang}"]) for lang in ("vi", "en")},
        options=options,
        answer=answer,
        explanation={lang: str(entry[f"explanation_{lang}"]) for lang in ("vi", "en")},
        reviewed=reviewed,
        valid_from=valid_from,
        valid_until=valid_until,
    )


def week_of(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def monday_of(week: str) -> date:
    match = _WEEK.match(week)
    if not match:
        raise ValueError("a week looks like 2026-W47")
    return date.fromisocalendar(int(match[1]), int(match[2]), 1)


def question_for(questions: tuple[Question, ...], week: str) -> Question:
    """This week's question: the next one in file order each week, round and round, among
    those in force on the week's Monday (load() keeps one that always is). A question a
    legal change retired is not asked, and the week's question stays the same all week."""
    monday = monday_of(week)
    asked = [q for q in questions if q.in_force(monday)]
    if not asked:
        raise ValueError(f"no question is in force in {week}")
    weeks = (monday - _EPOCH) // timedelta(weeks=1)
    return asked[weeks % len(asked)]
