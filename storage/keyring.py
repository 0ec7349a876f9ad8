"""The keyring file: master keys (versioned, for envelope encryption) and the HMAC root.

Kept outside the database on purpose: a stolen database or backup without this file
reveals nothing. The file is written atomically with mode 0600 and refused when other
users can read it, as ssh does with private keys.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import stat
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

FORMAT = "wardbot-keyring/1"
KEY_BYTES = 32
FINGERPRINT_PURPOSE = "keyring-fingerprint"


def N_(message: str) -> str:
    """Marks an English message id for translation where it is shown (the CLI)."""
    return message


class KeyringError(Exception):
    """The keyring file is missing, unreadable, malformed or too widely readable.
    `problem` is an English message id; `params` fill its placeholders."""

    def __init__(self, problem: str, **params: object):
        super().__init__(problem.format(**params))
        self.problem = problem
        self.params = params


class KeyringMismatch(KeyringError):
    """The keyring is missing while the database holds data made under one, or it is not
    the keyring the database was made with. Nothing may run: it would make new records
    under the wrong keys and refuse every existing one."""


@dataclass(frozen=True)
class MasterKey:
    version: int
    material: bytes = b""
    created: str = ""

    def __repr__(self) -> str:  # never print key material
        return f"MasterKey(version={self.version}, created={self.created!r})"


class Keyring:
    """Master keys by version, the active version, and a root for derived HMAC keys."""

    def __init__(self, masters: dict[int, MasterKey], active_version: int, hmac_root: bytes):
        if active_version not in masters:
            raise KeyringError(
                N_("active key version {version} is not in the keyring"), version=active_version
            )
        for key in masters.values():
            if len(key.material) != KEY_BYTES:
                raise KeyringError(
                    N_("master key {version} has the wrong length"), version=key.version
                )
        if len(hmac_root) != KEY_BYTES:
            raise KeyringError(N_("the HMAC root key has the wrong length"))
        self._masters = dict(masters)
        self._active = active_version
        self._hmac_root = hmac_root

    def __repr__(self) -> str:
        return f"Keyring(versions={sorted(self._masters)}, active={self._active})"

    @classmethod
    def generate(cls) -> Keyring:
        first = MasterKey(1, secrets.token_bytes(KEY_BYTES), _now())
        return cls({1: first}, 1, secrets.token_bytes(KEY_BYTES))

    @property
    def active_version(self) -> int:
        return self._active

    @property
    def versions(self) -> list[int]:
        return sorted(self._masters)

    def master(self, version: int) -> bytes:
        try:
            return self._masters[version].material
        except KeyError:
            raise KeyringError(
                N_("master key version {version} is not in the keyring"), version=version
            ) from None

    def derived_key(self, purpose: str) -> bytes:
        """A key of its own for each purpose, so one purpose's values never match another's."""
        if not purpose:
            raise ValueError("purpose must not be empty")
        hkdf = HKDF(
            algorithm=hashes.SHA256(),
            length=KEY_BYTES,
            salt=None,
            info=b"wardbot/hmac/v1/" + purpose.encode("ascii"),
        )
        return hkdf.derive(self._hmac_root)

    def fingerprint(self) -> str:
        """Names this keyring in the database without revealing anything: an HMAC under a
        key derived for this purpose alone, from the HMAC root. Rotation keeps the root,
        so a rotated keyring keeps its fingerprint."""
        key = self.derived_key(FINGERPRINT_PURPOSE)
        return hmac.new(key, b"wardbot/keyring-fingerprint/v1", hashlib.sha256).hexdigest()

    def rotated(self) -> Keyring:
        """A new keyring whose new master key is active; older versions stay for reading."""
        version = max(self._masters) + 1
        masters = dict(self._masters)
        masters[version] = MasterKey(version, secrets.token_bytes(KEY_BYTES), _now())
        return Keyring(masters, version, self._hmac_root)

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": FORMAT,
                "active_version": self._active,
                "master_keys": [
                    {"version": k.version, "created": k.created, "key": _b64(k.material)}
                    for k in sorted(self._masters.values(), key=lambda k: k.version)
                ],
                "hmac_root": _b64(self._hmac_root),
            },
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str) -> Keyring:
        try:
            data: dict[str, Any] = json.loads(text)
            if data.get("format") != FORMAT:
                raise KeyringError(N_("unknown keyring format {format}"), format=data.get("format"))
            masters = {
                int(item["version"]): MasterKey(
                    int(item["version"]), _unb64(item["key"]), str(item.get("created", ""))
                )
                for item in data["master_keys"]
            }
            return cls(masters, int(data["active_version"]), _unb64(data["hmac_root"]))
        except KeyringError:
            raise
        except (ValueError, KeyError, TypeError) as exc:
            raise KeyringError(
                N_("the keyring file is malformed ({kind})"), kind=type(exc).__name__
            ) from None


def load(path: Path) -> Keyring:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise KeyringError(
            N_("keyring file {path} does not exist; run 'wardbot keys init'"), path=path
        ) from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyringError(
            N_("keyring file {path} is readable by other users; run chmod 600 on it"), path=path
        )
    try:
        return Keyring.from_json(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise KeyringError(
            N_("cannot read keyring file {path}: {reason}"), path=path, reason=exc.strerror
        ) from None


def save(keyring: Keyring, path: Path, *, overwrite: bool) -> None:
    """Write atomically with mode 0600: a crash leaves the old file or the new, never half.
    Without `overwrite` an existing file is never replaced, even by a writer racing this one."""
    if path.exists() and not overwrite:
        raise _exists(path)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(keyring.to_json())
            handle.flush()
            os.fsync(handle.fileno())
        if overwrite:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)  # fails if the name exists: no check-then-replace race
            except FileExistsError:
                raise _exists(path) from None
            except OSError:  # a file system without hard links: check, then replace
                if path.exists():
                    raise _exists(path) from None
                os.replace(tmp, path)
            tmp.unlink(missing_ok=True)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _exists(path: Path) -> KeyringError:
    return KeyringError(
        N_("keyring file {path} already exists; refusing to overwrite it"), path=path
    )


def missing_for_data(path: Path) -> KeyringMismatch:
    return KeyringMismatch(
        N_(
            "keyring file {path} is missing, but the database holds data encrypted under a "
            "keyring: restore the keyring from its backup, or point storage.keyring "
            "(WARDBOT_KEYRING) at it"
        ),
        path=path,
    )


def not_this_database(path: Path) -> KeyringMismatch:
    return KeyringMismatch(
        N_(
            "keyring file {path} is not the keyring of this database: restore the right "
            "keyring from its backup, or point storage.keyring (WARDBOT_KEYRING) at it"
        ),
        path=path,
    )


def load_or_create(path: Path) -> tuple[Keyring, bool]:
    """The keyring at path, made if there is none. Returns (keyring, created). The app
    does not use this: storage.keys.bind_keyring makes one only for an empty database."""
    if path.exists():
        return load(path), False
    keyring = Keyring.generate()
    save(keyring, path, overwrite=False)
    return keyring, True


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)
