"""Envelope encryption: AES-256-GCM with a data key per record, wrapped by a keyring key.

Each record that holds secrets owns one random data key. The data key is stored
wrapped (format 1) by a master key, whose version travels with it so rotation leaves
old records readable, or (format 2) by a period key of the keyring, whose kind and
month travel with it: tips and conversations, whose keys shredding deletes. Which key
wraps a new data key is decided in one place, `Vault.slot_for`. Every field is sealed
under the data key with the record's table, id and field name bound as associated
data, and the wrapped key's header and record with it: a ciphertext or wrapped key
copied into another row or column is refused. Deleting a record's wrapped key, or the
period key it is wrapped under, destroys every field sealed under it (crypto-shredding).
"""

from __future__ import annotations

import json
import secrets
import struct
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NewType

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from storage import periods
from storage.keyring import Keyring, KeyringError, KeyringFile
from storage.periods import Period, PeriodKind

WrappedKey = NewType("WrappedKey", bytes)
Sealed = NewType("Sealed", bytes)

_WRAP_MASTER = 1
_WRAP_PERIOD = 2
_SEAL_FORMAT = 1
_NONCE = 12
_DEK = 32
_MASTER_HEADER = struct.Struct(">BI")  # format 1, master key version
_PERIOD_HEADER = struct.Struct(">BBHB")  # format 2, kind, year, month
_WRAPPED_SIZE = _MASTER_HEADER.size + _NONCE + _DEK + 16
assert _PERIOD_HEADER.size == _MASTER_HEADER.size
_KIND_CODES = {
    PeriodKind.TIPS_OPEN: 1,
    PeriodKind.TIPS_CLOSED: 2,
    PeriodKind.CONVERSATIONS: 3,
    PeriodKind.DROPS: 4,
}
_KINDS = {code: kind for kind, code in _KIND_CODES.items()}
# Tables whose data keys are wrapped under period keys (tips: tips-open until closed,
# then tips-closed); every other table's under the active master key.
PERIOD_TABLES: Mapping[str, PeriodKind] = {
    "tips": PeriodKind.TIPS_OPEN,
    "conversations": PeriodKind.CONVERSATIONS,
    "drops": PeriodKind.DROPS,
}


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


@dataclass(frozen=True)
class KeySlot:
    """Which keyring key wraps a data key: a master key version, or a period key."""

    master_version: int | None = None
    kind: PeriodKind | None = None
    period: Period | None = None


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Vault:
    """The only place keyring keys are used. `clock` says which month new data keys are
    wrapped under; `source`, the keyring file, lets `refresh` and `retire` follow and
    change it."""

    def __init__(
        self,
        keyring: Keyring,
        *,
        clock: Callable[[], datetime] = _utcnow,
        source: KeyringFile | None = None,
    ):
        self._keyring = keyring
        self._clock = clock
        self._source = source

    def __repr__(self) -> str:
        return f"Vault({self._keyring!r})"

    @property
    def keyring(self) -> Keyring:
        return self._keyring

    def now(self) -> datetime:
        return self._clock()

    def slot_for(
        self, owner: RecordRef, *, created: datetime | None = None, closed: datetime | None = None
    ) -> KeySlot:
        """The policy: which key wraps `owner`'s data key. A tip's by the month it was
        created (`created`, now by default) until it is closed, then by the month it was
        closed; a conversation's or drop's by this month; anything else's by the active
        master key. A period whose key is gone gives way to the first later one kept."""
        kind = PERIOD_TABLES.get(owner.table)
        if closed is not None and kind is not PeriodKind.TIPS_OPEN:
            raise ValueError("only tips are closed")
        if kind is None:
            return KeySlot(master_version=self._keyring.active_version)
        when = created if kind is PeriodKind.TIPS_OPEN and created is not None else self.now()
        if closed is not None:
            kind, when = PeriodKind.TIPS_CLOSED, closed
        wanted = periods.period_of(when)
        return KeySlot(kind=kind, period=self._keyring.usable_period(kind, wanted))

    def new_key(self, owner: RecordRef) -> WrappedKey:
        """A fresh data key for a new record, wrapped where `slot_for` says."""
        return self._wrap(secrets.token_bytes(_DEK), owner, self.slot_for(owner))

    def rewrap(
        self,
        key: WrappedKey,
        owner: RecordRef,
        *,
        created: datetime | None = None,
        closed: datetime | None = None,
    ) -> WrappedKey:
        """The same data key, wrapped where `slot_for` says now (after a rotation, when a
        tip is closed, for data from before period keys)."""
        slot = self.slot_for(owner, created=created, closed=closed)
        return self._wrap(self._unwrap(key, owner), owner, slot)

    def needs_rewrap(
        self,
        key: WrappedKey,
        owner: RecordRef,
        *,
        created: datetime | None = None,
        closed: datetime | None = None,
    ) -> bool:
        return self.slot_of(key) != self.slot_for(owner, created=created, closed=closed)

    def cipher(self, key: WrappedKey, owner: RecordRef) -> RecordCipher:
        return RecordCipher(self._unwrap(key, owner), owner)

    @staticmethod
    def slot_of(key: WrappedKey | bytes) -> KeySlot:
        """What a wrapped key's header says wraps it (CryptoError when unreadable)."""
        if len(key) != _WRAPPED_SIZE:
            raise CryptoError("not a wrapped data key")
        if key[0] == _WRAP_MASTER:
            return KeySlot(master_version=int(_MASTER_HEADER.unpack_from(key)[1]))
        if key[0] == _WRAP_PERIOD:
            _, code, year, month = _PERIOD_HEADER.unpack_from(key)
            try:
                return KeySlot(kind=_KINDS[code], period=periods.period(year, month))
            except (KeyError, ValueError):
                raise CryptoError("unknown period key") from None
        raise CryptoError("unknown data key format")

    @staticmethod
    def key_version(key: WrappedKey | bytes) -> int | None:
        """The master key version a data key is wrapped under; None under a period key."""
        return Vault.slot_of(key).master_version

    def refresh(self) -> Keyring:
        """Read the keyring file again if another process changed it (keys deleted by
        the CLI are then forgotten here too)."""
        if self._source is not None:
            self._keyring = self._source.current()
        return self._keyring

    def retire(
        self, plan: Mapping[PeriodKind, tuple[Period, Collection[Period]]]
    ) -> list[tuple[PeriodKind, Period]]:
        """Delete from the keyring file, and from this vault, the keys of each kind's
        periods before `plan[kind][0]` except those in `plan[kind][1]` (still in use).
        Made under the keyring's lock on the file as it is now. Returns what was
        deleted."""
        if self._source is None:
            raise ValueError("this vault has no keyring file to change")
        deleted: list[tuple[PeriodKind, Period]] = []

        def change(keyring: Keyring) -> Keyring:
            deleted.clear()
            for kind, (before, keep) in plan.items():
                keyring, gone = keyring.retired(kind, before, keep)
                deleted.extend((kind, p) for p in gone)
            return keyring

        self._keyring = self._source.update(change)
        return deleted

    def _wrap(self, dek: bytes, owner: RecordRef, slot: KeySlot) -> WrappedKey:
        if slot.kind is not None and slot.period is not None:
            year, month = (int(part) for part in slot.period.split("-"))
            header = _PERIOD_HEADER.pack(_WRAP_PERIOD, _KIND_CODES[slot.kind], year, month)
            wrapping = self._keyring.period_key(slot.kind, slot.period)
        else:
            version = slot.master_version or self._keyring.active_version
            header = _MASTER_HEADER.pack(_WRAP_MASTER, version)
            wrapping = self._keyring.master(version)
        nonce = secrets.token_bytes(_NONCE)
        body = AESGCM(wrapping).encrypt(nonce, dek, header + owner.aad("data-key"))
        return WrappedKey(header + nonce + body)

    def _unwrap(self, key: WrappedKey | None, owner: RecordRef) -> bytes:
        if not key or len(key) != _WRAPPED_SIZE:
            raise CryptoError(f"no usable data key for {owner.table} {owner.record_id}")
        slot = self.slot_of(key)
        header = key[: _MASTER_HEADER.size]
        nonce = key[_MASTER_HEADER.size : _MASTER_HEADER.size + _NONCE]
        try:
            if slot.kind is not None and slot.period is not None:
                wrapping = self._keyring.period_key(slot.kind, slot.period)
            else:
                wrapping = self._keyring.master(slot.master_version or 0)
            return AESGCM(wrapping).decrypt(
                nonce, key[_MASTER_HEADER.size + _NONCE :], header + owner.aad("data-key")
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
