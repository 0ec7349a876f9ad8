"""The report (of a month, a quarter, six months or a year) as files: a PDF for the ward
People's Committee, CSV files for anyone who wants the numbers in a spreadsheet, and the
charts as PNG. The figures are
gathered by reports/monthly.py; here they are only laid out, as published: a masked
count prints as "<3" (and a withheld one as "x") in every file, and no file is given
anything else to print.

Only a document worker (storage/sandbox.py) and the CLI import this module, so fpdf2 is
imported at its top: the bot's own process never loads it (tests/test_lazy_imports.py)."""

from __future__ import annotations

import csv
import tempfile
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from fpdf import FPDF
from fpdf.fonts import FontFace
from fpdf.util import Padding

from kernel.search_keys import search_key
from reports.charts import draw_charts
from reports.figures import MonthlyReport, Share, TipWork, month_label
from reports.fonts import dejavu
from reports.periods import TITLES

Translate = Callable[[str], str]
Rows = list[list[str]]
Colour = tuple[int, int, int]
Styles = dict[tuple[int, int], FontFace]  # a cell's style by (row, column)

_RED = (190, 20, 30)
_GREEN = (20, 120, 50)
_GREY = (100, 100, 100)
_HEADING_FILL = (228, 228, 228)
_STRIPE = (246, 246, 246)  # every other row, for the eye along a wide table
_MARGIN = 15.0  # mm, all round; the footer sits in the bottom one
_PADDING = (0.9, 1.2)  # mm, in table cells: above and below, left and right
_NONE = "—"
_REACHED, _NOT_REACHED = "✓", "✗"  # both in DejaVu Sans
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class ReportFiles:
    pdf: Path
    csvs: tuple[Path, ...]
    charts: tuple[Path, ...]


def render_pdf(report: MonthlyReport, gettext: Translate) -> bytes:
    """The report's PDF alone, for the chat: run by a document worker process
    (storage/sandbox.py names it), so the bot's process never loads matplotlib or fpdf2."""
    with tempfile.TemporaryDirectory(prefix="wardbot-report-") as folder:
        return write_report(report, Path(folder), gettext).pdf.read_bytes()


def write_report(report: MonthlyReport, out_dir: Path, gettext: Translate) -> ReportFiles:
    """Writes into out_dir (created if missing): report-<ward-slug>-<month>.pdf, the CSV
    files and the chart PNGs."""
    out_dir.mkdir(parents=True, exist_ok=True)
    tables = csv_tables(report, gettext)
    csvs = tuple(_write_csv(out_dir / name, rows) for name, rows in tables.items())
    charts = draw_charts(report, out_dir, gettext)
    pdf = out_dir / f"report-{_slug(report.ward)}-{_slug(report.month)}.pdf"
    _layout(report, tables, charts, gettext).output(str(pdf))
    return ReportFiles(pdf, csvs, charts)


def write_city(
    rows: Rows, title: str, out_dir: Path, name: str, language: str, gettext: Translate
) -> tuple[Path, Path]:
    """The city's roll-up (reports/city.py:city_rows) as `name`.csv and `name`.pdf: one
    row per ward, figures only, masked as the rows give them."""
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path = _write_csv(out_dir / f"{_slug(name)}.csv", rows)
    page = _Page(_plain_pdf(title, language, gettext))
    page.text(title, 13, bold=True, align="C", height=7)
    page.small_print(
        gettext(
            "Tip counts under 3 are shown as “<3” so that no one can be singled out; “x” "
            "marks a count withheld so that a small one cannot be worked out from the "
            "total."
        )
    )
    page.pdf.ln(3)
    page.table(
        rows,
        page.fit(rows, 8.5, {0: 1.0}),
        ("LEFT", "CENTER", "CENTER", "CENTER", "CENTER"),
        size=8.5,
    )
    pdf_path = out_dir / f"{_slug(name)}.pdf"
    page.pdf.output(str(pdf_path))
    return csv_path, pdf_path


def _slug(text: str) -> str:
    """An accent-free file-name part, short enough for any file system."""
    return search_key(text).replace(" ", "-")[:60].strip("-") or "ward"


def _with_new(total: int, new: int) -> str:
    return f"{total} (+{new})"


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _day(iso: str) -> str:
    try:
        return date.fromisoformat(iso).strftime("%d/%m/%Y")
    except ValueError:
        return iso


# The tables: one list of rows per CSV file, header first, every value as printed.


def csv_tables(report: MonthlyReport, gettext: Translate) -> dict[str, Rows]:
    """Every CSV file's rows by file name, the header row first, in the report's language."""
    _ = gettext
    tdp = _("Residential group")
    tables = {
        "summary.csv": [[_("Indicator"), _("Value")], *_summary(report, gettext)],
        "tips_by_category.csv": [[_("Category"), _("Tips")]]
        + [[c.label, str(c.count)] for c in report.tips_by_category],
        "tips_by_tdp.csv": [[tdp, _("Tips")]]
        + [[c.label, str(c.count)] for c in report.tips_by_group],
        "tdp.csv": [_tdp_header(gettext, report.monthly)]
        + [
            [
                g.name,
                _reached(g.reached, g.months_reached, gettext),
                str(g.messages_delivered),
                g.channels,
                str(g.subscribers),
                str(g.household_pledges),
                str(g.quiz_participants),
                g.drug_free,
            ]
            for g in report.groups
        ],
        "organisation_pledges.csv": [[_("Kind"), _("Name"), tdp, _("Signed on")]]
        + [[p.kind, p.name, p.group, p.signed_on] for p in report.organisation_pledges],
        "drug_free.csv": [[_("Year"), _("Drug-free"), _("Residential groups"), _("Target")]]
        + [
            [str(y.year), str(y.achieved), str(y.total), y.target_label or _NONE]
            for y in report.drug_free
        ],
    }
    if report.tip_work is not None:
        tables.update(tip_work_tables(report.tip_work, gettext))
    return tables


def tip_work_tables(work: TipWork, gettext: Translate) -> dict[str, Rows]:
    """The police's work with tips: the indicator, by source, each miss, the outcomes and
    the tip boxes per TDP, every count as TipWork publishes it."""
    _ = gettext
    shares = {s.source: s for s in work.source_shares}

    def share_of(label: str) -> list[str]:
        shown = shares.get(label)
        if shown is None:  # a masked source: its shares would single it out
            return ["", ""]
        return [shown.received_on_time.shown, shown.handled_on_time.shown]

    return {
        "indicator.csv": [
            [_("Indicator"), _("Value")],
            [_("Tips received, from every source"), str(work.received)],
            [_("Received on time (of those due)"), work.received_on_time.shown],
            [_("Handled on time (of those due)"), work.handled_on_time.shown],
            [_("Target of 100% received and handled on time"), work.verdict(gettext)],
            [_("Residential groups with a tip box"), work.groups_with_box.shown],
            [_("Residential groups with a hotline board"), work.groups_with_board.shown],
            [_("Tip box openings"), str(work.openings)],
            [_("Tips found in tip boxes"), str(work.tips_in_boxes)],
        ],
        "tips_by_source.csv": [
            [_("Source"), _("Tips"), _("Received on time"), _("Handled on time")]
        ]
        + [[c.label, str(c.count), *share_of(c.label)] for c in work.by_source],
        "tip_misses.csv": [[_("Deadline"), _("Late by"), _("Still open"), _("Source")]]
        + [
            [m.deadline, m.late_by, _("yes") if m.still_open else _("no"), m.source]
            for m in work.misses
        ],
        "tip_outcomes.csv": [[_("Outcome"), _("Tips")]]
        + [[c.label, str(c.count)] for c in work.outcomes],
        "tip_boxes.csv": [
            [_("Residential group"), _("Tip box since"), _("Board since"), _("Box openings")]
        ]
        + [[b.group, b.box_since, b.board_since, str(b.openings)] for b in work.boxes],
    }


def _summary(report: MonthlyReport, gettext: Translate) -> Rows:
    _ = gettext
    tips, quiz = report.tips, report.quiz
    month = report.monthly
    return [
        [_("Tips received"), str(tips.received)],
        [_("of which urgent"), str(tips.urgent)],
        [_("Acknowledged on time (of those due)"), tips.acknowledged_on_time.shown],
        [_("Closed this month") if month else _("Closed in the period"), str(tips.closed)],
        [_("Closed on time"), tips.closed_on_time.shown],
        [
            _("Still open at the end of the month")
            if month
            else _("Still open at the end of the period"),
            str(tips.open_at_end),
        ],
        [
            _("Residential groups reached by awareness messages")
            if month
            else _("Residential groups reached by awareness messages, in TDP-months"),
            report.groups_reached.shown,
        ],
        [
            _("Subscribers (new this month)") if month else _("Subscribers (new in the period)"),
            _with_new(report.subscribers, report.subscribers_new),
        ],
        [
            _("Family pledges (new this month)")
            if month
            else _("Family pledges (new in the period)"),
            _with_new(report.household_pledges, report.household_pledges_new),
        ],
        [_("Organisation pledges"), str(len(report.organisation_pledges))],
        [_("Quiz participants"), str(quiz.participants)],
        [_("Quiz answers"), str(quiz.answers)],
        [_("Correct quiz answers"), quiz.correct.shown],
    ]


def _reached(reached: bool, months: Share | None, gettext: Translate) -> str:
    if months is not None:  # over several months: in how many of them
        return f"{months.part}/{months.whole}"
    return gettext("yes") if reached else gettext("no")


def _mark(reached: bool, months: Share | None) -> str:
    """✓ or ✗; over several months, in how many of them it was reached."""
    if not reached:
        return _NOT_REACHED
    return _REACHED if months is None else f"{months.part}/{months.whole}"


def _tdp_header(gettext: Translate, monthly: bool = True) -> list[str]:
    _ = gettext
    reached = _("Reached") if monthly else _("Months reached")
    return [
        _("Residential group"),
        reached,
        _("Messages delivered"),
        _("Channels"),
        _("Subscribers"),
        _("Family pledges"),
        _("Quiz participants"),
        _("Drug-free status"),
    ]


def _write_csv(path: Path, rows: Rows) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as handle:  # the BOM: for Excel
        csv.writer(handle).writerows([[_cell(value) for value in row] for row in rows])
    return path


def _cell(value: str) -> str:
    """NFC, and a name that starts like a formula is kept as text in a spreadsheet."""
    value = _nfc(value)
    return "'" + value if value.startswith(_FORMULA_START) else value


# The PDF.


class _ReportPdf(FPDF):
    """A4, with the running title and "page n of m" in every page's footer."""

    def __init__(self, running_title: str, page_label: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.running_title = running_title
        self.page_label = page_label

    def footer(self) -> None:
        self.set_y(-_MARGIN + 2)
        self.set_draw_color(190, 190, 190)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.set_font("DejaVu", "", 7.5)
        self.set_text_color(*_GREY)
        title = self.running_title
        while len(title) > 10 and self.get_string_width(title) > self.epw / 2 - 2:
            title = title[:-2] + "…"  # a very long ward name: cut, never over the page
        self.cell(self.epw / 2, 6, title)
        self.cell(
            self.epw / 2, 6, _nfc(self.page_label.format(n=self.page_no(), total="{nb}")), align="R"
        )


class _Page:
    """The report's PDF as it is written, top to bottom: text, section titles, tables."""

    def __init__(self, pdf: FPDF) -> None:
        self.pdf = pdf
        self.width = pdf.epw
        self.headings = FontFace(emphasis="BOLD", fill_color=_HEADING_FILL)
        self.sections = 0

    def text(
        self,
        value: str,
        size: float,
        *,
        bold: bool = False,
        align: str = "L",
        colour: Colour = (0, 0, 0),
        height: float | None = None,
    ) -> None:
        pdf = self.pdf
        pdf.set_font("DejaVu", "B" if bold else "", size)
        pdf.set_text_color(*colour)
        pdf.multi_cell(
            self.width,
            height or size * 0.5,
            _nfc(value),
            align=align,
            new_x="LMARGIN",
            new_y="NEXT",
        )
        pdf.set_text_color(0, 0, 0)

    def small_print(self, value: str) -> None:
        """Grey and centred: a caption, a note on how to read the figures."""
        self.text(value, 8.5, align="C", colour=_GREY, height=4.5)

    def nothing_yet(self, message: str) -> None:
        """A section's line in place of an empty table."""
        self.text(message, 9.5, height=5.5)

    def room_for(self, height: float) -> None:
        if self.pdf.get_y() + height > self.pdf.page_break_trigger:
            self.pdf.add_page()

    def section(self, title: str, need: float = 40) -> None:
        """The next section, numbered in turn: 1. Summary, 2. …"""
        self.room_for(need)  # a title never ends a page alone: its table's head comes with it
        self.pdf.ln(4)
        self.sections += 1
        self.text(f"{self.sections}. {title}", 11.5, bold=True, colour=_RED, height=7)
        self.pdf.ln(1)

    def fit(self, rows: Rows, size: float, spare_to: dict[int, float]) -> list[float]:
        """Column widths in mm: no column narrower than its header's longest word or half
        its header (nor, but for the `spare_to` ones, than its longest value); what is left
        goes to the `spare_to` columns by weight. Words then wrap whole in any language,
        and a header takes about two lines."""
        room = 2 * _PADDING[1] + 1.0

        def widest(values: Sequence[str], style: str) -> float:
            self.pdf.set_font("DejaVu", style, size)
            return max((self.pdf.get_string_width(_nfc(v)) for v in values), default=0.0)

        need = [
            max(
                widest(rows[0][c].split(), "B"),
                widest([rows[0][c]], "B") * 0.55,  # 2 lines
                0.0 if c in spare_to else widest([r[c] for r in rows[1:]], ""),
            )
            + room
            for c in range(len(rows[0]))
        ]
        spare = self.width - sum(need)
        if spare < 0:  # squeezed: share the page in proportion, long words will break
            return [n * self.width / sum(need) for n in need]
        weight = sum(spare_to.values())
        return [n + spare * spare_to.get(c, 0) / weight for c, n in enumerate(need)]

    def table(
        self,
        rows: Rows,
        widths: Sequence[float],
        align: Sequence[str],
        *,
        size: float = 9,
        styles: Styles | None = None,
    ) -> None:
        pdf = self.pdf
        pdf.set_font("DejaVu", "", size)
        with pdf.table(
            col_widths=tuple(widths),
            width=self.width,
            text_align=tuple(align),
            headings_style=self.headings,
            line_height=size * 0.5,
            padding=_PADDING,
            repeat_headings=1,
            v_align="MIDDLE",
            cell_fill_mode="ROWS",
            cell_fill_color=_STRIPE,
        ) as grid:
            for number, row in enumerate(rows):
                line = grid.row()
                for column, value in enumerate(row):
                    style = (styles or {}).get((number, column))
                    line.cell(
                        _nfc(value), style=style, align="CENTER" if number == 0 and column else None
                    )
        pdf.ln(1)


def _layout(
    report: MonthlyReport, tables: dict[str, Rows], charts: Sequence[Path], gettext: Translate
) -> FPDF:
    """The whole PDF, section by section."""
    page = _Page(_new_pdf(report, gettext))
    _title_block(page, report, gettext)
    _remarks(page, report, gettext)
    _summary_section(page, tables, gettext)
    _tips_sections(page, report, tables, gettext)
    if report.tip_work is not None:
        _tip_work_section(page, report.tip_work, tables, gettext)
        _tip_boxes_section(page, report.tip_work, tables, gettext)
    _groups_section(page, report, gettext)
    _pledges_section(page, report, tables, gettext)
    _drug_free_section(page, report, gettext)
    if report.tip_work is not None:
        _difficulties_section(page, report.tip_work, gettext)
    _charts_section(page, report, charts, gettext)
    return page.pdf


def _new_pdf(report: MonthlyReport, gettext: Translate) -> FPDF:
    """The document with its fonts, metadata and margins, on its first page."""
    _ = gettext
    if report.monthly:
        title = _("Monthly report {month}, {ward}").format(
            month=month_label(report.month), ward=report.ward
        )
    else:
        title = _("{title}: {period}, {ward}").format(
            title=_(TITLES[report.period.kind]), period=report.period.label(_), ward=report.ward
        )
    pdf = _plain_pdf(title, report.language or "vi", gettext)
    pdf.set_author(_nfc(_("Ward police of {ward}").format(ward=report.ward)))
    return pdf


def _plain_pdf(title: str, language: str, gettext: Translate) -> FPDF:
    """An A4 document with the fonts, the running title and margins, on its first page."""
    running_title = _nfc(title)
    face = dejavu()
    pdf = _ReportPdf(running_title, gettext("Page {n} of {total}"))
    pdf.add_font("DejaVu", "", str(face.regular))
    pdf.add_font("DejaVu", "B", str(face.bold))
    pdf.set_title(running_title)
    pdf.set_creator("wardbot")
    pdf.set_lang(language)
    pdf.set_margins(_MARGIN, _MARGIN, _MARGIN)
    pdf.set_auto_page_break(auto=True, margin=_MARGIN + 3)
    pdf.alias_nb_pages()
    pdf.add_page()
    return pdf


def _title_block(page: _Page, report: MonthlyReport, gettext: Translate) -> None:
    """Who reports, to whom, for which month, and how small counts are shown."""
    _ = gettext
    place = _("Ward police of {ward}").format(ward=report.ward).upper()
    if report.monthly:
        month = _("Month {month}").format(month=month_label(report.month))
    else:
        month = f"{_(TITLES[report.period.kind])}: {report.period.label(_)}"
    to = _("To: the People's Committee of {ward} ward").format(ward=report.ward)
    generated = report.generated_at.strftime("%d/%m/%Y %H:%M")
    page.text(place + (f" — {report.city.upper()}" if report.city else ""), 9.5, bold=True)
    page.pdf.ln(5)
    page.text(_("Report on drug prevention and control"), 14, bold=True, align="C", height=7.5)
    page.text(month, 12, bold=True, align="C", height=6.5)
    page.pdf.ln(1.5)
    page.text(to, 9.5, align="C", height=5)
    page.small_print(_("Generated on {time}").format(time=generated))
    page.small_print(
        _(
            "Tip counts under 3 are shown as “<3” so that no one can be singled out; “x” "
            "marks a count withheld so that a small one cannot be worked out from the "
            "total."
        )
    )


def _remarks(page: _Page, report: MonthlyReport, gettext: Translate) -> None:
    """The gatherer's notes (an empty month, a month not over yet) in a box, if any."""
    remarks = list(report.notes)
    nothing = (
        gettext("No activity was recorded for this month.")
        if report.monthly
        else gettext("No activity was recorded for this period.")
    )
    if report.empty and nothing not in remarks:  # the gatherer usually says so already
        remarks.insert(0, nothing)
    if not remarks:
        return
    pdf = page.pdf
    pdf.ln(2.5)
    pdf.set_fill_color(253, 243, 224)
    pdf.set_font("DejaVu", "B", 9.5)
    pdf.multi_cell(
        page.width,
        5.5,
        _nfc("\n".join(remarks)),
        border=1,
        fill=True,
        align="C",
        padding=Padding(1.5, 2, 1.5, 2),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.set_fill_color(255, 255, 255)  # tables fill with the current colour: reset it


def _summary_section(page: _Page, tables: dict[str, Rows], gettext: Translate) -> None:
    page.section(gettext("Summary"))
    page.table(tables["summary.csv"], (68, 32), ("LEFT", "CENTER"))


def _tips_sections(
    page: _Page, report: MonthlyReport, tables: dict[str, Rows], gettext: Translate
) -> None:
    """Tips by category and by TDP: only the rows published."""
    _ = gettext
    no_tips = _("No tips this month.") if report.monthly else _("No tips in this period.")
    sections = (
        (_("Tips received, by category"), "tips_by_category.csv"),
        (_("Tips received, by residential group"), "tips_by_tdp.csv"),
    )
    for title, name in sections:
        page.section(title)
        if len(tables[name]) > 1:
            page.table(tables[name], (75, 25), ("LEFT", "CENTER"))
        else:
            page.nothing_yet(no_tips)


def _tip_work_section(
    page: _Page, work: TipWork, tables: dict[str, Rows], gettext: Translate
) -> None:
    """The indicator stated plainly, then by source, each miss and the outcomes."""
    _ = gettext
    page.section(_("Receiving and handling tips, from every source"))
    page.text(
        work.indicator_line(gettext),
        10,
        bold=True,
        colour=_GREEN if work.met else (0, 0, 0),
        height=5.5,
    )
    page.small_print(
        _(
            "Received on time: acknowledged by its deadline, of the tips received whose "
            "acknowledgement was due (a tip recorded by an officer was received when it was "
            "told). Handled on time: closed by its deadline, of the tips closed in the "
            "period and those still open past a deadline that fell in it."
        )
    )
    if len(tables["tips_by_source.csv"]) > 1:
        page.table(
            tables["tips_by_source.csv"], (40, 16, 22, 22), ("LEFT", "CENTER", "CENTER", "CENTER")
        )
    else:
        page.nothing_yet(_("No tips in this period."))
    page.text(_("Deadlines missed"), 10, bold=True, height=6)
    if work.misses:
        rows = [tables["tip_misses.csv"][0]] + [
            [m.deadline, m.late_by, _("yes") if m.still_open else _("no"), m.source or _NONE]
            for m in work.misses
        ]
        page.table(rows, (25, 20, 20, 35), ("LEFT", "CENTER", "CENTER", "LEFT"))
    else:
        page.nothing_yet(_("No deadline was missed."))
    page.text(_("Outcomes of the tips closed"), 10, bold=True, height=6)
    if work.outcomes:
        page.table(tables["tip_outcomes.csv"], (75, 25), ("LEFT", "CENTER"))
    else:
        page.nothing_yet(_("No tips were closed in this period."))


def _tip_boxes_section(
    page: _Page, work: TipWork, tables: dict[str, Rows], gettext: Translate
) -> None:
    """Per TDP: since when it has a tip box and a hotline board, and the box's openings."""
    _ = gettext
    page.section(_("Tip boxes and hotline boards, by residential group"))
    page.text(
        _(
            "With a tip box: {boxes}; with a hotline board: {boards}; box openings: "
            "{openings}, tips found in them: {found}."
        ).format(
            boxes=work.groups_with_box.shown,
            boards=work.groups_with_board.shown,
            openings=work.openings,
            found=work.tips_in_boxes,
        ),
        9.5,
        height=5.5,
    )
    if not work.boxes:
        page.nothing_yet(_("No residential groups yet."))
        return
    rows = [tables["tip_boxes.csv"][0]] + [
        [b.group, b.box_since or _NONE, b.board_since or _NONE, str(b.openings)] for b in work.boxes
    ]
    page.table(
        rows, page.fit(rows, 8.5, {0: 1.0}), ("LEFT", "CENTER", "CENTER", "CENTER"), size=8.5
    )


def _difficulties_section(page: _Page, work: TipWork, gettext: Translate) -> None:
    """What the commander wrote before the report was made, as written."""
    _ = gettext
    page.section(_("Difficulties, obstacles and proposals"), need=20)
    if work.remarks.strip():
        page.text(work.remarks, 9.5, height=5.5)
    else:
        page.nothing_yet(
            _("The commander has written no difficulties or proposals for this period.")
        )


def _groups_section(page: _Page, report: MonthlyReport, gettext: Translate) -> None:
    """Awareness coverage and participation per TDP, reached ones marked in green."""
    page.section(gettext("Awareness messages and participation, by residential group"))
    if not report.groups:
        page.nothing_yet(gettext("No residential groups yet."))
        return
    rows, styles = _group_rows(report, gettext)
    page.table(
        rows,
        page.fit(rows, 8, {0: 0.55, 7: 0.45}),
        ("LEFT", "CENTER", "CENTER", "CENTER", "CENTER", "CENTER", "CENTER", "LEFT"),
        size=8,
        styles=styles,
    )


def _group_rows(report: MonthlyReport, gettext: Translate) -> tuple[Rows, Styles]:
    rows = [_tdp_header(gettext, report.monthly)]
    styles: Styles = {}
    mark, no_mark = FontFace(color=_GREEN, size_pt=10), FontFace(color=_GREY, size_pt=10)
    for number, g in enumerate(report.groups, start=1):
        rows.append(
            [
                g.name,
                _mark(g.reached, g.months_reached),
                str(g.messages_delivered),
                g.channels or _NONE,
                str(g.subscribers),
                str(g.household_pledges),
                str(g.quiz_participants),
                g.drug_free or _NONE,
            ]
        )
        styles[number, 1] = mark if g.reached else no_mark
    return rows, styles


def _pledges_section(
    page: _Page, report: MonthlyReport, tables: dict[str, Rows], gettext: Translate
) -> None:
    """The pledges of schools, businesses and residential groups."""
    _ = gettext
    page.section(_("Pledges of schools, businesses and residential groups"))
    if not report.organisation_pledges:
        page.nothing_yet(_("No organisation pledges yet."))
        return
    rows = [tables["organisation_pledges.csv"][0]] + [
        [p.kind, p.name, p.group or _("ward-wide"), _day(p.signed_on)]
        for p in report.organisation_pledges
    ]
    page.table(rows, (22, 42, 22, 14), ("LEFT", "LEFT", "LEFT", "CENTER"), size=8.5)


def _drug_free_section(page: _Page, report: MonthlyReport, gettext: Translate) -> None:
    """Drug-free TDPs against the targets, year by year."""
    _ = gettext
    page.section(_("Drug-free residential groups against the targets"))
    if not report.drug_free:
        page.nothing_yet(_("No drug-free records yet."))
        return
    rows = [[_("Year"), _("Drug-free residential groups"), _("Target")]] + [
        [str(y.year), Share(y.achieved, y.total).shown, y.target_label or _NONE]
        for y in report.drug_free
    ]
    page.table(rows, (20, 40, 40), ("CENTER", "CENTER", "CENTER"))


def _charts_section(
    page: _Page, report: MonthlyReport, charts: Sequence[Path], gettext: Translate
) -> None:
    """The charts, each kept whole on a page with its caption."""
    _ = gettext
    captions = (
        _("Chart 1. Tips received by category (a hatched bar is a count under 3, not to scale)."),
        _("Chart 2. Residential groups reached by awareness messages this month.")
        if report.monthly
        else _("Chart 2. Residential groups reached by awareness messages, in TDP-months."),
        _("Chart 3. Drug-free residential groups at the end of each year, and the target."),
        _("Chart 4. Subscribers, family pledges and quiz participants, 15 most active groups."),
    )
    page.section(_("Charts"), need=20)
    for chart, caption in zip(charts, captions, strict=True):
        pixels_w, pixels_h = _png_size(chart)
        height = page.width * pixels_h / pixels_w
        page.room_for(height + 9)
        page.pdf.image(str(chart), x=page.pdf.l_margin, w=page.width, h=height)
        page.small_print(caption)
        page.pdf.ln(4)


def _png_size(path: Path) -> tuple[int, int]:
    with path.open("rb") as handle:
        head = handle.read(24)  # the signature, then IHDR: width and height
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
