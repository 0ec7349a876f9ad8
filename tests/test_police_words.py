"""The police's words: usage lines in Vietnamese, Vietnamese category and outcome words
(accents and case optional) in /triage and /close, and /audit told in sentences."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import select

from bot.app import App
from handlers.police import audit_text
from kernel.categories import CATEGORIES
from storage.models import Tip
from storage.triage import OUTCOME_LABELS, Outcome
from tests import test_triage
from tests.helpers import Chat, send_report
from tests.test_triage import WHAT, Police

police = test_triage.police  # the same enrolled ward police as the triage tests
ROOT = Path(__file__).resolve().parent.parent
ENGLISH_PLACEHOLDERS = re.compile(r"\b(CODE|TEXT|OFFICER|CATEGORY|PRIORITY|OTHER-CODE|OUTCOME)\b")
ENGLISH_WORDS = re.compile(r"\b(confirmed|unfounded|duplicate|referred)\b")


def vi(app: App, message: str) -> str:
    return app.services.translator.get("vi").gettext(message)


async def _tip(app: App, code: str) -> Tip:
    async with app.services.db.transaction() as session:
        return (await session.scalars(select(Tip).where(Tip.code == code))).one()


async def test_every_usage_line_is_vietnamese(app, police: Police) -> None:
    code, _ = await send_report(Chat(app, "reporter"), WHAT, ward_id=police.ward)
    commander = police.commander
    for typed, starts in (
        ("/tip", "/tip MÃ"),
        ("/claim", "/claim MÃ"),
        ("/assign", "/assign MÃ CÁN-BỘ"),
        ("/triage", "/triage MÃ LOẠI MỨC"),
        (f"/triage {code} 2", "/triage MÃ LOẠI MỨC"),
        ("/note", "/note MÃ NỘI-DUNG"),
        ("/ask", "/ask MÃ NỘI-DUNG"),
        ("/reply", "/reply MÃ NỘI-DUNG"),
        ("/close", "/close MÃ xacminh|khongco|chuyen, hoặc /close MÃ trung MÃ-KHÁC"),
        (f"/close {code} perhaps", "/close MÃ xacminh"),
        ("/merge", "/merge MÃ MÃ-KHÁC"),
        ("/audit", "/audit MÃ"),
        ("/approve x", "/approve SỐ · /reject SỐ"),
    ):
        replies = await commander.send(typed)
        first = replies[0].text
        assert first.startswith(f"Cách dùng: {starts}"), (typed, first)
        for reply in replies:
            assert not ENGLISH_PLACEHOLDERS.search(reply.text), (typed, reply.text)
            assert not ENGLISH_WORDS.search(reply.text), (typed, reply.text)
    assert (await _tip(app, code)).category == "use"  # nothing changed by a usage answer


async def test_police_help_lists_the_vietnamese_words(app, police: Police) -> None:
    await police.commander.send("/help")
    text = police.commander.text
    assert "/close MÃ KẾT-QUẢ: xacminh (đúng, đã xử lý)" in text
    assert "trung MÃ-KHÁC" in text and "chuyen (chuyển cấp trên)" in text
    assert not ENGLISH_PLACEHOLDERS.search(text) and not ENGLISH_WORDS.search(text)
    police.commander.language_hint = "en"
    await police.commander.send("/language en")
    await police.commander.send("/help")
    assert "/close CODE OUTCOME: confirmed, unfounded, duplicate OTHER-CODE" in (
        police.commander.text
    )


async def test_triage_takes_every_listed_word_with_or_without_accents(app, police) -> None:
    code, _ = await send_report(Chat(app, "reporter"), WHAT, ward_id=police.ward)
    officer = police.officer
    await officer.send(f"/triage {code} banh-mi 2")
    listing = officer.last[-1].text
    assert listing.startswith(vi(app, "Categories:"))
    listed = re.findall(r"^• ([a-z]+): (.+)$", listing, re.MULTILINE)
    assert len(listed) == len(CATEGORIES)
    labels = {vi(app, label): key for key, label in CATEGORIES.items()}
    for word, label in listed:
        await officer.send(f"/triage {code} {word} 3")
        assert (await _tip(app, code)).category == labels[label], word
    for typed, category, priority in (
        ("Mua bán", "dealing", 1),
        ("SỬ DỤNG", "use", 2),
        ("vận chuyển", "trafficking", 3),
        ("Truy nã", "wanted", 1),
        ("venue", "venue", 2),  # the stored slug still works
    ):
        await officer.send(f"/triage {code} {typed} {priority}")
        tip = await _tip(app, code)
        assert (tip.category, tip.priority) == (category, priority), typed
        assert "✓" in officer.text


async def test_close_takes_vietnamese_outcomes_with_or_without_accents(app, police) -> None:
    officer = police.officer
    codes = [
        (await send_report(Chat(app, f"r{n}"), f"{WHAT} {n}", ward_id=police.ward))[0]
        for n in range(6)
    ]
    for code, typed, outcome in zip(
        codes[:4],
        ("Xác minh", "KHÔNG CÓ", "chuyen", "referred"),
        (Outcome.CONFIRMED, Outcome.UNFOUNDED, Outcome.REFERRED, Outcome.REFERRED),
        strict=True,
    ):
        await officer.send(f"/close {code} {typed}")
        assert (await _tip(app, code)).outcome == outcome, typed
        assert vi(app, OUTCOME_LABELS[outcome]) in officer.text
    await officer.send(f"/close {codes[4]} Trùng {codes[5]}")  # into a tip still open
    merged = await _tip(app, codes[4])
    assert merged.outcome == Outcome.DUPLICATE
    assert merged.merged_into_id == (await _tip(app, codes[5])).id


async def test_audit_tells_the_history_in_sentences(app, police: Police) -> None:
    first, _ = await send_report(Chat(app, "reporter-audit"), WHAT, ward_id=police.ward)
    code, _ = await send_report(
        Chat(app, "reporter-2"), "ngáo đá cầm dao", category="danger", ward_id=police.ward
    )
    officer, commander = police.officer, police.commander
    await officer.send(f"/tip {code}")
    await officer.send(f"/claim {code}")
    await officer.send(f"/triage {code} muaban 2")
    await officer.send(f"/note {code} đã cử tổ công tác")
    await officer.send(f"/ask {code} mấy giờ?")
    await officer.send(f"/reply {code} đã tiếp nhận")
    await commander.send(f"/assign {code} Trinh sát Minh")
    await commander.send(f"/close {code} trung {first}")
    await commander.send(f"/audit {code}")
    lines = commander.text.splitlines()
    assert lines[0] == vi(app, "History of tip {code}:").format(code=code)
    for entry in lines[1:]:
        assert re.fullmatch(r"\d\d/\d\d \d\d:\d\d — [^{}=]+\.", entry), entry
    body = "\n".join(lines[1:])
    for sentence in (
        f"Tin được gửi đến, là tin khẩn: {vi(app, CATEGORIES['danger'])}.",
        "Trinh sát Minh xem nội dung tin.",
        "Trinh sát Minh tiếp nhận tin.",
        "Trinh sát Minh nhận xử lý tin.",
        "Trinh sát Minh xếp loại tin: ",
        ", mức ưu tiên 2.",
        "Trinh sát Minh thêm ghi chú nội bộ.",
        "Trinh sát Minh bắt đầu xác minh tin.",
        "Trinh sát Minh gửi câu hỏi cho người báo tin.",
        "Trinh sát Minh gửi phản hồi cho người báo tin.",
        "Trưởng CA Hùng giao tin cho Trinh sát Minh.",
        f"Trưởng CA Hùng kết thúc tin: {vi(app, OUTCOME_LABELS[Outcome.DUPLICATE])}.",
        f"Trưởng CA Hùng gộp tin này vào tin {first}.",
    ):
        assert sentence in body, sentence
    for raw in ("view", "status", "triage", "assignee", "None", "'", "reporter-"):
        assert raw not in body, raw


def test_every_action_on_a_tip_has_a_sentence() -> None:
    """Each audit action the code appends with a tip is one /audit can tell."""
    call = re.compile(r"audit\.append\(\s*[\w.]+,\s*\"([a-z_.]+)\"(.{0,200}?)\)", re.DOTALL)
    found = set()
    for package in ("bot", "handlers", "storage", "engine", "broadcasts", "reports"):
        for path in (ROOT / package).rglob("*.py"):
            for action, rest in call.findall(path.read_text(encoding="utf-8")):
                if "tip_id=" in rest:
                    found.add(action)
    assert {"received", "view", "status", "triage", "note", "merge"} <= found
    assert found <= set(audit_text.SENTENCES), found - set(audit_text.SENTENCES)
