"""Posters as files: one A4 page whatever the text, vector Vietnamese text, QR codes that
decode to exactly the links given, and refusals of what must not be printed."""

from __future__ import annotations

from pathlib import Path

import pypdfium2 as pdfium
import pytest
import zxingcpp
from PIL import Image
from pypdf import PdfReader

from reports.poster import PosterLink, PosterText, render_poster

TELEGRAM = "https://t.me/wardbot_test_bot?start=g12"


def _text(**changes: object) -> PosterText:
    values: dict[str, object] = {
        "heading": "CÔNG AN PHƯỜNG PHÙ LIỄN",
        "group": "Tổ dân phố Đẩu Sơn 1",
        "slogan": "Mỗi người dân là một chiến sỹ",
        "call_to_action": "Quét mã để báo tin.",
        "hotlines_title": "Đường dây nóng",
        "hotlines": [("Khẩn cấp", "113"), ("Công an phường", "0225 3000 000")],
        "links": [PosterLink("Telegram", TELEGRAM, "Quét bằng camera")],
        "footer": "Danh tính người tố giác được giữ bí mật.",
    }
    values.update(changes)
    return PosterText(**values)  # type: ignore[arg-type]


def _one_page(pdf: Path) -> str:
    document = pdfium.PdfDocument(str(pdf))
    assert len(document) == 1
    return " ".join(PdfReader(pdf).pages[0].extract_text().split())


def test_a_long_text_still_fits_one_page_and_is_all_there(tmp_path: Path) -> None:
    long = " ".join(["Người dân có thể báo tin ẩn danh cho Công an phường."] * 22) + " KẾTTHÚC"
    hotlines = [(f"Đường dây số {n} của một đơn vị có tên khá dài", f"0225 300 00{n}")
                for n in range(8)]  # fmt: skip
    files = render_poster(_text(call_to_action=long, hotlines=hotlines), tmp_path / "long")
    text = _one_page(files.pdf)
    assert "KẾTTHÚC" in text and "0225 300 007" in text
    assert {c.text for c in zxingcpp.read_barcodes(Image.open(files.png))} == {TELEGRAM}


def test_one_link_or_none(tmp_path: Path) -> None:
    files = render_poster(_text(), tmp_path / "one.pdf", dpi=150)
    width, height = Image.open(files.png).size
    assert abs(width - 1240) <= 1 and abs(height - 1754) <= 1  # A4 at 150 dpi
    assert [c.text for c in zxingcpp.read_barcodes(Image.open(files.png))] == [TELEGRAM]
    bare = render_poster(_text(links=[]), tmp_path / "none")
    assert zxingcpp.read_barcodes(Image.open(bare.png)) == []
    assert "Tổ dân phố Đẩu Sơn 1" in _one_page(bare.pdf)


@pytest.mark.parametrize(
    "make",
    [
        lambda: PosterLink("Telegram", "javascript:alert(1)", "x"),
        lambda: PosterLink("Telegram", "https://t.me/" + "a" * 400, "x"),
        lambda: _text(links=[PosterLink("Telegram", TELEGRAM, "x")] * 3),
        lambda: _text(hotlines=[("a", "1")] * 9),
        lambda: render_poster(_text(call_to_action="chữ " * 3000), Path("/nonexistent/x")),
    ],
)
def test_what_cannot_be_printed_is_refused(make) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError):
        make()
