"""Configuration: defaults, environment, and one clear line for every mistake."""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import replace
from pathlib import Path

import pytest
from pydantic import BaseModel

from kernel import config
from kernel.config import ConfigError
from kernel.i18n import Translator
from tests.helpers import run_cli


def _load(tmp_path: Path, text: str | None, environ: dict[str, str] | None = None):
    path = None
    if text is not None:
        path = tmp_path / "wardbot.toml"
        path.write_text(text, encoding="utf-8")
    return config.load(path, environ or {})


def test_defaults_put_everything_under_the_data_dir(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = config.load(None, {})
    assert settings.data_dir == tmp_path / "wardbot-data"
    assert (
        settings.database_url == f"sqlite+aiosqlite:///{tmp_path / 'wardbot-data' / 'wardbot.db'}"
    )
    assert settings.keyring_path == tmp_path / "wardbot-data" / "keyring.json"
    assert settings.default_language == "vi"
    assert settings.timezone == "Asia/Ho_Chi_Minh"


EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.toml"


def _sections() -> dict[str, type[BaseModel]]:
    """The file's [section] models, by section name (not the [[campaign]] and
    [targets] tables)."""
    sections = {}
    for name, info in config.ConfigFile.model_fields.items():
        if isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel):
            sections[name] = info.annotation
    return sections


def test_the_example_documents_every_key_with_its_default() -> None:
    """Every field of every section model is in config.example.toml, with a comment
    above it (or above the keys just before it), at exactly the model's default; the
    file has no key the models lack."""
    text = EXAMPLE.read_text(encoding="utf-8")
    raw = tomllib.loads(text)
    sections = _sections()
    assert {"storage", "bot", "tips", "police", "telegram", "zalo", "links"} <= set(sections)
    assert set(raw) == set(sections)
    lines = text.splitlines()
    for section, model in sections.items():
        assert set(raw[section]) == set(model.model_fields), section
        for name, info in model.model_fields.items():
            stated = raw[section][name]
            assert stated == info.default and type(stated) in (type(info.default), int), (
                f"{section}.{name}: the example says {stated!r}, the code {info.default!r}"
            )
            start = lines.index(f"[{section}]")
            at = next(i for i in range(start, len(lines)) if lines[i].startswith(f"{name} = "))
            while re.match(r"\w+ = ", lines[at - 1]):
                at -= 1
            assert lines[at - 1].startswith("# "), f"{section}.{name} has no comment"


def _commented_table(header: str) -> str:
    """The commented-out example table that starts with `# {header}`, uncommented."""
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    at = lines.index(f"# {header}")
    block = [header]
    for line in lines[at + 1 :]:
        if not re.match(r"# [\w-]+ = ", line):
            break
        block.append(line.removeprefix("# "))
    return "\n".join(block) + "\n"


def test_the_examples_campaign_and_targets_are_valid_and_state_the_defaults(
    tmp_path: Path,
) -> None:
    campaign = _commented_table("[[campaign]]")
    entry = tomllib.loads(campaign)["campaign"][0]
    fields = config.CampaignEntry.model_fields
    for name in set(entry) & {"time", "content", "subscribers"}:
        assert entry[name] == fields[name].default, name
    text = EXAMPLE.read_text(encoding="utf-8")
    for name in fields:
        assert re.search(rf"#.*\b{name}\b", text), f"campaign.{name} is not documented"
    settings = _load(tmp_path, campaign + _commented_table("[targets.phu-lien]"))
    assert settings.campaigns[-1].slug == entry["slug"]
    assert settings.campaigns[-1].at_time == entry["time"]
    assert [t.year for t in settings.targets["phu-lien"]] == [2025, 2027, 2030]


def test_the_example_states_exactly_the_codes_defaults(tmp_path: Path) -> None:
    """config.example.toml, `load()` of an empty file and the Settings dataclass give
    the same settings: a default changed in one place and not the others fails here."""
    (tmp_path / "example.toml").write_text(EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "empty.toml").write_text("", encoding="utf-8")
    from_example = config.load(tmp_path / "example.toml", {})
    from_nothing = config.load(tmp_path / "empty.toml", {})
    assert replace(from_example, source=None) == replace(from_nothing, source=None)
    paths = {
        "data_dir": from_nothing.data_dir,
        "database_url": from_nothing.database_url,
        "keyring_path": from_nothing.keyring_path,
    }
    assert config.Settings(**paths) == replace(from_nothing, source=None)


def test_relative_paths_follow_the_config_file_and_env_wins(tmp_path: Path) -> None:
    settings = _load(tmp_path, '[storage]\ndata_dir = "var"\nkeyring = "secret/k.json"\n')
    assert settings.data_dir == tmp_path / "var"
    assert settings.keyring_path == tmp_path / "secret" / "k.json"
    env = {
        "WARDBOT_KEYRING": "/etc/wardbot/keys.json",
        "WARDBOT_DATABASE_URL": "postgresql+asyncpg://db/w",
    }
    settings = _load(tmp_path, '[storage]\ndata_dir = "var"\n', env)
    assert settings.keyring_path == Path("/etc/wardbot/keys.json")
    assert settings.database_url == "postgresql+asyncpg://db/w"


@pytest.mark.parametrize(
    ("text", "key", "fragment"),
    [
        ('[bot]\ntimezone = "Asia/Nowhere"\n', "bot.timezone", "time zone"),
        ('[bot]\ndefault_language = "fr"\n', "bot.default_language", "not supported"),
        ("[bot]\ntimezone = 7\n", "bot.timezone", "text value"),
        ('[bot]\ncolour = "red"\n', "bot.colour", "unknown key"),
        ('[telegraph]\ntoken = "x"\n', "telegraph", "unknown section"),
        ('bot = "x"\n', "bot", "section"),
        ('[log]\nlevel = "LOUD"\n', "log.level", "DEBUG"),
        (
            '[storage]\ndatabase_url = "postgresql://u:hunter2@db/w"\n',
            "storage.database_url",
            "async",
        ),
        ('[storage]\ndatabase_url = "mysql://db"\n', "storage.database_url", "must start"),
        ("[bot\n", "--config", "TOML"),
        ("[broadcasts]\nmonthly_day = 31\n", "broadcasts.monthly_day", "28"),
        ('[broadcasts]\nquiet_start = "9pm"\n', "broadcasts.quiet_start", "07:30"),
        ('[broadcasts]\ndefault_campaigns = "yes"\n', "broadcasts.default_campaigns", "true"),
        ('[[campaign]]\nslug = "Ngày CAND"\ndate = "19/8"\n', "campaign.slug", "lowercase"),
        ('[[campaign]]\nslug = "x"\ndate = "30/2"\n', "campaign.date", "19/8"),
        ('[[campaign]]\nslug = "x"\n', "campaign.month", "date or a month"),
        ('[[campaign]]\nslug = "x"\nmonth = 6\ncolour = 1\n', "campaign.colour", "unknown"),
        ('[[campaign]]\nslug = "june"\nmonth = 7\n', "campaign.slug", "same slug"),
        ('[campaign]\nslug = "x"\n', "campaign", "[[campaign]]"),
    ],
)
def test_each_mistake_names_its_key(tmp_path: Path, text: str, key: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, text)
    assert caught.value.key == key
    assert fragment in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_missing_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        config.load(tmp_path / "nope.toml", {})


def test_cli_prints_one_line_and_no_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[storage]\ndatabase_url = "postgresql://u:hunter2@db/w"\n', encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("WARDBOT_")}
    for language, expected in (("vi", "lỗi cấu hình"), ("en", "configuration error")):
        env["WARDBOT_LANG"] = language
        result = run_cli("--config", str(bad), "db", "upgrade", env=env, cwd=tmp_path)
        assert result.returncode == 2
        assert result.stdout == ""
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert expected in lines[0] and "storage.database_url" in lines[0]
        assert "Traceback" not in result.stderr and "hunter2" not in result.stderr


TOKEN = "123456789:AAH-secret-token_value"


def test_platforms_are_off_without_a_token_and_tokens_come_from_the_environment(
    tmp_path: Path,
) -> None:
    assert _load(tmp_path, None).channels == ()
    settings = _load(
        tmp_path,
        '[telegram]\napi_base = "http://127.0.0.1:8081/"\n',
        {"WARDBOT_TELEGRAM_TOKEN": TOKEN, "WARDBOT_ZALO_TOKEN": "zalo-token-1"},
    )
    assert [c.name for c in settings.channels] == ["telegram", "zalo"]
    assert settings.telegram is not None and settings.telegram.token == TOKEN
    assert settings.telegram.api_base == "http://127.0.0.1:8081"
    assert settings.telegram.mode == "polling"
    assert TOKEN not in repr(settings) and "zalo-token-1" not in repr(settings)


def test_webhook_mode_needs_a_url_and_a_secret_and_listens_on_the_url_path(
    tmp_path: Path,
) -> None:
    hook = '[telegram]\nmode = "webhook"\nwebhook_url = "https://bot.example.vn/hooks/tg"\n'
    env = {"WARDBOT_TELEGRAM_TOKEN": TOKEN}
    with pytest.raises(ConfigError) as missing:
        _load(tmp_path, hook, env)
    assert missing.value.key == "telegram.webhook_secret"
    with pytest.raises(ConfigError) as spaces:
        _load(tmp_path, hook, {**env, "WARDBOT_TELEGRAM_WEBHOOK_SECRET": "has space"})
    assert spaces.value.key == "telegram.webhook_secret"
    settings = _load(tmp_path, hook, {**env, "WARDBOT_TELEGRAM_WEBHOOK_SECRET": "s3cret_-x"})
    assert settings.telegram is not None and settings.telegram.webhook_path == "/hooks/tg"
    assert "s3cret_-x" not in repr(settings)
    with pytest.raises(ConfigError) as no_url:
        _load(tmp_path, '[zalo]\nmode = "webhook"\n', {"WARDBOT_ZALO_TOKEN": "zalo-token-1"})
    assert no_url.value.key == "zalo.webhook_url"


@pytest.mark.parametrize(
    ("text", "environ", "key"),
    [
        ('[telegram]\ntoken = "not a token"\n', {}, "telegram.token"),
        ('[telegram]\nmode = "push"\n', {"WARDBOT_TELEGRAM_TOKEN": TOKEN}, "telegram.mode"),
        ('[zalo]\napi_base = "ftp://x"\n', {"WARDBOT_ZALO_TOKEN": "t0ken"}, "zalo.api_base"),
        ("[server]\nport = 70000\n", {}, "server.port"),
        ('[server]\nmax_update_kb = "big"\n', {}, "server.max_update_kb"),
    ],
)
def test_channel_mistakes_name_their_key_never_the_token(
    tmp_path: Path, text: str, environ: dict[str, str], key: str
) -> None:
    with pytest.raises(ConfigError) as error:
        _load(tmp_path, text, environ)
    assert error.value.key == key
    assert "not a token" not in str(error.value) and TOKEN not in str(error.value)


def test_broadcast_limits_and_campaigns_from_the_file(tmp_path: Path) -> None:
    text = """
[telegram]
rate_per_second = 25
group_per_minute = 15
[zalo]
chat_per_second = 0.5
[broadcasts]
monthly_day = 3
monthly_time = "18:30"
default_campaigns = false
[[campaign]]
slug = "cand"
name = "Ngày Công an nhân dân"
date = "19/8"
subscribers = false
[[campaign]]
slug = "thang-12"
month = 12
time = "10:00"
content = "june"
"""
    env = {"WARDBOT_TELEGRAM_TOKEN": "1:a", "WARDBOT_ZALO_TOKEN": "2:b"}
    settings = _load(tmp_path, text, env)
    limits = {c.name: c.limits for c in settings.channels}
    assert (
        limits["telegram"].per_second,
        limits["telegram"].chat_per_second,
        limits["telegram"].group_per_minute,
    ) == (25.0, 1.0, 15)
    assert (limits["zalo"].per_second, limits["zalo"].chat_per_second) == (10.0, 0.5)
    assert (settings.monthly_day, settings.monthly_time) == (3, "18:30")
    cand, december = settings.campaigns  # the June and 26/6 defaults are off
    assert (cand.slug, cand.day, cand.month, cand.at_time, cand.subscribers) == (
        "cand",
        19,
        8,
        "08:00",
        False,
    )
    assert (december.day, december.month, december.content) == (None, 12, "june")
    defaults = _load(tmp_path, "", {}).campaigns
    assert [(c.slug, c.day, c.month, c.at_time) for c in defaults] == [
        ("june", None, 6, "09:00"),
        ("day-26-6", 26, 6, "08:00"),
    ]
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, "[telegram]\nrate_per_second = 0\n", env)
    assert caught.value.key == "telegram.rate_per_second" and "above 0" in str(caught.value)
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, '[zalo]\ngroup_per_minute = "many"\n', env)
    assert caught.value.key == "zalo.group_per_minute" and "1:a" not in str(caught.value)


def test_links_and_drug_free_targets_from_the_file(tmp_path: Path) -> None:
    from kernel.drug_free import Target

    settings = _load(
        tmp_path,
        '[links]\ntelegram_username = "@phulien_bot"\n'
        'zalo = "https://zalo.me/123"\n[targets.phu-lien]\n2027 = 0.6\n'
        "2025 = 0.30\n2026 = 23\n",
    )
    assert (settings.telegram_username, settings.zalo_link) == (
        "phulien_bot",
        "https://zalo.me/123",
    )
    assert settings.targets == {
        "phu-lien": (Target(2025, share=0.3), Target(2026, count=23), Target(2027, share=0.6))
    }
    for text, key in (
        ('[links]\ntelegram_username = "a b"\n', "links.telegram_username"),
        ('[links]\nzalo = "http://zalo.me/1"\n', "links.zalo"),
        ("[targets.phu-lien]\n2025 = 1.5\n", "targets.phu-lien.2025"),
        ("[targets.phu-lien]\n2025 = 0\n", "targets.phu-lien.2025"),
        ('[targets.phu-lien]\n2025 = "30%"\n', "targets.phu-lien.2025"),
        ("[targets.phu-lien]\nnext = 0.5\n", "targets.phu-lien.next"),
        ("[targets]\nphu-lien = 0.5\n", "targets"),
    ):
        with pytest.raises(ConfigError) as caught:
            _load(tmp_path, text)
        assert caught.value.key == key, text


def test_config_is_taken_after_the_command_as_well_as_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`wardbot run --config FILE` reads FILE as `wardbot --config FILE run` does; one
    given after the command wins over one given before it."""
    from bot import cli

    bad = tmp_path / "bad.toml"
    bad.write_text('[bot]\ntimezone = "Asia/Nowhere"\n', encoding="utf-8")
    good = tmp_path / "good.toml"
    good.write_text("", encoding="utf-8")
    for name in [k for k in os.environ if k.startswith("WARDBOT_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("WARDBOT_LANG", "en")
    for argv in (
        ["run", "--config", str(bad)],
        ["--config", str(bad), "run"],
        ["chat", "--user", "an", "--config", str(bad)],
        ["db", "upgrade", "--config", str(bad)],
        ["--config", str(good), "run", "--config", str(bad)],
    ):
        assert cli.main(argv) == 2, argv  # refused before anything starts
        err = capsys.readouterr().err
        assert "configuration error: bot.timezone" in err, (argv, err)
    parser = cli._parser(lambda text: text)
    assert parser.parse_args(["run"]).config is None
    assert parser.parse_args(["--config", str(good), "ward", "list"]).config == good
    assert parser.parse_args(["ward", "list", "--config", str(good)]).config == good


ZALO_TOKEN = "zalo-bot-secret-0042"


@pytest.mark.parametrize(
    ("text", "environ", "key"),
    [
        # A token pasted into the wrong key, with the token also set, or alone.
        (f'[telegram]\nmode = "{TOKEN}"\n', {"WARDBOT_TELEGRAM_TOKEN": TOKEN}, "telegram.mode"),
        (f'[links]\ntelegram_username = "{TOKEN}"\n', {}, "links.telegram_username"),
        (f'[bot]\ntimezone = "{TOKEN}"\n', {}, "bot.timezone"),
        (
            f'[zalo]\napi_base = "{ZALO_TOKEN}"\n',
            {"WARDBOT_ZALO_TOKEN": ZALO_TOKEN},
            "zalo.api_base",
        ),
        (
            f'[telegram]\nwebhook_url = "{TOKEN}"\nmode = "webhook"\n',
            {"WARDBOT_TELEGRAM_TOKEN": TOKEN},
            "telegram.webhook_url",
        ),
        (f'[bot]\ntokn = "{TOKEN}"\n', {}, "bot.tokn"),
        # A token or secret of the wrong type or form.
        ("[telegram]\ntoken = 123456789\n", {}, "telegram.token"),
        (f'[telegram]\ntoken = "{TOKEN} x"\n', {}, "telegram.token"),
        ("[zalo]\nwebhook_secret = 98765432\n", {}, "zalo.webhook_secret"),
        (
            '[telegram]\nmode = "webhook"\nwebhook_url = "https://bot.example.vn/tg"\n',
            {"WARDBOT_TELEGRAM_TOKEN": TOKEN, "WARDBOT_TELEGRAM_WEBHOOK_SECRET": "wrong secret!"},
            "telegram.webhook_secret",
        ),
        (
            '[zalo]\nmode = "webhook"\nwebhook_url = "https://bot.example.vn/z"\n',
            {"WARDBOT_ZALO_TOKEN": ZALO_TOKEN, "WARDBOT_ZALO_WEBHOOK_SECRET": "short!"},
            "zalo.webhook_secret",
        ),
        ('[storage]\ndatabase_url = "mysql://u:hunter2@db/w"\n', {}, "storage.database_url"),
        ("[storage]\ndatabase_url = 2\n", {}, "storage.database_url"),
    ],
)
def test_no_error_shows_a_token_or_secret(
    tmp_path: Path, text: str, environ: dict[str, str], key: str
) -> None:
    """Not in the message, nor in pydantic's `input_value` riding along as the cause or
    context of the error: the ValidationError is not kept."""
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, text, environ)
    error = caught.value
    assert error.key == key
    assert error.__cause__ is None and error.__context__ is None
    shown = " ".join((str(error), repr(error), repr(error.args), repr(error.value)))
    for secret in (
        TOKEN,
        ZALO_TOKEN,
        "wrong secret!",
        "short!",
        "98765432",
        "123456789",
        "hunter2",
    ):
        assert secret not in shown, (secret, shown)
    assert "input_value" not in shown and "pydantic" not in shown
    vi = Translator().get("vi").gettext
    assert vi(error.problem) != error.problem, f"untranslated: {error.problem}"


def test_the_cli_names_the_key_in_one_translated_line_without_the_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot import cli

    bad = tmp_path / "bad.toml"
    bad.write_text(f'[telegram]\nmode = "{TOKEN}"\n', encoding="utf-8")
    for name in [k for k in os.environ if k.startswith("WARDBOT_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("WARDBOT_TELEGRAM_TOKEN", TOKEN)
    monkeypatch.setenv("WARDBOT_LANG", "vi")
    assert cli.main(["--config", str(bad), "db", "upgrade"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.strip().splitlines()
    with pytest.raises(ConfigError) as caught:
        config.load(bad, {"WARDBOT_TELEGRAM_TOKEN": TOKEN})
    vi = Translator().get("vi").gettext
    problem = vi(caught.value.problem).format(value=caught.value.value)
    assert line == f"wardbot: lỗi cấu hình: telegram.mode: {problem}", line
    assert TOKEN not in line and problem != caught.value.problem


@pytest.mark.parametrize("section", sorted(_sections()))
def test_an_unknown_key_is_refused_in_every_section(tmp_path: Path, section: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, f"[{section}]\nfavourite_colour = 1\n")
    assert caught.value.key == f"{section}.favourite_colour"
    assert caught.value.problem == "unknown key"


@pytest.mark.parametrize(
    ("text", "key", "fragment"),
    [
        ("[tips]\nper_hour = 0\n", "tips.per_hour", "1–1000"),
        ("[tips]\nper_hour = true\n", "tips.per_hour", "whole number"),
        ("[tips]\nper_hour = 5.0\n", "tips.per_hour", "whole number"),
        ("[tips]\nper_hour = 9\nper_day = 8\n", "tips.per_day", "tips.per_hour (9)"),
        ("[police]\ntip_view_seconds = -1\n", "police.tip_view_seconds", "0–86400"),
        ('[police]\ndigest_time = "24:00"\n', "police.digest_time", "07:30"),
        ('[links]\nzalo = "https://"\n', "links.zalo", "https://"),
        ('[telegram]\napi_base = "api.telegram.org"\n', "telegram.api_base", "http(s)"),
        ("[telegram]\nchat_per_second = 101\n", "telegram.chat_per_second", "100"),
        ("[broadcasts]\ndefault_campaigns = 1\n", "broadcasts.default_campaigns", "true or"),
        ('[[campaign]]\nslug = "x"\nmonth = 13\n', "campaign.month", "date or a month"),
        ("[[campaign]]\nmonth = 6\n", "campaign.slug", "given"),
        ('[[campaign]]\nslug = "x"\nmonth = 6\ntime = "8:00"\n', "campaign.time", "07:30"),
        ("campaign = [1]\n", "campaign", "[[campaign]]"),
        ("targets = 3\n", "targets", "[targets.WARD-CODE]"),
    ],
)
def test_each_check_of_the_models_names_its_key(
    tmp_path: Path, text: str, key: str, fragment: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, text)
    assert caught.value.key == key
    assert fragment in str(caught.value), str(caught.value)


def test_the_models_are_frozen_and_blank_values_mean_the_default(tmp_path: Path) -> None:
    from pydantic import ValidationError

    file = config.ConfigFile()
    with pytest.raises(ValidationError):
        file.tips.per_hour = 50  # type: ignore[misc]
    settings = _load(
        tmp_path,
        '[server]\nhost = " "\n[telegram]\napi_base = ""\n',
        {"WARDBOT_TELEGRAM_TOKEN": TOKEN},
    )
    assert settings.server_host == "127.0.0.1"
    assert settings.telegram is not None and settings.telegram.api_base == config.TELEGRAM_API
    assert "token" not in repr(config.ConfigFile.model_validate({"telegram": {"token": TOKEN}}))


def test_readme_lists_exactly_the_environment_variables_the_code_reads() -> None:
    readme = (EXAMPLE.parent / "README.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `([a-z_]+\.[a-z_]+)` \| `(WARDBOT_[A-Z_]+)` \|$", readme, re.M))
    assert rows == config.ENV
    example = EXAMPLE.read_text(encoding="utf-8")
    for key, name in config.ENV.items():
        assert f"Env: {name}" in example, f"config.example.toml does not name {name} ({key})"
