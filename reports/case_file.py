"""A tip as a record for the case file ("phiếu tiếp nhận"): code, source, times,
category, TDP, content, the attachments described (not included), the history of its
states and its outcome, and who produced the record and when.

`gather_case` reads the tip (it opens its content: only a commander or the assigned
officer may ask for it, and every production is audited by the caller); the PDF is laid
out by `render_case_file` in a document worker process, never in the bot's own."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from kernel.categories import CATEGORIES, WHEN
from kernel.i18n import N_
from kernel.tip_sources import SOURCE_LABELS, TipSource
from reports.fonts import dejavu
from storage import tips, wards
from storage.crypto import Vault
from storage.models import Officer, Tip, TipStatus, Ward
from storage.session import AsyncSession
from storage.tips import EVENT_LABELS, EventKind
from storage.triage import OUTCOME_LABELS, STATUS_LABELS

Translate = Callable[[str], str]
_MARGIN = 18.0  # mm
_RED = (190, 20, 30)
_GREY = (100, 100, 100)
_FILE_KINDS = {"image": N_("Photo"), "pdf": N_("PDF document")}


@dataclass(frozen=True)
class CaseEvent:
    at: str  # local, as printed
    what: str  # translated
    text: str = field(default="", repr=False)


@dataclass(frozen=True)
class CaseFile:
    ward: str
    city: str
    code: str
    source: str
    received: str
    category: str
    group: str
    urgent: bool
    status: str
    outcome: str
    when: str
    place: str
    content: str = field(repr=False)
    location: str = ""
    attachments: tuple[str, ...] = ()
    history: tuple[CaseEvent, ...] = ()
    produced_by: str = ""
    produced_at: str = ""
    language: str = "vi"


async def gather_case(
    session: AsyncSession,
    vault: Vault,
    ward: Ward,
    tip: Tip,
    *,
    produced_by: Officer,
    zone: ZoneInfo,
    gettext: Translate,
    language: str,
    now: datetime,
) -> CaseFile:
    _ = gettext
    content = tips.read_content(vault, tip)
    group = await wards.get_group(session, tip.group_id) if tip.group_id else None
    files = await tips.read_attachments(session, vault, tip)
    source = TipSource(tip.source) if tip.source in set(TipSource) else TipSource.BOT
    location = ""
    if content.get("location"):
        latitude, longitude = content["location"]
        location = f"{latitude}, {longitude}"
    return CaseFile(
        ward=ward.name,
        city=ward.city,
        code=tip.code,
        source=_(SOURCE_LABELS[source]),
        received=_local(tips.submitted_at(vault, tip), zone),
        category=_(CATEGORIES.get(tip.category, CATEGORIES["other"])),
        group=group.name if group else _("TDP not given"),
        urgent=tip.urgent,
        status=_(STATUS_LABELS[TipStatus(tip.status)]),
        outcome=_(OUTCOME_LABELS[tip.outcome]) if tip.outcome in OUTCOME_LABELS else "",
        when=_(WHEN[content["when"]]) if content.get("when") in WHEN else "",
        place=str(content.get("where") or ""),
        content=str(content.get("what") or ""),
        location=location,
        attachments=tuple(
            _("{kind} {n} ({mime}, {size} KB)").format(
                kind=_(_FILE_KINDS.get(f.kind, N_("File"))),
                n=i,
                mime=f.mime_type,
                size=max(1, len(f.data) // 1024),
            )
            for i, f in enumerate(files, start=1)
        ),
        history=await _history(session, vault, tip, zone, _),
        produced_by=produced_by.label,
        produced_at=_local(now, zone),
        language=language,
    )


async def _history(
    session: AsyncSession, vault: Vault, tip: Tip, zone: ZoneInfo, _: Translate
) -> tuple[CaseEvent, ...]:
    events = []
    for entry in await tips.everything(session, vault, tip):
        if entry.kind == EventKind.STATUS and entry.to_status:
            what = _("State: {status}").format(
                status=_(STATUS_LABELS.get(entry.to_status, entry.to_status))
            )
        else:
            what = _(EVENT_LABELS.get(entry.kind, N_("Event")))
        events.append(CaseEvent(_local(entry.at, zone, hour=True), what, entry.text or ""))
    return tuple(events)


def _local(moment: datetime, zone: ZoneInfo, *, hour: bool = False) -> str:
    """The stored times of events are kept to the hour (see storage/models.py)."""
    local = moment.astimezone(zone)
    return local.strftime("%d/%m/%Y %Hh") if hour else local.strftime("%d/%m/%Y %H:%M")


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def render_case_file(case: CaseFile, gettext: Translate) -> bytes:
    """The PDF, run by a document worker process (storage/sandbox.py)."""
    from fpdf import FPDF

    _ = gettext
    face = dejavu()
    title = _nfc(_("Tip record {code}").format(code=case.code))
    stamp = _nfc(
        _("Produced by {who} on {when}. Confidential: for the case file only.").format(
            who=case.produced_by, when=case.produced_at
        )
    )

    class Record(FPDF):
        def footer(self) -> None:
            self.set_y(-_MARGIN + 4)
            self.set_font("DejaVu", "", 7.5)
            self.set_text_color(*_GREY)
            self.multi_cell(self.epw, 4, stamp, align="L")

    pdf = Record(orientation="P", unit="mm", format="A4")
    pdf.add_font("DejaVu", "", str(face.regular))
    pdf.add_font("DejaVu", "B", str(face.bold))
    pdf.set_title(title)
    pdf.set_author(_nfc(_("Ward police of {ward}").format(ward=case.ward)))
    pdf.set_creator("wardbot")
    pdf.set_lang(case.language)
    pdf.set_margins(_MARGIN, _MARGIN, _MARGIN)
    pdf.set_auto_page_break(auto=True, margin=_MARGIN + 6)
    pdf.add_page()

    def line(
        value: str,
        size: float = 10,
        *,
        bold: bool = False,
        colour: tuple[int, int, int] = (0, 0, 0),
    ) -> None:
        pdf.set_font("DejaVu", "B" if bold else "", size)
        pdf.set_text_color(*colour)
        pdf.multi_cell(pdf.epw, size * 0.55, _nfc(value), new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(0, 0, 0)

    def heading(value: str) -> None:
        pdf.ln(3)
        line(value, 11.5, bold=True, colour=_RED)
        pdf.ln(1)

    line(
        _("Ward police of {ward}").format(ward=case.ward) + (f", {case.city}" if case.city else ""),
        9,
    )
    pdf.ln(2)
    line(_("RECORD OF A TIP RECEIVED"), 15, bold=True)
    line(title, 11)
    heading(_("The tip"))
    facts = [
        (_("Code"), case.code),
        (_("Source"), case.source),
        (_("Received"), case.received),
        (_("Category"), case.category + (" · " + _("urgent") if case.urgent else "")),
        (_("Residential group"), case.group),
        (_("When it happened"), case.when or "—"),
        (_("Place"), case.place or "—"),
        (_("Location pin"), case.location or "—"),
        (_("State"), case.status),
        (_("Outcome"), case.outcome or "—"),
    ]
    for label, value in facts:
        line(f"{label}: {value}")
    heading(_("Content"))
    line(case.content or "—")
    heading(_("Attachments"))
    for item in case.attachments or (_("None"),):
        line(f"• {item}")
    heading(_("History"))
    for event in case.history:
        line(f"{event.at} — {event.what}" + (f": {event.text}" if event.text else ""))
    return bytes(pdf.output())
