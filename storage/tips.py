"""Tips and their events. Every text is sealed under the tip's own data key."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.crypto import RecordCipher, RecordRef, Vault, WrappedKey
from storage.models import Tip, TipEvent, TipStatus, utcnow
from storage.receipts import ReceiptHasher, ReceiptSecret, TipCode, new_code, new_secret
from storage.routes import Route

_CODE_ATTEMPTS = 8


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


def tip_cipher(vault: Vault, tip: Tip) -> RecordCipher:
    if tip.wrapped_key is None:
        raise TipShredded(f"tip {tip.id} was destroyed")
    return vault.cipher(WrappedKey(tip.wrapped_key), tip_ref(tip))


async def create_tip(
    session: AsyncSession,
    vault: Vault,
    hasher: ReceiptHasher,
    *,
    ward_id: int,
    group_id: int | None,
    category: str,
    content: dict[str, Any],
    route: Route | None,
    priority: int = 2,
    urgent: bool = False,
    language: str = "vi",
) -> tuple[Tip, Receipt]:
    """Store a tip, sealed, and return it with the receipt to give the reporter."""
    for _ in range(_CODE_ATTEMPTS):
        code = new_code()
        if await session.scalar(select(Tip.id).where(Tip.code == code)) is None:
            break
    else:  # pragma: no cover - 35 bits of space; eight collisions in a row means a bug
        raise RuntimeError("could not find a free tip code")
    secret = new_secret()
    now = utcnow()
    tip = Tip(
        ward_id=ward_id,
        group_id=group_id,
        code=code,
        secret_hash=hasher.hash(code, secret),
        category=category,
        priority=priority,
        urgent=urgent,
        status=TipStatus.NEW,
        language=language,
        created_at=now,
        updated_at=now,
    )
    session.add(tip)
    try:
        await session.flush()  # the id is bound into the ciphertext, so it comes first
    except IntegrityError:  # pragma: no cover - a code taken between check and insert
        raise RuntimeError("tip code collision; please retry") from None
    tip.wrapped_key = vault.new_key(tip_ref(tip))
    cipher = tip_cipher(vault, tip)
    tip.sealed_content = cipher.seal_json("content", content)
    tip.sealed_route = cipher.seal("route", route.to_bytes()) if route else None
    await session.flush()
    return tip, Receipt(code, secret)


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
) -> TipEvent:
    event = TipEvent(
        tip_id=tip.id,
        kind=kind,
        actor_officer_id=actor_officer_id,
        from_status=tip.status if to_status else None,
        to_status=to_status,
        created_at=utcnow(),
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


async def shred(session: AsyncSession, tip: Tip) -> None:
    """Destroy the tip's content for good by deleting its data key (crypto-shredding);
    the ciphertexts are cleared too, and the metadata kept for statistics."""
    tip.wrapped_key = None
    tip.sealed_content = None
    tip.sealed_route = None
    tip.secret_hash = None
    for event in await session.scalars(select(TipEvent).where(TipEvent.tip_id == tip.id)):
        event.sealed_body = None
    await session.flush()


def _event_field(event: TipEvent) -> str:
    return f"event/{event.id}/body"
