"""The CLI speaks the operator's language all through: argparse's own words (usage,
errors, help), the values it prints (roles, standings), and the first-start keyring
message. Each case runs `wardbot` in-process (tests/helpers.py:run_cli)."""

from __future__ import annotations

import argparse

from tests.helpers import cli_ok, run_cli


def test_argparse_says_its_own_words_in_vietnamese(cli_env) -> None:
    before = argparse.__dict__["_"], argparse.__dict__["ngettext"]
    missing = run_cli("officer", "invite", env=cli_env)
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert missing.stderr.startswith("cách dùng: wardbot officer invite")
    assert "wardbot officer invite: lỗi: còn thiếu các tham số bắt buộc: --ward" in missing.stderr
    wrong = run_cli("officer", "invite", "--ward", "x", "--role", "boss", env=cli_env)
    assert "tham số --role: lựa chọn không hợp lệ: 'boss' (chọn một trong:" in wrong.stderr
    not_a_number = run_cli("officer", "revoke", "mot", env=cli_env)
    assert "giá trị int không hợp lệ: 'mot'" in not_a_number.stderr
    extra = run_cli("ward", "list", "thua", env=cli_env)
    assert "lỗi: tham số không nhận ra: thua" in extra.stderr
    unknown = run_cli("nhap", env=cli_env)
    assert "lựa chọn không hợp lệ: 'nhap'" in unknown.stderr
    helped = run_cli("officer", "--help", env=cli_env)
    assert helped.returncode == 0
    assert helped.stdout.startswith("cách dùng: wardbot officer [-h] [--config CONFIG] THAO-TÁC")
    assert "tham số theo vị trí:" in helped.stdout and "tùy chọn:" in helped.stdout
    assert "-h, --help       hiện hướng dẫn này rồi thoát" in helped.stdout
    for english in ("usage:", "error:", "required", "options", "show this help", "ACTION"):
        assert english not in missing.stderr + wrong.stderr + helped.stdout, english
    # In English for an operator who asked for it; and argparse is left as it was.
    in_english = run_cli("officer", "invite", env={**cli_env, "WARDBOT_LANG": "en"})
    assert "error: the following arguments are required: --ward" in in_english.stderr
    assert (argparse.__dict__["_"], argparse.__dict__["ngettext"]) == before


def test_values_are_printed_by_their_names(cli_env) -> None:
    cli_ok(cli_env, "ward", "add", "Phú Liễn", "--code", "phu-lien")
    invite = cli_ok(cli_env, "officer", "invite", "--ward", "phu-lien", "--role", "commander")
    assert "Mã mời cho Cán bộ 1 (chỉ huy) của Phú Liễn:" in invite
    cli_ok(cli_env, "officer", "invite", "--ward", "phu-lien", "--label", "Trinh sát Minh")
    rows = [line.split("\t") for line in cli_ok(cli_env, "officer", "list").splitlines()]
    assert [row[1:4] for row in rows] == [
        ["Cán bộ 1", "chỉ huy", "đã mời, chưa tham gia"],
        ["Trinh sát Minh", "cán bộ", "đã mời, chưa tham gia"],
    ]
    cli_ok(cli_env, "officer", "revoke", rows[1][0])
    revoked = cli_ok(cli_env, "officer", "list").splitlines()[1].split("\t")
    assert revoked[3] == "đã bị thu hồi quyền"
    english = cli_ok({**cli_env, "WARDBOT_LANG": "en"}, "officer", "list").splitlines()
    assert english[0].split("\t")[2:4] == ["commander", "invited, not joined yet"]


def test_the_first_start_tells_the_operator_to_back_the_keyring_up(cli_env, settings) -> None:
    assert not settings.keyring_path.exists()
    first = run_cli("tips", "shred-expired", env=cli_env)
    assert first.returncode == 0, first.stderr
    told = [line for line in first.stderr.splitlines() if "khóa" in line]
    assert told == [
        f"wardbot: đã tạo tệp khóa mới tại {settings.keyring_path}: hãy sao lưu ngay ở nơi an "
        "toàn; mất tệp này thì không đọc được dữ liệu đã mã hóa"
    ]
    assert "keyring" not in first.stderr.replace(str(settings.keyring_path), "")  # no English
    again = run_cli("tips", "shred-expired", env=cli_env)
    assert again.returncode == 0 and "khóa" not in again.stderr


def test_every_command_is_a_plain_async_function() -> None:
    """No command wraps its work in a closure of its own: cli_common's on_app/on_db and
    with_app/with_db open and close what it needs (the only nested functions left)."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "bot"
    nested = []
    for path in sorted(root.glob("cli*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for outer in ast.walk(tree):
            if not isinstance(outer, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for inner in ast.walk(outer):
                if inner is not outer and isinstance(inner, ast.AsyncFunctionDef):
                    nested.append(f"{path.name}:{outer.name}.{inner.name}")
    assert sorted(nested) == ["cli_common.py:on_app.handler", "cli_common.py:on_db.handler"]


def test_argparse_translations_keep_their_placeholders() -> None:
    import re

    from bot.cli_common import ARGPARSE_WORDS
    from kernel.i18n import Translator

    vi = Translator().get("vi")
    placeholder = re.compile(r"%(?:\([a-z_]+\))?[sr]")
    for message in ARGPARSE_WORDS:
        translated = vi.gettext(message)
        assert translated != message, message
        assert sorted(placeholder.findall(translated)) == sorted(placeholder.findall(message))
