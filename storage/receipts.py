"""Receipts for reporters: a short public tip code and a secret only the reporter holds.

The secret has 80 bits from the CSPRNG, written in Crockford's base32 (no I, L, O, U)
in groups of four, so it can be read aloud and typed on a phone without confusion.
Only a keyed hash of it is stored (HMAC-SHA256 under a key of the keyring).

Why not a slow hash: slow hashing protects secrets people choose, which are few enough
to try one by one. This secret is drawn by the machine from 2**80 values. Without the
keyring nothing can be tried at all; with it, finding one receipt's secret takes about
2**79 tries, some forty million years at a billion HMACs a second, and scrypt would
only have multiplied that. What scrypt did cost was 64 ms of CPU on every check and
every sent tip, on the event loop. Hashes stored before (scrypt, 32 bytes without the
format byte) are still checked, in a worker thread outside any transaction
(`verify_slowly`), and replaced by the keyed hash once their secret is shown.
"""

from __future__ import annotations

import asyncio
import enum
import hashlib
import hmac
import secrets
from typing import NewType

from storage.keyring import Keyring

TipCode = NewType("TipCode", str)
ReceiptSecret = NewType("ReceiptSecret", str)

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_CHARS = 7  # 35 bits: unique enough to retry on collision, short enough to say
SECRET_CHARS = 16  # 80 bits
_CONFUSABLE = str.maketrans({"O": "0", "I": "1", "L": "1", "U": "V"})


def new_code() -> TipCode:
    return TipCode("".join(secrets.choice(ALPHABET) for _ in range(CODE_CHARS)))


def new_secret() -> ReceiptSecret:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(SECRET_CHARS))
    return ReceiptSecret("-".join(raw[i : i + 4] for i in range(0, SECRET_CHARS, 4)))


def parse_code(text: str) -> TipCode | None:
    cleaned = _clean(text)
    return TipCode(cleaned) if len(cleaned) == CODE_CHARS else None


def parse_secret(text: str) -> ReceiptSecret | None:
    cleaned = _clean(text)
    if len(cleaned) != SECRET_CHARS:
        return None
    return ReceiptSecret("-".join(cleaned[i : i + 4] for i in range(0, SECRET_CHARS, 4)))


class Verdict(enum.Enum):
    MATCH = "match"
    MISMATCH = "mismatch"
    # Stored under the old scrypt scheme: ask `ReceiptHasher.verify_slowly`, which must
    # not run on the event loop or while a transaction is open.
    SLOW = "slow"


_KEYED = b"\x01"  # the format byte of a keyed hash; old scrypt hashes have none
_LEGACY_BYTES = 32


class ReceiptHasher:
    """A keyed hash of the secret, bound to its code: without the keyring a stolen
    database cannot even start guessing, and a hash cannot be moved to another code."""

    def __init__(self, keyring: Keyring):
        self._key = keyring.derived_key("receipt")

    def __repr__(self) -> str:
        return "ReceiptHasher(<key hidden>)"

    def hash(self, code: TipCode, secret: ReceiptSecret) -> bytes:
        message = f"{code}:{_clean(secret)}".encode("ascii")
        return _KEYED + hmac.new(self._key, message, hashlib.sha256).digest()

    def verify(self, code: TipCode, secret: ReceiptSecret, stored: bytes | None) -> Verdict:
        """In microseconds, whether or not the code exists, except for a hash of the old
        scheme (SLOW)."""
        if stored is not None and len(stored) == _LEGACY_BYTES:
            return Verdict.SLOW
        candidate = self.hash(code, secret)
        matches = hmac.compare_digest(candidate, stored if stored is not None else b"")
        return Verdict.MATCH if matches and stored is not None else Verdict.MISMATCH

    async def verify_slowly(self, code: TipCode, secret: ReceiptSecret, stored: bytes) -> bool:
        """An old scrypt hash, checked in a worker thread (hashlib releases the GIL)."""
        candidate = await asyncio.to_thread(self._scrypt, code, secret)
        return hmac.compare_digest(candidate, stored)

    def _scrypt(self, code: TipCode, secret: ReceiptSecret) -> bytes:
        salt = hmac.new(self._key, code.encode("ascii"), hashlib.sha256).digest()
        return hashlib.scrypt(
            _clean(secret).encode("ascii"), salt=salt, n=2**14, r=8, p=1, dklen=32
        )


def _clean(text: str) -> str:
    kept = "".join(ch for ch in text.upper() if ch.isascii() and ch.isalnum())
    cleaned = kept.translate(_CONFUSABLE)
    return cleaned if all(ch in ALPHABET for ch in cleaned) else ""
