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

from kernel.i18n import N_, SUPPORTED
from kernel.targets import Target

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
class SendLimits:
    """How fast broadcasts may go on one platform (Telegram's published limits by default)."""

    per_second: float = 30.0
    chat_per_second: float = 1.0
    group_per_minute: int = 20


@dataclass(frozen=True)
class ChannelSettings:
    """One chat platform. The token and secret never appear in a repr."""

    name: str
    token: str = field(repr=False)
    api_base: str
    mode: str = "polling"
    webhook_url: str = ""
    webhook_secret: str = field(default="", repr=False)
    limits: SendLimits = field(default_factory=SendLimits)

    @property
    def webhook_path(self) -> str:
        """Where the local server listens: the path of the public webhook URL."""
        return urlsplit(self.webhook_url).path or f"/webhook/{self.name}"


@dataclass(frozen=True)
class CampaignSettings:
    """A yearly campaign: a date (`day`), or every week of `month` (`day` None)."""

    slug: str
    name: str
    month: int
    day: int | None
    at_time: str = "08:00"
    content: str = ""
    subscribers: bool = True


DEFAULT_CAMPAIGNS = (
    # Seed 000: "tháng hành động phòng, chống ma túy và Ngày toàn dân phòng, chống ma túy 26/6".
    CampaignSettings("june", "Tháng hành động phòng, chống ma túy", 6, None, "09:00", "june"),
    CampaignSettings(
        "day-26-6", "Ngày toàn dân phòng, chống ma túy 26/6", 6, 26, "08:00", "day-26-6"
    ),
)


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
    conversation_days: int = 30
    # Longest wait of a tip that is not urgent before the mixer stores it (bot/mixer.py).
    mix_minutes: int = 10
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
    monthly_day: int = 5
    monthly_time: str = "09:00"
    quiet_start: str = "21:00"
    quiet_end: str = "07:00"
    campaigns: tuple[CampaignSettings, ...] = DEFAULT_CAMPAIGNS
    # Public links to the bots, printed on posters and shared by /invite.
    telegram_username: str = ""
    zalo_link: str = ""
    # Drug-free TDP targets per ward code.
    targets: Mapping[str, tuple[Target, ...]] = field(default_factory=dict)
    source: Path | None = None

    @property
    def channels(self) -> tuple[ChannelSettings, ...]:
        return tuple(c for c in (self.telegram, self.zalo) if c is not None)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


_CHANNEL_KEYS = (
    "token", "api_base", "mode", "webhook_url", "webhook_secret",
    "rate_per_second", "chat_per_second", "group_per_minute",
)  # fmt: skip
_KNOWN: dict[str, tuple[str, ...]] = {
    "storage": ("data_dir", "database_url", "keyring"),
    "bot": ("default_language", "timezone", "default_ward"),
    "log": ("level",),
    "tips": (
        "per_hour",
        "per_day",
        "status_failures_per_hour",
        "retention_days",
        "conversation_days",
        "mix_minutes",
    ),
    "police": ("urgent_ack_minutes", "ack_hours", "close_days", "digest_time", "tip_view_seconds"),
    "telegram": _CHANNEL_KEYS,
    "zalo": _CHANNEL_KEYS,
    "server": ("host", "port", "max_update_kb"),
    "broadcasts": ("monthly_day", "monthly_time", "quiet_start", "quiet_end", "default_campaigns"),
    "links": ("telegram_username", "zalo"),
}
_CAMPAIGN_KEYS = ("slug", "name", "date", "month", "time", "content", "subscribers")
_TIME = re.compile(r"([01]\d|2[0-3]):[0-5]\d")
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")
_USERNAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{3,31}")


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

    def clock(key: str, default: str) -> str:
        found = value(key, default)
        if not _TIME.fullmatch(found):
            raise ConfigError(key, N_("must be a time like 07:30, not {value}"), found)
        return found

    digest_time = clock("police.digest_time", "07:30")
    level = value("log.level", "INFO").upper()
    if level not in LOG_LEVELS:
        raise ConfigError(
            "log.level", N_("{value} is not one of DEBUG, INFO, WARNING, ERROR"), level
        )
    telegram = _channel("telegram", value, _TELEGRAM_TOKEN, TELEGRAM_API, raw)
    zalo = _channel("zalo", value, _ZALO_TOKEN, ZALO_API, raw)
    default_campaigns = raw.get("broadcasts", {}).get("default_campaigns", True)
    if not isinstance(default_campaigns, bool):
        raise ConfigError(
            "broadcasts.default_campaigns", N_("must be true or false, not {value}"),
            default_campaigns,
        )  # fmt: skip
    campaigns = (DEFAULT_CAMPAIGNS if default_campaigns else ()) + parse_campaigns(raw)
    if len({c.slug for c in campaigns}) != len(campaigns):
        raise ConfigError("campaign.slug", N_("two campaigns have the same slug"))
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
        conversation_days=number("tips.conversation_days", 30, 1, 3650),
        mix_minutes=number("tips.mix_minutes", 10, 1, 120),
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
        monthly_day=number("broadcasts.monthly_day", 5, 1, 28),
        monthly_time=clock("broadcasts.monthly_time", "09:00"),
        quiet_start=clock("broadcasts.quiet_start", "21:00"),
        quiet_end=clock("broadcasts.quiet_end", "07:00"),
        campaigns=campaigns,
        telegram_username=_telegram_username(value("links.telegram_username", "")),
        zalo_link=_public_link("links.zalo", value("links.zalo", "")),
        targets=parse_targets(raw),
        source=path,
    )


def _channel(
    name: str,
    value: Callable[[str, str], str],
    token_form: re.Pattern[str],
    api: str,
    raw: dict[str, Any],
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
    defaults = SendLimits() if name == "telegram" else SendLimits(per_second=10.0)
    limits = SendLimits(
        per_second=_rate(raw, f"{name}.rate_per_second", defaults.per_second, 1000.0),
        chat_per_second=_rate(raw, f"{name}.chat_per_second", defaults.chat_per_second, 100.0),
        group_per_minute=int(_rate(raw, f"{name}.group_per_minute", 20, 6000)),
    )
    return ChannelSettings(name, token, api_base, mode, webhook_url, secret, limits)


def _rate(raw: dict[str, Any], key: str, default: float, high: float) -> float:
    section, name = key.split(".")
    found = raw.get(section, {}).get(name, default)
    if isinstance(found, bool) or not isinstance(found, int | float) or not 0 < found <= high:
        raise ConfigError(key, N_("must be a number above 0 and at most {value}"), high)
    return float(found)


def parse_campaigns(raw: dict[str, Any]) -> tuple[CampaignSettings, ...]:
    """`[[campaign]]` tables: a yearly `date = "19/8"`, or `month = 6` for every week."""
    found = []
    for entry in raw.get("campaign", []):
        for key in entry:
            if key not in _CAMPAIGN_KEYS:
                raise ConfigError(f"campaign.{key}", N_("unknown key"))
        slug = str(entry.get("slug", "")).strip()
        if not _SLUG.fullmatch(slug):
            raise ConfigError(
                "campaign.slug", N_("needs lowercase letters, digits and -, not {value}"), slug
            )
        day, month = _campaign_date(slug, entry)
        time = str(entry.get("time", "08:00"))
        if not _TIME.fullmatch(time):
            raise ConfigError("campaign.time", N_("must be a time like 07:30, not {value}"), time)
        subscribers = entry.get("subscribers", True)
        if not isinstance(subscribers, bool):
            raise ConfigError("campaign.subscribers", N_("must be true or false, not {value}"),
                              subscribers)  # fmt: skip
        name = str(entry.get("name", slug)).strip()[:120] or slug
        content = str(entry.get("content", "")).strip()
        found.append(CampaignSettings(slug, name, month, day, time, content, subscribers))
    return tuple(found)


def _campaign_date(slug: str, entry: dict[str, Any]) -> tuple[int | None, int]:
    if "date" in entry:
        match = re.fullmatch(r"(\d{1,2})/(\d{1,2})", str(entry["date"]).strip())
        if match and _valid_day(int(match[1]), int(match[2])):
            return int(match[1]), int(match[2])
        raise ConfigError("campaign.date", N_("must be a day/month like 19/8, not {value}"),
                          entry["date"])  # fmt: skip
    month = entry.get("month")
    if isinstance(month, int) and not isinstance(month, bool) and 1 <= month <= 12:
        return None, month
    raise ConfigError("campaign.month", N_("campaign {value} needs a date or a month"), slug)


def _telegram_username(name: str) -> str:
    name = name.removeprefix("@")
    if name and not _USERNAME.fullmatch(name):
        raise ConfigError(
            "links.telegram_username", N_("is not a Telegram bot username: {value}"), name
        )
    return name


def _public_link(key: str, url: str) -> str:
    if url and (urlsplit(url).scheme != "https" or not urlsplit(url).netloc or len(url) > 300):
        raise ConfigError(key, N_("must be an https:// link, not {value}"), url)
    return url


def parse_targets(raw: dict[str, Any]) -> dict[str, tuple[Target, ...]]:
    """`[targets.phu-lien]` with `2025 = 0.30` (a share of the TDPs) or `2026 = 23` (a
    number of TDPs): drug-free TDPs by the end of each year."""
    found: dict[str, tuple[Target, ...]] = {}
    for ward_code, years in raw.get("targets", {}).items():
        targets = []
        for year_text, goal in years.items():
            key = f"targets.{ward_code}.{year_text}"
            if not re.fullmatch(r"20\d\d", str(year_text)):
                raise ConfigError(key, N_("the key must be a year like 2027"))
            try:
                if isinstance(goal, float):
                    targets.append(Target(int(year_text), share=goal))
                elif isinstance(goal, int) and not isinstance(goal, bool):
                    targets.append(Target(int(year_text), count=goal))
                else:
                    raise ValueError
            except ValueError:
                raise ConfigError(
                    key,
                    N_("must be a share like 0.30 or a number of TDPs like 23, not {value}"),
                    goal,
                ) from None
        found[str(ward_code)] = tuple(sorted(targets, key=lambda t: t.year))
    return found


def _valid_day(day: int, month: int) -> bool:
    """A day that exists every year (29/2 does not)."""
    return 1 <= month <= 12 and 1 <= day <= (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)[
        month - 1]  # fmt: skip


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
        if section == "targets":
            if not isinstance(body, dict) or not all(isinstance(b, dict) for b in body.values()):
                raise ConfigError(section, N_("must be [targets.WARD-CODE] tables"))
            continue
        if section == "campaign":
            if not isinstance(body, list) or not all(isinstance(b, dict) for b in body):
                raise ConfigError(section, N_("must be [[campaign]] tables"))
            continue
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
