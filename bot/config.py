"""Configuration: a TOML file, environment variables for secrets and paths, defaults.

Every problem is reported as one `ConfigError` naming the key and what is wrong; the
CLI prints it as one line and exits, never with a traceback.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.i18n import N_, SUPPORTED

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
ENV = {
    "storage.data_dir": "WARDBOT_DATA_DIR",
    "storage.database_url": "WARDBOT_DATABASE_URL",
    "storage.keyring": "WARDBOT_KEYRING",
}


class ConfigError(Exception):
    """`problem` is an English message id (translated by the CLI) with `{value}`."""

    def __init__(self, key: str, problem: str, value: object = ""):
        super().__init__(f"{key}: {problem.format(value=value)}")
        self.key = key
        self.problem = problem
        self.value = value


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    keyring_path: Path
    default_language: str = "vi"
    timezone: str = "Asia/Ho_Chi_Minh"
    default_ward: str = ""
    log_level: str = "INFO"
    tips_per_hour: int = 5
    tips_per_day: int = 20
    status_failures_per_hour: int = 5
    retention_days: int = 365
    urgent_ack_minutes: int = 15
    ack_hours: int = 24
    close_days: int = 30
    digest_time: str = "07:30"
    tip_view_seconds: int = 600
    source: Path | None = None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


_KNOWN: dict[str, tuple[str, ...]] = {
    "storage": ("data_dir", "database_url", "keyring"),
    "bot": ("default_language", "timezone", "default_ward"),
    "log": ("level",),
    "tips": ("per_hour", "per_day", "status_failures_per_hour", "retention_days"),
    "police": ("urgent_ack_minutes", "ack_hours", "close_days", "digest_time", "tip_view_seconds"),
}


def load(path: Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from `path` (or $WARDBOT_CONFIG, or ./wardbot.toml if present)."""
    environ = os.environ if environ is None else environ
    if path is None and environ.get("WARDBOT_CONFIG"):
        path = Path(environ["WARDBOT_CONFIG"])
    if path is None and Path("wardbot.toml").exists():
        path = Path("wardbot.toml")
    raw = _read(path) if path else {}
    _reject_unknown(raw)
    base = path.resolve().parent if path else Path.cwd()

    def value(key: str, default: str) -> str:
        section, name = key.split(".")
        env_name = ENV.get(key)
        if env_name and environ.get(env_name):
            return environ[env_name]
        found = raw.get(section, {}).get(name, default)
        if not isinstance(found, str):
            raise ConfigError(key, N_("must be a text value in quotes, not {value}"), found)
        return found.strip()

    data_dir = _path(base, value("storage.data_dir", "wardbot-data"))
    database_url = (
        value("storage.database_url", "") or f"sqlite+aiosqlite:///{data_dir / 'wardbot.db'}"
    )
    _check_database_url(database_url)
    keyring = value("storage.keyring", "")
    keyring_path = _path(base, keyring) if keyring else data_dir / "keyring.json"

    language = value("bot.default_language", "vi")
    if language not in SUPPORTED:
        raise ConfigError(
            "bot.default_language", N_("{value} is not supported; use vi or en"), language
        )
    timezone = value("bot.timezone", "Asia/Ho_Chi_Minh")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            "bot.timezone", N_("{value} is not a known time zone"), timezone
        ) from None

    def number(key: str, default: int, low: int, high: int) -> int:
        section, name = key.split(".")
        found = raw.get(section, {}).get(name, default)
        if isinstance(found, bool) or not isinstance(found, int):
            raise ConfigError(key, N_("must be a whole number, not {value}"), found)
        if not low <= found <= high:
            raise ConfigError(key, N_("must be between {value}"), f"{low} and {high}")
        return found

    tips_per_hour = number("tips.per_hour", 5, 1, 1000)
    tips_per_day = number("tips.per_day", 20, 1, 10000)
    if tips_per_day < tips_per_hour:
        raise ConfigError(
            "tips.per_day", N_("must not be less than tips.per_hour ({value})"), tips_per_hour
        )
    digest_time = value("police.digest_time", "07:30")
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", digest_time):
        raise ConfigError(
            "police.digest_time", N_("must be a time like 07:30, not {value}"), digest_time
        )
    level = value("log.level", "INFO").upper()
    if level not in LOG_LEVELS:
        raise ConfigError(
            "log.level", N_("{value} is not one of DEBUG, INFO, WARNING, ERROR"), level
        )
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        keyring_path=keyring_path,
        default_language=language,
        timezone=timezone,
        default_ward=value("bot.default_ward", ""),
        log_level=level,
        tips_per_hour=tips_per_hour,
        tips_per_day=tips_per_day,
        status_failures_per_hour=number("tips.status_failures_per_hour", 5, 1, 100),
        retention_days=number("tips.retention_days", 365, 1, 36500),
        urgent_ack_minutes=number("police.urgent_ack_minutes", 15, 1, 1440),
        ack_hours=number("police.ack_hours", 24, 1, 720),
        close_days=number("police.close_days", 30, 1, 3650),
        digest_time=digest_time,
        tip_view_seconds=number("police.tip_view_seconds", 600, 0, 86400),
        source=path,
    )


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError("--config", N_("file {value} does not exist"), path) from None
    except (OSError, UnicodeDecodeError):
        raise ConfigError(
            "--config", N_("file {value} cannot be read as UTF-8 text"), path
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("--config", N_("file is not valid TOML: {value}"), exc) from None


def _reject_unknown(raw: dict[str, Any]) -> None:
    for section, body in raw.items():
        if section not in _KNOWN:
            raise ConfigError(section, N_("unknown section"))
        if not isinstance(body, dict):
            raise ConfigError(section, N_("must be a [section] table"))
        for key in body:
            if key not in _KNOWN[section]:
                raise ConfigError(f"{section}.{key}", N_("unknown key"))


def _check_database_url(url: str) -> None:
    key = "storage.database_url"
    if url.startswith("sqlite+aiosqlite://") or url.startswith("postgresql+asyncpg://"):
        return
    if url.startswith(("sqlite://", "postgresql://", "postgres://")):
        raise ConfigError(
            key,
            N_("use an async driver: sqlite+aiosqlite:/// or postgresql+asyncpg:// (got {value})"),
            url.split("://")[0],
        )
    raise ConfigError(key, N_("must start with sqlite+aiosqlite:/// or postgresql+asyncpg://"))


def _path(base: Path, text: str) -> Path:
    path = Path(text).expanduser()
    return path if path.is_absolute() else base / path
