"""Configuration: a TOML file, environment variables for secrets and paths, defaults.

The file is described by one pydantic model per `[section]` (`StorageSection`,
`TelegramSection`, …, gathered in `ConfigFile`): each default and each check is written
once, on its field, and `config.example.toml` states exactly those defaults (a test
compares the two). `Settings` is what the rest of the code reads: the file resolved
(paths made absolute, secrets taken from the environment, a platform without a token
left off), with the same defaults read from the section models.

Every problem is reported as one `ConfigError` naming the key (`telegram.mode`) and
what is wrong, in an English message id the CLI translates; it prints it as one line
and exits, never with a traceback, and never with a token or secret in it.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Annotated, Any, ClassVar, Self, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails, PydanticCustomError

from kernel.i18n import N_, SUPPORTED
from kernel.targets import Target

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
# Secrets and paths that may come from the environment instead of the file (and win).
ENV = {
    "storage.data_dir": "WARDBOT_DATA_DIR",
    "storage.database_url": "WARDBOT_DATABASE_URL",
    "storage.keyring": "WARDBOT_KEYRING",
    "telegram.token": "WARDBOT_TELEGRAM_TOKEN",
    "telegram.webhook_secret": "WARDBOT_TELEGRAM_WEBHOOK_SECRET",
    "zalo.token": "WARDBOT_ZALO_TOKEN",
    "zalo.webhook_secret": "WARDBOT_ZALO_WEBHOOK_SECRET",
}
# Keys whose value an error message never shows (a database URL may hold a password).
SECRET_NAMES = ("token", "webhook_secret", "database_url")
MODES = ("polling", "webhook")
TELEGRAM_API = "https://api.telegram.org"
ZALO_API = "https://bot-api.zaloplatforms.com"


class ConfigError(Exception):
    """`problem` is an English message id (translated by the CLI) with `{value}`."""

    def __init__(self, key: str, problem: str, value: object = ""):
        super().__init__(f"{key}: {problem.format(value=value)}")
        self.key = key
        self.problem = problem
        self.value = value


# --- Checks. Each failure is a pydantic error of type "wardbot" that carries our own
# message id, its value and, for a check of the whole section, the key it is about.

_PROBLEM = "wardbot"


def _problem(msgid: str, value: object = "", at: str = "") -> PydanticCustomError:
    return PydanticCustomError(_PROBLEM, "{problem}", {"problem": msgid, "value": value, "at": at})


def _whole(low: int, high: int) -> BeforeValidator:
    def check(found: object) -> object:
        if isinstance(found, bool) or not isinstance(found, int):
            raise _problem(N_("must be a whole number, not {value}"), found)
        if not low <= found <= high:
            raise _problem(N_("must be in the range {value}"), f"{low}–{high}")
        return found

    return BeforeValidator(check)


def _rate(high: float) -> BeforeValidator:
    def check(found: object) -> object:
        if isinstance(found, bool) or not isinstance(found, int | float) or not 0 < found <= high:
            raise _problem(N_("must be a number above 0 and at most {value}"), high)
        return float(found)

    return BeforeValidator(check)


def _matching(pattern: str, msgid: str) -> AfterValidator:
    form = re.compile(pattern)

    def check(found: str) -> str:
        if not form.fullmatch(found):
            raise _problem(msgid, found)
        return found

    return AfterValidator(check)


Clock = Annotated[
    str, _matching(r"([01]\d|2[0-3]):[0-5]\d", N_("must be a time like 07:30, not {value}"))
]


def _language(found: str) -> str:
    if found not in SUPPORTED:
        raise _problem(N_("{value} is not supported; use vi or en"), found)
    return found


def _timezone(found: str) -> str:
    try:
        ZoneInfo(found)
    except (ZoneInfoNotFoundError, ValueError):
        raise _problem(N_("{value} is not a known time zone"), found) from None
    return found


def _log_level(found: str) -> str:
    if found.upper() not in LOG_LEVELS:
        raise _problem(N_("{value} is not one of DEBUG, INFO, WARNING, ERROR"), found.upper())
    return found.upper()


def _database_url(url: str) -> str:
    if not url or url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
        return url
    if url.startswith(("sqlite://", "postgresql://", "postgres://")):
        raise _problem(
            N_("use an async driver: sqlite+aiosqlite:/// or postgresql+asyncpg:// (got {value})"),
            url.split("://")[0],  # the scheme only: the rest may hold a password
        )
    raise _problem(N_("must start with sqlite+aiosqlite:/// or postgresql+asyncpg://"))


def _http_url(url: str) -> str:
    if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
        raise _problem(N_("must be an http(s) URL, not {value}"), url)
    return url


def _public_link(url: str) -> str:
    if url and (urlsplit(url).scheme != "https" or not urlsplit(url).netloc or len(url) > 300):
        raise _problem(N_("must be an https:// link, not {value}"), url)
    return url


def _telegram_username(name: str) -> str:
    name = name.removeprefix("@")
    if name and not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{3,31}", name):
        raise _problem(N_("is not a Telegram bot username: {value}"), name)
    return name


def _valid_day(day: int, month: int) -> bool:
    """A day that exists every year (29/2 does not)."""
    days = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
    return 1 <= month <= 12 and 1 <= day <= days[month - 1]


def _targets(found: object) -> dict[str, tuple[Target, ...]]:
    """`[targets.phu-lien]` with `2025 = 0.30` (a share of the TDPs) or `2026 = 23` (a
    number of TDPs): drug-free TDPs by the end of each year."""
    if not isinstance(found, dict) or not all(isinstance(y, dict) for y in found.values()):
        raise _problem(N_("must be [targets.WARD-CODE] tables"))
    targets: dict[str, tuple[Target, ...]] = {}
    for ward_code, years in found.items():
        goals = []
        for year_text, goal in years.items():
            at = f"{ward_code}.{year_text}"
            if not re.fullmatch(r"20\d\d", str(year_text)):
                raise _problem(N_("the key must be a year like 2027"), at=at)
            try:
                if isinstance(goal, float):
                    goals.append(Target(int(year_text), share=goal))
                elif isinstance(goal, int) and not isinstance(goal, bool):
                    goals.append(Target(int(year_text), count=goal))
                else:
                    raise ValueError
            except ValueError:
                raise _problem(
                    N_("must be a share like 0.30 or a number of TDPs like 23, not {value}"),
                    goal,
                    at=at,
                ) from None
        targets[str(ward_code)] = tuple(sorted(goals, key=lambda t: t.year))
    return targets


# --- The file: one model per section, each default written once, on its field.


class _Section(BaseModel):
    # strict: TOML has types, so "5" is not a number and 5 is not a text.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, str_strip_whitespace=True)


def _or_default(cls: type[BaseModel], found: str, info: ValidationInfo) -> str:
    """An empty value means the default (`host = ""`, `api_base = ""`)."""
    assert info.field_name is not None
    return found or str(cls.model_fields[info.field_name].default)


class StorageSection(_Section):
    data_dir: str = "wardbot-data"
    database_url: Annotated[str, AfterValidator(_database_url)] = Field(default="", repr=False)
    keyring: str = ""


class BotSection(_Section):
    default_language: Annotated[str, AfterValidator(_language)] = "vi"
    timezone: Annotated[str, AfterValidator(_timezone)] = "Asia/Ho_Chi_Minh"
    default_ward: str = ""


class LogSection(_Section):
    level: Annotated[str, AfterValidator(_log_level)] = "INFO"


class TipsSection(_Section):
    per_hour: Annotated[int, _whole(1, 1000)] = 5
    per_day: Annotated[int, _whole(1, 10000)] = 20
    status_failures_per_hour: Annotated[int, _whole(1, 100)] = 5
    retention_days: Annotated[int, _whole(1, 36500)] = 365
    conversation_days: Annotated[int, _whole(1, 3650)] = 30
    # Longest wait of a tip that is not urgent before the mixer stores it (bot/mixer.py).
    mix_minutes: Annotated[int, _whole(1, 120)] = 10

    @model_validator(mode="after")
    def _a_day_holds_an_hour(self) -> Self:
        if self.per_day < self.per_hour:
            raise _problem(
                N_("must not be less than tips.per_hour ({value})"), self.per_hour, at="per_day"
            )
        return self


class PoliceSection(_Section):
    urgent_ack_minutes: Annotated[int, _whole(1, 1440)] = 15
    ack_hours: Annotated[int, _whole(1, 720)] = 24
    close_days: Annotated[int, _whole(1, 3650)] = 30
    digest_time: Clock = "07:30"
    tip_view_seconds: Annotated[int, _whole(0, 86400)] = 600


class ChannelSection(_Section):
    """One chat platform. Without a token it stays off; the token and the webhook
    secret are never shown, in a repr or in an error."""

    token_form: ClassVar[re.Pattern[str]]
    secret_form: ClassVar[re.Pattern[str]]
    secret_rule: ClassVar[str]

    token: str = Field(default="", repr=False)
    api_base: str  # the platform's own, in each subclass
    mode: str = "polling"
    webhook_url: str = ""
    webhook_secret: str = Field(default="", repr=False)
    # Broadcast speed limits: messages a second in all, a second to one chat, and a
    # minute to one group chat (Telegram's published limits by default).
    rate_per_second: Annotated[float, _rate(1000.0)] = 30.0
    chat_per_second: Annotated[float, _rate(100.0)] = 1.0
    group_per_minute: Annotated[int, _whole(1, 6000)] = 20

    @field_validator("token")
    @classmethod
    def _token(cls, token: str) -> str:
        if token and not cls.token_form.fullmatch(token):
            raise _problem(N_("does not look like a bot token"))  # never the token itself
        return token

    @field_validator("api_base")
    @classmethod
    def _api_base(cls, found: str, info: ValidationInfo) -> str:
        return _http_url(_or_default(cls, found.rstrip("/"), info))

    @field_validator("mode")
    @classmethod
    def _mode(cls, found: str) -> str:
        if found.lower() not in MODES:
            raise _problem(N_("must be polling or webhook, not {value}"), found.lower())
        return found.lower()

    @model_validator(mode="after")
    def _webhook(self) -> Self:
        if self.token and self.mode == "webhook":
            if urlsplit(self.webhook_url).scheme not in ("http", "https"):
                raise _problem(
                    N_("webhook mode needs the public https URL of the bot"), at="webhook_url"
                )
            if not self.secret_form.fullmatch(self.webhook_secret):
                raise _problem(self.secret_rule, at="webhook_secret")
        return self


class TelegramSection(ChannelSection):
    token_form = re.compile(r"\d{1,20}:[A-Za-z0-9_-]{1,100}")
    secret_form = re.compile(r"[A-Za-z0-9_-]{1,256}")
    secret_rule = N_("webhook mode needs a secret of 1 to 256 letters, digits, _ or -")

    api_base: str = TELEGRAM_API


class ZaloSection(ChannelSection):
    token_form = re.compile(r"[\x21-\x7e]{1,300}")
    secret_form = re.compile(r"[\x21-\x7e]{8,256}")
    secret_rule = N_("webhook mode needs a secret of 8 to 256 printable characters without spaces")

    api_base: str = ZALO_API
    # Not published by Zalo; kept modest.
    rate_per_second: Annotated[float, _rate(1000.0)] = 10.0


class ServerSection(_Section):
    host: str = "127.0.0.1"
    port: Annotated[int, _whole(1, 65535)] = 8080
    max_update_kb: Annotated[int, _whole(16, 65536)] = 1024

    @field_validator("host")
    @classmethod
    def _host(cls, found: str, info: ValidationInfo) -> str:
        return _or_default(cls, found, info)


class BroadcastsSection(_Section):
    monthly_day: Annotated[int, _whole(1, 28)] = 5
    monthly_time: Clock = "09:00"
    quiet_start: Clock = "21:00"
    quiet_end: Clock = "07:00"
    default_campaigns: bool = True


class LinksSection(_Section):
    # Public links to the bots, printed on posters and shared by /invite.
    telegram_username: Annotated[str, AfterValidator(_telegram_username)] = ""
    zalo: Annotated[str, AfterValidator(_public_link)] = ""


class CampaignEntry(_Section):
    """A `[[campaign]]` table: a yearly `date = "19/8"`, or `month = 6` for every week."""

    slug: Annotated[
        str,
        _matching(
            r"[a-z0-9][a-z0-9-]{0,39}", N_("needs lowercase letters, digits and -, not {value}")
        ),
    ]
    name: str = ""  # empty: the slug
    date: str | None = None
    month: int | None = None
    time: Clock = "08:00"
    content: str = ""
    subscribers: bool = True

    @model_validator(mode="after")
    def _a_date_or_a_month(self) -> Self:
        self.day_month()
        return self

    def day_month(self) -> tuple[int | None, int]:
        """(day, month) of a yearly date, or (None, month) for every week of a month."""
        if self.date is not None:
            match = re.fullmatch(r"(\d{1,2})/(\d{1,2})", self.date)
            if match and _valid_day(int(match[1]), int(match[2])):
                return int(match[1]), int(match[2])
            raise _problem(N_("must be a day/month like 19/8, not {value}"), self.date, at="date")
        if self.month is not None and 1 <= self.month <= 12:
            return None, self.month
        raise _problem(N_("campaign {value} needs a date or a month"), self.slug, at="month")

    def settings(self) -> CampaignSettings:
        day, month = self.day_month()
        name = self.name[:120].strip() or self.slug
        return CampaignSettings(
            self.slug, name, month, day, self.time, self.content, self.subscribers
        )


class ConfigFile(BaseModel):
    """The whole file. Every section is optional, and so is every key in it (but a
    `[[campaign]]` needs its slug)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    storage: StorageSection = StorageSection()
    bot: BotSection = BotSection()
    log: LogSection = LogSection()
    tips: TipsSection = TipsSection()
    police: PoliceSection = PoliceSection()
    telegram: TelegramSection = TelegramSection()
    zalo: ZaloSection = ZaloSection()
    server: ServerSection = ServerSection()
    broadcasts: BroadcastsSection = BroadcastsSection()
    links: LinksSection = LinksSection()
    campaign: list[CampaignEntry] = Field(default_factory=list)
    # Drug-free TDP targets per ward code.
    targets: Annotated[dict[str, tuple[Target, ...]], BeforeValidator(_targets)] = Field(
        default_factory=dict
    )

    @model_validator(mode="after")
    def _one_slug_each(self) -> Self:
        slugs = [c.slug for c in self.campaigns()]
        if len(set(slugs)) != len(slugs):
            raise _problem(N_("two campaigns have the same slug"), at="campaign.slug")
        return self

    def campaigns(self) -> tuple[CampaignSettings, ...]:
        defaults = DEFAULT_CAMPAIGNS if self.broadcasts.default_campaigns else ()
        return defaults + tuple(entry.settings() for entry in self.campaign)

    def value(self, key: str) -> Any:
        """The value of a dotted key: `tips.per_hour`."""
        section, name = key.split(".")
        return getattr(getattr(self, section), name)

    def settings(self, base: Path, source: Path | None = None) -> Settings:
        """The runtime view: relative paths taken from `base`, channels without a token off."""
        storage = self.storage
        data_dir = _path(base, storage.data_dir)
        return Settings(
            data_dir=data_dir,
            database_url=storage.database_url or f"sqlite+aiosqlite:///{data_dir / 'wardbot.db'}",
            keyring_path=(
                _path(base, storage.keyring) if storage.keyring else data_dir / "keyring.json"
            ),
            telegram=_channel("telegram", self.telegram),
            zalo=_channel("zalo", self.zalo),
            max_update_bytes=self.server.max_update_kb * 1024,
            campaigns=self.campaigns(),
            targets=self.targets,
            source=source,
            **{f.name: self.value(f.metadata["key"]) for f in fields(Settings) if f.metadata},
        )


# --- What the rest of the code reads. Defaults come from the section models above.


def _default(section: type[BaseModel], name: str) -> Any:
    return section.model_fields[name].default


def _key(key: str) -> Any:
    """A Settings field that is the file's `key` as it stands, with that key's default."""
    section, name = key.split(".")
    model = ConfigFile.model_fields[section].annotation
    assert isinstance(model, type) and issubclass(model, BaseModel)
    return field(default=_default(model, name), metadata={"key": key})


@dataclass(frozen=True)
class SendLimits:
    """How fast broadcasts may go on one platform (Telegram's published limits by default)."""

    per_second: float = _default(TelegramSection, "rate_per_second")
    chat_per_second: float = _default(TelegramSection, "chat_per_second")
    group_per_minute: int = _default(TelegramSection, "group_per_minute")


@dataclass(frozen=True)
class ChannelSettings:
    """One chat platform that is on. The token and secret never appear in a repr."""

    name: str
    token: str = field(repr=False)
    api_base: str
    mode: str = _default(ChannelSection, "mode")
    webhook_url: str = _default(ChannelSection, "webhook_url")
    webhook_secret: str = field(default=_default(ChannelSection, "webhook_secret"), repr=False)
    limits: SendLimits = field(default_factory=SendLimits)

    @property
    def webhook_path(self) -> str:
        """Where the local server listens: the path of the public webhook URL."""
        return urlsplit(self.webhook_url).path or f"/webhook/{self.name}"


def _channel(name: str, section: ChannelSection) -> ChannelSettings | None:
    """A platform is configured when it has a token; without one it stays off."""
    if not section.token:
        return None
    limits = SendLimits(section.rate_per_second, section.chat_per_second, section.group_per_minute)
    return ChannelSettings(
        name,
        section.token,
        section.api_base,
        section.mode,
        section.webhook_url,
        section.webhook_secret,
        limits,
    )


@dataclass(frozen=True)
class CampaignSettings:
    """A yearly campaign: a date (`day`), or every week of `month` (`day` None)."""

    slug: str
    name: str
    month: int
    day: int | None
    at_time: str = _default(CampaignEntry, "time")
    content: str = _default(CampaignEntry, "content")
    subscribers: bool = _default(CampaignEntry, "subscribers")


DEFAULT_CAMPAIGNS = (
    # Seed 000: "tháng hành động phòng, chống ma túy và Ngày toàn dân phòng, chống ma túy 26/6".
    CampaignSettings("june", "Tháng hành động phòng, chống ma túy", 6, None, "09:00", "june"),
    CampaignSettings(
        "day-26-6", "Ngày toàn dân phòng, chống ma túy 26/6", 6, 26, "08:00", "day-26-6"
    ),
)


@dataclass(frozen=True)
class Settings:
    """The settings the code reads, flat: a field filled from the file names its key."""

    data_dir: Path
    database_url: str
    keyring_path: Path
    default_language: str = _key("bot.default_language")
    timezone: str = _key("bot.timezone")
    default_ward: str = _key("bot.default_ward")
    log_level: str = _key("log.level")
    tips_per_hour: int = _key("tips.per_hour")
    tips_per_day: int = _key("tips.per_day")
    status_failures_per_hour: int = _key("tips.status_failures_per_hour")
    retention_days: int = _key("tips.retention_days")
    conversation_days: int = _key("tips.conversation_days")
    mix_minutes: int = _key("tips.mix_minutes")
    urgent_ack_minutes: int = _key("police.urgent_ack_minutes")
    ack_hours: int = _key("police.ack_hours")
    close_days: int = _key("police.close_days")
    digest_time: str = _key("police.digest_time")
    tip_view_seconds: int = _key("police.tip_view_seconds")
    telegram: ChannelSettings | None = None
    zalo: ChannelSettings | None = None
    server_host: str = _key("server.host")
    server_port: int = _key("server.port")
    max_update_bytes: int = _default(ServerSection, "max_update_kb") * 1024
    monthly_day: int = _key("broadcasts.monthly_day")
    monthly_time: str = _key("broadcasts.monthly_time")
    quiet_start: str = _key("broadcasts.quiet_start")
    quiet_end: str = _key("broadcasts.quiet_end")
    campaigns: tuple[CampaignSettings, ...] = DEFAULT_CAMPAIGNS
    telegram_username: str = _key("links.telegram_username")
    zalo_link: str = _key("links.zalo")
    targets: Mapping[str, tuple[Target, ...]] = field(default_factory=dict)
    source: Path | None = None

    @property
    def channels(self) -> tuple[ChannelSettings, ...]:
        return tuple(c for c in (self.telegram, self.zalo) if c is not None)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


# --- Reading.


def load(path: Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from `path` (or $WARDBOT_CONFIG, or ./wardbot.toml if present)."""
    environ = os.environ if environ is None else environ
    if path is None and environ.get("WARDBOT_CONFIG"):
        path = Path(environ["WARDBOT_CONFIG"])
    if path is None and Path("wardbot.toml").exists():
        path = Path("wardbot.toml")
    raw = _read(path) if path else {}
    for key, name in ENV.items():
        section, option = key.split(".")
        if environ.get(name) and isinstance(raw.setdefault(section, {}), dict):
            raw[section][option] = environ[name]
    file = _validate(ConfigFile.model_validate, raw)
    return file.settings(path.resolve().parent if path else Path.cwd(), path)


def parse_campaigns(raw: dict[str, Any]) -> tuple[CampaignSettings, ...]:
    """The `[[campaign]]` tables of `raw` (also `wardbot campaign add`'s arguments)."""
    entries = _validate(_Campaigns.model_validate, {"campaign": raw.get("campaign", [])})
    return tuple(entry.settings() for entry in entries.campaign)


M = TypeVar("M", bound=BaseModel)


class _Campaigns(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    campaign: list[CampaignEntry]


def _validate(validate: Callable[[object], M], raw: dict[str, Any]) -> M:
    try:
        return validate(raw)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
    # Raised outside the except block, so no ValidationError (whose text shows the
    # input value, a token perhaps) rides along as the error's context.
    raise _config_error(first, _secrets(raw))


def _secrets(raw: dict[str, Any]) -> set[str]:
    """The tokens and secrets given (in the file or the environment), to keep out of errors."""
    return {
        value.strip()
        for body in raw.values()
        if isinstance(body, dict)
        for name, value in body.items()
        if name in SECRET_NAMES and isinstance(value, str) and len(value.strip()) >= 4
    }


# Something like a bot token (`123456789:AAH…`), wherever it was put by mistake.
_TOKEN_LIKE = re.compile(r"\d{3,20}:[A-Za-z0-9_-]{10,}")


def _shows_secret(value: object, secrets: set[str]) -> bool:
    text = str(value)
    return bool(_TOKEN_LIKE.search(text)) or any(secret in text for secret in secrets)


# pydantic's own errors, for the checks its types make.
_BUILT_IN = {
    "string_type": N_("must be a text value in quotes, not {value}"),
    "bool_type": N_("must be true or false, not {value}"),
    "int_type": N_("must be a whole number, not {value}"),
    "missing": N_("must be given"),
}


def _config_error(error: ErrorDetails, secrets: set[str]) -> ConfigError:
    """One pydantic error as our ConfigError: the dotted key (list positions left out:
    `campaign.slug`), our message id, and the value unless the key holds a secret or
    the value looks like one (a token pasted into the wrong key)."""
    found = _config_problem(error)
    if found.value != "" and _shows_secret(found.value, secrets):
        return ConfigError(
            found.key,
            N_("is not valid; its value is not shown, as it looks like a token or a secret"),
        )
    return found


def _config_problem(error: ErrorDetails) -> ConfigError:
    loc = [str(part) for part in error["loc"] if not isinstance(part, int)]
    kind, ctx = error["type"], error.get("ctx", {})
    if kind == _PROBLEM:
        key = ".".join([*loc, ctx["at"]] if ctx["at"] else loc)
        return ConfigError(key, ctx["problem"], ctx["value"])
    key = ".".join(loc)
    if kind == "extra_forbidden":
        return ConfigError(key, N_("unknown section") if len(loc) == 1 else N_("unknown key"))
    if loc[:1] == ["campaign"] and kind in ("list_type", "model_type"):
        return ConfigError("campaign", N_("must be [[campaign]] tables"))
    if kind == "model_type":
        return ConfigError(key, N_("must be a [section] table"))
    if loc[-1] in SECRET_NAMES:
        secret = N_("must be a text value in quotes") if kind == "string_type" else None
        return ConfigError(key, secret or N_("is not valid"))
    if kind in _BUILT_IN:
        return ConfigError(key, _BUILT_IN[kind], error.get("input", ""))
    return ConfigError(key, N_("is not valid"))


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


def _path(base: Path, text: str) -> Path:
    path = Path(text).expanduser()
    return path if path.is_absolute() else base / path
