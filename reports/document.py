"""The monthly report as files: a PDF for the ward People's Committee, CSV files for
anyone who wants the numbers in a spreadsheet, and the charts as PNG. The figures are
gathered by reports/monthly.py; here they are only laid out, as published (small counts
stay masked in every file)."""

from __future__ import annotations

import csv
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from reports.charts import draw_all
from reports.figures import MonthlyReport, month_label
from reports.fonts import dejavu
from storage.search_keys import search_key

Translate = Callable[[str], str]


@dataclass(frozen=True)
class ReportFiles:
    pdf: Path
    csvs: tuple[Path, ...]
    charts: tuple[Path, ...]


def write_report(report: MonthlyReport, out_dir: Path, gettext: Translate) -> ReportFiles:
    out_dir.mkdir(parents=True, exist_ok=True)
    tables = _tables(report, gettext)
    csvs = tuple(_write_csv(out_dir / name, rows) for name, rows in tables.items())
    charts = tuple(draw_all(report, out_dir, gettext))
    slug = search_key(report.ward).replace(" ", "-") or "ward"
    pdf = out_dir / f"report-{slug}-{report.month}.pdf"
    _pdf(report, tables, charts, gettext).output(str(pdf))
    return ReportFiles(pdf, csvs, charts)


def _tables(report: MonthlyReport, _: Translate) -> dict[str, list[list[str]]]:
    """Every table of the report, header row first, values as printed."""
    t = report.tips
    summary = [
        [_("Indicator"), _("Value")],
        [_("Tips received"), str(t.received)],
        [_("of which urgent"), str(t.urgent)],
        [_("Acknowledged on time (of those due)"), t.acknowledged_on_time.shown],
        [_("Closed this month"), str(t.closed)],
        [_("Closed on time"), t.closed_on_time.shown],
        [_("Still open at the end of the month"), str(t.open_at_end)],
        [_("Residential groups reached by awareness messages"), report.groups_reached.shown],
        [_("Subscribers (new this month)"), f"{report.subscribers} ({report.subscribers_new})"],
        [_("Family pledges (new this month)"),
         f"{report.household_pledges} ({report.household_pledges_new})"],
        [_("Organisation pledges"), str(len(report.organisation_pledges))],
        [_("Quiz participants"), str(report.quiz.participants)],
        [_("Quiz answers, right"), report.quiz.correct.shown],
    ]  # fmt: skip
    group = _("Residential group")
    return {
        "summary.csv": summary,
        "tips_by_category.csv": [[_("Category"), _("Tips")]]
        + [[c.label, str(c.count)] for c in report.tips_by_category],
        "tips_by_tdp.csv": [[group, _("Tips")]]
        + [[c.label, str(c.count)] for c in report.tips_by_group],
        "tdp.csv": [[group, _("Tips"), _("Reached"), _("Messages delivered"), _("Channels"),
                     _("Subscribers"), _("Family pledges"), _("Quiz participants"),
                     _("Drug-free status")]]
        + [[g.name, str(g.tips), _("yes") if g.reached else _("no"), str(g.messages_delivered),
            g.channels, str(g.subscribers), str(g.household_pledges), str(g.quiz_participants),
            g.drug_free] for g in report.groups],
        "organisation_pledges.csv": [[_("Kind"), _("Name"), group, _("Signed on")]]
        + [[p.kind, p.name, p.group, p.signed_on] for p in report.organisation_pledges],
        "drug_free.csv": [[_("Year"), _("Drug-free"), _("Residential groups"), _("Target")]]
        + [[str(y.year), str(y.achieved), str(y.total), y.target_label or "—"]
           for y in report.drug_free],
    }  # fmt: skip


def _write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as handle:  # the BOM: Excel
        csv.writer(handle).writerows(rows)
    return path


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _pdf(report: MonthlyReport, tables: dict[str, list[list[str]]], charts: Sequence[Path],
         _: Translate):  # type: ignore[no-untyped-def]  # fmt: skip
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    face = dejavu()
    page_label = _("Page {n} of {total}")

    class Report(FPDF):
        def footer(self) -> None:  # type: ignore[override]
            self.set_y(-12)
            self.set_font("DejaVu", "", 8)
            self.set_text_color(110, 110, 110)
            self.cell(0, 6, page_label.format(n=self.page_no(), total="{nb}"), align="C")

    pdf = Report(orientation="P", unit="mm", format="A4")
    pdf.add_font("DejaVu", "", str(face.regular))
    pdf.add_font("DejaVu", "B", str(face.bold))
    pdf.set_title(_nfc(_("Monthly report {month}, {ward}").format(
        month=month_label(report.month), ward=report.ward)))  # fmt: skip
    pdf.set_auto_page_break(auto=True, margin=16)
    pdf.set_margins(16, 14, 16)
    pdf.alias_nb_pages()
    pdf.add_page()
    width = pdf.epw
    heading = FontFace(emphasis="BOLD", fill_color=(235, 235, 235))

    def title(text: str) -> None:
        pdf.ln(3)
        pdf.set_font("DejaVu", "B", 12)
        pdf.set_text_color(190, 20, 30)
        pdf.multi_cell(width, 7, _nfc(text), new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(0, 0, 0)
        pdf.set_font("DejaVu", "", 9)

    def table(rows: list[list[str]], widths: tuple[float, ...], *, empty: str = "") -> None:
        if len(rows) == 1 and empty:
            pdf.multi_cell(width, 6, _nfc(empty), new_x="LMARGIN", new_y="NEXT")
            return
        pdf.set_font("DejaVu", "", 8.5 if len(rows[0]) > 4 else 9.5)
        with pdf.table(col_widths=widths, headings_style=heading, line_height=5,
                       text_align="LEFT", repeat_headings=1) as grid:  # fmt: skip
            for row in rows:
                line = grid.row()
                for value in row:
                    line.cell(_nfc(value))
        pdf.ln(2)

    pdf.set_font("DejaVu", "B", 10)
    pdf.multi_cell(width, 5.5, _nfc(_("WARD POLICE OF {ward}").format(ward=report.ward).upper()
                                    + (f" — {report.city.upper()}" if report.city else "")),
                   new_x="LMARGIN", new_y="NEXT")  # fmt: skip
    pdf.ln(2)
    pdf.set_font("DejaVu", "B", 15)
    pdf.multi_cell(width, 8, _nfc(_("Report on drug prevention and control, month {month}")
                                  .format(month=month_label(report.month))), align="C",
                   new_x="LMARGIN", new_y="NEXT")  # fmt: skip
    pdf.set_font("DejaVu", "", 9)
    pdf.multi_cell(width, 5, _nfc(_("To: the People's Committee of {ward} ward. Made on "
                                    "{time}.").format(ward=report.ward,
                                                      time=report.generated_at.strftime(
                                                          "%d/%m/%Y %H:%M"))),
                   align="C", new_x="LMARGIN", new_y="NEXT")  # fmt: skip
    pdf.set_text_color(90, 90, 90)
    pdf.multi_cell(width, 5, _nfc(_("Counts under 3 are shown as “<3” so that no one can be "
                                    "singled out; “x” marks a count withheld so that a small "
                                    "one cannot be worked out from the total.")),
                   align="C", new_x="LMARGIN", new_y="NEXT")  # fmt: skip
    pdf.set_text_color(0, 0, 0)
    for note in report.notes:
        pdf.set_font("DejaVu", "B", 9.5)
        pdf.multi_cell(width, 5.5, _nfc(note), align="C", new_x="LMARGIN", new_y="NEXT")

    title(_("1. Summary"))
    table(tables["summary.csv"], (3, 1.4))
    title(_("2. Tips received, by category"))
    table(tables["tips_by_category.csv"], (3, 1), empty=_("No tips this month."))
    title(_("3. Tips received, by residential group"))
    table(tables["tips_by_tdp.csv"], (3, 1), empty=_("No tips this month."))
    title(_("4. Awareness messages and participation, by residential group"))
    table(tables["tdp.csv"], (2.3, 0.7, 0.9, 1.1, 1.3, 1.1, 1.0, 1.0, 2.8),
          empty=_("No residential groups yet."))  # fmt: skip
    title(_("5. Pledges of schools, businesses and residential groups"))
    table(tables["organisation_pledges.csv"], (1.3, 3, 1.6, 1.2),
          empty=_("No organisation pledges yet."))  # fmt: skip
    title(_("6. Drug-free residential groups against the targets"))
    table(tables["drug_free.csv"], (1, 1.2, 1.4, 1.6))
    title(_("7. Charts"))
    for chart in charts:
        if pdf.get_y() > pdf.h - 90:
            pdf.add_page()
        pdf.image(str(chart), w=width)
        pdf.ln(3)
    return pdf
