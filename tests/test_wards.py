"""Ward set-up: wards, CSV import of residential groups, accent-free search."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.tdp_csv import parse_groups, read_groups
from kernel.search_keys import search_key
from storage import wards
from storage.wards import WardError
from tests.helpers import Chat, run_cli

PHU_LIEN = (
    "name,code,aliases\n"
    "Nam Hải,NH,Tổ Nam Hải\n"
    "Đẩu Sơn 1,DS1,Đẩu Sơn I; DS 1\n"
    "Quy Tức 1,,\n"
    "Lệ Tảo 2,LT2,\n"
)


def test_search_keys_fold_vietnamese() -> None:
    assert search_key("Nam Hải") == search_key("nam hai") == "nam hai"
    assert search_key("Đẩu Sơn 1") == "dau son 1"
    assert search_key("  ĐỒNG  Tử-2 ") == "dong tu 2"
    assert search_key("Hòa Bình") == search_key("Hoà Bình")  # both accent placements


async def test_import_then_find_by_accent_free_name(app) -> None:
    async with app.services.db.transaction() as session:
        ward = await wards.add_ward(session, "Phù Liễn", city="Hải Phòng")
        assert ward.code == "phu-lien"
        result = await wards.import_groups(session, ward, parse_groups(PHU_LIEN))
        assert (result.added, result.updated) == (4, 0)
    async with app.services.db.transaction() as session:
        ward = await wards.find_ward(session, "phu lien")
        assert ward is not None and ward.name == "Phù Liễn"
        assert [g.name for g in await wards.find_groups(session, ward, "nam hai")] == ["Nam Hải"]
        assert [g.name for g in await wards.find_groups(session, ward, "dau son 1")] == [
            "Đẩu Sơn 1"
        ]
        assert [g.name for g in await wards.find_groups(session, ward, "ds 1")] == ["Đẩu Sơn 1"]
        assert [g.name for g in await wards.find_groups(session, ward, "DS1")] == ["Đẩu Sơn 1"]
        assert await wards.find_groups(session, ward, "   ") == []
        assert len(await wards.list_groups(session, ward)) == 4


async def test_reimport_updates_instead_of_duplicating(app) -> None:
    async with app.services.db.transaction() as session:
        ward = await wards.add_ward(session, "Phù Liễn")
        await wards.import_groups(session, ward, parse_groups(PHU_LIEN))
    async with app.services.db.transaction() as session:
        ward = await wards.find_ward(session, "phu-lien")
        rows = parse_groups("tên,mã\nnam hai,NH\nTổ 9,T9\n")
        result = await wards.import_groups(session, ward, rows)
        assert (result.added, result.updated) == (1, 1)
        assert len(await wards.list_groups(session, ward)) == 5


async def test_a_bad_row_imports_nothing(app) -> None:
    async with app.services.db.transaction() as session:
        ward = await wards.add_ward(session, "Phù Liễn")
    bad = "name,code\nNam Hải,NH\nTổ 6,NH\nnam hai,X\n,Y\n"
    with pytest.raises(WardError) as caught:
        async with app.services.db.transaction() as session:
            ward = await wards.find_ward(session, "phu-lien")
            await wards.import_groups(session, ward, parse_groups(bad))
    lines = {problem.line for problem in caught.value.problems}
    assert lines == {3, 4, 5}
    async with app.services.db.transaction() as session:
        ward = await wards.find_ward(session, "phu-lien")
        assert await wards.list_groups(session, ward) == []


async def test_a_code_owned_by_another_group_is_refused(app) -> None:
    async with app.services.db.transaction() as session:
        ward = await wards.add_ward(session, "Phù Liễn")
        await wards.import_groups(session, ward, parse_groups(PHU_LIEN))
    with pytest.raises(WardError, match="line 2: code NH already belongs"):
        async with app.services.db.transaction() as session:
            ward = await wards.find_ward(session, "phu-lien")
            await wards.import_groups(session, ward, parse_groups("name,code\nTổ 6,NH\n"))


async def test_ward_names_and_codes_are_checked(app) -> None:
    async with app.services.db.transaction() as session:
        await wards.add_ward(session, "Phù Liễn")
        with pytest.raises(WardError, match="already exists"):
            await wards.add_ward(session, "Phu Lien")
        with pytest.raises(WardError, match="1 to 120"):
            await wards.add_ward(session, "   ")
        with pytest.raises(WardError, match="may use letters"):
            await wards.add_ward(session, "X", code="bad code!")


def test_csv_files_with_and_without_bom_and_header(tmp_path: Path) -> None:
    with_bom = tmp_path / "bom.csv"
    with_bom.write_bytes("\ufeffname,code\nNam Hải,NH\n".encode())
    assert [(r.line, r.name, r.code) for r in read_groups(with_bom)] == [(2, "Nam Hải", "NH")]
    plain = tmp_path / "plain.csv"
    plain.write_text("Nam Hải\r\nĐẩu Sơn 1,DS1,DS 1;Đẩu Sơn I\r\n", encoding="utf-8")
    rows = read_groups(plain)
    assert [r.line for r in rows] == [1, 2]
    assert rows[1].aliases == ("DS 1", "Đẩu Sơn I")


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"name,code\nA,B,C\n", "line 2: 3 columns"),
        (b"name,colour\nA,red\n", "line 1: unknown column"),
        (b"name\n\n", "no residential groups"),
        ("name\nNam H\xe1i\n".encode("latin-1"), "line 2: the file is not UTF-8"),
        (b"name\nA\x00B\n", "line 2: the name contains invisible control characters"),
        (b"name\nA\nB\na\n", "line 4: a repeats the group on line 2"),
        (("name\n" + "x" * 121 + "\n").encode(), "line 2: the name is longer"),
    ],
)
def test_bad_files_say_where(tmp_path: Path, content: bytes, fragment: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(WardError) as caught:
        read_groups(path)
    assert fragment in str(caught.value)


def test_cli_ward_and_tdp_set_up(cli_env: dict[str, str], tmp_path: Path) -> None:
    added = run_cli("ward", "add", "Phù Liễn", "--city", "Hải Phòng", env=cli_env)
    assert added.returncode == 0, added.stderr
    assert "đã thêm phường Phù Liễn (mã phu-lien)" in added.stdout
    csv_file = tmp_path / "tdp.csv"
    csv_file.write_bytes(("\ufeff" + PHU_LIEN).encode())
    imported = run_cli("tdp", "import", "--ward", "phu lien", str(csv_file), env=cli_env)
    assert imported.returncode == 0, imported.stderr
    assert "đã thêm 4 tổ dân phố" in imported.stdout
    listed = run_cli("tdp", "list", "--ward", "phu-lien", env=cli_env)
    assert "DS1\tĐẩu Sơn 1\tĐẩu Sơn I; DS 1" in listed.stdout

    bad = tmp_path / "bad.csv"
    bad.write_text("name,code\nTổ 6,T6\nTổ 6,T7\n", encoding="utf-8")
    refused = run_cli("tdp", "import", "--ward", "phu-lien", str(bad), env=cli_env)
    assert refused.returncode == 1
    assert "dòng 3: Tổ 6 trùng với tổ dân phố ở dòng 2" in refused.stderr
    assert "Traceback" not in refused.stderr
    listed = run_cli("tdp", "list", "--ward", "phu-lien", env=cli_env)
    assert "Tổ 6" not in listed.stdout
    unknown = run_cli("tdp", "list", "--ward", "nowhere", env=cli_env)
    assert unknown.returncode == 1 and "không có phường nào khớp" in unknown.stderr


def test_cli_hotlines_are_shown_to_residents(cli_env: dict[str, str], tmp_path: Path) -> None:
    assert run_cli("ward", "add", "Phù Liễn", env=cli_env).returncode == 0
    bad = run_cli("ward", "hotline", "phu-lien", "no equals sign", env=cli_env)
    assert bad.returncode == 1 and "TÊN=SỐ" in bad.stderr
    ok = run_cli(
        "ward",
        "hotline",
        "phu-lien",
        "Công an phường=0225 111 222",
        "Phòng CSĐTTP về ma túy=0225 333 444",
        env=cli_env,
    )
    assert ok.returncode == 0, ok.stderr
    chat = run_cli("chat", "--user", "an", env=cli_env, stdin="/hotline\n", cwd=tmp_path)
    assert "• Cảnh sát khẩn cấp: 113" in chat.stdout
    assert "• Công an phường: 0225 111 222" in chat.stdout
    assert "• Phòng CSĐTTP về ma túy: 0225 333 444" in chat.stdout
    cleared = run_cli("ward", "hotline", "phu-lien", "--clear", env=cli_env)
    assert cleared.returncode == 0
    chat = run_cli("chat", "--user", "an", env=cli_env, stdin="/hotline\n", cwd=tmp_path)
    assert "0225 111 222" not in chat.stdout and "chưa công bố" in chat.stdout
    shred = run_cli("tips", "shred-expired", env=cli_env)
    assert shred.returncode == 0 and "đã hủy 0 tin" in shred.stdout


async def _retire(app, name: str) -> int:
    """A group the ward no longer has (kept for its history, never offered again)."""
    async with app.services.db.transaction() as session:
        ward = await wards.find_ward(session, "phu-lien")
        [group] = [g for g in await wards.list_groups(session, ward) if g.name == name]
        group.active = False
        return group.id


async def test_the_group_picker_never_offers_a_retired_group(app) -> None:
    async with app.services.db.transaction() as session:
        ward = await wards.add_ward(session, "Phù Liễn")
        await wards.import_groups(session, ward, parse_groups(PHU_LIEN))
    await _retire(app, "Nam Hải")
    async with app.services.db.transaction() as session:
        ward = await wards.find_ward(session, "phu-lien")
        assert await wards.match_groups(session, ward, "Nam Hải") == []  # exact name
        assert await wards.match_groups(session, ward, "NH") == []  # its code
        # Typos find the closest names, and a retired one is not among them.
        assert "Nam Hải" not in [g.name for g in await wards.match_groups(session, ward, "nam hia")]
        assert [g.name for g in await wards.match_groups(session, ward, "le tau 2")] == ["Lệ Tảo 2"]
        long = [g.name for g in await wards.match_groups(session, ward, "  dau son 1" + "x" * 500)]
        assert long == []  # looked at as typed up to 120 characters: nothing contains it
        assert [g.name for g in await wards.match_groups(session, ward, " Đẩu Sơn 1 ")] == [
            "Đẩu Sơn 1"
        ]


async def test_a_resident_reporting_is_not_offered_a_retired_group(app) -> None:
    async with app.services.db.transaction() as session:
        ward = await wards.add_ward(session, "Phù Liễn")
        await wards.import_groups(session, ward, parse_groups(PHU_LIEN))
    retired = await _retire(app, "Nam Hải")
    chat = Chat(app, "an")
    await chat.send("/start")
    await chat.send(action="report:start")
    await chat.send(action="report:cat:use")
    await chat.send(action="report:list:0")
    assert "Nam Hải" not in chat.options() and any("Đẩu Sơn 1" in o for o in chat.options())
    # A button for it (an old message, or forged) asks for the name instead.
    await chat.send(action=f"report:grp:{retired}")
    assert "Nam Hải" not in chat.text
    await chat.send("Nam Hải")  # typed: not offered either
    assert "✓" not in chat.text and "Nam Hải" not in chat.options()
