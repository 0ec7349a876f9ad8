"""The TDP poster: one A4 page whose PDF carries the Vietnamese text with its font, and
whose PNG carries QR codes that a phone reads back as the bot's links."""

from __future__ import annotations

import unicodedata
from dataclasses import replace
from pathlib import Path

import pypdfium2 as pdfium
import pytest
import zxingcpp
from PIL import Image
from pypdf import PdfReader

from reports.poster import PosterFiles, PosterLink, PosterText, render_poster

TELEGRAM = "https://t.me/wardbot_test_bot?start=g12"
ZALO = "https://zalo.me/1234567890123456789"
GROUP = "Tổ dân phố Đẩu Sơn 1"
SLOGAN = "Mỗi người dân là một chiến sỹ, mỗi gia đình là một pháo đài trong phòng, chống ma túy"
HOTLINES = (
    ("Cấp cứu (cảnh sát)", "113"),
    ("Công an phường Phù Liễn", "0225 3000 000"),
    ("Trực ban Công an phường", "0912 000 000"),
)


def _links(count: int) -> list[PosterLink]:
    return [
        PosterLink("Telegram", TELEGRAM, "Quét bằng camera điện thoại"),
        PosterLink("Zalo", ZALO, "Quét bằng Zalo, rồi gửi: /start g12"),
    ][:count]


def _text(links: int = 2, call_to_action: str | None = None) -> PosterText:
    return PosterText(
        heading="CÔNG AN PHƯỜNG PHÙ LIỄN",
        group=GROUP,
        slogan=SLOGAN,
        call_to_action=call_to_action
        or "Quét mã để tố giác tội phạm ma túy với Công an phường Phù Liễn một cách ẩn danh.",
        hotlines_title="Đường dây nóng",
        hotlines=HOTLINES,
        links=_links(links),
        footer="Thông tin của người tố giác được giữ bí mật. Trường hợp khẩn cấp, gọi 113.",
    )


def _words(pdf: Path) -> str:
    """The page's text as pypdf extracts it, with line breaks and runs of spaces as one
    space: a wrapped line must still match."""
    return " ".join(PdfReader(pdf).pages[0].extract_text().split())


def _codes(png: Path) -> list[str]:
    with Image.open(png) as image:
        return [code.text for code in zxingcpp.read_barcodes(image)]


def _printed_codes(png: Path, dpi: int = 150) -> list[tuple[float, str]]:
    """Each code's printed width in millimetres (its finder patterns' outer edges) and its
    error correction level, as a phone would see them."""
    with Image.open(png) as image:
        found = zxingcpp.read_barcodes(image)
    return [
        ((code.position.top_right.x - code.position.top_left.x) / dpi * 25.4, code.ec_level)
        for code in found
    ]


def _one_a4_page(pdf: Path) -> None:
    document = pdfium.PdfDocument(str(pdf))
    try:
        assert len(document) == 1
        width, height = document[0].get_size()
    finally:
        document.close()
    assert abs(width - 595.28) < 1 and abs(height - 841.89) < 1


def test_a_poster_with_two_codes_prints_the_text_and_scans_to_both_links(tmp_path) -> None:
    files = render_poster(_text(), tmp_path / "dau-son-1", dpi=150)

    assert files == PosterFiles(tmp_path / "dau-son-1.pdf", tmp_path / "dau-son-1.png")
    _one_a4_page(files.pdf)
    words = _words(files.pdf)
    for expected in (GROUP, SLOGAN, "CÔNG AN PHƯỜNG PHÙ LIỄN", "ĐƯỜNG DÂY NÓNG", "Telegram"):
        assert expected in words, expected
    for label, number in HOTLINES:
        assert number in words and label in words, number
    with Image.open(files.png) as image:
        width, height = image.size
    assert abs(width - 1240) <= 2 and abs(height - 1754) <= 2  # A4 at 150 dpi
    found = _codes(files.png)
    assert len(found) == 2
    assert set(found) == {TELEGRAM, ZALO}
    for width_mm, level in _printed_codes(files.png):
        assert width_mm >= 44.5  # 45 mm, give or take a pixel: read from a notice board
        assert level in {"M", "Q", "H"}


def test_the_output_suffix_is_replaced_and_the_dpi_sets_the_png_size(tmp_path) -> None:
    files = render_poster(_text(links=1), tmp_path / "poster.anything", dpi=100)

    assert (files.pdf.name, files.png.name) == ("poster.pdf", "poster.png")
    assert files.pdf.is_file() and files.png.is_file()
    with Image.open(files.png) as image:
        width, height = image.size
    assert abs(width - 827) <= 2 and abs(height - 1169) <= 2  # A4 at 100 dpi
    assert _codes(files.png) == [TELEGRAM]  # still readable at the smaller size


def test_one_link_gives_one_code_and_no_link_gives_none(tmp_path) -> None:
    one = render_poster(_text(links=1), tmp_path / "one.pdf")
    assert _codes(one.png) == [TELEGRAM]

    bare = render_poster(_text(links=0), tmp_path / "bare.png")
    _one_a4_page(bare.pdf)
    assert _codes(bare.png) == []
    words = _words(bare.pdf)
    assert SLOGAN in words and "0225 3000 000" in words


def test_a_long_call_to_action_shrinks_onto_one_page(tmp_path) -> None:
    sentence = (
        "Người dân có thể báo tin về hành vi mua bán, tàng trữ, tổ chức sử dụng trái phép "
        "chất ma túy cho Công an phường qua mã QR, không cần để lại tên. "
    )
    long_text = (sentence * 12)[:1190] + " cuốitrang"
    assert len(long_text) >= 1200

    files = render_poster(_text(call_to_action=long_text), tmp_path / "long")

    _one_a4_page(files.pdf)
    words = _words(files.pdf)
    assert "cuốitrang" in words
    assert GROUP in words and "0912 000 000" in words  # nothing pushed off the page
    assert set(_codes(files.png)) == {TELEGRAM, ZALO}
    assert all(
        width_mm >= 44.5 for width_mm, _ in _printed_codes(files.png)
    )  # text shrank, not the codes


def test_a_text_no_page_can_hold_is_refused(tmp_path) -> None:
    with pytest.raises(ValueError, match="too long"):
        render_poster(_text(call_to_action="chữ " * 6000), tmp_path / "huge")
    assert not (tmp_path / "huge.pdf").exists()


def test_decomposed_letters_are_printed_composed(tmp_path) -> None:
    decomposed = replace(
        _text(),
        group=unicodedata.normalize("NFD", GROUP),
        hotlines=[(unicodedata.normalize("NFD", a), b) for a, b in HOTLINES],
    )
    assert decomposed.group != GROUP

    files = render_poster(decomposed, tmp_path / "nfd")

    words = _words(files.pdf)
    assert GROUP in words and "Công an phường Phù Liễn" in words


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "http://t.me/wardbot_test_bot",
        "https://" + "a" * 392,  # 400 characters
        "https://",
        "https://t.me/bot name",
    ],
)
def test_a_link_that_is_not_a_short_https_or_tg_address_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="poster link"):
        PosterLink("Telegram", url, "Quét mã")


def test_a_url_of_300_characters_and_a_tg_link_are_accepted(tmp_path) -> None:
    long_url = "https://t.me/wardbot_test_bot?start=" + "g" * 264
    assert len(long_url) == 300
    text = replace(
        _text(),
        links=[
            PosterLink("Telegram", long_url, "Quét mã"),
            PosterLink("Telegram", "tg://resolve?domain=wardbot_test_bot", "Quét mã"),
        ],
    )
    files = render_poster(text, tmp_path / "long-url")
    assert set(_codes(files.png)) == {long_url, "tg://resolve?domain=wardbot_test_bot"}


def test_too_many_codes_or_hotlines_are_refused() -> None:
    three = [*_links(2), PosterLink("Zalo", ZALO, "Quét mã")]
    with pytest.raises(ValueError, match="at most 2 QR codes"):
        replace(_text(), links=three)
    nine = [("Số", f"0225 3000 00{n}") for n in range(9)]
    with pytest.raises(ValueError, match="at most 8 hotline"):
        replace(_text(), hotlines=nine)
    replace(_text(), hotlines=nine[:8])  # eight is fine


@pytest.mark.parametrize("dpi", [0, 10, 2400])
def test_an_unusable_resolution_is_refused(tmp_path, dpi: int) -> None:
    with pytest.raises(ValueError, match="dpi"):
        render_poster(_text(), tmp_path / "p", dpi=dpi)
