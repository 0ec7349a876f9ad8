"""Envelope encryption: AES-256-GCM with a data key per record, wrapped by a master key.

Each record that holds secrets owns one random data key. The data key is stored
wrapped by the keyring's active master key (its version travels with it, so rotation
leaves old records readable), and every field is sealed under it with the record's
table, id and field name bound as associated data: a ciphertext or wrapped key copied
into another row or column is refused. Deleting a record's wrapped key destroys every
field sealed under it (crypto-shredding).
"""

from __future__ import annotations

import json
import secrets
import struct
from dataclasses import dataclass
from typing import Any, NewType

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from storage.keyring import Keyring, KeyringError

WrappedKey = NewType("WrappedKey", bytes)
Sealed = NewType("Sealed", bytes)

_WRAP_FORMAT = 1
_SEAL_FORMAT = 1
_NONCE = 12
_DEK = 32
_WRAP_HEADER = struct.Struct(">BI")  # format, master key version


class CryptoError(Exception):
    """Decryption refused: tampered, moved to another record, or key unavailable."""


@dataclass(frozen=True)
class RecordRef:
    """Names the record a data key belongs to; bound into every ciphertext."""

    table: str
    record_id: int | str

    def __post_init__(self) -> None:
        if not self.table or not self.table.isidentifier():
            raise ValueError("table must be an identifier")
        if str(self.record_id) == "" or "/" in str(self.record_id):
            raise ValueError("record_id must be non-empty and contain no '/'")

    def aad(self, purpose: str) -> bytes:
        return f"wardbot/v1/{self.table}/{self.record_id}/{purpose}".encode()


class Vault:
    """The only place master keys are used."""

    def __init__(self, keyring: Keyring):
        self._keyring = keyring

    def new_key(self, owner: RecordRef) -> WrappedKey:
        return self._wrap(secrets.token_bytes(_DEK), owner)

    def rewrap(self, key: WrappedKey, owner: RecordRef) -> WrappedKey:
        """The same data key under the active master key (after 'wardbot keys rotate')."""
        return self._wrap(self._unwrap(key, owner), owner)

    def cipher(self, key: WrappedKey, owner: RecordRef) -> RecordCipher:
        return RecordCipher(self._unwrap(key, owner), owner)

    @staticmethod
    def key_version(key: WrappedKey) -> int:
        _, version = _WRAP_HEADER.unpack_from(key)
        return int(version)

    def _wrap(self, dek: bytes, owner: RecordRef) -> WrappedKey:
        version = self._keyring.active_version
        nonce = secrets.token_bytes(_NONCE)
        header = _WRAP_HEADER.pack(_WRAP_FORMAT, version)
        body = AESGCM(self._keyring.master(version)).encrypt(
            nonce, dek, header + owner.aad("data-key")
        )
        return WrappedKey(header + nonce + body)

    def _unwrap(self, key: WrappedKey | None, owner: RecordRef) -> bytes:
        if not key or len(key) != _WRAP_HEADER.size + _NONCE + _DEK + 16:
            raise CryptoError(f"no usable data key for {owner.table} {owner.record_id}")
        fmt, version = _WRAP_HEADER.unpack_from(key)
        if fmt != _WRAP_FORMAT:
            raise CryptoError("unknown data key format")
        header = key[: _WRAP_HEADER.size]
        nonce = key[_WRAP_HEADER.size : _WRAP_HEADER.size + _NONCE]
        try:
            master = self._keyring.master(version)
            return AESGCM(master).decrypt(
                nonce, key[_WRAP_HEADER.size + _NONCE :], header + owner.aad("data-key")
            )
        except KeyringError as exc:
            raise CryptoError(str(exc)) from None
        except InvalidTag:
            raise CryptoError(
                f"data key of {owner.table} {owner.record_id} was tampered with or moved"
            ) from None


class RecordCipher:
    """Seals and opens the fields of one record with its data key."""

    __slots__ = ("_aead", "_owner")

    def __init__(self, dek: bytes, owner: RecordRef):
        self._aead = AESGCM(dek)
        self._owner = owner

    def __repr__(self) -> str:
        return f"RecordCipher({self._owner.table} {self._owner.record_id})"

    def seal(self, field: str, plaintext: bytes) -> Sealed:
        nonce = secrets.token_bytes(_NONCE)
        header = bytes([_SEAL_FORMAT])
        return Sealed(
            header + nonce + self._aead.encrypt(nonce, plaintext, header + self._owner.aad(field))
        )

    def open(self, field: str, sealed: Sealed | bytes) -> bytes:
        if len(sealed) < 1 + _NONCE + 16 or sealed[0] != _SEAL_FORMAT:
            raise CryptoError(f"{self._owner.table}.{field} is not a sealed value")
        header, nonce, body = sealed[:1], sealed[1 : 1 + _NONCE], sealed[1 + _NONCE :]
        try:
            return self._aead.decrypt(nonce, body, header + self._owner.aad(field))
        except InvalidTag:
            raise CryptoError(
                f"{self._owner.table}.{field} of record {self._owner.record_id} "
                "was tampered with or moved"
            ) from None

    def seal_text(self, field: str, text: str) -> Sealed:
        return self.seal(field, text.encode("utf-8"))

    def open_text(self, field: str, sealed: Sealed | bytes) -> str:
        return self.open(field, sealed).decode("utf-8")

    def seal_json(self, field: str, value: Any) -> Sealed:
        return self.seal(field, json.dumps(value, ensure_ascii=False).encode("utf-8"))

    def open_json(self, field: str, sealed: Sealed | bytes) -> Any:
        return json.loads(self.open(field, sealed))
