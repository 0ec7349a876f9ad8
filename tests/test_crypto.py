"""Envelope encryption, keyring file, pseudonyms and receipts, with real crypto."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import stat

import pytest

from storage import keyring as keyring_file
from storage.crypto import CryptoError, RecordRef, Vault, WrappedKey
from storage.keyring import Keyring, KeyringError
from storage.pseudonyms import Pseudonyms, Purpose
from storage.receipts import (
    ALPHABET,
    ReceiptHasher,
    Verdict,
    new_code,
    new_secret,
    parse_code,
    parse_secret,
)

TIP = RecordRef("tips", 7)
OFFICER = RecordRef("officers", 7)
TEXT = "Có người bán ma túy ở ngõ 5 — nhà số 12".encode()


def test_round_trip_and_fields_are_independent() -> None:
    vault = Vault(Keyring.generate())
    key = vault.new_key(TIP)
    cipher = vault.cipher(key, TIP)
    sealed = cipher.seal("content", TEXT)
    assert TEXT not in sealed
    assert vault.cipher(key, TIP).open("content", sealed) == TEXT
    assert cipher.seal("content", TEXT) != sealed  # a fresh nonce each time
    with pytest.raises(CryptoError):
        cipher.open("route", sealed)  # sealed for another field


def test_every_changed_byte_is_refused() -> None:
    vault = Vault(Keyring.generate())
    key = vault.new_key(TIP)
    sealed = vault.cipher(key, TIP).seal("content", TEXT)
    for position in range(len(sealed)):
        tampered = bytearray(sealed)
        tampered[position] ^= 0x01
        with pytest.raises(CryptoError):
            vault.cipher(key, TIP).open("content", bytes(tampered))
    for position in range(len(key)):
        bad_key = bytearray(key)
        bad_key[position] ^= 0x80
        with pytest.raises(CryptoError):
            vault.cipher(WrappedKey(bytes(bad_key)), TIP)


def test_ciphertext_or_key_moved_to_another_record_is_refused() -> None:
    vault = Vault(Keyring.generate())
    key = vault.new_key(TIP)
    sealed = vault.cipher(key, TIP).seal("content", TEXT)
    other = RecordRef("tips", 8)
    with pytest.raises(CryptoError):
        vault.cipher(key, other)  # the wrapped key is bound to tip 7
    other_key = vault.new_key(other)
    with pytest.raises(CryptoError):
        vault.cipher(other_key, other).open("content", sealed)


def test_a_different_keyring_cannot_open() -> None:
    key = Vault(Keyring.generate()).new_key(TIP)
    with pytest.raises(CryptoError):
        Vault(Keyring.generate()).cipher(key, TIP)


def test_rotation_keeps_old_records_readable_and_rewrap_moves_them() -> None:
    old = Keyring.generate()
    key = Vault(old).new_key(OFFICER)
    sealed = Vault(old).cipher(key, OFFICER).seal("content", TEXT)
    tip_key = Vault(old).new_key(TIP)  # under a period key: rotation does not touch it
    tip_sealed = Vault(old).cipher(tip_key, TIP).seal("content", TEXT)

    rotated = old.rotated()
    assert rotated.active_version == 2 and rotated.versions == [1, 2]
    vault = Vault(rotated)
    assert vault.cipher(key, OFFICER).open("content", sealed) == TEXT
    assert Vault.key_version(vault.new_key(OFFICER)) == 2
    assert Vault.key_version(vault.new_key(TIP)) is None
    assert not vault.needs_rewrap(tip_key, TIP)

    rewrapped = vault.rewrap(key, OFFICER)
    assert Vault.key_version(rewrapped) == 2
    # Without version 1 the old wrapping is unreadable, the re-wrapped one still opens.
    data = json.loads(rotated.to_json())
    data["master_keys"] = [k for k in data["master_keys"] if k["version"] == 2]
    only_new = Vault(Keyring.from_json(json.dumps(data)))
    with pytest.raises(CryptoError):
        only_new.cipher(key, OFFICER)
    assert only_new.cipher(rewrapped, OFFICER).open("content", sealed) == TEXT
    assert only_new.cipher(tip_key, TIP).open("content", tip_sealed) == TEXT


def test_keyring_file_is_private_and_never_overwritten(tmp_path) -> None:
    path = tmp_path / "sub" / "keyring.json"
    keys = Keyring.generate()
    keyring_file.save(keys, path, overwrite=False)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert keyring_file.load(path).to_json() == keys.to_json()
    with pytest.raises(KeyringError, match="already exists"):
        keyring_file.save(Keyring.generate(), path, overwrite=False)
    os.chmod(path, 0o644)
    with pytest.raises(KeyringError, match="readable by other users"):
        keyring_file.load(path)
    os.chmod(path, 0o600)
    path.write_text('{"format": "wardbot-keyring/1", "master_keys": []}')
    with pytest.raises(KeyringError, match="malformed"):
        keyring_file.load(path)
    assert "key" not in repr(keys).lower().replace("keyring", "")


def test_pseudonyms_are_stable_per_purpose_and_unlinkable_across_purposes() -> None:
    keys = Keyring.generate()
    names = Pseudonyms(keys)
    reporter = names.of(Purpose.REPORTER, "telegram", "123456789")
    assert reporter == Pseudonyms(keys).of(Purpose.REPORTER, "telegram", "123456789")
    assert reporter != names.of(Purpose.SUBSCRIBER, "telegram", "123456789")
    assert reporter != names.of(Purpose.REPORTER, "zalo", "123456789")
    assert reporter != Pseudonyms(Keyring.generate()).of(Purpose.REPORTER, "telegram", "123456789")
    assert "123456789" not in reporter
    with pytest.raises(ValueError):
        names.of(Purpose.REPORTER, "telegram", "")


def test_receipt_secret_has_80_bits_and_reads_aloud() -> None:
    secrets_seen = {new_secret() for _ in range(200)}
    assert len(secrets_seen) == 200
    for secret in secrets_seen:
        groups = secret.split("-")
        assert [len(g) for g in groups] == [4, 4, 4, 4]
        assert all(ch in ALPHABET for ch in "".join(groups))
    assert len(ALPHABET) ** 16 >= 2**80
    secret = next(iter(secrets_seen))
    typed = secret.lower().replace("-", " ").replace("0", "o").replace("1", "l")
    assert parse_secret(typed) == secret
    assert parse_secret("too short") is None
    code = new_code()
    assert parse_code(f" {code.lower()} ") == code


def test_receipt_hash_verifies_only_the_right_secret() -> None:
    keys = Keyring.generate()
    hasher = ReceiptHasher(keys)
    code, secret = new_code(), new_secret()
    stored = hasher.hash(code, secret)
    assert secret.encode() not in stored
    assert secret.replace("-", "").encode() not in stored
    assert hasher.verify(code, secret, stored) is Verdict.MATCH
    assert hasher.verify(code, new_secret(), stored) is Verdict.MISMATCH
    assert hasher.verify(new_code(), secret, stored) is Verdict.MISMATCH
    assert ReceiptHasher(Keyring.generate()).verify(code, secret, stored) is Verdict.MISMATCH
    assert hasher.verify(code, secret, None) is Verdict.MISMATCH
    assert hasher.verify(code, secret, b"") is Verdict.MISMATCH


async def test_an_old_scrypt_receipt_is_checked_slowly_off_the_event_loop() -> None:
    keys = Keyring.generate()
    hasher = ReceiptHasher(keys)
    code, secret = new_code(), new_secret()
    # The scheme of earlier versions, written out here on its own: scrypt, salted by a
    # keyed hash of the code.
    salt = hmac.new(keys.derived_key("receipt"), code.encode(), hashlib.sha256).digest()
    old = hashlib.scrypt(secret.replace("-", "").encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    assert hasher.verify(code, secret, old) is Verdict.SLOW
    assert hasher.verify(code, new_secret(), old) is Verdict.SLOW  # no answer either way
    ticks = 0

    async def ticking() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.002)

    ticker = asyncio.create_task(ticking())
    try:
        assert await hasher.verify_slowly(code, secret, old)
        assert not await hasher.verify_slowly(code, new_secret(), old)
    finally:
        ticker.cancel()
    assert ticks >= 3, "the event loop was blocked while scrypt ran"


def test_every_table_that_owns_a_data_key_is_rewrapped_after_rotation() -> None:
    from storage.keys import KEY_OWNERS
    from storage.models import Base

    owners = {m.class_ for m in Base.registry.mappers if "wrapped_key" in m.local_table.c}
    assert owners == set(KEY_OWNERS)
