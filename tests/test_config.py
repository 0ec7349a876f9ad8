"""Configuration: defaults, environment, and one clear line for every mistake."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from kernel import config
from kernel.config import ConfigError
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


def test_example_config_is_valid_and_documents_every_key(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parent.parent / "config.example.toml"
    settings = config.load(example, {})
    assert settings.default_language == "vi"
    text = example.read_text(encoding="utf-8")
    for section, keys in config._KNOWN.items():
        assert f"[{section}]" in text
        for key in keys:
            assert f"\n{key} = " in text, f"{section}.{key} is not documented"


def test_the_example_states_exactly_the_codes_defaults(tmp_path: Path) -> None:
    """config.example.toml, `load()` of an empty file and the Settings dataclass give
    the same settings: a default changed in one place and not the others fails here."""
    example = Path(__file__).resolve().parent.parent / "config.example.toml"
    (tmp_path / "example.toml").write_text(example.read_text(encoding="utf-8"), encoding="utf-8")
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
    assert (limits["telegram"].per_second, limits["telegram"].chat_per_second,
            limits["telegram"].group_per_minute) == (25.0, 1.0, 15)  # fmt: skip
    assert (limits["zalo"].per_second, limits["zalo"].chat_per_second) == (10.0, 0.5)
    assert (settings.monthly_day, settings.monthly_time) == (3, "18:30")
    cand, december = settings.campaigns  # the June and 26/6 defaults are off
    assert (cand.slug, cand.day, cand.month, cand.at_time, cand.subscribers) == (
        "cand", 19, 8, "08:00", False)  # fmt: skip
    assert (december.day, december.month, december.content) == (None, 12, "june")
    defaults = _load(tmp_path, "", {}).campaigns
    assert [(c.slug, c.day, c.month, c.at_time) for c in defaults] == [
        ("june", None, 6, "09:00"), ("day-26-6", 26, 6, "08:00")]  # fmt: skip
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, "[telegram]\nrate_per_second = 0\n", env)
    assert caught.value.key == "telegram.rate_per_second" and "above 0" in str(caught.value)
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, '[zalo]\ngroup_per_minute = "many"\n', env)
    assert caught.value.key == "zalo.group_per_minute" and "1:a" not in str(caught.value)


def test_links_and_drug_free_targets_from_the_file(tmp_path: Path) -> None:
    from kernel.drug_free import Target

    settings = _load(tmp_path, '[links]\ntelegram_username = "@phulien_bot"\n'
                     'zalo = "https://zalo.me/123"\n[targets.phu-lien]\n2027 = 0.6\n'
                     '2025 = 0.30\n2026 = 23\n')  # fmt: skip
    assert (settings.telegram_username, settings.zalo_link) == (
        "phulien_bot",
        "https://zalo.me/123",
    )
    assert settings.targets == {"phu-lien": (Target(2025, share=0.3), Target(2026, count=23),
                                             Target(2027, share=0.6))}  # fmt: skip
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
