"""An A4 poster for a residential group's notice board: the slogan, the hotline numbers
and QR codes that open the bot with the group chosen. One layout, drawn once as a PDF
(vector text, the typeface embedded); the PNG is that page rasterised, so the printed
and the shared poster can never differ.

fpdf2, segno and pypdfium2 are imported inside the functions: only the CLI prints posters,
the bot itself should not pay for loading them."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, cast

from reports.fonts import Typeface, dejavu

if TYPE_CHECKING:
    from fpdf import FPDF

MAX_LINKS = 2  # side by side, each still wide enough to scan from a notice board
MAX_HOTLINES = 8
MAX_URL = 300  # longer links make QR modules too small to print on a cheap printer
MIN_DPI, MAX_DPI = 50, 600

_RED = (190, 20, 30)
_GREY = (90, 90, 90)
_PAGE_W, _PAGE_H, _MARGIN = 210.0, 297.0, 14.0
_WIDTH = _PAGE_W - 2 * _MARGIN
_QR_MM, _QR_MIN_MM = 56.0, 45.0  # the code itself, without its quiet zone
_QUIET = 4  # modules of white around the code, as the QR standard asks
_PT = 25.4 / 72  # millimetres in a typographic point
# Slogan and call to action shrink in these steps until the page holds everything: a
# poster with little to say (no codes) gets larger text rather than a blank half page.
_SCALES = (1.3, 1.2, 1.1, 1.0, 0.92, 0.85, 0.78, 0.72, 0.66, 0.6, 0.55, 0.5, 0.45, 0.4)
_MAX_SPREAD = 9.0  # mm added to each gap when the text leaves room, so the page looks even


@dataclass(frozen=True)
class PosterLink:
    """One QR code: the channel it opens, printed above it, and how to use it, below."""

    channel: str  # "Telegram" or "Zalo"
    url: str  # what the code encodes: https://t.me/<bot>?start=g12, or the Zalo bot's link
    instruction: str  # one short line, already translated

    def __post_init__(self) -> None:
        # Checked here so that a bad configuration fails before anything is drawn.
        if not self.url.startswith(("https://", "tg://")):
            raise ValueError("a poster link must start with https:// or tg://")
        if len(self.url) > MAX_URL:
            raise ValueError(f"a poster link must be at most {MAX_URL} characters")
        address = self.url.partition("://")[2]
        if not address or not address.isprintable() or " " in address:
            raise ValueError("a poster link must be one address without spaces")


@dataclass(frozen=True)
class PosterText:
    """Everything printed on the poster, every string already translated by the caller
    (this module knows no language)."""

    heading: str  # printed in capitals in the red band, e.g. "CÔNG AN PHƯỜNG PHÙ LIỄN"
    group: str  # e.g. "Tổ dân phố Nam Hải"
    slogan: str
    call_to_action: str
    hotlines_title: str
    hotlines: Sequence[tuple[str, str]]  # (label, number), in order; 113 included by the caller
    links: Sequence[PosterLink]  # 0, 1 or 2 codes, drawn side by side
    footer: str

    def __post_init__(self) -> None:
        # Tuples, so that a frozen poster cannot change under the renderer.
        object.__setattr__(self, "hotlines", tuple((str(a), str(b)) for a, b in self.hotlines))
        object.__setattr__(self, "links", tuple(self.links))
        if len(self.links) > MAX_LINKS:
            raise ValueError(f"a poster has at most {MAX_LINKS} QR codes")
        if len(self.hotlines) > MAX_HOTLINES:
            raise ValueError(f"a poster lists at most {MAX_HOTLINES} hotline numbers")


@dataclass(frozen=True)
class PosterFiles:
    """Where the poster was written: the PDF to print and the PNG to share."""

    pdf: Path
    png: Path


def render_poster(text: PosterText, out: Path, *, dpi: int = 150) -> PosterFiles:
    """Writes out.with_suffix('.pdf') and out.with_suffix('.png') (whatever suffix `out`
    has, or none). Long texts are set smaller until the page holds everything; a text too
    long even then raises ValueError rather than print a poster with a line cut off."""
    if not MIN_DPI <= dpi <= MAX_DPI:
        raise ValueError(f"the poster's resolution must be {MIN_DPI} to {MAX_DPI} dpi")
    pdf_path, png_path = out.with_suffix(".pdf"), out.with_suffix(".png")
    face = dejavu()
    # Taller with every step up, so a binary search finds the largest size that fits.
    low, high, best = 0, len(_SCALES) - 1, None
    while low <= high:
        middle = (low + high) // 2
        slack = _layout(text, face, _SCALES[middle], spread=0.0)[1]
        if slack >= 0:
            best, high = (_SCALES[middle], slack), middle - 1
        else:
            low = middle + 1
    if best is None:
        raise ValueError("the poster's text is too long for one page")
    scale, slack = best
    pdf = _layout(text, face, scale, spread=min(slack / _gaps(text), _MAX_SPREAD))[0]
    pdf.output(str(pdf_path))
    _rasterise(pdf_path, png_path, dpi)
    return PosterFiles(pdf_path, png_path)


def _nfc(value: str) -> str:
    """Composed letters: the font has a glyph for each Vietnamese letter, while a
    decomposed 'ế' would be drawn from loose accents that may land in the wrong place."""
    return unicodedata.normalize("NFC", value)


def _gaps(text: PosterText) -> int:
    """How many gaps between blocks share the page's spare height."""
    return 4 + bool(text.links) + bool(text.hotlines)


def _layout(text: PosterText, face: Typeface, scale: float, spread: float) -> tuple[FPDF, float]:
    """The whole poster at one text size; returns it and the height left over (negative:
    it does not fit). Nothing breaks onto a second page: overflow is measured instead."""
    from fpdf import FPDF

    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_auto_page_break(auto=False)
    pdf.set_margins(_MARGIN, _MARGIN, _MARGIN)
    pdf.add_font("DejaVu", "", str(face.regular))
    pdf.add_font("DejaVu", "B", str(face.bold))
    pdf.set_title(_nfc(text.group))
    pdf.set_creator("wardbot")
    pdf.add_page()
    gap = 5.0 * scale + spread

    _band(pdf, _nfc(text.heading.upper()))
    pdf.set_y(pdf.get_y() + 4 + gap)
    pdf.set_text_color(0, 0, 0)
    group_size = _fit(pdf, _nfc(text.group), 34 * min(1.0, max(scale, 0.7)), 20)
    _paragraph(pdf, _nfc(text.group), bold=True, size=group_size)
    pdf.set_y(pdf.get_y() + gap)
    pdf.set_text_color(*_RED)
    slogan = text.slogan.strip()
    _paragraph(pdf, _nfc(f"“{slogan}”" if slogan else ""), bold=True, size=22 * scale)
    pdf.set_y(pdf.get_y() + gap)
    pdf.set_text_color(0, 0, 0)
    _paragraph(pdf, _nfc(text.call_to_action.strip()), bold=False, size=15 * scale)
    if text.links:
        pdf.set_y(pdf.get_y() + gap)
        _codes(pdf, text.links, min(_QR_MM, max(_QR_MIN_MM, _QR_MM * scale)))
    if text.hotlines:
        pdf.set_y(pdf.get_y() + gap + 2)  # + the box's border and padding
        _hotlines(
            pdf, _nfc(text.hotlines_title.upper()), text.hotlines, min(max(scale, 0.65), 1.15)
        )
    content_end = pdf.get_y()
    footer_top = _footer(pdf, _nfc(text.footer))
    return pdf, footer_top - gap - content_end


def _fit(pdf: FPDF, line: str, size: float, smallest: float, width: float = _WIDTH) -> float:
    """The largest font size, from `size` down to `smallest`, at which a bold line stays on
    one line; at `smallest` a longer one wraps instead."""
    pdf.set_font("DejaVu", "B", size)
    width_at_size = pdf.get_string_width(line)
    if width_at_size <= width:
        return size
    return max(smallest, size * width / width_at_size * 0.98)


def _paragraph(pdf: FPDF, value: str, *, bold: bool, size: float) -> None:
    """Centred text wrapped to the page's width; long paragraphs are justified instead,
    which reads better than a ragged centred block."""
    style = "B" if bold else ""
    height = size * _PT * (1.3 if bold else 1.4)
    align = "J" if not bold and _lines(pdf, value, style, size, _WIDTH) > 5 else "C"
    pdf.set_font("DejaVu", style, size)
    pdf.set_x(_MARGIN)
    pdf.multi_cell(_WIDTH, height, value, align=align, new_x="LMARGIN", new_y="NEXT")


def _band(pdf: FPDF, heading: str) -> None:
    """The red band across the top, the heading in white capitals: the notice looks
    official from across the street."""
    size = _fit(pdf, heading, 20, 13)
    height = size * _PT * 1.3
    lines = _lines(pdf, heading, "B", size, _WIDTH)
    pdf.set_font("DejaVu", "B", size)
    band = max(26.0, lines * height + 14)
    pdf.set_fill_color(*_RED)
    pdf.rect(0, 0, _PAGE_W, band, style="F")
    pdf.set_text_color(255, 255, 255)
    pdf.set_xy(_MARGIN, (band - lines * height) / 2)
    pdf.multi_cell(_WIDTH, height, heading, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_y(band)


def _codes(pdf: FPDF, links: Sequence[PosterLink], symbol_mm: float) -> None:
    """The QR codes side by side, each with its channel above and instruction below; the
    codes are vector squares, so they print sharp at any size. Every code is drawn the
    same size, however long its link, and the codes line up whatever their labels."""
    import segno

    column = _WIDTH / len(links)
    # Micro QR codes are not read by phone cameras: always a full QR code.
    codes = [segno.make(link.url, error="m", micro=False) for link in links]
    matrices = [[list(row) for row in code.matrix_iter(scale=1, border=_QUIET)] for code in codes]
    modules = [symbol_mm / (len(matrix) - 2 * _QUIET) for matrix in matrices]
    quiet = max(modules) * _QUIET  # the widest quiet zone sets the space around all codes
    channels = [_nfc(link.channel) for link in links]
    sizes = [_fit(pdf, channel, 18, 12, column - 4) for channel in channels]
    heights = [_lines(pdf, c, "B", z, column - 4) for c, z in zip(channels, sizes, strict=True)]
    label_lines = max(heights)
    symbol_top = pdf.get_y() + label_lines * 8 + quiet
    bottom = symbol_top
    pdf.set_text_color(0, 0, 0)
    columns = zip(links, channels, sizes, heights, matrices, modules, strict=True)
    for number, (link, channel, size, lines, matrix, module) in enumerate(columns):
        left = _MARGIN + number * column
        pdf.set_font("DejaVu", "B", size)
        pdf.set_xy(left + 2, symbol_top - quiet - lines * 8)
        pdf.multi_cell(column - 4, 8, channel, align="C")
        x0 = left + (column - module * len(matrix)) / 2
        _modules(pdf, matrix, x0, symbol_top - _QUIET * module, module)
        pdf.set_font("DejaVu", "", 12)
        pdf.set_xy(left + 2, symbol_top + symbol_mm + quiet)
        pdf.multi_cell(column - 4, 5.4, _nfc(link.instruction), align="C")
        bottom = max(bottom, pdf.get_y())
    pdf.set_xy(_MARGIN, bottom)


def _modules(pdf: FPDF, matrix: list[list[int]], x0: float, y0: float, module: float) -> None:
    """Dark modules as filled rectangles, one per horizontal run; the quiet zone is the
    paper itself, kept clear of any other drawing."""
    pdf.set_fill_color(0, 0, 0)
    for row_number, row in enumerate(matrix):
        start = None
        for col_number, dark in enumerate([*row, 0]):
            if dark and start is None:
                start = col_number
            elif not dark and start is not None:
                width = (col_number - start) * module
                pdf.rect(x0 + start * module, y0 + row_number * module, width, module, "F")
                start = None


def _hotlines(pdf: FPDF, title: str, hotlines: Sequence[tuple[str, str]], scale: float) -> None:
    """A red box: labels on the left, big bold numbers on the right, each pair on one
    row, so the number to call is read from two metres away."""
    top, inner, left = pdf.get_y(), _WIDTH - 10, _MARGIN + 5
    pdf.set_text_color(*_RED)
    pdf.set_font("DejaVu", "B", 16 * scale)
    pdf.set_xy(left, top + 2)
    pdf.multi_cell(inner, 16 * scale * _PT * 1.5, title, align="C", new_x="LEFT", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    # The numbers get the width the longest one needs (within reason), labels the rest.
    pdf.set_font("DejaVu", "B", 21 * scale)
    widest = max(pdf.get_string_width(_nfc(number)) for _, number in hotlines) + 2
    number_width = min(max(widest, inner * 0.4), inner * 0.62)
    label_width = inner - number_width - 4
    label_size = 14 * scale
    label_height = label_size * _PT * 1.35
    for raw_label, raw_number in hotlines:
        label, number = _nfc(raw_label), _nfc(raw_number)
        number_size = _fit(pdf, number, 21 * scale, 12, number_width)
        number_height = number_size * _PT * 1.25
        number_block = _lines(pdf, number, "B", number_size, number_width) * number_height
        label_block = _lines(pdf, label, "", label_size, label_width) * label_height
        row = max(label_block, number_block) + 2.5
        y = pdf.get_y()
        pdf.set_font("DejaVu", "", label_size)
        pdf.set_xy(left, y + (row - label_block) / 2)
        pdf.multi_cell(label_width, label_height, label, align="L")
        pdf.set_font("DejaVu", "B", number_size)
        pdf.set_xy(left + inner - number_width, y + (row - number_block) / 2)
        pdf.multi_cell(number_width, number_height, number, align="R")
        pdf.set_y(y + row)
    bottom = pdf.get_y() + 3
    pdf.set_draw_color(*_RED)
    pdf.set_line_width(0.9)
    pdf.rect(_MARGIN, top - 2, _WIDTH, bottom - top + 2)
    pdf.set_y(bottom)


def _lines(pdf: FPDF, value: str, style: str, size: float, width: float) -> int:
    """How many lines `value` wraps to in this font and width."""
    pdf.set_font("DejaVu", style, size)
    return len(cast("list[str]", pdf.multi_cell(width, 5, value, dry_run=True, output="LINES")))


def _footer(pdf: FPDF, footer: str) -> float:
    """Small grey print at the foot of the page; returns where it begins."""
    top = _PAGE_H - _MARGIN - _lines(pdf, footer, "", 10, _WIDTH) * 5
    pdf.set_font("DejaVu", "", 10)
    pdf.set_text_color(*_GREY)
    pdf.set_xy(_MARGIN, top)
    pdf.multi_cell(_WIDTH, 5, footer, align="C")
    return top


def _rasterise(pdf_path: Path, png_path: Path, dpi: int) -> None:
    """The PNG from the PDF's own page, by the PDF engine of Chromium."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(str(pdf_path))
    try:
        document[0].render(scale=dpi / 72).to_pil().save(png_path, optimize=True)
    finally:
        document.close()
