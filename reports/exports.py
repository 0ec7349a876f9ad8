"""Copies of a month's awareness messages for the channels the plans name besides the
bot: a script for the ward's loudspeaker system ("loa truyền thanh", seeds 000 and 003),
a printable notice for the board (PDF, the poster's typography) and text for the ward's
website or social page. One library feeds every channel.

Which messages a month has (`month_messages`): in a month with campaign dates (June and
26/6, or a ward's own `[[campaign]]`), the message the planner sends on each date, in
date order; those go to every TDP, so the monthly guarantee adds nothing to a TDP they
reached. In any other month, the rotation messages the monthly guarantee picks for the
ward's TDPs (each once, in TDP order), as it would pick them today; a ward without TDPs
gets the ward-wide pick.

The renderers are pure: plain values in, text or a file out; every word is translated
with the `_` they are given. fpdf2 is imported inside `render_board`, as the poster does,
so the bot's own process never loads it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, cast

from broadcasts import planner
from broadcasts.calendar import at_local, campaign_days
from broadcasts.library import HOTLINE_HEADING, render
from kernel.config import Settings
from reports.fonts import dejavu
from storage import campaigns, wards
from storage.models import AwarenessMessage, Ward
from storage.session import AsyncSession

if TYPE_CHECKING:
    from fpdf import FPDF

Translate = Callable[[str], str]
FORMATS = ("loudspeaker", "board", "post")


@dataclass(frozen=True)
class MonthMessage:
    slug: str
    day: date | None  # the campaign date it goes out on; None: the month's rotation
    text: str  # filled in for the ward (library.render), in the export's language


async def month_messages(
    session: AsyncSession, settings: Settings, ward: Ward, first: date, language: str, _: Translate
) -> list[MonthMessage]:
    """The messages the planner sends the ward in the month beginning `first`."""
    dated: list[tuple[date, str, AwarenessMessage]] = []
    for campaign in await campaigns.active_campaigns(session):
        if campaign.month != first.month or campaign.ward_id not in (None, ward.id):
            continue
        for number, day in campaign_days(first.year, campaign.month, campaign.day):
            # The planner's own choice for this date, so the copies say what the bot sends.
            message = await planner.campaign_message(session, ward, campaign, number, first.year)
            if message is not None:
                at = at_local(day, campaign.at_time, settings.zone)
                dated.append((day, at.isoformat(), message))
    chosen: list[tuple[date | None, AwarenessMessage]] = [
        (day, message) for day, _at, message in sorted(dated, key=lambda d: (d[0], d[1]))
    ]
    if not chosen:
        period = first.strftime("%Y-%m")
        groups = await wards.active_groups_by_id(session, ward.id)
        seeds: list[tuple[int | None, str]] = [(g.id, f"{g.id}:{period}") for g in groups]
        seeds = seeds or [(None, f"ward:{period}")]
        for group_id, seed in seeds:
            picked = await planner.pick_rotation(session, ward.id, group_id, seed, on=first)
            if picked is not None:
                chosen.append((None, picked))
    result: list[MonthMessage] = []
    seen: set[str] = set()
    for when, message in chosen:
        if message.slug in seen:
            continue
        seen.add(message.slug)
        body = message.text_en if language == "en" and message.text_en else message.text_vi
        result.append(MonthMessage(message.slug, when, render(body, ward, _(HOTLINE_HEADING))))
    return result


# What a written message says to do on the bot, and what a listener hears instead.
# Vietnamese and English texts of the library; anything else that looks like a command
# is caught by _COMMAND below.
_SPOKEN_VERB = {
    "vi": (r"nhắn riêng cho bot này", r"nhắn tin riêng cho bot này", r"nhắn tin cho bot này"),
    "en": (r"message this bot privately", r"message this bot"),
}
_SPOKEN_NOUN = {"vi": (r"bot này",), "en": (r"this bot privately", r"this bot")}
_TYPE_CLAUSE = {
    "vi": r"[,:]?\s*(?:và\s+|hãy\s+)?gõ\s+/\w+(?:\s+và làm theo hướng dẫn)?",
    "en": r"[,:;]?\s*(?:and\s+|then\s+)?typ(?:e|ing)\s+/\w+(?:\s+and follow the instructions)?",
}
_COMMAND = re.compile(r"(?<![\w/])/[A-Za-z_]\w*")
_URL = re.compile(r"\(?\b(?:https?://|tg://|www\.)\S+")
_BULLET = re.compile(r"^[ \t]*(?:[•·▪◦*-])[ \t]+", re.MULTILINE)


def _is_emoji(char: str) -> bool:
    code = ord(char)
    return (
        unicodedata.category(char) == "So"
        or 0x1F000 <= code <= 0x1FAFF
        or code in (0x200D, 0x20E3)
        or 0xFE00 <= code <= 0xFE0F
    )


def spoken(text: str, language: str, _: Translate) -> str:
    """`text` as it is read aloud: no emoji, no web address, no /command (the listener
    is told to message the ward police's bot on Telegram or Zalo instead), no bullets."""
    lang = language if language in _SPOKEN_VERB else "vi"
    verb = _("message the ward police's bot on Telegram or Zalo")
    noun = _("the ward police's bot on Telegram or Zalo")
    out = "".join(c for c in text if not _is_emoji(c))
    out = _URL.sub("", out)
    out = re.sub(_TYPE_CLAUSE[lang], "", out, flags=re.IGNORECASE)
    for pattern in _SPOKEN_VERB[lang]:
        out = re.sub(pattern, verb, out, flags=re.IGNORECASE)
    for pattern in _SPOKEN_NOUN[lang]:
        out = re.sub(pattern, noun, out, flags=re.IGNORECASE)
    out = _COMMAND.sub(noun, out)
    out = _BULLET.sub("", out)
    out = re.sub(r"\(\s*\)", "", out)
    out = re.sub(r"[ \t]+([,.;:!?)])", r"\1", out)
    out = re.sub(r"([,;:])(?=[.!?])", "", out)
    out = re.sub(r"[ \t]{2,}", " ", out)
    return "\n".join(line.strip() for line in out.splitlines()).strip()


def month_label(first: date) -> str:
    return f"{first.month:02d}/{first.year}"


def loudspeaker_script(
    ward: str, first: date, messages: Sequence[str], language: str, _: Translate
) -> str:
    """A script to read on the ward's loudspeaker system: an opening, each message as
    spoken text, a closing."""
    month = month_label(first)
    parts = [
        _("Dear residents of {ward} ward!").format(ward=ward),
        _(
            "The ward police of {ward} would like to share with you the anti-drug messages "
            "of {month}."
        ).format(ward=ward, month=month),
    ]
    for number, text in enumerate(messages, start=1):
        parts.append(_("Message {number}.").format(number=number))
        parts.append(spoken(text, language, _))
    parts.append(
        _(
            "Those were the anti-drug messages of the ward police of {ward}. To report drug "
            "crime anonymously, message the ward police's bot on Telegram or Zalo, or call "
            "113. The identity of people who report is kept secret."
        ).format(ward=ward)
    )
    parts.append(_("Thank you for listening!"))
    return "\n\n".join(parts) + "\n"


def post_text(
    ward: str,
    first: date,
    messages: Sequence[str],
    links: Sequence[tuple[str, str]],
    _: Translate,
) -> str:
    """Text for the ward's website or social page: a title, each message as a
    paragraph (commands as written), the bot's links (channel, line) when configured,
    and hashtags."""
    parts = [
        _("Anti-drug messages of the ward police of {ward}, {month}").format(
            ward=ward, month=month_label(first)
        )
    ]
    parts += [text.strip() for text in messages]
    if links:
        lines = [_("Talk to the ward police's bot:")]
        lines += [f"{channel}: {line}" for channel, line in links]
        parts.append("\n".join(lines))
    parts.append(_("#DrugPrevention #DrugFreeNeighbourhood"))
    return "\n\n".join(parts) + "\n"


@dataclass(frozen=True)
class BoardText:
    """Everything printed on the notice, already translated by the caller."""

    heading: str  # the red band, in capitals: "CÔNG AN PHƯỜNG PHÙ LIỄN"
    title: str  # e.g. "Thông tin tuyên truyền phòng, chống ma túy tháng 06/2026"
    messages: Sequence[str]
    hotlines_title: str
    hotlines: Sequence[tuple[str, str]]  # (label, number), 113 first
    footer: str


_RED = (190, 20, 30)  # the poster's
_GREY = (90, 90, 90)
_MARGIN = 16.0
_WIDTH = 210.0 - 2 * _MARGIN
_PT = 25.4 / 72


def _nfc(value: str) -> str:
    return unicodedata.normalize("NFC", value)


def render_board(text: BoardText, out: Path) -> Path:
    """The notice as an A4 PDF at `out` (pages added as the messages need them)."""
    from fpdf import FPDF

    face = dejavu()
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_auto_page_break(auto=True, margin=_MARGIN)
    pdf.set_margins(_MARGIN, _MARGIN, _MARGIN)
    pdf.add_font("DejaVu", "", str(face.regular))
    pdf.add_font("DejaVu", "B", str(face.bold))
    pdf.set_title(_nfc(text.title))
    pdf.set_creator("wardbot")
    pdf.add_page()
    _band(pdf, _nfc(text.heading.upper()))
    pdf.set_y(pdf.get_y() + 8)
    pdf.set_text_color(*_RED)
    pdf.set_font("DejaVu", "B", 18)
    pdf.multi_cell(_WIDTH, 18 * _PT * 1.3, _nfc(text.title), align="C", new_x="LMARGIN")
    for number, message in enumerate(text.messages):
        pdf.set_y(pdf.get_y() + 5)
        if number:
            pdf.set_draw_color(*_RED)
            pdf.set_line_width(0.4)
            pdf.line(_MARGIN + _WIDTH / 3, pdf.get_y(), _MARGIN + 2 * _WIDTH / 3, pdf.get_y())
            pdf.set_y(pdf.get_y() + 5)
        pdf.set_text_color(0, 0, 0)
        pdf.set_font("DejaVu", "", 12)
        pdf.multi_cell(_WIDTH, 12 * _PT * 1.4, _nfc(message.strip()), align="J", new_x="LMARGIN")
    if text.hotlines:
        _hotlines(pdf, _nfc(text.hotlines_title.upper()), text.hotlines)
    pdf.set_y(pdf.get_y() + 6)
    pdf.set_font("DejaVu", "", 10)
    pdf.set_text_color(*_GREY)
    pdf.multi_cell(_WIDTH, 5, _nfc(text.footer), align="C", new_x="LMARGIN")
    pdf.output(str(out))
    return out


def _band(pdf: FPDF, heading: str) -> None:
    """The poster's red band across the top, the heading in white capitals."""
    pdf.set_font("DejaVu", "B", 18)
    height = 18 * _PT * 1.3
    wrapped = pdf.multi_cell(_WIDTH, height, heading, dry_run=True, output="LINES")
    lines = len(cast("list[str]", wrapped))
    band = max(24.0, lines * height + 12)
    pdf.set_fill_color(*_RED)
    pdf.rect(0, 0, 210.0, band, style="F")
    pdf.set_text_color(255, 255, 255)
    pdf.set_xy(_MARGIN, (band - lines * height) / 2)
    pdf.multi_cell(_WIDTH, height, heading, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_y(band)


def _hotlines(pdf: FPDF, title: str, hotlines: Sequence[tuple[str, str]]) -> None:
    """A red-bordered box, labels left and numbers bold on the right, kept on one page."""
    row = 8.0
    needed = 12 + row * len(hotlines) + 6
    if pdf.get_y() + 8 + needed > pdf.h - _MARGIN:
        pdf.add_page()
    pdf.set_y(pdf.get_y() + 8)
    top = pdf.get_y()
    pdf.set_text_color(*_RED)
    pdf.set_font("DejaVu", "B", 14)
    pdf.set_xy(_MARGIN + 4, top + 3)
    pdf.cell(_WIDTH - 8, 8, title, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    for label, number in hotlines:
        y = pdf.get_y()
        pdf.set_font("DejaVu", "", 12)
        pdf.set_xy(_MARGIN + 4, y)
        pdf.cell((_WIDTH - 8) * 0.6, row, _nfc(label))
        pdf.set_font("DejaVu", "B", 15)
        pdf.set_xy(_MARGIN + 4 + (_WIDTH - 8) * 0.6, y)
        pdf.cell((_WIDTH - 8) * 0.4, row, _nfc(number), align="R")
        pdf.set_y(y + row)
    bottom = pdf.get_y() + 3
    pdf.set_draw_color(*_RED)
    pdf.set_line_width(0.8)
    pdf.rect(_MARGIN, top, _WIDTH, bottom - top)
    pdf.set_y(bottom)
