"""The monthly report for the ward People's Committee: its numbers on a fixture ward
(tips and deadlines, coverage, subscribers, pledges, quiz, drug-free targets), small
counts masked, an empty month, and the same report as PDF and CSV from the command and
in the commander's chat."""

from __future__ import annotations

import csv
import io
import itertools
import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pypdfium2 as pdfium
import pytest
from pypdf import PdfReader
from sqlalchemy import update

from broadcasts import planner
from handlers import ward_report
from kernel.categories import CATEGORIES
from kernel.drug_free import DrugFreeStatus, Target
from kernel.i18n import Translator
from kernel.messages import ChannelInfo
from kernel.routes import Route
from reports.figures import published
from reports.monthly import gather
from storage import drug_free, pledges, quiz_answers, subscribers, wards
from storage.models import OfficerRole, PledgeKind, ResidentialGroup, Subscriber
from tests.helpers import (
    Chat,
    add_phu_lien,
    deliver_everything,
    enrol,
    group_id,
    run_cli,
    stored_tip,
)

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
VI = Translator().get("vi").gettext
OCTOBER = date(2026, 10, 1)


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=HCM).astimezone(UTC)  # type: ignore[misc]


def _shown(counts: list[tuple[str, int]]) -> dict[str, str]:
    return {c.label: str(c.count) for c in published(counts, together="all")}


def _solutions(counts: list[tuple[str, int]]) -> dict[str, set[int]]:
    """Every value each hidden row could have, for a reader who knows the total, the
    printed rows and the rule (masked: 1 or 2; withheld: 3 up to the smallest exact)."""
    rows, total = published(counts, together="all"), sum(n for _, n in counts)
    if [c.label for c in rows] == ["all"]:
        return {}  # merged into one row, which is the printed total: no breakdown to solve
    exact = [c.count.value for c in rows if not c.count.hidden]
    hidden = [c for c in rows if c.count.hidden]
    ceiling = min(exact, default=total)
    ranges = [range(1, 3) if c.count.masked else range(3, ceiling + 1) for c in hidden]
    seen: dict[str, set[int]] = {c.label: set() for c in hidden}
    for values in itertools.product(*ranges):
        if sum(values) + sum(exact) == total:
            for c, v in zip(hidden, values, strict=True):
                seen[c.label].add(v)
    return seen


def test_small_counts_are_masked_and_none_can_be_subtracted_out() -> None:
    assert _shown([("a", 7), ("b", 2), ("c", 4), ("d", 0)]) == {"a": "7", "c": "x", "b": "<3"}
    assert _shown([("a", 7), ("b", 1), ("c", 2)]) == {"a": "7", "b": "<3", "c": "<3"}
    # 11 = 5 + 4 + two masked: they could only be 1 and 1, so the 4 is withheld too.
    assert _shown([("Nam Hải", 5), ("Tổ 9", 4), ("Đẩu Sơn 1", 1), ("?", 1)]) == {
        "Nam Hải": "5",
        "Tổ 9": "x",
        "Đẩu Sơn 1": "<3",
        "?": "<3",
    }
    assert _shown([("a", 1)]) == {"all": "<3"}  # one row alone is the total: merged
    assert _shown([("a", 5)]) == {"a": "5"}
    assert _shown([("a", 1), ("b", 1)]) == {"all": "<3"}  # 1 + 1 = 2: both determined
    assert all(c.count.value == 0 for c in published([("b", 1), ("c", 2)], together="all"))
    assert published([], together="all") == []
    # Hidden rows come after the exact ones, by label: their place says nothing.
    labels = [c.label for c in published([("z", 2), ("a", 1), ("m", 9)], together="all")]
    assert labels == ["m", "a", "z"]


@pytest.mark.parametrize("seed", range(300))
def test_no_hidden_count_is_ever_determined(seed: int) -> None:
    generator = random.Random(seed)
    counts = [
        (f"t{i}", generator.choice([0, 1, 1, 2, 2, 3, 4, 5, 8]))
        for i in range(generator.randint(1, 6))
    ]
    for label, values in _solutions(counts).items():
        assert len(values) >= 2, (counts, label, values)
    shown = {c.label: c.count for c in published(counts, together="all")}
    for label, n in counts:  # what is printed exactly is true
        if label in shown and not shown[label].hidden:
            assert shown[label].value == n


async def _forty_groups(app) -> int:  # type: ignore[no-untyped-def]
    """Phù Liễn with its 12 TDPs of 2025 and 28 more: the ward's 40 (seed 003)."""
    ward_id = await add_phu_lien(app)
    async with app.services.db.transaction() as session:
        ward = await session.get(wards.Ward, ward_id)
        have = {g.name for g in await wards.list_groups(session, ward)}
        extra = [f"Tổ {n}" for n in range(1, 60) if f"Tổ {n}" not in have][: 40 - len(have)]
        rows = [wards.GroupRow(i, name) for i, name in enumerate(sorted(have) + extra, start=1)]
        await wards.import_groups(session, ward, rows)
    return ward_id


async def _tip(
    app,
    ward_id: int,
    group: int | None,
    category: str,
    created: datetime,  # type: ignore[no-untyped-def]
    *,
    ack: timedelta | None,
    closed: timedelta | None = None,
) -> None:
    services = app.services
    async with services.db.transaction() as session:
        tip, _ = await stored_tip(
            session,
            services,
            ward_id=ward_id,
            group_id=group,
            category=category,
            content={"what": "nội dung thử"},
        )
        tip.created_at = created
        tip.ack_due_at = created + timedelta(hours=24)
        tip.close_due_at = created + timedelta(days=30)
        tip.acknowledged_at = created + ack if ack is not None else None
        if closed is not None:
            tip.closed_at, tip.is_open, tip.status = created + closed, False, "closed"


async def _backdate(app, model, column: str, day: date) -> None:  # type: ignore[no-untyped-def]
    async with app.services.db.transaction() as session:
        await session.execute(update(model).values({column: day}))


async def _fixture(app, settings) -> int:  # type: ignore[no-untyped-def]
    services = app.services
    ward_id = await _forty_groups(app)
    nam_hai, dau_son, to_9 = [await group_id(app, n) for n in ("Nam Hải", "Đẩu Sơn 1", "Tổ 9")]
    oct_ = lambda day, hour=9: local(2026, 10, day, hour)  # noqa: E731
    # Tips: 5 in Nam Hải, 4 in Tổ 9, 1 in Đẩu Sơn 1, 1 with no TDP; one from September.
    for n, category in enumerate(["dealing", "dealing", "dealing", "use", "use"]):
        await _tip(
            app,
            ward_id,
            nam_hai,
            category,
            oct_(2 + n),
            ack=timedelta(hours=2),
            closed=timedelta(days=3) if n < 3 else None,
        )
    for n in range(4):
        late = n == 0
        await _tip(
            app, ward_id, to_9, "dealing", oct_(10 + n), ack=timedelta(hours=30 if late else 1)
        )
    await _tip(app, ward_id, dau_son, "venue", oct_(20), ack=None)  # never acknowledged
    await _tip(app, ward_id, None, "other", oct_(31, 23), ack=None)  # not due before 1/11
    await _tip(
        app,
        ward_id,
        nam_hai,
        "use",
        local(2026, 9, 15, 9),
        ack=timedelta(hours=1),
        closed=timedelta(days=35),
    )  # closed in October, five days late

    async with services.db.transaction() as session:
        group = await session.get(ResidentialGroup, nam_hai)
        for who in ("cu-dan-1", "cu-dan-2"):
            await subscribers.subscribe(
                session, services.vault, services.pseudonyms, Route("console", who), group, "vi"
            )
        for who, tdp in (("hgd-1", nam_hai), ("hgd-2", nam_hai), ("hgd-3", to_9)):
            row = await session.get(ResidentialGroup, tdp)
            await pledges.sign_household(
                session, services.pseudonyms, Route("console", who), row, today=date(2026, 10, 4)
            )
        await pledges.add_organisation(
            session,
            ward_id=ward_id,
            kind=PledgeKind.SCHOOL,
            name="Trường THCS Quán Trữ",
            group=await session.get(ResidentialGroup, dau_son),
            signed_on=date(2026, 10, 12),
            officer_id=None,
        )
        for who, correct in (("q-1", True), ("q-2", False), ("hgd-1", True)):
            await quiz_answers.record(
                session,
                services.pseudonyms,
                Route("console", who),
                ward_id=ward_id,
                group_id=nam_hai if who == "hgd-1" else None,
                week="2026-W42",
                question="x",
                correct=correct,
                today=date(2026, 10, 14),
            )
        selected = [
            g
            for g in await drug_free.active_groups(session, ward_id)
            if g.name
            in {
                "Nam Hải",
                "Quy Tức 1",
                "Tổ 9",
                "Đẩu Sơn 1",
                "Tổ 6",
                "Cấp Tiến",
                "Lệ Tảo 1",
                "Lệ Tảo 2",
                "Đẩu Phượng 2",
                "Hòa Bình",
                "Đồng Tử 2",
                "Minh Khai",
            }
        ]
        assert len(selected) == 12
        for g in selected:
            for status in (DrugFreeStatus.REGISTERED, DrugFreeStatus.ACHIEVED):
                await drug_free.record(
                    session,
                    g,
                    year=2025,
                    status=status,
                    decided_on=date(2025, 11, 30),
                    officer_id=None,
                )
        lost = next(g for g in selected if g.id == nam_hai)
        await drug_free.record(
            session,
            lost,
            year=2026,
            status=DrugFreeStatus.LOST,
            decided_on=date(2026, 10, 1),
            officer_id=None,
        )
    await _backdate(app, Subscriber, "subscribed_on", date(2026, 10, 3))
    async with services.db.transaction() as session:
        await planner.plan(session, services.settings, local(2026, 10, 5, 8))
    assert await deliver_everything(app, local(2026, 10, 5, 10)) == 2  # Nam Hải's two
    return ward_id


async def test_report_numbers_on_the_fixture_ward(app, settings) -> None:
    from dataclasses import replace

    settings = replace(
        settings, targets={"phu-lien": (Target(2025, share=0.30), Target(2027, share=0.60))}
    )
    ward_id = await _fixture(app, settings)
    async with app.services.db.transaction() as session:
        ward = await session.get(wards.Ward, ward_id)
        report = await gather(session, settings, ward, "2026-10", VI, "vi", local(2026, 11, 5, 9))

    t = report.tips
    assert (t.received, t.urgent, t.closed, t.open_at_end) == (11, 0, 4, 8)
    # Acknowledged: 9 of the 10 that were due (one an hour late, one never; the 31/10
    # tip was not due yet) — 8 on time.
    assert (t.acknowledged_on_time.part, t.acknowledged_on_time.whole) == (8, 10)
    assert (t.closed_on_time.part, t.closed_on_time.whole) == (3, 4)
    by_category = {c.label: str(c.count) for c in report.tips_by_category}
    assert by_category == {
        VI(CATEGORIES["dealing"]): "7",
        VI(CATEGORIES["use"]): "<3",
        VI(CATEGORIES["venue"]): "<3",
        VI(CATEGORIES["other"]): "<3",
    }
    by_group = {c.label: str(c.count) for c in report.tips_by_group}
    assert by_group == {"Nam Hải": "5", "Tổ 9": "x", "Đẩu Sơn 1": "<3", "Không rõ tổ dân phố": "<3"}
    lines = {g.name: g for g in report.groups}
    assert len(lines) == 40 and report.groups_reached.part == 1
    nam_hai = lines["Nam Hải"]
    assert (nam_hai.reached, nam_hai.messages_delivered, nam_hai.channels) == (True, 2, "console")
    assert (nam_hai.subscribers, nam_hai.household_pledges, nam_hai.quiz_participants) == (2, 2, 1)
    assert (
        nam_hai.drug_free == "không còn đạt"
        and lines["Tổ 9"].drug_free == "đạt không ma túy (2025)"
    )
    assert (report.subscribers, report.subscribers_new) == (2, 2)
    assert (report.household_pledges, report.household_pledges_new) == (3, 3)
    assert [(p.name, p.group) for p in report.organisation_pledges] == [
        ("Trường THCS Quán Trữ", "Đẩu Sơn 1")
    ]
    assert (report.quiz.participants, report.quiz.answers, report.quiz.correct.part) == (3, 3, 2)
    years = {y.year: y for y in report.drug_free}
    assert (years[2025].achieved, years[2025].total, years[2025].target) == (12, 40, 12)
    assert years[2025].target_label == "30% (12/40)"
    assert (years[2026].achieved, years[2026].target) == (11, None)  # one TDP lost it
    assert (years[2027].achieved, years[2027].target) == (11, 24)
    assert not report.empty and report.notes == []


async def test_an_empty_month_is_a_correct_empty_report(app, settings) -> None:
    await add_phu_lien(app)
    async with app.services.db.transaction() as session:
        ward = (await wards.list_wards(session))[0]
        report = await gather(session, settings, ward, "2026-03", VI, "vi", local(2026, 11, 5, 9))
    assert report.empty and report.tips.received == 0 and report.tips_by_group == []
    assert str(report.tips.acknowledged_on_time) == "0/0" and report.groups_reached.part == 0
    assert report.notes == ["Tháng này chưa ghi nhận hoạt động nào."]
    assert all(not g.reached and g.subscribers == 0 for g in report.groups)


def _pages(pdf: Path) -> list:  # type: ignore[type-arg]
    document = pdfium.PdfDocument(str(pdf))
    images = [document[i].render(scale=1).to_pil().convert("L") for i in range(len(document))]
    for image in images:  # every page renders, and not blank
        assert image.getextrema()[0] < 128
    return images


async def test_the_report_command_writes_the_pdf_csv_and_charts(
    app, settings, cli_env, tmp_path
) -> None:
    ward_id = await _fixture(app, settings)
    await app.close()
    out = tmp_path / "bao-cao"
    result = run_cli("report", "--month", "2026-10", "--out", str(out), env=cli_env)
    assert result.returncode == 0, result.stderr[-800:]
    written = [Path(line) for line in result.stdout.splitlines()]
    pdf = next(p for p in written if p.suffix == ".pdf")
    assert len(_pages(pdf)) >= 2
    text = "".join(page.extract_text() for page in PdfReader(pdf).pages)
    for expected in ("Phù Liễn", "10/2026", "Nam Hải", "Đẩu Sơn 1", "<3", "8/10 (80%)"):
        assert expected in text, expected
    with (out / "tips_by_tdp.csv").open(encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    values = {row[0]: row[1] for row in rows[1:]}
    assert values["Nam Hải"] == "5" and values["Đẩu Sơn 1"] == "<3"
    with (out / "tdp.csv").open(encoding="utf-8-sig") as handle:
        assert len(list(csv.reader(handle))) == 41  # header and 40 TDPs
    assert all(p.exists() and p.stat().st_size > 1000 for p in written if p.suffix == ".png")

    refused = run_cli("report", "--month", "2026-13", "--out", str(out), env=cli_env)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert "2026-13" in refused.stderr
    ancient = run_cli("report", "--month", "0001-01", "--out", str(tmp_path / "a"), env=cli_env)
    assert ancient.returncode == 1 and "Traceback" not in ancient.stderr
    empty = run_cli("report", "--month", "2025-01", "--out", str(tmp_path / "e"), env=cli_env)
    assert empty.returncode == 0, empty.stderr[-800:]
    empty_pdf = next(Path(p) for p in empty.stdout.splitlines() if p.endswith(".pdf"))
    assert "chưa ghi nhận hoạt động nào" in PdfReader(empty_pdf).pages[0].extract_text()
    assert ward_id


async def _commander_on_telegram(app, ward_id: int, user: str) -> Chat:  # type: ignore[no-untyped-def]
    """A commander enrolled from a chat that can receive files, as Telegram can."""
    app.dispatcher.register_channel(ChannelInfo("telegram", can_send_files=True))
    async with app.services.db.transaction() as session:
        _row, code = await app.services.invites.create(
            session, ward_id=ward_id, role=OfficerRole.COMMANDER, label="Trần Văn Hùng (TG)"
        )
    commander = Chat(app, user, channel="telegram")
    await commander.send(f"/join {code.lower()}")
    return commander


async def test_the_commander_gets_the_pdf_in_the_chat(app) -> None:
    ward_id = await add_phu_lien(app)
    commander = await enrol(app, ward_id, OfficerRole.COMMANDER, "chi-huy", "Trần Văn Hùng")
    officer = await enrol(app, ward_id, OfficerRole.OFFICER, "can-bo", "Lê Văn An")
    resident = Chat(app, "cu-dan")

    await commander.send("/baocao 2026-10")  # the console cannot receive files: text
    assert "Báo cáo tháng 10/2026, phường Phù Liễn" in commander.text
    assert "wardbot report --ward phu-lien --period 2026-10" in commander.text

    on_telegram = await _commander_on_telegram(app, ward_id, "900")
    await on_telegram.send("/report 2026-10")  # a commander's /report is the monthly report
    media = [m for reply in on_telegram.last for m in reply.media]
    assert len(media) == 1 and media[0].filename == "bao-cao-phu-lien-2026-10.pdf"
    document = pdfium.PdfDocument(io.BytesIO(media[0].data))
    assert len(document) >= 1

    await officer.send("/baocao")  # an officer who is not the commander: unknown command
    assert "Báo cáo tháng" not in officer.text
    await commander.send("/start")  # on the console, as on Zalo, a menu pick is a number
    await commander.pick("Báo tin, tố giác")
    assert "Tin báo của bạn về việc gì?" in commander.text
    await commander.send("/baotin")
    assert "Tin báo của bạn về việc gì?" in commander.text
    await resident.send("/report")  # residents still report tips
    assert "Báo cáo tháng" not in resident.text
    await commander.send("/baocao 2099-01")
    assert "Tháng đó chưa bắt đầu." in commander.text
    await commander.send("/baocao tháng mười")
    assert "/baocao 2026-11" in commander.text
    await commander.send("/baocao 0001-01")  # a year no clock can reach: the same hint
    assert "/baocao 2026-11" in commander.text
    # Longer periods: a quarter, the six-month review, the year, as the committee asks.
    await commander.send("/baocao 2026-q3")
    assert "Báo cáo quý: Quý III/2026, phường Phù Liễn" in commander.text
    assert "tiếp nhận kịp thời" in commander.text  # the indicator, stated plainly
    await commander.send("/baocao 2026-H1")
    assert "6 tháng đầu năm 2026" in commander.text
    await commander.send("/baocao 2026")
    assert "Năm 2026" in commander.text
    await commander.send("/baocao 2026-Q5")
    assert "2026-Q3" in commander.text and "Quý" not in commander.text


async def test_a_pdf_that_cannot_be_rendered_leaves_the_summary_and_a_polite_word(
    app, monkeypatch
) -> None:
    ward_id = await add_phu_lien(app)
    commander = await _commander_on_telegram(app, ward_id, "901")

    def out_of_memory(*_args: object) -> bytes:
        raise MemoryError("rendering failed")

    renderer = ward_report._render_pdf
    monkeypatch.setattr(ward_report, "_render_pdf", out_of_memory)
    await commander.send("/baocao 2026-10")
    assert "Báo cáo tháng 10/2026, phường Phù Liễn" in commander.text
    assert "một phần câu trả lời chưa chuẩn bị được" in commander.text
    assert not [m for reply in commander.last for m in reply.media]
    assert "Traceback" not in commander.text and "rendering failed" not in commander.text

    monkeypatch.setattr(ward_report, "_render_pdf", renderer)
    await commander.send("/baocao 2026-10")  # nothing was left half-done
    assert [m for reply in commander.last for m in reply.media]
