"""Configuration: a TOML file, environment variables for secrets and paths, defaults.

Every problem is reported as one `ConfigError` naming the key and what is wrong; the
CLI prints it as one line and exits, never with a traceback.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.i18n import N_, SUPPORTED

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
ENV = {
    "storage.data_dir": "WARDBOT_DATA_DIR",
    "storage.database_url": "WARDBOT_DATABASE_URL",
    "storage.keyring": "WARDBOT_KEYRING",
    "telegram.token": "WARDBOT_TELEGRAM_TOKEN",
    "telegram.webhook_secret": "WARDBOT_TELEGRAM_WEBHOOK_SECRET",
    "zalo.token": "WARDBOT_ZALO_TOKEN",
    "zalo.webhook_secret": "WARDBOT_ZALO_WEBHOOK_SECRET",
}
MODES = ("polling", "webhook")
TELEGRAM_API = "https://api.telegram.org"
ZALO_API = "https://bot-api.zaloplatforms.com"
_TELEGRAM_TOKEN = re.compile(r"\d{1,20}:[A-Za-z0-9_-]{1,100}")
_ZALO_TOKEN = re.compile(r"[\x21-\x7e]{1,300}")
_SECRETS = {
    "telegram": (
        re.compile(r"[A-Za-z0-9_-]{1,256}"),
        N_("webhook mode needs a secret of 1 to 256 letters, digits, _ or -"),
    ),
    "zalo": (
        re.compile(r"[\x21-\x7e]{8,256}"),
        N_("webhook mode needs a secret of 8 to 256 printable characters without spaces"),
    ),
}


class ConfigError(Exception):
    """`problem` is an English message id (translated by the CLI) with `{value}`."""

    def __init__(self, key: str, problem: str, value: object = ""):
        super().__init__(f"{key}: {problem.format(value=value)}")
        self.key = key
        self.problem = problem
        self.value = value


@dataclass(frozen=True)
class ChannelSettings:
    """One chat platform. The token and secret never appear in a repr."""

    name: str
    token: str = field(repr=False)
    api_base: str
    mode: str = "polling"
    webhook_url: str = ""
    webhook_secret: str = field(default="", repr=False)

    @property
    def webhook_path(self) -> str:
        """Where the local server listens: the path of the public webhook URL."""
        return urlsplit(self.webhook_url).path or f"/webhook/{self.name}"


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
    telegram: ChannelSettings | None = None
    zalo: ChannelSettings | None = None
    server_host: str = "127.0.0.1"
    server_port: int = 8080
    max_update_bytes: int = 1024 * 1024
    source: Path | None = None

    @property
    def channels(self) -> tuple[ChannelSettings, ...]:
        return tuple(c for c in (self.telegram, self.zalo) if c is not None)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


_KNOWN: dict[str, tuple[str, ...]] = {
    "storage": ("data_dir", "database_url", "keyring"),
    "bot": ("default_language", "timezone", "default_ward"),
    "log": ("level",),
    "tips": ("per_hour", "per_day", "status_failures_per_hour", "retention_days"),
    "police": ("urgent_ack_minutes", "ack_hours", "close_days", "digest_time", "tip_view_seconds"),
    "telegram": ("token", "api_base", "mode", "webhook_url", "webhook_secret"),
    "zalo": ("token", "api_base", "mode", "webhook_url", "webhook_secret"),
    "server": ("host", "port", "max_update_kb"),
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
    telegram = _channel("telegram", value, _TELEGRAM_TOKEN, TELEGRAM_API)
    zalo = _channel("zalo", value, _ZALO_TOKEN, ZALO_API)
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
        telegram=telegram,
        zalo=zalo,
        server_host=value("server.host", "127.0.0.1") or "127.0.0.1",
        server_port=number("server.port", 8080, 1, 65535),
        max_update_bytes=number("server.max_update_kb", 1024, 16, 65536) * 1024,
        source=path,
    )


def _channel(
    name: str, value: Callable[[str, str], str], token_form: re.Pattern[str], api: str
) -> ChannelSettings | None:
    """A platform is configured when it has a token; without one it stays off."""
    token = value(f"{name}.token", "")
    if not token:
        return None
    if not token_form.fullmatch(token):
        # The value is a secret: the error names the key, never the token.
        raise ConfigError(f"{name}.token", N_("does not look like a bot token"))
    api_base = value(f"{name}.api_base", api).rstrip("/") or api
    if urlsplit(api_base).scheme not in ("http", "https") or not urlsplit(api_base).netloc:
        raise ConfigError(f"{name}.api_base", N_("must be an http(s) URL, not {value}"), api_base)
    mode = value(f"{name}.mode", "polling").lower()
    if mode not in MODES:
        raise ConfigError(f"{name}.mode", N_("must be polling or webhook, not {value}"), mode)
    webhook_url = value(f"{name}.webhook_url", "")
    secret = value(f"{name}.webhook_secret", "")
    if mode == "webhook":
        if urlsplit(webhook_url).scheme not in ("http", "https"):
            raise ConfigError(
                f"{name}.webhook_url", N_("webhook mode needs the public https URL of the bot")
            )
        form, rule = _SECRETS[name]
        if not form.fullmatch(secret):
            raise ConfigError(f"{name}.webhook_secret", rule)
    return ChannelSettings(name, token, api_base, mode, webhook_url, secret)


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
