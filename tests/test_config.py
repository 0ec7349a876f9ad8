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
