"""The keyring file: master keys (versioned, for envelope encryption), the HMAC root,
and the period keys that wrap the data keys of tips and conversations.

Kept outside the database on purpose: a stolen database or backup without this file
reveals nothing. The file is written atomically with mode 0600 and refused when other
users can read it, as ssh does with private keys. Every change is made under an
exclusive lock on a file beside it (`<name>.lock`), so two processes (the running bot
and the CLI) never lose each other's change.

Period keys: per kind (storage.periods.PeriodKind), explicit keys for past periods still
in use, and a forward hash chain `(first, seed)` from which the key of `first` and of
every later period is derived: key_p = HKDF(seed_p, kind/p), seed_{p+1} = SHA-256(seed_p).
A backup made today therefore opens records of the coming months too. Deleting periods
advances the chain past them (keeping explicit keys of the earlier periods still in use
only): nothing left derives a deleted period's key, since the hash runs one way.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import hmac
import json
import os
import secrets
import stat
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from kernel.i18n import N_
from storage import periods
from storage.periods import Period, PeriodKind

FORMAT = "wardbot-keyring/2"
FORMAT_1 = "wardbot-keyring/1"  # master keys and HMAC root only: read, upgraded when loaded
KEY_BYTES = 32
FINGERPRINT_PURPOSE = "keyring-fingerprint"


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


@dataclass(frozen=True)
class PeriodKeys:
    """One kind's period keys: explicit ones for past periods still in use, and the
    chain that derives the key of `first` and of every later period."""

    first: Period
    seed: bytes = field(repr=False)
    explicit: Mapping[Period, bytes] = field(default_factory=dict, repr=False)
    # Keys of the chain derived so far (every message unwraps one): these keys are
    # immutable, and retiring periods makes new ones, with nothing derived yet.
    _derived: dict[tuple[PeriodKind, Period], bytes] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    def __repr__(self) -> str:  # never print key material
        return f"Periods(chain_from={self.first}, past={sorted(self.explicit)})"

    @classmethod
    def generate(cls, first: Period) -> PeriodKeys:
        return cls(first, secrets.token_bytes(KEY_BYTES), {})

    def has(self, p: Period) -> bool:
        return p in self.explicit or periods.index(p) >= periods.index(self.first)

    def key(self, kind: PeriodKind, p: Period) -> bytes:
        if p in self.explicit:
            return self.explicit[p]
        if periods.index(p) < periods.index(self.first):
            raise KeyringError(
                N_("the {kind} key of {period} was deleted (shredded)"), kind=kind, period=p
            )
        derived = self._derived.get((kind, p))
        if derived is None:
            derived = _period_key(kind, p, _advance(self.seed, self.first, p))
            self._derived[(kind, p)] = derived
        return derived

    def retired(
        self, kind: PeriodKind, before: Period, keep: Collection[Period]
    ) -> tuple[PeriodKeys, list[Period]]:
        """Without the keys of the periods before `before` that are not in `keep`: the
        chain moves on to `before`, the kept periods it passes become explicit keys.
        Returns the new keys and the periods deleted."""
        explicit = dict(self.explicit)
        deleted = [p for p in explicit if p < before and p not in keep]
        for p in deleted:
            del explicit[p]
        first, seed = self.first, self.seed
        if first < before:
            for p in periods.between(first, before):
                if p in keep:
                    explicit[p] = _period_key(kind, p, seed)
                else:
                    deleted.append(p)
                seed = _next_seed(seed)
            first = before
        return PeriodKeys(first, seed, explicit), sorted(deleted)

    def to_json(self) -> dict[str, Any]:
        return {
            "chain": {"first": self.first, "seed": _b64(self.seed)},
            "keys": [{"period": p, "key": _b64(k)} for p, k in sorted(self.explicit.items())],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PeriodKeys:
        explicit = {periods.parse(item["period"]): _unb64(item["key"]) for item in data["keys"]}
        keys = cls(periods.parse(data["chain"]["first"]), _unb64(data["chain"]["seed"]), explicit)
        if len(keys.seed) != KEY_BYTES or any(len(k) != KEY_BYTES for k in explicit.values()):
            raise KeyringError(N_("a period key has the wrong length"))
        return keys


def _next_seed(seed: bytes) -> bytes:
    return hashlib.sha256(b"wardbot/period-chain/v1/next/" + seed).digest()


def _advance(seed: bytes, first: Period, to: Period) -> bytes:
    for _ in range(periods.index(to) - periods.index(first)):
        seed = _next_seed(seed)
    return seed


def _period_key(kind: PeriodKind, p: Period, seed: bytes) -> bytes:
    hkdf = HKDF(
        algorithm=hashes.SHA256(),
        length=KEY_BYTES,
        salt=None,
        info=f"wardbot/period/v1/{kind}/{p}".encode("ascii"),
    )
    return hkdf.derive(seed)


class Keyring:
    """Master keys by version, the active version, a root for derived HMAC keys, and the
    period keys of each kind."""

    def __init__(
        self,
        masters: dict[int, MasterKey],
        active_version: int,
        hmac_root: bytes,
        period_keys: Mapping[PeriodKind, PeriodKeys] | None = None,
        *,
        upgraded: bool = False,
    ):
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
        first = _first_period(masters)
        given = dict(period_keys or {})
        self._periods = {kind: given.get(kind) or PeriodKeys.generate(first) for kind in PeriodKind}
        # Read from format 1 (its period keys were just made): to be written before use.
        self.upgraded = upgraded or len(given) < len(PeriodKind)

    def __repr__(self) -> str:
        return (
            f"Keyring(versions={sorted(self._masters)}, active={self._active}, "
            f"periods={ {str(k): v for k, v in self._periods.items()} })"
        )

    @classmethod
    def generate(cls, now: datetime | None = None) -> Keyring:
        first = MasterKey(1, secrets.token_bytes(KEY_BYTES), _now())
        current = periods.period_of(now or datetime.now(UTC))
        return cls(
            {1: first},
            1,
            secrets.token_bytes(KEY_BYTES),
            {kind: PeriodKeys.generate(current) for kind in PeriodKind},
        )

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

    def period_key(self, kind: PeriodKind, p: Period) -> bytes:
        """The key of `kind` for period `p`; KeyringError once it was deleted."""
        return self._periods[kind].key(kind, p)

    def has_period(self, kind: PeriodKind, p: Period) -> bool:
        return self._periods[kind].has(p)

    def usable_period(self, kind: PeriodKind, p: Period) -> Period:
        """`p` if its key is here, else the first later period whose key is (the chain's
        first): a record is never wrapped under a key that is gone."""
        keys = self._periods[kind]
        return p if keys.has(p) else keys.first

    def periods_of(self, kind: PeriodKind) -> tuple[list[Period], Period]:
        """The explicit periods of `kind` and the chain's first (every later one opens)."""
        keys = self._periods[kind]
        return sorted(keys.explicit), keys.first

    def retired(
        self, kind: PeriodKind, before: Period, keep: Collection[Period]
    ) -> tuple[Keyring, list[Period]]:
        """A keyring without the `kind` keys of the periods before `before` that are not
        in `keep`, and the periods deleted."""
        keys, deleted = self._periods[kind].retired(kind, before, keep)
        if keys == self._periods[kind]:
            return self, []
        changed = {**self._periods, kind: keys}
        return Keyring(self._masters, self._active, self._hmac_root, changed), deleted

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
        """A new keyring whose new master key is active; older versions stay for reading.
        Period keys are not master keys: they stay as they are."""
        version = max(self._masters) + 1
        masters = dict(self._masters)
        masters[version] = MasterKey(version, secrets.token_bytes(KEY_BYTES), _now())
        return Keyring(masters, version, self._hmac_root, self._periods)

    def without_master(self, version: int) -> Keyring:
        """This keyring without master key `version`: what it wrapped no longer opens, in
        the database or in any old copy of it. The active version cannot be removed."""
        if version == self._active:
            raise KeyringError(N_("master key {version} is the active one"), version=version)
        self.master(version)  # refuses a version that is not here
        masters = {v: key for v, key in self._masters.items() if v != version}
        return Keyring(masters, self._active, self._hmac_root, self._periods)

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
                "period_keys": {str(kind): keys.to_json() for kind, keys in self._periods.items()},
            },
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str) -> Keyring:
        try:
            data: dict[str, Any] = json.loads(text)
            if data.get("format") not in (FORMAT, FORMAT_1):
                raise KeyringError(N_("unknown keyring format {format}"), format=data.get("format"))
            masters = {
                int(item["version"]): MasterKey(
                    int(item["version"]), _unb64(item["key"]), str(item.get("created", ""))
                )
                for item in data["master_keys"]
            }
            period_keys: dict[PeriodKind, PeriodKeys] = {}
            if data["format"] == FORMAT:
                stored = data["period_keys"]
                period_keys = {kind: PeriodKeys.from_json(stored[str(kind)]) for kind in PeriodKind}
            return cls(masters, int(data["active_version"]), _unb64(data["hmac_root"]), period_keys)
        except KeyringError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise KeyringError(
                N_("the keyring file is malformed ({kind})"), kind=type(exc).__name__
            ) from None


def _first_period(masters: Mapping[int, MasterKey]) -> Period:
    """Where the chains of a keyring upgraded from format 1 begin: the month its first
    master key was made (no record is older than its keyring), or this month."""
    months = []
    for key in masters.values():
        try:
            months.append(periods.period_of(datetime.fromisoformat(key.created)))
        except (ValueError, TypeError):
            continue
    return min(months) if months else periods.period_of(datetime.now(UTC))


def lock_path(path: Path) -> Path:
    """The lock file beside the keyring: every change to the keyring is made holding it."""
    return path.with_name(f"{path.name}.lock")


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive lock on the keyring's lock file (fcntl.flock), for this process
    against every other one, until the block ends."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(lock_path(path), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def load(path: Path) -> Keyring:
    """The keyring at `path`. A format 1 file is upgraded on disk at once (under the
    lock), before any record is wrapped under the period keys made for it."""
    keyring = _read(path)
    if not keyring.upgraded:
        return keyring
    with locked(path):
        keyring = _read(path)  # another process may have upgraded it meanwhile
        if keyring.upgraded:
            save(keyring, path, overwrite=True)
            keyring = _read(path)
    return keyring


def update(path: Path, change: Callable[[Keyring], Keyring]) -> Keyring:
    """Read the keyring, change it and write it back atomically, all under the lock, so
    a change made by another process meanwhile is never lost. `change` returning its
    argument writes nothing."""
    with locked(path):
        current = _read(path)
        changed = change(current)
        if changed is current and not current.upgraded:
            return current
        save(changed, path, overwrite=True)
        return _read(path)


class KeyringFile:
    """The keyring file as a long-running process sees it: read again whenever the file
    changed (another process wrote it), checked by its inode, size and mtime."""

    def __init__(self, path: Path):
        self.path = path
        self._stamp: tuple[int, int, int] | None = None
        self._keyring: Keyring | None = None

    def __repr__(self) -> str:
        return f"KeyringFile({self.path})"

    def current(self) -> Keyring:
        stamp = _stamp(self.path)
        if self._keyring is None or stamp != self._stamp:
            self._keyring = load(self.path)
            self._stamp = stamp  # a write since then (an upgrade too) is read next time
        return self._keyring

    def update(self, change: Callable[[Keyring], Keyring]) -> Keyring:
        self._keyring = update(self.path, change)
        self._stamp = _stamp(self.path)
        return self._keyring


def _stamp(path: Path) -> tuple[int, int, int]:
    try:
        info = path.stat()
    except FileNotFoundError:
        raise KeyringError(
            N_("keyring file {path} does not exist; run 'wardbot keys init'"), path=path
        ) from None
    return info.st_ino, info.st_size, info.st_mtime_ns


def _read(path: Path) -> Keyring:
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


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)
