"""`wardbot content export`: the month's messages as a loudspeaker script, a
notice-board PDF and a post for the ward's page, run in-process as the console script
runs it, on the test's database with the shipped library and campaigns."""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from pathlib import Path

from pypdf import PdfReader

from bot.app import App
from kernel.i18n import Translator
from reports import exports
from storage import wards
from tests.helpers import add_phu_lien, cli_ok, cli_refused

COMMAND = re.compile(r"(?<![\w/])/[A-Za-z_]")
URL = re.compile(r"https?://|tg://|www\.|t\.me/", re.IGNORECASE)
SPOKEN_BOT = "nhắn tin cho bot của Công an phường trên Telegram hoặc Zalo"
HOTLINE = "0225 000 0000"


def _emoji(text: str) -> list[str]:
    return [c for c in text if unicodedata.category(c) == "So" or ord(c) >= 0x1F000]


async def _messages(app: App, month: date, language: str = "vi") -> list[exports.MonthMessage]:
    gettext = Translator().get(language).gettext
    async with app.services.db.transaction() as session:
        ward = await wards.find_ward(session, "Phù Liễn")
        assert ward is not None
        return await exports.month_messages(
            session, app.services.settings, ward, month, language, gettext
        )


def _opening(text: str) -> str:
    """The first words of a message's first paragraph after its salutation."""
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    return " ".join(paragraphs[1].split()[:5])


def _words(pdf: Path) -> str:
    return " ".join(" ".join(page.extract_text().split()) for page in PdfReader(pdf).pages)


async def test_june_has_every_campaign_date_in_order_and_a_normal_month_the_rotation(
    app: App,
) -> None:
    await add_phu_lien(app)
    june = await _messages(app, date(2026, 6, 1))
    assert [m.day for m in june] == [date(2026, 6, d) for d in (1, 8, 15, 22, 26, 29)]
    weekly = [m.slug for m in june if m.day and m.day.day != 26]
    # What the planner sends a TDP's chats: the opening first, the campaign's messages for
    # everyone and parents, rotation ones after (none addressed to young people or workers).
    assert weekly[0] == "june-opening" and len(set(weekly)) == 5
    assert {"june-families", "june-report"} <= set(weekly)
    assert not {"june-youth", "june-workers"} & set(weekly)
    assert june[4].slug.startswith("day-26-6-")
    assert all("{ward}" not in m.text and "{hotlines}" not in m.text for m in june)
    assert any("Phù Liễn" in m.text and HOTLINE in m.text for m in june)

    november = await _messages(app, date(2026, 11, 1))
    assert november and all(m.day is None for m in november)
    assert not any(m.slug.startswith(("june-", "day-26-6")) for m in november)
    assert len({m.slug for m in november}) == len(november)


async def test_the_loudspeaker_script_has_no_command_address_or_emoji(app: App, wardbot) -> None:
    await add_phu_lien(app)
    for month in ("2026-06", "2026-11"):
        done = await wardbot("content", "export", "--month", month, "--for", "loudspeaker")
        assert done.code == 0, done.err
        script = done.out
        first = date.fromisoformat(f"{month}-01")
        assert script.startswith("Kính thưa bà con phường Phù Liễn!")
        assert f"tháng {first.month:02d}/{first.year}" in script
        assert "Xin cảm ơn bà con đã chú ý lắng nghe!" in script
        assert not COMMAND.search(script), COMMAND.search(script)
        assert not URL.search(script)
        assert not _emoji(script)
        assert "•" not in script
        found = await _messages(app, first)
        assert script.count("Thông tin thứ ") == len(found)
        for message in found:
            assert exports.spoken(_opening(message.text), "vi", lambda s: s) in script
        if any("/baotin" in m.text for m in found):
            assert SPOKEN_BOT in script
    june = (await wardbot("content", "export", "--month", "2026-06", "--for", "loudspeaker")).out
    assert HOTLINE in june and "113" in june


async def test_spoken_text_drops_what_cannot_be_heard() -> None:
    vi = Translator().get("vi").gettext
    text = (
        "🚨 Bà con nhắn riêng cho bot này, gõ /baotin để báo tin. Xem https://example.org/x\n• 113"
    )
    said = exports.spoken(text, "vi", vi)
    assert said == f"Bà con {SPOKEN_BOT} để báo tin. Xem\n113"
    en = Translator().get("en").gettext
    said = exports.spoken("Message this bot privately and type /baotin to report.", "en", en)
    assert said == "message the ward police's bot on Telegram or Zalo to report."
    assert not COMMAND.search(exports.spoken("Send /help or /start now", "vi", vi))


async def test_the_board_notice_prints_the_ward_the_messages_and_the_hotline(
    app: App, wardbot, tmp_path: Path
) -> None:
    await add_phu_lien(app)
    for month in ("2026-06", "2026-11"):
        out = tmp_path / f"notice-{month}.pdf"
        done = await wardbot(
            "content", "export", "--month", month, "--for", "board", "--out", str(out)
        )
        assert done.code == 0, done.err
        assert done.out.strip() == str(out)
        words = _words(out)
        assert "PHÙ LIỄN" in words and "Phù Liễn" in words
        assert month[5:] + "/" + month[:4] in words
        assert HOTLINE in words and "113" in words
        for message in await _messages(app, date.fromisoformat(f"{month}-01")):
            assert _opening(message.text) in words


async def test_the_post_keeps_commands_and_adds_the_bots_links(
    app: App, wardbot, tmp_path: Path
) -> None:
    ward_id = await add_phu_lien(app)
    config = tmp_path / "links.toml"  # not wardbot.toml: the CLI would read it from cwd
    config.write_text(
        '[links]\ntelegram_username = "phulien_bot"\nzalo = "https://zalo.me/1234567890"\n',
        encoding="utf-8",
    )
    out = tmp_path / "post.txt"
    done = await wardbot(
        "--config",
        str(config),
        "content",
        "export",
        "--month",
        "2026-06",
        "--for",
        "post",
        "--out",
        str(out),
        "--lang",
        "en",
    )
    assert done.code == 0, done.err
    post = out.read_text(encoding="utf-8")
    assert post.startswith("Anti-drug messages of the ward police of Phù Liễn, 06/2026")
    assert "/baotin" in post
    assert f"https://t.me/phulien_bot?start=w{ward_id}" in post
    assert f"https://zalo.me/1234567890, then send: /start w{ward_id}" in post
    for message in await _messages(app, date(2026, 6, 1), "en"):
        assert message.text.strip() in post
    bare = await wardbot("content", "export", "--month", "2026-11", "--for", "post")
    assert bare.code == 0 and "t.me" not in bare.out
    for message in await _messages(app, date(2026, 11, 1)):
        assert message.text.strip() in bare.out


async def test_a_bad_format_month_or_missing_out_is_one_translated_line(
    app: App, cli_env, tmp_path: Path
) -> None:
    await add_phu_lien(app)
    for args, expected in (
        (("--month", "2026-06", "--for", "radio"), "radio"),
        (("--month", "2026-13", "--for", "post"), "2026-13"),
        (("--month", "June", "--for", "post"), "June"),
        (("--month", "2026-06", "--for", "board"), "--out"),
        (("--month", "2026-06", "--for", "post", "--lang", "fr"), "fr"),
    ):
        err = cli_refused(cli_env, "content", "export", *args)
        assert err.count("\n") == 1 and expected in err
    assert "loudspeaker, board hoặc post" in cli_refused(
        cli_env, "content", "export", "--month", "2026-06", "--for", "radio"
    )
    assert "Kính thưa" in cli_ok(
        cli_env, "content", "export", "--month", "2026-06", "--for", "loudspeaker"
    )
