"""`wardbot poster`, `progress`, `drugfree` and `pledge` as a ward's administrator runs
them: `bot.cli.main` as the console script runs it, on the test's database, answers in Vietnamese, mistakes as one
polite line and never a traceback."""

from __future__ import annotations

import re
from pathlib import Path

import pypdfium2 as pdfium
import zxingcpp
from PIL import Image
from pypdf import PdfReader

from bot.app import open_app
from tests.helpers import add_phu_lien, group_id
from tests.helpers import cli_ok as _ok
from tests.helpers import cli_refused as _refused


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "wardbot.toml"
    path.write_text(
        '[links]\ntelegram_username = "phulien_bot"\nzalo = "https://zalo.me/1234567890"\n\n'
        "[targets.phu-lien]\n2025 = 0.30\n2027 = 0.60\n2030 = 1.0\n",
        encoding="utf-8",
    )
    return path


async def test_a_poster_for_a_tdp_has_qr_codes_that_open_the_bot_there(
    settings, cli_env, tmp_path
) -> None:
    app = await open_app(settings)
    try:
        await add_phu_lien(app)
        dau_son = await group_id(app, "Đẩu Sơn 1")
    finally:
        await app.close()
    config = str(_config(tmp_path))
    out = tmp_path / "posters" / "dau-son-1"
    (tmp_path / "posters").mkdir()
    printed = _ok(cli_env, "--config", config, "poster", "--tdp", "dau son 1", "--out", str(out))
    pdf, png = (Path(line) for line in printed.splitlines())
    assert (pdf.suffix, png.suffix) == (".pdf", ".png")

    document = pdfium.PdfDocument(str(pdf))
    assert len(document) == 1
    width, height = document[0].get_size()
    assert abs(width - 595.28) < 1 and abs(height - 841.89) < 1  # A4
    text = PdfReader(pdf).pages[0].extract_text()
    for expected in (
        "Tổ dân phố Đẩu Sơn 1",
        "CÔNG AN PHƯỜNG PHÙ LIỄN",
        "113",
        "0225 000 0000",
        "Mỗi người dân là một chiến sỹ",
        f"/start g{dau_son}",
    ):
        assert expected in " ".join(text.split()), expected
    found = {code.text for code in zxingcpp.read_barcodes(Image.open(png))}
    assert found == {f"https://t.me/phulien_bot?start=g{dau_son}", "https://zalo.me/1234567890"}

    # Without links configured the poster still prints, and says why it has no code.
    bare = _ok(cli_env, "poster", "--tdp", "Nam Hải", "--out", str(tmp_path / "nam-hai.pdf"))
    assert "không có mã QR" in bare
    assert zxingcpp.read_barcodes(Image.open(tmp_path / "nam-hai.png")) == []

    assert "Tổ 99" in _refused(cli_env, "poster", "--tdp", "Tổ 99 xyz", "--out", str(out))
    assert "--lang" in _refused(
        cli_env, "poster", "--tdp", "Nam Hải", "--out", str(out), "--lang", "fr"
    )
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("x")
    assert "không ghi được" in _refused(
        cli_env, "poster", "--tdp", "Nam Hải", "--out", str(blocked / "p.pdf")
    )


async def test_drug_free_tracker_and_pledges_from_the_command_line(
    settings, cli_env, tmp_path
) -> None:
    app = await open_app(settings)
    try:
        await add_phu_lien(app)
    finally:
        await app.close()
    config = str(_config(tmp_path))
    for status in ("registered", "achieved"):
        _ok(
            cli_env,
            "drugfree",
            "set",
            "--tdp",
            "Nam Hai",
            "--status",
            status,
            "--year",
            "2025",
            "--date",
            "2025-11-30",
        )
    again = _refused(
        cli_env, "drugfree", "set", "--tdp", "Nam Hải", "--status", "achieved", "--year", "2025"
    )
    assert "đã là “đạt không ma túy” năm 2025" in again
    jump = _refused(cli_env, "drugfree", "set", "--tdp", "Tổ 9", "--status", "achieved")
    assert "không thể chuyển sang" in jump
    assert "2025-31-12" in _refused(
        cli_env,
        "drugfree",
        "set",
        "--tdp",
        "Tổ 9",
        "--status",
        "registered",
        "--date",
        "2025-31-12",
    )
    listing = _ok(cli_env, "drugfree", "list", "--year", "2025")
    assert "Nam Hải\tđạt không ma túy (2025)" in listing and "Tổ 9\t—" in listing

    table = _ok(cli_env, "--config", config, "progress", "--year", "2025").splitlines()
    assert table[0] == "Tổ dân phố không ma túy, phường Phù Liễn:"
    rows = {line.split("\t")[0]: line.split("\t") for line in table[2:]}
    total = rows["2025"][2]
    assert rows["2025"][1] == "1" and rows["2025"][3].startswith("30% (")
    assert rows["2030"][3] == f"100% ({total}/{total})"
    assert "chưa có chỉ tiêu" in _ok(cli_env, "progress")  # no [targets] without the config

    added = _ok(
        cli_env,
        "pledge",
        "add",
        "--kind",
        "school",
        "--name",
        "Trường THCS Quán Trữ",
        "--tdp",
        "dau son 1",
        "--date",
        "2026-10-12",
    )
    match = re.search(r"cam kết số (\d+): Trường THCS Quán Trữ", added)
    assert match, added
    pledge_id = match[1]
    assert "đã được ghi nhận" in _refused(
        cli_env, "pledge", "add", "--kind", "school", "--name", "trường thcs quán trữ"
    )
    assert "1 đến 200" in _refused(cli_env, "pledge", "add", "--kind", "business")
    listed = _ok(cli_env, "pledge", "list")
    assert f"{pledge_id}\t2026-10-12\ttrường học\tTrường THCS Quán Trữ\tĐẩu Sơn 1" in listed
    _ok(cli_env, "pledge", "withdraw", pledge_id)
    assert "Quán Trữ" not in _ok(cli_env, "pledge", "list")
    assert pledge_id in _refused(cli_env, "pledge", "withdraw", pledge_id)
