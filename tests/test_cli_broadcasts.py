"""`wardbot content`, `campaign`, `coverage` and `broadcast` as an administrator runs
them: `bot.cli.main` as the console script runs it, on the test's database, answers in Vietnamese, mistakes as one
polite line and never a traceback."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.app import open_app
from broadcasts import library, planner
from kernel.routes import Route
from storage import subscribers
from storage.models import ResidentialGroup
from tests.helpers import add_phu_lien, deliver_everything, group_id, run_cli
from tests.helpers import cli_ok as _ok
from tests.helpers import cli_refused as _refused


def test_content_list_add_edit_disable(cli_env, tmp_path: Path) -> None:
    shipped = library.read_library()
    *listing, total = _ok(cli_env, "content", "list").splitlines()
    assert total == f"{len(shipped)} bản tin"
    assert {line.split("\t")[0] for line in listing} == {c.slug for c in shipped}
    *june, _ = _ok(cli_env, "content", "list", "--campaign", "june").splitlines()
    assert len(june) == sum(c.campaign == "june" for c in shipped) >= 4

    bad = tmp_path / "bad.txt"
    bad.write_text("Bà con phường {ward} chú ý {ngay}", encoding="utf-8")
    stderr = _refused(
        cli_env,
        "content",
        "add",
        "hop-to",
        "--topic",
        "community",
        "--audience",
        "everyone",
        "--vi",
        str(bad),
    )
    assert "{ngay}" in stderr and "{ward}" in stderr
    good = tmp_path / "good.txt"
    good.write_text("Tối thứ Bảy, tổ dân phố họp về phòng, chống ma túy.\n{hotlines}", "utf-8")
    _ok(
        cli_env,
        "content",
        "add",
        "hop-to",
        "--topic",
        "community",
        "--audience",
        "everyone",
        "--vi",
        str(good),
    )
    assert "hop-to\tcommunity\teveryone" in _ok(cli_env, "content", "list")
    _refused(
        cli_env,
        "content",
        "add",
        "hop-to",
        "--topic",
        "community",
        "--audience",
        "everyone",
        "--vi",
        str(good),
    )  # the slug is taken
    _ok(cli_env, "content", "edit", "hop-to", "--audience", "parents")
    shown = _ok(cli_env, "content", "show", "hop-to")
    assert "Tối thứ Bảy, tổ dân phố họp" in shown and "parents" in shown

    first = shipped[0].slug
    _ok(cli_env, "content", "disable", first)
    line = next(x for x in _ok(cli_env, "content", "list").splitlines() if x.startswith(first))
    assert "\ttắt\t" in line
    _ok(cli_env, "content", "enable", first)
    assert "không có bản tin tên khong-co" in _refused(cli_env, "content", "disable", "khong-co")


def test_campaign_add_list_disable(cli_env) -> None:
    listing = _ok(cli_env, "campaign", "list")
    assert "june\t" in listing and "day-26-6\t26/6 08:00" in listing
    assert "\ttừ tệp cấu hình\t" in listing and "\tconfig\t" not in listing
    assert "31/2" in _refused(
        cli_env, "campaign", "add", "cand", "--name", "Ngày CAND", "--date", "31/2"
    )
    _ok(cli_env, "campaign", "add", "cand", "--name", "Ngày Công an nhân dân", "--date", "19/8")
    added = next(x for x in _ok(cli_env, "campaign", "list").splitlines() if x.startswith("cand"))
    assert "cand\t19/8 08:00" in added and "\tthêm bằng dòng lệnh\t" in added
    _ok(cli_env, "campaign", "disable", "cand")
    line = next(x for x in _ok(cli_env, "campaign", "list").splitlines() if x.startswith("cand"))
    assert "\ttắt\t" in line


async def test_coverage_shows_which_tdp_was_reached(cli_env, settings) -> None:
    hcm = ZoneInfo("Asia/Ho_Chi_Minh")
    app = await open_app(settings)
    try:
        ward = await add_phu_lien(app)
        reached = await group_id(app, "Nam Hải")
        async with app.services.db.transaction() as session:
            group = await session.get(ResidentialGroup, reached)
            await subscribers.subscribe(
                session,
                app.services.vault,
                app.services.pseudonyms,
                Route("console", "cu-dan"),
                group,
                "vi",
            )
            await planner.plan(
                session, app.services.settings, datetime(2026, 11, 5, 8, tzinfo=hcm).astimezone(UTC)
            )
        sent = await deliver_everything(app, datetime(2026, 11, 5, 10, tzinfo=hcm).astimezone(UTC))
        assert sent == 1  # the only reachable person
    finally:
        await app.close()
    table = _ok(cli_env, "coverage", "--month", "2026-11", "--ward", "phu-lien")
    assert f"tháng 2026-11: 1/{ward and len(table.splitlines()) - 3} tổ dân phố" in table
    rows = {line.split("\t")[0]: line.split("\t") for line in table.splitlines()[3:]}
    assert rows["Nam Hải"][1:6] == ["0", "1", "0", "1", "1"]
    assert rows["Tổ 9"][1:6] == ["0", "0", "0", "0", "0"] and "chưa" in rows["Tổ 9"][6]
    empty = _ok(cli_env, "coverage", "--month", "2026-10", "--ward", "phu-lien")
    assert "0/" in empty.splitlines()[0]
    assert "2026-13" in _refused(cli_env, "coverage", "--month", "2026-13")
    assert "#99" in _refused(cli_env, "broadcast", "watch", "99")
    listing = _ok(cli_env, "broadcast", "list")
    assert "Nam Hải" not in listing  # figures only, no names needed
    sent_id = next(
        line.split("\t")[0].lstrip("#")
        for line in listing.splitlines()
        if "\t1/1 " in line or "đã gửi 1/1" in line
    )
    watched = run_cli("broadcast", "watch", sent_id, env=cli_env)
    assert watched.returncode == 0 and "Traceback" not in watched.stderr
    assert f"#{sent_id}" in watched.stdout and "đã gửi 1, 0 bị chặn, 0 lỗi" in watched.stdout
    # Kind and status by their names, not as stored ("monthly", "done").
    line = next(x for x in listing.splitlines() if x.startswith(f"#{sent_id}\t"))
    assert line.split("\t")[1:3] == ["tin định kỳ hằng tháng", "đã gửi xong"], line
    assert f"#{sent_id} đã gửi xong:" in watched.stdout
