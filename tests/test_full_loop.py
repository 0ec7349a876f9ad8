"""The whole loop through the `wardbot` command, each person in their own run of it
(in this process, as tests/helpers.py:run_cli runs it):
a resident reports, an officer enrolled by invite sees it in /queue and asks a
question, the resident answers via /status, the officer closes it, the resident sees
the outcome, and the audit chain is intact."""

from __future__ import annotations

import re
from pathlib import Path

from tests.helpers import run_cli


def test_report_triage_question_answer_close(cli_env: dict[str, str], tmp_path: Path) -> None:
    def wardbot(*args: str, stdin: str = "") -> str:
        result = run_cli(*args, env=cli_env, stdin=stdin, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr
        return result.stdout

    wardbot("ward", "add", "Phù Liễn", "--city", "Hải Phòng")
    (tmp_path / "tdp.csv").write_text("name\nNam Hải\nĐẩu Sơn 1\n", encoding="utf-8")
    wardbot("tdp", "import", "--ward", "phu-lien", str(tmp_path / "tdp.csv"))
    invite = re.search(
        r"/join (\S+)", wardbot("officer", "invite", "--ward", "phu-lien", "--label", "Minh")
    )
    assert invite

    report = wardbot(
        "chat",
        "--user",
        "resident",
        stdin="/start\n1\n2\nnam hai\nđầu ngõ 12\n2\nQuán nước bán ma túy cho thanh niên\n1\n1\n1\n1\n",
    )
    receipt = re.search(r"Mã tin: (\S+)\nMã bí mật: (\S+)", report)
    assert receipt, report
    code, secret = receipt.groups()

    officer = wardbot(
        "chat",
        "--user",
        "officer",
        stdin=f"/join {invite[1]}\n/queue\n/ask {code} Quán tên là gì?\n",
    )
    assert f"{code} · Mua bán, bán lẻ ma túy · Nam Hải · mới" in officer
    assert "Đã gửi câu hỏi" in officer

    answered = wardbot(
        "chat", "--user", "resident", stdin=f"/status {code} {secret}\n1\nQuán Hương Sen\n"
    )
    assert answered.startswith("Bạn có tin nhắn mới")  # the notice, before anything else
    assert "Công an hỏi: Quán tên là gì?" in answered and "đang được chuyển tới Công an" in answered
    # The answer went through the mixer; the chat's end stored what was waiting.

    closing = wardbot("chat", "--user", "officer", stdin=f"/tip {code}\n/close {code} xác minh\n")
    assert f"Người báo tin {code} vừa nhắn thêm" in closing
    assert "Người báo tin trả lời: Quán Hương Sen" in closing
    assert "resident" not in closing

    outcome = wardbot("chat", "--user", "a-different-phone", stdin=f"/status {code} {secret}\n")
    assert "Tình trạng: đã kết thúc: thông tin chính xác, đã xử lý" in outcome
    assert "nguyên vẹn" in wardbot("audit", "verify")
