"""A lint over what the bot ships to residents: the awareness library
(broadcasts/library.toml) and the weekly quiz (campaign/quiz.toml), both languages, read
as the raw files so that a missing field is seen too.

It fails on a text that calls the current Law on Drug Prevention and Control "năm 2021"
or cites 73/2021 as current; that recommends buying e-cigarettes (only labelled ones, of
known origin...: they are banned outright since 2025); that shows a /command the bot does
not have, or the English name of a command that has a Vietnamese one; that invites people to report in a group chat, in a message that can go to
one; that lacks `reviewed`; or that speaks of an overdose or poisoning without 115. Each
rule is shown to catch a bad text of its own."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass

import pytest

from broadcasts.library import LIBRARY
from campaign.quiz import QUIZ_FILE
from handlers import build_routers

LANGUAGES = ("vi", "en")


@dataclass(frozen=True)
class Entry:
    where: str  # "library:slug" or "quiz:slug"
    texts: dict[str, str]  # language -> every text a resident reads in it, joined
    source: str
    reviewed: object  # the raw value; None when missing
    to_groups: bool  # may be sent to a group chat


def library_entries(raw: dict[str, list[dict[str, object]]]) -> list[Entry]:
    # Every library message may go to group chats: the monthly rotation and the
    # campaigns are sent to the TDPs' chats as well as to subscribers (planner.py).
    return [
        Entry(
            f"library:{e['slug']}",
            {lang: str(e.get(lang, "")) for lang in LANGUAGES},
            str(e.get("source", "")),
            e.get("reviewed"),
            to_groups=True,
        )
        for e in raw.get("message", [])
    ]


def quiz_entries(raw: dict[str, list[dict[str, object]]]) -> list[Entry]:
    # The quiz is asked in a private chat only (handlers/start.py:private_ward).
    def joined(entry: dict[str, object], lang: str) -> str:
        options = entry.get(f"options_{lang}", [])
        parts = [
            entry.get(f"question_{lang}", ""),
            *(options if isinstance(options, list) else []),
            entry.get(f"explanation_{lang}", ""),
        ]
        return "\n".join(str(p) for p in parts)

    return [
        Entry(
            f"quiz:{e['slug']}",
            {lang: joined(e, lang) for lang in LANGUAGES},
            str(e.get("source", "")),
            e.get("reviewed"),
            to_groups=False,
        )
        for e in raw.get("question", [])
    ]


def registered_commands() -> frozenset[str]:
    return frozenset(name for router in build_routers() for name in router.commands)


def vietnamese_names() -> dict[str, str]:
    """English command -> the Vietnamese name of the same handler: commands are
    registered English name first (`@router.command("report", "baotin")`); a mere
    abbreviation (language, lang) is not a Vietnamese name."""
    names: dict[str, str] = {}
    for router in build_routers():
        by_handler: dict[int, list[str]] = {}
        for name, handler in router.commands.items():
            by_handler.setdefault(id(handler), []).append(name)
        for english, *others in by_handler.values():
            for other in others:
                if not english.startswith(other):
                    names[english] = other
    return names


_OLD_LAW = (
    re.compile(r"73/2021"),
    re.compile(r"(Luật Phòng, chống ma túy|Drug Prevention and Control)[^.\n]{0,12}\b2021\b"),
    re.compile(r"\b2021\b[^.\n]{0,12}(Law on Drug|Luật Phòng)"),
    re.compile(r"ma túy năm 2021"),
)
_VAPE = re.compile(
    r"thuốc lá điện tử|thuốc lá nung nóng|\bvape|\bpod\b|tinh dầu|e-cigarette|heated tobacco"
    r"|liquid",
    re.IGNORECASE,
)
_BUY_HINT = re.compile(
    r"chỉ mua|nhãn mác|nguồn gốc|có tem|cửa hàng lớn|chính hãng|only buy|label|origin"
    r"|big shop|genuine",
    re.IGNORECASE,
)
_CLAUSE = re.compile(r"[.;!?:\n]")
_COMMAND = re.compile(r"(?<![\w/.])/([A-Za-z_]+)")
_IN_THE_GROUP = re.compile(
    r"ngay tại đây|ngay trong nhóm|trong nhóm này|tại nhóm này|báo tin (ẩn danh )?tại đây"
    r"|right here|in this group|here in the group|report (anonymously )?here\b",
    re.IGNORECASE,
)
_OVERDOSE = re.compile(
    r"quá liều|sốc thuốc|bất tỉnh|ngộ độc|co giật|cấp cứu|overdose|unconscious|pass(es)? out"
    r"|poisoning|seizure|emergency care",
    re.IGNORECASE,
)


def lint(
    entries: list[Entry], commands: frozenset[str], vietnamese: dict[str, str] | None = None
) -> list[str]:
    """Every problem found, as "where [language]: rule: detail"."""
    vietnamese = vietnamese_names() if vietnamese is None else vietnamese
    problems = []
    for entry in entries:
        if entry.reviewed is None:
            problems.append(f"{entry.where}: reviewed: no reviewed date")
        if any(p.search(entry.source) for p in _OLD_LAW):
            problems.append(f"{entry.where}: old-law: the source cites the 2021 law")
        for lang, text in entry.texts.items():
            at = f"{entry.where} [{lang}]"
            if any(p.search(text) for p in _OLD_LAW):
                problems.append(f"{at}: old-law: the 2021 law called current")
            for clause in _CLAUSE.split(text):
                if _VAPE.search(clause) and _BUY_HINT.search(clause):
                    problems.append(f"{at}: vape-buying: {clause.strip()[:80]}")
            for name in _COMMAND.findall(text):
                if name not in commands:
                    problems.append(f"{at}: command: /{name} is not a command of the bot")
                elif name in vietnamese:
                    problems.append(f"{at}: english-command: show /{vietnamese[name]}, not /{name}")
            if entry.to_groups and _IN_THE_GROUP.search(text):
                problems.append(f"{at}: group-report: invites reporting in the group")
            if _OVERDOSE.search(text) and "115" not in text:
                problems.append(f"{at}: overdose: an overdose without 115")
    return problems


def _shipped() -> list[Entry]:
    library = tomllib.loads(LIBRARY.read_text(encoding="utf-8"))
    quiz = tomllib.loads(QUIZ_FILE.read_text(encoding="utf-8"))
    return library_entries(library) + quiz_entries(quiz)


def test_the_shipped_library_and_quiz_pass_the_lint() -> None:
    entries = _shipped()
    assert len(entries) >= 70  # both files were read: 34 messages, 46 questions
    assert lint(entries, registered_commands()) == []


def test_the_commands_are_collected_from_the_routers() -> None:
    commands = registered_commands()
    assert {"baotin", "report", "duongdaynong", "hotline", "camket", "dodui"} <= commands
    assert "hotlines" not in commands
    names = vietnamese_names()
    assert names["report"] == "baotin" and names["hotline"] == "duongdaynong"
    assert "language" not in names and "help" not in names
    # English first, as every command is registered: `police("monthly_report", "baocao")`
    assert names["monthly_report"] == "baocao" and "baocao" not in names


GOOD_VI = (
    "Kính gửi bà con,\n\nBà con có thể báo tin ẩn danh trong cuộc trò chuyện riêng với bot: "
    "gõ /baotin. Thuốc lá điện tử đã bị cấm hoàn toàn từ năm 2025."
)

BAD = [
    ("old-law", "Theo Luật Phòng, chống ma túy năm 2021, bà con có trách nhiệm tố giác."),
    ("old-law", "Luật Phòng, chống ma túy số 73/2021/QH14 quy định như sau."),
    ("old-law", "Under the 2021 Law on Drug Prevention and Control, you must report."),
    ("vape-buying", "Không mua tinh dầu không rõ nguồn gốc, bán trôi nổi trên mạng."),
    ("vape-buying", "Chỉ mua thuốc lá điện tử có nhãn mác."),
    ("vape-buying", "Buy only labelled e-cigarettes."),
    ("command", "Bà con nhắn riêng cho bot này, gõ /tobao để gửi tin báo."),
    ("english-command", "Bà con nhắn riêng cho bot này, gõ /report để gửi tin báo."),
    ("english-command", "Message this bot privately and type /hotline to see the numbers."),
    ("group-report", "Bà con có thể báo tin ẩn danh ngay tại đây: gõ /baotin."),
    ("group-report", "You can report anonymously right here: type /baotin."),
    ("overdose", "Nếu ai đó bất tỉnh sau khi dùng chất lạ, hãy gọi cấp cứu."),
    ("overdose", "If someone overdoses, call for medical help."),
]


@pytest.mark.parametrize(("rule", "text"), BAD)
def test_each_rule_catches_a_bad_text(rule: str, text: str) -> None:
    commands = registered_commands()
    good = Entry("library:good", {"vi": GOOD_VI, "en": ""}, "Seed 000", "2026-12-04", True)
    assert lint([good], commands) == []
    bad = Entry(
        "library:bad", {"vi": GOOD_VI + "\n\n" + text, "en": ""}, "Seed 000", "2026-12-04", True
    )
    found = lint([bad], commands)
    assert [p.split(": ")[1] for p in found] == [rule], found


def test_reporting_here_is_fine_where_it_cannot_reach_a_group() -> None:
    text = "Bạn có thể báo tin ẩn danh ngay tại đây: gõ /baotin."
    private = Entry("quiz:q", {"vi": text, "en": ""}, "Seed 000", "2026-12-04", False)
    assert lint([private], registered_commands()) == []


def test_a_missing_reviewed_date_and_an_old_source_are_caught() -> None:
    raw = {
        "message": [{"slug": "m", "vi": GOOD_VI, "source": "Luật số 73/2021/QH14"}],
        "question": [],
    }
    found = lint(library_entries(raw), registered_commands())
    assert found == [
        "library:m: reviewed: no reviewed date",
        "library:m: old-law: the source cites the 2021 law",
    ]
    quiz_raw = {
        "question": [
            {
                "slug": "q",
                "question_vi": "Gọi 115 khi bị ngộ độc?",
                "source": "Seed 001",
                "reviewed": "2026-12-04",
            }
        ]
    }
    assert lint(quiz_entries(quiz_raw), registered_commands()) == []
