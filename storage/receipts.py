"""Receipts for reporters: a short public tip code and a secret only the reporter holds.

The secret has 80 bits from the CSPRNG, written in Crockford's base32 (no I, L, O, U)
in groups of four, so it can be read aloud and typed on a phone without confusion.
Only a keyed, slow hash of it is stored.
"""

from __future__ import annotations

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


class ReceiptHasher:
    """scrypt over the secret, salted by a keyed hash of the code: without the keyring a
    stolen database cannot even start guessing."""

    def __init__(self, keyring: Keyring):
        self._key = keyring.derived_key("receipt")

    def __repr__(self) -> str:
        return "ReceiptHasher(<key hidden>)"

    def hash(self, code: TipCode, secret: ReceiptSecret) -> bytes:
        salt = hmac.new(self._key, code.encode("ascii"), hashlib.sha256).digest()
        return hashlib.scrypt(
            _clean(secret).encode("ascii"), salt=salt, n=2**14, r=8, p=1, dklen=32
        )

    def verify(self, code: TipCode, secret: ReceiptSecret, stored: bytes | None) -> bool:
        candidate = self.hash(code, secret)
        return stored is not None and hmac.compare_digest(candidate, stored)


def _clean(text: str) -> str:
    kept = "".join(ch for ch in text.upper() if ch.isascii() and ch.isalnum())
    cleaned = kept.translate(_CONFUSABLE)
    return cleaned if all(ch in ALPHABET for ch in cleaned) else ""
