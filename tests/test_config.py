"""Configuration: defaults, environment, and one clear line for every mistake."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot import config
from bot.config import ConfigError
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
