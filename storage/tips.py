"""Tips and their events. Every text is sealed under the tip's own data key."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from kernel.clock import utcnow
from kernel.i18n import N_
from kernel.routes import Route
from kernel.tip_sources import TipSource
from storage.crypto import RecordCipher, RecordRef, Vault, WrappedKey
from storage.models import Tip, TipAttachment, TipEvent, TipStatus, floor_hour
from storage.receipts import (
    ReceiptHasher,
    ReceiptSecret,
    TipCode,
    Verdict,
    new_code,
    new_secret,
    parse_code,
    parse_secret,
)

_CODE_ATTEMPTS = 8


class EventKind(StrEnum):
    SUBMITTED = "submitted"
    STATUS = "status"
    NOTE = "note"  # internal to the police
    QUESTION = "question"  # police to reporter
    ANSWER = "answer"  # reporter to police
    REPLY = "reply"  # public answer the reporter sees
    ADDITION = "addition"  # more information from the reporter
    CONTACT_STOPPED = "contact_stopped"


# What each event is called in a tip's history, to the police.
EVENT_LABELS: dict[str, str] = {
    EventKind.SUBMITTED: N_("Received"),
    EventKind.STATUS: N_("State changed"),
    EventKind.CONTACT_STOPPED: N_("The reporter stopped all contact"),
    EventKind.QUESTION: N_("Question to the reporter"),
    EventKind.ANSWER: N_("Reporter's answer"),
    EventKind.ADDITION: N_("Reporter added"),
    EventKind.REPLY: N_("Public answer"),
    EventKind.NOTE: N_("Note"),
}

# What the reporter sees when checking a tip; notes stay with the police.
REPORTER_VISIBLE = frozenset(
    {
        EventKind.SUBMITTED,
        EventKind.STATUS,
        EventKind.QUESTION,
        EventKind.ANSWER,
        EventKind.REPLY,
        EventKind.ADDITION,
        EventKind.CONTACT_STOPPED,
    }
)


@dataclass(frozen=True)
class NewAttachment:
    kind: str
    mime_type: str
    data: bytes = field(repr=False)


@dataclass(frozen=True)
class TimelineEntry:
    id: int
    kind: str
    at: datetime
    to_status: str | None
    text: str | None = field(default=None, repr=False)
    reply_to_id: int | None = None


class TipShredded(Exception):
    """The tip's data key was destroyed: its content no longer exists."""


@dataclass(frozen=True)
class Receipt:
    """What the reporter keeps. The secret exists only here and in the reporter's chat."""

    code: TipCode
    secret: ReceiptSecret = ""  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Receipt({self.code}, <secret>)"


def tip_ref(tip: Tip) -> RecordRef:
    return RecordRef("tips", tip.id)


def rewrap_key(vault: Vault, tip: Tip) -> None:
    """Wrap the tip's data key where the vault's policy says for its state: under the
    key of the month it was created while open, of the month it was closed once closed
    (so that shredding can delete that month's key). Call it in the transaction that
    closes the tip."""
    if tip.wrapped_key is None:
        return
    closed = tip.closed_at  # set once, when the tip is closed: tips are never reopened
    tip.wrapped_key = vault.rewrap(
        WrappedKey(tip.wrapped_key), tip_ref(tip), created=tip.created_at, closed=closed
    )


def key_is_current(vault: Vault, tip: Tip) -> bool:
    """Whether the tip's data key is wrapped where the policy says (see rewrap_key)."""
    if tip.wrapped_key is None:
        return True
    closed = tip.closed_at  # set once, when the tip is closed: tips are never reopened
    return not vault.needs_rewrap(
        WrappedKey(tip.wrapped_key), tip_ref(tip), created=tip.created_at, closed=closed
    )


def tip_cipher(vault: Vault, tip: Tip) -> RecordCipher:
    if tip.wrapped_key is None:
        raise TipShredded(f"tip {tip.id} was destroyed")
    return vault.cipher(WrappedKey(tip.wrapped_key), tip_ref(tip))


@dataclass(frozen=True)
class Submission:
    """A tip as its reporter sent it, before the mixer stores it (storage/drops.py). It
    already has its code and secret hash: the receipt is given when the tip is sent."""

    ward_id: int
    group_id: int | None
    category: str
    content: dict[str, Any] = field(repr=False)
    route: Route | None = field(repr=False)
    code: TipCode
    secret_hash: bytes = field(repr=False)
    submitted_at: datetime
    priority: int = 2
    urgent: bool = False
    language: str = "vi"
    attachments: Sequence[NewAttachment] = field(default=(), repr=False)
    source: TipSource = TipSource.BOT

    def to_payload(self) -> dict[str, Any]:
        return {
            "kind": "tip",
            "ward_id": self.ward_id,
            "group_id": self.group_id,
            "category": self.category,
            "content": self.content,
            "route": _b64(self.route.to_bytes()) if self.route else None,
            "code": self.code,
            "secret_hash": _b64(self.secret_hash),
            "submitted_at": self.submitted_at.isoformat(),
            "priority": self.priority,
            "urgent": self.urgent,
            "language": self.language,
            "source": str(self.source),
            "attachments": [
                {"kind": a.kind, "mime_type": a.mime_type, "data": _b64(a.data)}
                for a in self.attachments
            ],
        }

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> Submission:
        return cls(
            ward_id=int(data["ward_id"]),
            group_id=data["group_id"],
            category=str(data["category"]),
            content=dict(data["content"]),
            route=Route.from_bytes(_unb64(data["route"])) if data["route"] else None,
            code=TipCode(data["code"]),
            secret_hash=_unb64(data["secret_hash"]),
            submitted_at=datetime.fromisoformat(data["submitted_at"]),
            priority=int(data["priority"]),
            urgent=bool(data["urgent"]),
            language=str(data["language"]),
            # Drops sealed before sources were recorded are all the bot's.
            source=TipSource(data.get("source", TipSource.BOT)),
            attachments=tuple(
                NewAttachment(a["kind"], a["mime_type"], _unb64(a["data"]))
                for a in data["attachments"]
            ),
        )


@dataclass(frozen=True)
class ReporterMessage:
    """What a reporter does about their tip (adds to it, answers a question, stops all
    contact), on its way through the mixer like a new tip."""

    tip_id: int
    kind: str
    body: str | None = field(default=None, repr=False)
    reply_to_id: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in (EventKind.ADDITION, EventKind.ANSWER, EventKind.CONTACT_STOPPED):
            raise ValueError("not something a reporter does")

    def to_payload(self) -> dict[str, Any]:
        return {
            "kind": "event",
            "tip_id": self.tip_id,
            "event": str(self.kind),
            "body": self.body,
            "reply_to_id": self.reply_to_id,
        }

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> ReporterMessage:
        return cls(int(data["tip_id"]), EventKind(data["event"]), data["body"], data["reply_to_id"])


async def new_receipt(session: AsyncSession, hasher: ReceiptHasher) -> tuple[Receipt, bytes]:
    """A receipt for a tip about to be sent, with the hash of its secret to store."""
    for _ in range(_CODE_ATTEMPTS):
        code = new_code()
        if await session.scalar(select(Tip.id).where(Tip.code == code)) is None:
            break
    else:  # pragma: no cover - 35 bits of space; eight collisions in a row means a bug
        raise RuntimeError("could not find a free tip code")
    secret = new_secret()
    return Receipt(code, secret), hasher.hash(code, secret)


async def create_tip(session: AsyncSession, vault: Vault, submission: Submission) -> Tip:
    """Store a tip, sealed. Its times are kept to the hour; the exact moment it was sent
    is sealed in its content (`submitted_at`)."""
    hour = floor_hour(utcnow())
    s = submission
    tip = Tip(
        ward_id=s.ward_id,
        group_id=s.group_id,
        code=s.code,
        secret_hash=s.secret_hash,
        category=s.category,
        priority=s.priority,
        priority_hint=s.priority,
        urgent=s.urgent,
        status=TipStatus.NEW,
        language=s.language,
        source=s.source,
        created_at=hour,
        updated_at=hour,
    )
    session.add(tip)
    try:
        await session.flush()  # the id is bound into the ciphertext, so it comes first
    except IntegrityError:  # pragma: no cover - a code taken between receipt and mixing
        raise RuntimeError("tip code collision") from None
    tip.wrapped_key = vault.new_key(tip_ref(tip))
    cipher = tip_cipher(vault, tip)
    content = {**s.content, "submitted_at": s.submitted_at.isoformat()}
    tip.sealed_content = cipher.seal_json("content", content)
    tip.sealed_route = cipher.seal("route", s.route.to_bytes()) if s.route else None
    for item in s.attachments:
        row = TipAttachment(tip_id=tip.id, kind=item.kind, mime_type=item.mime_type)
        session.add(row)
        await session.flush()
        row.sealed_data = cipher.seal(f"attachment/{row.id}", item.data)
    session.add(
        TipEvent(tip_id=tip.id, kind=EventKind.SUBMITTED, to_status=TipStatus.NEW, created_at=hour)
    )
    await session.flush()
    return tip


def submitted_at(vault: Vault, tip: Tip) -> datetime:
    """When the reporter sent the tip, to the second (sealed); the hour for tips stored
    before exact times were sealed."""
    sent = read_content(vault, tip).get("submitted_at")
    return datetime.fromisoformat(sent) if isinstance(sent, str) else tip.created_at


def read_content(vault: Vault, tip: Tip) -> dict[str, Any]:
    if tip.sealed_content is None:
        raise TipShredded(f"tip {tip.id} has no content")
    return dict(tip_cipher(vault, tip).open_json("content", tip.sealed_content))


def read_route(vault: Vault, tip: Tip) -> Route | None:
    if tip.sealed_route is None:
        return None
    return Route.from_bytes(tip_cipher(vault, tip).open("route", tip.sealed_route))


async def add_event(
    session: AsyncSession,
    vault: Vault,
    tip: Tip,
    kind: str,
    *,
    body: str | None = None,
    actor_officer_id: int | None = None,
    to_status: str | None = None,
    reply_to_id: int | None = None,
) -> TipEvent:
    event = TipEvent(
        tip_id=tip.id,
        kind=kind,
        actor_officer_id=actor_officer_id,
        reply_to_id=reply_to_id,
        from_status=tip.status if to_status else None,
        to_status=to_status,
        created_at=floor_hour(utcnow()),
    )
    session.add(event)
    await session.flush()
    if body is not None:
        event.sealed_body = tip_cipher(vault, tip).seal_text(_event_field(event), body)
    if to_status:
        tip.status = to_status
    tip.updated_at = event.created_at
    await session.flush()
    return event


def read_event_body(vault: Vault, tip: Tip, event: TipEvent) -> str | None:
    if event.sealed_body is None:
        return None
    return tip_cipher(vault, tip).open_text(_event_field(event), event.sealed_body)


@dataclass(frozen=True)
class Unverified:
    """A tip whose receipt was stored under the old slow scheme: not the reporter's until
    `ReceiptHasher.verify_slowly` says so, outside this transaction; then `upgrade_receipt`."""

    tip_id: int = field(repr=False)
    code: TipCode = field(repr=False)
    secret: ReceiptSecret = field(repr=False)
    stored: bytes = field(repr=False)


async def find_by_receipt(
    session: AsyncSession, hasher: ReceiptHasher, code_text: str, secret_text: str
) -> Tip | Unverified | None:
    """The tip whose receipt this is, or None. The keyed hash runs whether or not the
    code exists, so the answer time does not tell which codes are real (except that a
    tip sent before keyed hashes needs the slow check: see Unverified)."""
    code = parse_code(code_text)
    secret = parse_secret(secret_text)
    tip = None
    if code is not None:
        tip = await session.scalar(select(Tip).where(Tip.code == code))
    stored = tip.secret_hash if tip is not None else None
    probe_code = code or TipCode("0000000")
    probe_secret = secret or ReceiptSecret("0000-0000-0000-0000")
    verdict = hasher.verify(probe_code, probe_secret, stored)
    if tip is None or secret is None or code is None or stored is None:
        return None
    if verdict is Verdict.SLOW:
        return Unverified(tip.id, code, secret, stored)
    return tip if verdict is Verdict.MATCH else None


async def upgrade_receipt(session: AsyncSession, hasher: ReceiptHasher, found: Unverified) -> None:
    """Replace an old slow hash, once its secret was shown, by the keyed one."""
    tip = await session.get(Tip, found.tip_id)
    if tip is not None and tip.secret_hash == found.stored:
        tip.secret_hash = hasher.hash(found.code, found.secret)


async def timeline(session: AsyncSession, vault: Vault, tip: Tip) -> list[TimelineEntry]:
    """What the reporter may see of the tip's history, oldest first."""
    events = await session.scalars(
        select(TipEvent)
        .where(TipEvent.tip_id == tip.id, TipEvent.kind.in_(REPORTER_VISIBLE))
        .order_by(TipEvent.id)
    )
    return [
        TimelineEntry(
            e.id, e.kind, e.created_at, e.to_status, read_event_body(vault, tip, e), e.reply_to_id
        )
        for e in events
    ]


async def everything(session: AsyncSession, vault: Vault, tip: Tip) -> list[TimelineEntry]:
    """The whole history, notes of the police included, oldest first: for the case file."""
    events = await session.scalars(
        select(TipEvent).where(TipEvent.tip_id == tip.id).order_by(TipEvent.id)
    )
    return [
        TimelineEntry(
            e.id, e.kind, e.created_at, e.to_status, read_event_body(vault, tip, e), e.reply_to_id
        )
        for e in events
    ]


async def open_questions(session: AsyncSession, vault: Vault, tip: Tip) -> list[TimelineEntry]:
    entries = await timeline(session, vault, tip)
    answered = {e.reply_to_id for e in entries if e.kind == EventKind.ANSWER}
    return [e for e in entries if e.kind == EventKind.QUESTION and e.id not in answered]


async def notes(session: AsyncSession, vault: Vault, tip: Tip) -> list[str]:
    """The police's internal notes on a tip, oldest first (never shown to the reporter)."""
    events = await session.scalars(
        select(TipEvent)
        .where(TipEvent.tip_id == tip.id, TipEvent.kind == EventKind.NOTE)
        .order_by(TipEvent.id)
    )
    return [read_event_body(vault, tip, e) or "" for e in events]


async def read_attachments(session: AsyncSession, vault: Vault, tip: Tip) -> list[NewAttachment]:
    cipher = tip_cipher(vault, tip)
    rows = await session.scalars(
        select(TipAttachment).where(TipAttachment.tip_id == tip.id).order_by(TipAttachment.id)
    )
    return [
        NewAttachment(row.kind, row.mime_type, cipher.open(f"attachment/{row.id}", row.sealed_data))
        for row in rows
        if row.sealed_data is not None
    ]


async def stop_contact(session: AsyncSession, vault: Vault, tip: Tip) -> None:
    """Delete the way back to the reporter at once; nothing can restore it."""
    if tip.sealed_route is not None:
        tip.sealed_route = None
        await add_event(session, vault, tip, EventKind.CONTACT_STOPPED)


async def shred_closed_before(session: AsyncSession, cutoff: datetime) -> int:
    """Crypto-shred closed tips older than the retention period; returns how many."""
    expired = (
        await session.scalars(
            select(Tip).where(
                Tip.status == TipStatus.CLOSED,
                Tip.closed_at < cutoff,
                Tip.wrapped_key.is_not(None),
            )
        )
    ).all()
    for tip in expired:
        await shred(session, tip)
    return len(expired)


async def shred(session: AsyncSession, tip: Tip) -> None:
    """Destroy the tip's content for good by deleting its data key (crypto-shredding);
    the ciphertexts are cleared too, and the metadata kept for statistics."""
    tip.wrapped_key = None
    tip.sealed_content = None
    tip.sealed_route = None
    tip.secret_hash = None
    for event in await session.scalars(select(TipEvent).where(TipEvent.tip_id == tip.id)):
        event.sealed_body = None
    for attachment in await session.scalars(
        select(TipAttachment).where(TipAttachment.tip_id == tip.id)
    ):
        attachment.sealed_data = None
    await session.flush()


def _event_field(event: TipEvent) -> str:
    return f"event/{event.id}/body"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


async def get_tip(session: AsyncSession, tip_id: int) -> Tip | None:
    """The tip row by id (its content stays sealed until read_content)."""
    return await session.get(Tip, tip_id)
