"""Settings are read once, from the environment over `.env`; secrets never print."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings


def test_environment_wins_over_dotenv(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("# comment\nDATA_DIR=/srv/from-file\nexport LOG_LEVEL='debug'\n"
                      'TELEGRAM_BOT_TOKEN="123456:ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghij"\n')
    settings = load_settings({"DATA_DIR": "/srv/from-env"}, dotenv)
    assert settings.data_dir == Path("/srv/from-env")
    assert settings.log_level == "DEBUG"
    assert settings.telegram_api_url == "https://api.telegram.org"
    assert settings.database_path == Path("/srv/from-env/testimonies.db")


def test_secrets_never_print(tmp_path: Path) -> None:
    token = "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghij"
    settings = load_settings({"TELEGRAM_BOT_TOKEN": token, "SERVER_SECRET": "f" * 64}, None)
    for shown in (repr(settings), str(settings), str(settings.describe())):
        assert token not in shown and "f" * 64 not in shown
    assert settings.describe()["TELEGRAM_BOT_TOKEN"] == "(set)"
    assert settings.telegram_bot_token.value == token


def test_frozen() -> None:
    settings = load_settings({}, None)
    with pytest.raises(AttributeError):
        settings.demo = True  # type: ignore[misc]


@pytest.mark.parametrize(("name", "value"), [("DEMO", "maybe"), ("WEBHOOK_PORT", "99999"),
                                             ("SESSION_TTL_HOURS", "soon"),
                                             ("REMINDER_OFFER_AFTER", "soon"),
                                             ("REMINDER_OFFER_AFTER", "0")])
def test_bad_values_name_the_setting(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        load_settings({name: value}, None)


def test_the_quiet_offer_is_hours_or_off() -> None:
    assert load_settings({}, None).reminder_offer_after == timedelta(hours=2)
    assert load_settings({"REMINDER_OFFER_AFTER": ""}, None).reminder_offer_after == timedelta(
        hours=2)
    half = load_settings({"REMINDER_OFFER_AFTER": "0.5"}, None)
    assert half.reminder_offer_after == timedelta(minutes=30)
    assert half.describe()["REMINDER_OFFER_AFTER"] == "0.5"
    off = load_settings({"REMINDER_OFFER_AFTER": "OFF"}, None)
    assert off.reminder_offer_after is None and off.describe()["REMINDER_OFFER_AFTER"] == "off"


def test_env_example_lists_every_setting() -> None:
    example = (Path(__file__).resolve().parent.parent / ".env.example").read_text()
    names = {line.split("=")[0] for line in example.splitlines()
             if line and not line.startswith("#")}
    assert set(load_settings({}, None).describe()) == names
