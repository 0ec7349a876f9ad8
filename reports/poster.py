"""An A4 poster for a residential group's notice board: the slogan, the hotline numbers
and QR codes that open the bot with the group chosen. One layout, drawn once as a PDF
(vector text, the typeface embedded); the PNG is that page rasterised, so the printed
and the shared poster can never differ."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from reports.fonts import dejavu

MAX_LINKS = 2
MAX_HOTLINES = 8
MAX_URL = 300
_RED = (190, 20, 30)
_GREY = (90, 90, 90)
_PAGE_W, _PAGE_H, _MARGIN = 210.0, 297.0, 14.0
_QR_MM = 64.0


@dataclass(frozen=True)
class PosterLink:
    channel: str  # "Telegram" or "Zalo", printed above the code
    url: str  # what the code opens
    instruction: str  # one translated line under the code

    def __post_init__(self) -> None:
        if not self.url.startswith(("https://", "tg://")) or len(self.url) > MAX_URL:
            raise ValueError(f"a poster link must be https:// or tg:// and at most {MAX_URL} "
                             "characters")  # fmt: skip


@dataclass(frozen=True)
class PosterText:
    """Every string already translated by the caller."""

    heading: str
    group: str
    slogan: str
    call_to_action: str
    hotlines_title: str
    hotlines: Sequence[tuple[str, str]]  # (label, number), 113 included by the caller
    links: Sequence[PosterLink]
    footer: str

    def __post_init__(self) -> None:
        if len(self.links) > MAX_LINKS:
            raise ValueError(f"a poster has at most {MAX_LINKS} QR codes")
        if len(self.hotlines) > MAX_HOTLINES:
            raise ValueError(f"a poster lists at most {MAX_HOTLINES} hotline numbers")


@dataclass(frozen=True)
class PosterFiles:
    pdf: Path
    png: Path


def render_poster(text: PosterText, out: Path, *, dpi: int = 150) -> PosterFiles:
    """Writes out.pdf and out.png (whatever suffix `out` had)."""
    pdf_path, png_path = out.with_suffix(".pdf"), out.with_suffix(".png")
    for size in (1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.45):  # shrink until one page holds it all
        pdf = _layout(text, size)
        if pdf.page_no() == 1:
            break
    else:
        raise ValueError("the poster's text is too long for one page")
    pdf.output(str(pdf_path))
    _rasterise(pdf_path, png_path, dpi)
    return PosterFiles(pdf_path, png_path)


def _nfc(value: str) -> str:
    return unicodedata.normalize("NFC", value)


def _layout(text: PosterText, scale: float):  # type: ignore[no-untyped-def]
    from fpdf import FPDF

    face = dejavu()
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_auto_page_break(auto=True, margin=_MARGIN)
    pdf.set_margins(_MARGIN, _MARGIN, _MARGIN)
    pdf.add_font("DejaVu", "", str(face.regular))
    pdf.add_font("DejaVu", "B", str(face.bold))
    pdf.set_title(_nfc(text.group))
    pdf.add_page()
    width = _PAGE_W - 2 * _MARGIN

    # The red band with the heading.
    pdf.set_fill_color(*_RED)
    pdf.rect(0, 0, _PAGE_W, 24, style="F")
    pdf.set_text_color(255, 255, 255)
    pdf.set_font("DejaVu", "B", 18)
    pdf.set_xy(_MARGIN, 7)
    pdf.cell(width, 10, _nfc(text.heading), align="C")

    pdf.set_text_color(0, 0, 0)
    pdf.set_xy(_MARGIN, 32)
    pdf.set_font("DejaVu", "B", 34 * max(scale, 0.8))
    pdf.multi_cell(width, 15 * max(scale, 0.8), _nfc(text.group), align="C")
    pdf.ln(5)
    pdf.set_text_color(*_RED)
    pdf.set_font("DejaVu", "B", 22 * scale)
    pdf.multi_cell(width, 10.5 * scale, _nfc(f"“{text.slogan}”"), align="C")
    pdf.ln(5)
    pdf.set_text_color(0, 0, 0)
    pdf.set_font("DejaVu", "", 14 * scale)
    pdf.multi_cell(width, 7 * scale, _nfc(text.call_to_action), align="C")
    pdf.ln(7)

    if text.links:
        _codes(pdf, text.links, width, max(45.0, _QR_MM * scale))
    _hotlines(pdf, text, width, scale)

    pdf.set_text_color(*_GREY)
    pdf.set_font("DejaVu", "", 10)
    pdf.set_y(max(pdf.get_y() + 3, _PAGE_H - _MARGIN - 12))
    pdf.multi_cell(width, 5, _nfc(text.footer), align="C")
    return pdf


def _codes(pdf, links: Sequence[PosterLink], width: float, size_mm: float) -> None:  # type: ignore[no-untyped-def]
    """The QR codes side by side, each with its channel above and instruction below."""
    import segno

    column = width / len(links)
    top = pdf.get_y()
    for number, link in enumerate(links):
        left = _MARGIN + number * column
        pdf.set_xy(left, top)
        pdf.set_font("DejaVu", "B", 17)
        pdf.cell(column, 8, _nfc(link.channel), align="C")
        code = segno.make(link.url, error="m", micro=False)
        matrix = [list(row) for row in code.matrix_iter(scale=1, border=4)]
        module = size_mm / len(matrix)
        x0 = left + (column - size_mm) / 2
        y0 = top + 9
        pdf.set_fill_color(0, 0, 0)
        for row_number, row in enumerate(matrix):
            run_start = None
            for col_number, dark in enumerate([*row, 0]):
                if dark and run_start is None:
                    run_start = col_number
                elif not dark and run_start is not None:
                    pdf.rect(x0 + run_start * module, y0 + row_number * module,
                             (col_number - run_start) * module, module, style="F")  # fmt: skip
                    run_start = None
        pdf.set_xy(left + 2, y0 + size_mm + 1)
        pdf.set_font("DejaVu", "", 11)
        pdf.multi_cell(column - 4, 5.2, _nfc(link.instruction), align="C")
    pdf.set_y(top + 9 + size_mm + 16)


def _hotlines(pdf, text: PosterText, width: float, scale: float) -> None:  # type: ignore[no-untyped-def]
    """A boxed list: labels on the left, big bold numbers on the right."""
    top = pdf.get_y()
    pdf.set_font("DejaVu", "B", 15 * min(1.0, scale + 0.1))
    pdf.set_text_color(*_RED)
    pdf.set_x(_MARGIN + 4)
    pdf.cell(width - 8, 9, _nfc(text.hotlines_title.upper()), align="C",
             new_x="LMARGIN", new_y="NEXT")  # fmt: skip
    pdf.set_text_color(0, 0, 0)
    size = min(1.0, scale + 0.1)
    label_width = width * 0.58
    for label, number in text.hotlines:
        pdf.set_font("DejaVu", "", 13 * size)
        lines = pdf.multi_cell(label_width, 6.5 * size, _nfc(label), dry_run=True,
                               output="LINES")  # fmt: skip
        y = pdf.get_y()
        pdf.set_x(_MARGIN + 4)
        pdf.multi_cell(label_width, 6.5 * size, _nfc(label), align="L")
        pdf.set_xy(_MARGIN + 4 + label_width, y)
        pdf.set_font("DejaVu", "B", 19 * size)
        pdf.cell(width - 8 - label_width, 8 * size, _nfc(number), align="R")
        pdf.set_y(y + max(len(lines) * 6.5 * size, 8 * size) + 2)
    pdf.set_draw_color(*_RED)
    pdf.set_line_width(0.8)
    pdf.rect(_MARGIN, top - 2, width, pdf.get_y() - top + 3)


def _rasterise(pdf_path: Path, png_path: Path, dpi: int) -> None:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(str(pdf_path))
    try:
        page = document[0]
        page.render(scale=dpi / 72).to_pil().save(png_path, optimize=True)
    finally:
        document.close()
