"""The police side of a tip: enrolment invites, the state machine, the queue, deadlines.

Every change goes through `change_status`, which allows only the transitions below and
records who, when, from and to, both on the tip's events and in the audit log.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import NewType

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from kernel.categories import Outcome
from kernel.clock import utcnow
from kernel.i18n import N_
from kernel.routes import Route
from kernel.search_keys import word_key
from kernel.tip_sources import TipSource
from storage import tips
from storage.audit import AuditLog
from storage.crypto import Vault
from storage.keyring import Keyring
from storage.models import (
    POLICE_ROLES,
    Digest,
    Officer,
    OfficerRole,
    OfficerStatus,
    Tip,
    TipStatus,
)
from storage.officers import add_officer, bind_account
from storage.pseudonyms import Pseudonym
from storage.receipts import ALPHABET, ReceiptHasher, parse_code
from storage.tips import Receipt

InviteCode = NewType("InviteCode", str)
INVITE_CHARS = 10  # 50 bits, for 24 hours, one use
INVITE_VALID = timedelta(hours=24)

ALLOWED: dict[str, frozenset[str]] = {
    TipStatus.NEW: frozenset({TipStatus.ACKNOWLEDGED, TipStatus.ASSIGNED, TipStatus.CLOSED}),
    TipStatus.ACKNOWLEDGED: frozenset(
        {TipStatus.ASSIGNED, TipStatus.INVESTIGATING, TipStatus.CLOSED}
    ),
    TipStatus.ASSIGNED: frozenset({TipStatus.ASSIGNED, TipStatus.INVESTIGATING, TipStatus.CLOSED}),
    TipStatus.INVESTIGATING: frozenset({TipStatus.ASSIGNED, TipStatus.CLOSED}),
    TipStatus.CLOSED: frozenset(),
}


# What a tip's status is called, to the police.
STATUS_LABELS: dict[str, str] = {
    TipStatus.NEW: N_("new"),
    TipStatus.ACKNOWLEDGED: N_("acknowledged"),
    TipStatus.ASSIGNED: N_("assigned"),
    TipStatus.INVESTIGATING: N_("investigating"),
    TipStatus.CLOSED: N_("closed"),
}

# What an outcome is called, to the police and to the reporter alike (keyed by the
# stored string, which each Outcome is).
OUTCOME_LABELS: dict[str, str] = {
    Outcome.CONFIRMED: N_("confirmed and acted on"),
    Outcome.UNFOUNDED: N_("checked; nothing was found"),
    Outcome.DUPLICATE: N_("the same as another tip, handled there"),
    Outcome.REFERRED: N_("passed on to higher police"),
}
# What the police type for an outcome in `/close`: first the Vietnamese word without
# accents that the usage line lists, then other words meaning the same. The stored
# value (`confirmed`…) is accepted too; case, accents and spaces do not matter.
OUTCOME_WORDS: dict[Outcome, tuple[str, ...]] = {
    Outcome.CONFIRMED: ("xacminh", "dung", "daxuly"),
    Outcome.UNFOUNDED: ("khongco", "sai"),
    Outcome.DUPLICATE: ("trung", "trunglap"),
    Outcome.REFERRED: ("chuyen", "chuyencap"),
}


def outcome_for(text: str) -> Outcome | None:
    """The outcome `text` names, in Vietnamese or as the stored value; None if none."""
    typed = word_key(text)
    for outcome, words in OUTCOME_WORDS.items():
        if typed == outcome.value or typed in {word_key(word) for word in words}:
            return outcome
    return None


class TransitionRefused(Exception):
    """The tip cannot go from its state to the one asked for."""

    def __init__(self, current: str, wanted: str):
        super().__init__(f"{current} -> {wanted} is not allowed")
        self.current = current
        self.wanted = wanted


@dataclass(frozen=True)
class Sla:
    urgent_ack: timedelta = timedelta(minutes=15)
    ack: timedelta = timedelta(hours=24)
    close: timedelta = timedelta(days=30)


# ---- enrolment -------------------------------------------------------------------------


class Invites:
    """One-time enrolment codes; only their keyed hash is stored."""

    def __init__(self, keyring: Keyring):
        self._key = keyring.derived_key("officer-invite")

    def __repr__(self) -> str:
        return "Invites(<key hidden>)"

    def _hash(self, code: str) -> bytes:
        return hmac.new(self._key, code.encode("ascii"), hashlib.sha256).digest()

    async def create(
        self, session: AsyncSession, *, ward_id: int, role: OfficerRole, label: str
    ) -> tuple[Officer, InviteCode]:
        officer = await add_officer(session, ward_id=ward_id, role=role, label=label)
        raw = "".join(secrets.choice(ALPHABET) for _ in range(INVITE_CHARS))
        officer.invite_hash = self._hash(raw)
        officer.invite_expires_at = utcnow() + INVITE_VALID
        await session.flush()
        return officer, InviteCode(f"{raw[:5]}-{raw[5:]}")

    async def redeem(
        self,
        session: AsyncSession,
        vault: Vault,
        text: str,
        account: Pseudonym,
        route: Route,
    ) -> Officer | None:
        cleaned = "".join(ch for ch in text.upper() if ch.isalnum())
        cleaned = cleaned.translate(str.maketrans("OILU", "011V"))
        if len(cleaned) != INVITE_CHARS or any(ch not in ALPHABET for ch in cleaned):
            return None
        officer = await session.scalar(
            select(Officer).where(Officer.invite_hash == self._hash(cleaned)).with_for_update()
        )
        if (
            officer is None
            or officer.status != OfficerStatus.INVITED
            or officer.invite_expires_at is None
            or officer.invite_expires_at < utcnow()
        ):
            return None
        if await session.scalar(select(Officer.id).where(Officer.account == account)):
            return None  # one chat account, one officer
        officer.invite_hash = None
        officer.invite_expires_at = None
        await bind_account(session, vault, officer, account, route)
        return officer


# ---- finding tips ----------------------------------------------------------------------


async def tip_for_officer(session: AsyncSession, officer: Officer, text: str) -> Tip | None:
    """The tip with this code in the officer's own ward; another ward's is not found."""
    code = parse_code(text)
    if code is None:
        return None
    return await session.scalar(select(Tip).where(Tip.code == code, Tip.ward_id == officer.ward_id))


@dataclass(frozen=True)
class QueuePage:
    tips: Sequence[Tip]
    next_after: tuple[int, datetime, int] | None


async def queue(
    session: AsyncSession,
    ward_id: int,
    *,
    after: tuple[int, datetime, int] | None = None,
    size: int = 10,
) -> QueuePage:
    """Open tips of a ward, most urgent first, then oldest; paged by keys, never by
    offset, so a page costs the same however deep it is."""
    query = select(Tip).where(Tip.ward_id == ward_id, Tip.is_open.is_(True))
    if after is not None:
        priority, created_at, tip_id = after
        query = query.where(
            or_(
                Tip.priority > priority,
                and_(Tip.priority == priority, Tip.created_at > created_at),
                and_(Tip.priority == priority, Tip.created_at == created_at, Tip.id > tip_id),
            )
        )
    rows = (
        await session.scalars(query.order_by(Tip.priority, Tip.created_at, Tip.id).limit(size + 1))
    ).all()
    page = rows[:size]
    more = len(rows) > size
    last = page[-1] if page else None
    return QueuePage(page, (last.priority, last.created_at, last.id) if more and last else None)


# ---- changing tips ---------------------------------------------------------------------


URGENT_STEP = timedelta(minutes=5)
STEP = timedelta(hours=1)


def set_deadlines(tip: Tip, sla: Sla, sent: datetime) -> None:
    """Deadlines count from the moment the tip was sent (sealed), rounded up, to five
    minutes for an urgent tip and the hour otherwise: a stored deadline must not give
    that moment away, and rounding up never shortens the police's time."""
    step = URGENT_STEP if tip.urgent else STEP
    tip.ack_due_at = round_up(sent + (sla.urgent_ack if tip.urgent else sla.ack), step)
    tip.close_due_at = round_up(sent + sla.close, STEP)


def round_up(moment: datetime, step: timedelta) -> datetime:
    epoch = datetime(2000, 1, 1, tzinfo=UTC)
    steps = -((moment - epoch) // -step)  # ceiling division
    return epoch + steps * step


async def change_status(
    session: AsyncSession,
    vault: Vault,
    audit: AuditLog,
    tip: Tip,
    to: str,
    officer: Officer | None,
    *,
    outcome: Outcome | None = None,
    assignee: Officer | None = None,
) -> None:
    current = tip.status
    if to not in ALLOWED[TipStatus(current)]:
        raise TransitionRefused(current, to)
    now = utcnow()
    if to == TipStatus.ASSIGNED:
        if assignee is None:
            raise ValueError("an assignment needs an assignee")
        tip.assigned_officer_id = assignee.id
    if to == TipStatus.CLOSED:
        if outcome is None:
            raise ValueError("closing needs an outcome")
        tip.outcome = outcome
        tip.closed_at = now
        tip.is_open = False
        tips.rewrap_key(vault, tip)  # now under the key of the month it was closed
    if tip.acknowledged_at is None and to != TipStatus.NEW:
        tip.acknowledged_at = now
    await tips.add_event(
        session,
        vault,
        tip,
        tips.EventKind.STATUS,
        actor_officer_id=officer.id if officer else None,
        to_status=to,
    )
    detail: dict[str, object] = {"from": current, "to": to}
    if outcome:
        detail["outcome"] = str(outcome)
    if assignee is not None:
        detail["assignee"] = assignee.id
    await audit.append(
        session,
        "status",
        ward_id=tip.ward_id,
        tip_id=tip.id,
        officer_id=officer.id if officer else None,
        detail=detail,
    )


async def acknowledge(
    session: AsyncSession, vault: Vault, audit: AuditLog, tip: Tip, officer: Officer
) -> bool:
    """Reading or triaging a new tip acknowledges it; returns whether it did now."""
    if tip.status != TipStatus.NEW:
        return False
    await change_status(session, vault, audit, tip, TipStatus.ACKNOWLEDGED, officer)
    return True


# ---- deadlines and numbers -------------------------------------------------------------


async def overdue_acknowledgements(session: AsyncSession, now: datetime) -> Sequence[Tip]:
    return (
        await session.scalars(
            select(Tip).where(
                Tip.is_open.is_(True),
                Tip.status == TipStatus.NEW,
                Tip.ack_due_at < now,
                Tip.ack_escalated_at.is_(None),
            )
        )
    ).all()


async def overdue_closures(session: AsyncSession, now: datetime) -> Sequence[Tip]:
    return (
        await session.scalars(
            select(Tip).where(
                Tip.is_open.is_(True),
                Tip.close_due_at < now,
                Tip.close_escalated_at.is_(None),
            )
        )
    ).all()


@dataclass(frozen=True)
class Stats:
    by_status: dict[str, int]
    overdue_ack: int
    overdue_close: int
    received_30d: int
    closed_30d: int
    closed_on_time_30d: int


async def stats(session: AsyncSession, ward_id: int, now: datetime) -> Stats:
    counts = dict(
        (
            await session.execute(
                select(Tip.status, func.count())
                .where(Tip.ward_id == ward_id, Tip.is_open.is_(True))
                .group_by(Tip.status)
            )
        ).all()
    )
    open_tip = and_(Tip.ward_id == ward_id, Tip.is_open.is_(True))

    async def count(*conditions: ColumnElement[bool]) -> int:
        return int(await session.scalar(select(func.count()).where(*conditions)) or 0)

    since = now - timedelta(days=30)
    return Stats(
        by_status={str(k): int(v) for k, v in counts.items()},
        overdue_ack=await count(open_tip, Tip.status == TipStatus.NEW, Tip.ack_due_at < now),
        overdue_close=await count(open_tip, Tip.close_due_at < now),
        received_30d=await count(Tip.ward_id == ward_id, Tip.created_at >= since),
        closed_30d=await count(Tip.ward_id == ward_id, Tip.closed_at >= since),
        closed_on_time_30d=await count(
            Tip.ward_id == ward_id, Tip.closed_at >= since, Tip.closed_at <= Tip.close_due_at
        ),
    )


async def ward_officers(
    session: AsyncSession, ward_id: int, *, roles: Sequence[OfficerRole] = POLICE_ROLES
) -> Sequence[Officer]:
    """The ward's active police (by default: never a city's figures-only staff)."""
    query = select(Officer).where(
        Officer.ward_id == ward_id,
        Officer.status == OfficerStatus.ACTIVE,
        Officer.role.in_([str(r) for r in roles]),
    )
    return (await session.scalars(query.order_by(Officer.id))).all()


async def claim_digest(session: AsyncSession, ward_id: int, day: date) -> bool:
    """Whether this tick is the one to send the ward's digest for `day` (once a day,
    even with several processes ticking)."""
    try:
        async with session.begin_nested():
            session.add(Digest(ward_id=ward_id, day=day))
            await session.flush()
    except IntegrityError:
        return False
    return True


# ---- tips the police record --------------------------------------------------------------

OLDEST_RECEIVED = timedelta(days=92)


@dataclass(frozen=True)
class Received:
    """A tip told to the police another way (by phone, in a tip box, in person, through
    VNeID or another agency), as an officer records it. No reporter identifier is
    asked for or kept: `content` is what was reported, sealed like a resident's tip."""

    ward_id: int
    group_id: int | None
    source: TipSource
    category: str
    urgent: bool
    content: dict[str, str] = field(repr=False)
    received_at: datetime


class RecordRefused(ValueError):
    """`reason` in English, for the caller's own translated sentence."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


async def record_received(
    session: AsyncSession,
    vault: Vault,
    hasher: ReceiptHasher,
    audit: AuditLog,
    sla: Sla,
    officer: Officer | None,
    received: Received,
) -> tuple[Tip, Receipt]:
    """Store the tip with a code and receipt like any other, deadlines counted from when
    it was received, and acknowledged then by the officer who received it (the police
    had it in hand). The receipt lets a person who reported in person follow it in the
    bot, anonymously. `officer` None: entered by the ward's operator (`wardbot tips add`)."""
    now = utcnow()
    at = received.received_at.astimezone(UTC)
    if received.source == TipSource.BOT:
        raise RecordRefused("the bot's own tips are not recorded by hand")
    if officer is not None and received.ward_id != officer.ward_id:
        raise RecordRefused("another ward")
    if at > now + timedelta(minutes=5) or at < now - OLDEST_RECEIVED:
        raise RecordRefused("received more than 92 days ago or in the future")
    if not received.content.get("what", "").strip():
        raise RecordRefused("no content")
    receipt, secret_hash = await tips.new_receipt(session, hasher)
    submission = tips.Submission(
        ward_id=received.ward_id,
        group_id=received.group_id,
        category=received.category,
        content=dict(received.content),
        route=None,
        code=receipt.code,
        secret_hash=secret_hash,
        submitted_at=min(at, now),
        priority=1 if received.urgent else 2,
        urgent=received.urgent,
        source=received.source,
    )
    tip = await tips.create_tip(session, vault, submission)
    set_deadlines(tip, sla, submission.submitted_at)
    await audit.append(
        session,
        "recorded",
        ward_id=tip.ward_id,
        tip_id=tip.id,
        officer_id=officer.id if officer else None,
        detail={"source": str(tip.source), "category": tip.category, "urgent": tip.urgent},
    )
    await change_status(session, vault, audit, tip, TipStatus.ACKNOWLEDGED, officer)
    tip.acknowledged_at = submission.submitted_at
    await session.flush()
    return tip, receipt
