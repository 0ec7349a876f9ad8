"""The monthly report's layout (reports/document.py, reports/charts.py) on hand-built
figures: the PDF opens, renders and says what the figures say; the CSVs read back;
masked counts stay masked everywhere; an empty month and very long names still give a
complete report."""

from __future__ import annotations

import csv
import unicodedata
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from PIL import Image
from pypdf import PdfReader

from kernel.i18n import Translator
from reports.document import ReportFiles, write_report
from reports.figures import (
    Count,
    DrugFreeYear,
    GroupFigures,
    LabelledCount,
    MonthlyReport,
    OrganisationPledge,
    QuizFigures,
    Share,
    TipFigures,
    published,
)

ENGLISH = str  # gettext for English: the message ids as they are
VI = Translator().get("vi").gettext

TDP_NAMES = (
    "Nam Hải",
    "Quy Tức 1",
    "Quy Tức 2",
    "Đẩu Sơn 1",
    "Đẩu Sơn 2",
    "Lệ Tảo 1",
    "Lệ Tảo 2",
    "Lệ Tảo 3",
    "Đồng Tử 1",
    "Đồng Tử 2",
    "Đẩu Phượng 1",
    "Đẩu Phượng 2",
    "Cấp Tiến",
    "Hòa Bình",
    "Minh Khai",
    "Phù Lưu 1",
    "Phù Lưu 2",
    "Lãm Hà",
    "Quán Trữ",
    "Trữ Khê",
    "Kiến Thiết",
    "Trần Thành Ngọ",
    "Văn Đẩu",
    "Tràng Minh",
    "Bắc Sơn",
    "Nam Sơn",
    "Ngọc Sơn",
    "Phù Liễn 1",
    "Phù Liễn 2",
    "Xuân La",
    "Đông Hải",
    "Tây Sơn",
    "Hợp Đức",
    "Tân Tiến",
    "Quyết Tiến",
    "Thống Nhất",
    "An Lạc",
    "Trung Hành",
    "Lê Lợi",
    "Tổ 9",
)
MASKED = Count(0, masked=True)  # as the gatherer publishes 1 or 2: no value to leak


def group(name: str, number: int) -> GroupFigures:
    reached = number % 3 != 0
    return GroupFigures(
        name=name,
        reached=reached,
        messages_delivered=(number * 7) % 23 + 1 if reached else 0,
        channels=("telegram, zalo" if number % 2 else "zalo") if reached else "",
        subscribers=(number * 5) % 17,
        household_pledges=(number * 3) % 11,
        quiz_participants=(number * 2) % 7,
        drug_free=("achieved (2025)", "maintained", "", "lost")[number % 4],
    )


def realistic(**changes: object) -> MonthlyReport:
    groups = [group(name, n) for n, name in enumerate(TDP_NAMES, start=1)]
    report = MonthlyReport(
        ward="Phù Liễn",
        city="Hải Phòng",
        month="2026-11",
        language="en",
        generated_at=datetime(2026, 12, 1, 7, 30),
        tips=TipFigures(
            received=11,
            urgent=2,
            acknowledged_on_time=Share(9, 10),
            closed=4,
            closed_on_time=Share(3, 4),
            open_at_end=8,
        ),
        # As the gatherer publishes them, from true counts adding up to the 11 received.
        tips_by_category=published(
            [
                ("Dealing, retail sales of drugs", 7),
                ("Illegal drug use", 2),
                ("A place where drugs are used", 1),
                ("Something else", 1),
            ],
            together="All",
        ),
        tips_by_group=published(
            [("Nam Hải", 5), ("Quy Tức 1", 4), ("Đẩu Sơn 1", 1), ("TDP not given", 1)],
            together="All",
        ),
        groups=groups,
        groups_reached=Share(sum(g.reached for g in groups), len(groups)),
        subscribers=sum(g.subscribers for g in groups) + 4,
        subscribers_new=23,
        household_pledges=sum(g.household_pledges for g in groups),
        household_pledges_new=17,
        organisation_pledges=[
            OrganisationPledge("school", "Trường THCS Phù Liễn", "Đẩu Sơn 1", "2026-11-03"),
            OrganisationPledge("business", "Karaoke Hoàng Gia", "Nam Hải", "2026-11-12"),
            OrganisationPledge(
                "residential group", "Tổ dân phố Lệ Tảo 2", "Lệ Tảo 2", "2026-11-20"
            ),
            OrganisationPledge("business", "Chợ Lãm Hà", "", "2026-11-25"),
        ],
        quiz=QuizFigures(participants=57, answers=212, correct=Share(171, 212)),
        drug_free=[
            DrugFreeYear(2025, 12, 40, 12, "30% (12/40)"),
            DrugFreeYear(2026, 15, 40, None, ""),
            DrugFreeYear(2027, 0, 40, 24, "60% (24/40)"),
        ],
        notes=["The month is not over yet: figures are as of 30/11/2026 18:00."],
    )
    return replace(report, **changes)  # type: ignore[arg-type]


def empty() -> MonthlyReport:
    zero = Share(0, 0)
    groups = [GroupFigures(name, False, 0, "", 0, 0, 0, "") for name in TDP_NAMES[:12]]
    return realistic(
        tips=TipFigures(0, 0, zero, 0, zero, 0),
        tips_by_category=[],
        tips_by_group=[],
        groups=groups,
        groups_reached=Share(0, len(groups)),
        subscribers=0,
        subscribers_new=0,
        household_pledges=0,
        household_pledges_new=0,
        organisation_pledges=[],
        quiz=QuizFigures(0, 0, zero),
        drug_free=[],
        notes=[],
    )


def pages(pdf: Path) -> list[Image.Image]:
    """Every page rendered; none of them blank."""
    document = pdfium.PdfDocument(str(pdf))
    try:
        images = [document[i].render(scale=1).to_pil().convert("L") for i in range(len(document))]
    finally:
        document.close()
    for number, image in enumerate(images, start=1):
        darkest, _lightest = image.getextrema()
        assert darkest < 128, f"page {number} is blank"
        assert sum(image.histogram()[:200]) > 500, f"page {number} is nearly empty"
    return images


def pdf_text(pdf: Path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(pdf).pages)


def read_csv(path: Path) -> list[list[str]]:
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # the BOM, for Excel
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


CSV_NAMES = (
    "summary.csv",
    "tips_by_category.csv",
    "tips_by_tdp.csv",
    "tdp.csv",
    "organisation_pledges.csv",
    "drug_free.csv",
)
CHART_NAMES = (
    "chart-tips-by-category.png",
    "chart-coverage.png",
    "chart-drug-free.png",
    "chart-participation.png",
)


@pytest.fixture(scope="module")
def english(tmp_path_factory: pytest.TempPathFactory) -> ReportFiles:
    return write_report(realistic(), tmp_path_factory.mktemp("en") / "out", ENGLISH)


def test_the_files_are_named_and_written(english: ReportFiles) -> None:
    folder = english.pdf.parent
    assert english.pdf.name == "report-phu-lien-2026-11.pdf"
    assert tuple(p.name for p in english.csvs) == CSV_NAMES
    assert tuple(p.name for p in english.charts) == CHART_NAMES
    assert all(p.parent == folder and p.stat().st_size > 0 for p in english.csvs + english.charts)


def test_the_pdf_renders_and_says_what_the_figures_say(english: ReportFiles) -> None:
    images = pages(english.pdf)
    assert len(images) >= 2  # 40 TDPs and four charts do not fit on one page
    width, height = pdfium.PdfDocument(str(english.pdf))[0].get_size()
    assert (round(width), round(height)) == (595, 842)  # A4 portrait, in points
    text = pdf_text(english.pdf)
    for expected in (
        "WARD POLICE OF PHÙ LIỄN — HẢI PHÒNG",
        "Report on drug prevention and control",
        "Month 11/2026",
        "To: the People's Committee of Phù Liễn ward",
        "Generated on 01/12/2026 07:30",
        "so that no one can be singled out",
        "The month is not over yet",  # the gatherer's notes
        "9/10 (90%)",  # acknowledged on time
        "3/4 (75%)",  # closed on time
        "27/40 (68%)",  # TDPs reached
        "171/212 (81%)",  # correct quiz answers
        "(+23)",  # new subscribers
        "Dealing, retail sales of drugs",
        "Trường THCS Phù Liễn",
        "ward-wide",  # an organisation pledge without a TDP
        "03/11/2026",  # dates as the reader writes them
        "30% (12/40)",
        "Chart 4.",
        f"Page 1 of {len(images)}",
        f"Page {len(images)} of {len(images)}",
    ):
        assert expected in text, expected
    for name in TDP_NAMES:
        assert name in text, name
    assert "<3" in text and "✓" in text and "✗" in text
    assert "No activity was recorded" not in text  # not an empty month
    assert text == unicodedata.normalize("NFC", text)


def test_sixty_tdps_break_across_pages_under_a_repeated_header(tmp_path: Path) -> None:
    names = [*TDP_NAMES, *(f"Tổ dân phố số {n}" for n in range(41, 61))]
    groups = [group(name, n) for n, name in enumerate(names, start=1)]
    files = write_report(realistic(groups=groups, groups_reached=Share(40, 60)), tmp_path, ENGLISH)
    pages(files.pdf)
    texts = [page.extract_text() for page in PdfReader(files.pdf).pages]
    with_rows = [t for t in texts if "✓" in t or "✗" in t]  # the marks are only in that table
    assert len(with_rows) >= 2  # the table broke across pages...
    for text in with_rows:  # ...with its header on each of them
        assert "Messages" in text and "Quiz" in text, text[:300]
    assert sum(name in "\n".join(with_rows) for name in names) == 60
    assert len(read_csv(tmp_path / "tdp.csv")) == 61


def test_the_csvs_read_back(english: ReportFiles) -> None:
    folder = english.pdf.parent
    summary = read_csv(folder / "summary.csv")
    assert summary[0] == ["Indicator", "Value"]
    values = dict(summary[1:])
    assert values["Tips received"] == "11"
    assert values["Acknowledged on time (of those due)"] == "9/10 (90%)"
    assert values["Residential groups reached by awareness messages"] == "27/40 (68%)"
    assert values["Organisation pledges"] == "4"
    assert values["Correct quiz answers"] == "171/212 (81%)"

    tdp = read_csv(folder / "tdp.csv")
    assert tdp[0] == [
        "Residential group",
        "Reached",
        "Messages delivered",
        "Channels",
        "Subscribers",
        "Family pledges",
        "Quiz participants",
        "Drug-free status",
    ]
    assert len(tdp) == 41 and [row[0] for row in tdp[1:]] == list(TDP_NAMES)
    nam_hai = next(row for row in tdp if row[0] == "Nam Hải")
    assert nam_hai[1:4] == ["yes", "8", "telegram, zalo"]

    assert read_csv(folder / "tips_by_category.csv") == [
        ["Category", "Tips"],
        ["Dealing, retail sales of drugs", "7"],
        ["A place where drugs are used", "<3"],
        ["Illegal drug use", "<3"],
        ["Something else", "<3"],
    ]
    pledges = read_csv(folder / "organisation_pledges.csv")
    assert pledges[0] == ["Kind", "Name", "Residential group", "Signed on"]
    assert pledges[4] == ["business", "Chợ Lãm Hà", "", "2026-11-25"]
    assert read_csv(folder / "drug_free.csv") == [
        ["Year", "Drug-free", "Residential groups", "Target"],
        ["2025", "12", "40", "30% (12/40)"],
        ["2026", "15", "40", "—"],
        ["2027", "0", "40", "60% (24/40)"],
    ]


def test_a_masked_count_is_printed_masked_and_never_as_a_number(english: ReportFiles) -> None:
    # The fixture never holds the true value of a masked row: every file can only show "<3".
    rows = read_csv(english.pdf.parent / "tips_by_tdp.csv")
    assert rows[0] == ["Residential group", "Tips"]
    assert rows[1:] == [
        ["Nam Hải", "5"],
        ["Quy Tức 1", "x"],
        ["Đẩu Sơn 1", "<3"],
        ["TDP not given", "<3"],
    ]
    lines = [line for line in pdf_text(english.pdf).splitlines() if "Đẩu Sơn 1" in line]
    assert any(line.strip().endswith("<3") for line in lines), lines
    assert not any(line.strip() == "Đẩu Sơn 1 0" for line in lines)  # its Count's 0 unused


def test_the_charts_are_pngs_that_fit_the_page(english: ReportFiles) -> None:
    for chart in english.charts:
        with Image.open(chart) as image:
            image.verify()
        with Image.open(chart) as image:
            assert image.format == "PNG"
            width, height = image.size
            assert 1000 <= width <= 1100  # 7 inches at 150 dpi: the PDF's text width
            assert 180 <= height <= 600, (chart.name, height)
            assert image.convert("L").getextrema()[0] < 100  # something is drawn


def test_drawing_leaves_no_figure_open_nor_a_changed_setting(tmp_path: Path) -> None:
    import matplotlib
    from matplotlib import pyplot

    before = dict(matplotlib.rcParams)
    write_report(realistic(), tmp_path, ENGLISH)
    assert pyplot.get_fignums() == []
    after = dict(matplotlib.rcParams)
    assert {k: v for k, v in after.items() if before.get(k) != v and k != "backend"} == {}


def test_the_vietnamese_catalog_gives_a_complete_report(tmp_path: Path) -> None:
    files = write_report(realistic(language="vi"), tmp_path / "vi", VI)
    assert len(pages(files.pdf)) >= 2
    text = pdf_text(files.pdf)
    for expected in (
        "PHÙ LIỄN",
        "Hải Phòng".upper(),
        "11/2026",
        "9/10 (90%)",
        "Đẩu Sơn 1",
        "Lệ Tảo 2",
        "Đồng Tử 2",
        "<3",
    ):
        assert expected in text, expected
    assert len(read_csv(tmp_path / "vi" / "tdp.csv")) == 41
    assert all(p.exists() for p in files.charts)


def test_an_empty_month_gives_a_complete_report_of_zeros(tmp_path: Path) -> None:
    report = empty()
    assert report.empty
    files = write_report(report, tmp_path / "empty", ENGLISH)
    assert len(pages(files.pdf)) >= 1
    text = pdf_text(files.pdf)
    assert text.count("No activity was recorded for this month.") == 1
    for expected in (
        "No tips this month.",
        "No organisation pledges yet.",
        "No drug-free records yet.",
        "0/12 (0%)",
        "Nam Hải",
    ):
        assert expected in text, expected
    folder = files.pdf.parent
    for name in (
        "tips_by_category.csv",
        "tips_by_tdp.csv",
        "organisation_pledges.csv",
        "drug_free.csv",
    ):
        rows = read_csv(folder / name)
        assert len(rows) == 1 and rows[0], name  # the header alone
    summary = dict(read_csv(folder / "summary.csv")[1:])
    assert summary["Tips received"] == "0"
    assert summary["Acknowledged on time (of those due)"] == "—"
    assert len(read_csv(folder / "tdp.csv")) == 13
    for chart in files.charts:
        with Image.open(chart) as image:
            assert image.format == "PNG" and image.size[0] > 1000


def test_the_gatherers_own_no_activity_note_is_not_repeated(tmp_path: Path) -> None:
    report = replace(empty(), notes=["No activity was recorded for this month."])
    files = write_report(report, tmp_path, ENGLISH)
    assert pdf_text(files.pdf).count("No activity was recorded for this month.") == 1


def test_a_ward_without_any_tdp(tmp_path: Path) -> None:
    report = replace(empty(), groups=[], groups_reached=Share(0, 0))
    files = write_report(report, tmp_path, ENGLISH)
    pages(files.pdf)
    text = pdf_text(files.pdf)
    assert "No residential groups yet." in text
    assert len(read_csv(tmp_path / "tdp.csv")) == 1


def test_very_long_names_wrap_inside_the_table(tmp_path: Path) -> None:
    spaced = ("Tổ dân phố " + "Đẩu Sơn Quy Tức Lệ Tảo Đồng Tử " * 4)[:120]
    unbroken = "Đ" * 120  # no space to break at
    groups = [group(name, n) for n, name in enumerate(TDP_NAMES, start=1)]
    groups[0] = replace(groups[0], name=spaced)
    groups[1] = replace(groups[1], name=unbroken, drug_free="achieved (2025) " * 6)
    report = realistic(
        groups=groups,
        tips_by_group=[LabelledCount(spaced, MASKED)],
        tips_by_category=[LabelledCount("Đ" * 90 + " với tên rất dài", Count(3))],
        organisation_pledges=[OrganisationPledge("school", spaced, unbroken, "2026-11-03")],
    )
    assert len(spaced) == 120
    files = write_report(report, tmp_path, ENGLISH)
    images = pages(files.pdf)
    text = pdf_text(files.pdf)
    assert "Tổ dân phố Đẩu Sơn" in text and "Lê Lợi" in text
    for image in images:  # nothing printed over the right margin (15 mm = 42 pt)
        right_margin = image.crop((image.width - 40, 0, image.width, image.height))
        assert right_margin.getextrema()[0] > 200
    tdp = read_csv(tmp_path / "tdp.csv")
    assert tdp[1][0] == spaced and tdp[2][0] == unbroken


def test_every_string_is_written_in_composed_unicode(tmp_path: Path) -> None:
    decomposed = unicodedata.normalize("NFD", "Đẩu Sơn 1")
    groups = [group(name, n) for n, name in enumerate(TDP_NAMES, start=1)]
    groups[3] = replace(groups[3], name=decomposed)
    files = write_report(
        realistic(groups=groups, ward=unicodedata.normalize("NFD", "Phù Liễn")), tmp_path, ENGLISH
    )
    assert files.pdf.name == "report-phu-lien-2026-11.pdf"
    text = pdf_text(files.pdf)
    assert "Đẩu Sơn 1" in text and "Phù Liễn" in text
    assert [row[0] for row in read_csv(tmp_path / "tdp.csv")][4] == "Đẩu Sơn 1"


def test_a_name_that_looks_like_a_formula_stays_text_in_the_csv(tmp_path: Path) -> None:
    pledge = OrganisationPledge(
        "business", '=HYPERLINK("http://x.example","Bấm")', "", "2026-11-03"
    )
    write_report(realistic(organisation_pledges=[pledge]), tmp_path, ENGLISH)
    rows = read_csv(tmp_path / "organisation_pledges.csv")
    assert rows[1][1] == "'" + pledge.name
