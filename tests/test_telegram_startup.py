"""Running the bot: start-up errors that say what to fix, the command menu in every language,
the person's language from Telegram, the webhook's secret, and a graceful shutdown of the real
`testimony-bot run` process on SIGTERM."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest

from bot.channels.telegram.app import TelegramService, run_telegram, serve
from bot.config import ConfigError, Secret
from bot.engine import Script
from bot.i18n import Translator
from bot.orchestrator import Orchestrator
from storage.keys import KeyPair, encode_public
from storage.server_keys import ServerKeys
from storage.store import Store
from tests.conftest import Clock
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.updates import TgUser
from tests.telegram_support import (
    TOKEN,
    make_orchestrator,
    run_env,
    run_until,
    script_with_languages,
    settings_for,
    telegram_bot,
)

AMINA = TgUser(8_100_200_300, "Amina", language_code="sw")


@pytest.fixture
def orchestrator(default_script: Script, store: Store, server_keys: ServerKeys,
                 translator: Translator, clock: Clock) -> Orchestrator:
    script = script_with_languages(default_script, ("en", "sw", "ar"))
    return make_orchestrator(script, store, server_keys, translator, clock)


# -- start-up errors ------------------------------------------------------------------------
def test_a_malformed_token_is_refused_before_anything_runs(api: FakeBotApi,
                                                           tmp_path: Path) -> None:
    settings = dataclasses.replace(settings_for(api, tmp_path),
                                   telegram_bot_token=Secret("not-a-token"))
    with pytest.raises(ConfigError, match="does not look like a bot token"):
        run_telegram(settings)
    assert not api.calls


async def test_a_rejected_token_says_so_without_showing_it(
        clock: Clock, orchestrator: Orchestrator, tmp_path: Path) -> None:
    async with FakeBotApi(valid_token="987654321:" + "Z" * 35,
                          clock=lambda: clock().timestamp()) as api:
        service = TelegramService(settings_for(api, tmp_path), orchestrator)
        with pytest.raises(ConfigError, match="rejected TELEGRAM_BOT_TOKEN") as error:
            await service.start()
        assert TOKEN not in str(error.value) and TOKEN.split(":")[1] not in str(error.value)


async def test_an_unreachable_bot_api_is_named(orchestrator: Orchestrator,
                                               tmp_path: Path, api: FakeBotApi) -> None:
    settings = dataclasses.replace(settings_for(api, tmp_path),
                                   telegram_api_url="http://127.0.0.1:9")  # discard port
    with pytest.raises(ConfigError, match="Cannot reach the Bot API"):
        await TelegramService(settings, orchestrator).start()


async def test_missing_keys_and_an_unwritable_database_are_explained(
        api: FakeBotApi, tmp_path: Path) -> None:
    settings = settings_for(api, tmp_path / "data")
    with pytest.raises(ConfigError, match="No researcher public key"):
        await serve(settings)
    keyed = dataclasses.replace(
        settings, recipient_public_keys=encode_public(KeyPair.generate().public))
    with pytest.raises(ConfigError, match="No server secret is configured"):
        await serve(keyed)
    (tmp_path / "a-file").write_text("")
    unwritable = dataclasses.replace(keyed, server_secret=Secret("ab" * 32),
                                     data_dir=tmp_path / "a-file" / "data")
    with pytest.raises(ConfigError, match="Check DATA_DIR"):
        await serve(unwritable)
    assert not api.calls  # nothing reached Telegram


def test_a_webhook_url_must_be_https(api: FakeBotApi, tmp_path: Path) -> None:
    settings = dataclasses.replace(settings_for(api, tmp_path),
                                   webhook_url="http://bot.example.org/hook")
    with pytest.raises(ConfigError, match="https"):
        run_telegram(settings)


# -- menu and language ----------------------------------------------------------------------
async def test_the_command_menu_is_set_in_every_language(
        api: FakeBotApi, orchestrator: Orchestrator, db_path: Path,
        translator: Translator) -> None:
    async with telegram_bot(api, orchestrator, db_path.parent):
        default = [c["command"] for c in api.commands()]
        assert default == ["help", "skip", "back", "stop", "language", "delete", "exit"]
        for language in translator.languages:
            assert [c["command"] for c in api.commands(language_code=language[:2])] == default


@pytest.mark.parametrize(("code", "preselected"), [
    ("sw", "Kiswahili"), ("ar-EG", "العربية"), ("pt-br", "English"), (None, "English")])
async def test_telegram_language_code_picks_the_starting_language(
        api: FakeBotApi, orchestrator: Orchestrator, db_path: Path, code: str | None,
        preselected: str) -> None:
    person = dataclasses.replace(AMINA, language_code=code)
    async with telegram_bot(api, orchestrator, db_path.parent, webhook=True) as bot:
        await bot.text(person, "/start")
        assert bot.buttons(person.id) == [
            f"✓ {name}" if name == preselected else name
            for name in ("English", "Kiswahili", "العربية")]  # each by its own name


# -- webhook --------------------------------------------------------------------------------
async def test_the_webhook_takes_only_requests_with_the_secret(
        api: FakeBotApi, orchestrator: Orchestrator, db_path: Path) -> None:
    async with telegram_bot(api, orchestrator, db_path.parent, webhook=True) as bot:
        secret = api.webhook.secret_token
        assert len(secret) >= 32 and api.webhook.url.endswith("/tg/hook")
        update = bot.updates.text(AMINA, "/start")
        assert (await bot.post(update, secret="wrong")).status_code == 403
        assert (await bot.post(update, headers={})).status_code == 403  # no header at all
        not_json = await bot._http.post(  # never parsed without the secret: 403, not 400
            f"http://127.0.0.1:{bot.service.webhook.port}/tg/hook", content=b"{not json",
            headers={"X-Telegram-Bot-Api-Secret-Token": "wrong",
                     "Content-Type": "application/json"})
        assert not_json.status_code == 403
        assert bot.channel.handled == 0 and not api.calls_to("sendMessage")
        garbled = await bot._http.post(
            f"http://127.0.0.1:{bot.service.webhook.port}/tg/hook", content=b"{not json",
            headers={"X-Telegram-Bot-Api-Secret-Token": secret,
                     "Content-Type": "application/json"})
        assert garbled.status_code == 400
        assert (await bot.post(update)).status_code == 200
        assert bot.channel.handled == 1 and api.calls_to("sendMessage")


# -- the real process -----------------------------------------------------------------------
async def test_sigterm_finishes_what_is_in_flight_and_closes_cleanly(
        api: FakeBotApi, tmp_path: Path) -> None:
    pair = KeyPair.generate()
    env = run_env(api, tmp_path / "data", pair, "cd" * 32, LOG_LEVEL="INFO")

    async def one_update_fetched() -> None:
        while not api.calls_to("getUpdates"):  # noqa: ASYNC110 - the fake is in this loop
            await asyncio.sleep(0.05)
        from tests.fakes.updates import UpdateFactory

        api.push_update(UpdateFactory(api).text(AMINA, "/start wimn26"))
        while api.pending_updates:  # noqa: ASYNC110 - fetched (and confirmed) by the bot
            await asyncio.sleep(0.001)

    returncode, out, err = await run_until(tmp_path, env, one_update_fetched)
    assert returncode == 0, err.decode()[-2000:]
    assert b"running on Telegram (polling)" in out
    assert [c.status for c in api.calls_to("sendMessage")][:1] == [200]  # it was answered
    assert b"telegram_stopped" in err and TOKEN.encode() not in err
    assert not (tmp_path / "data" / "testimonies.db-wal").exists() or \
        (tmp_path / "data" / "testimonies.db-wal").stat().st_size == 0
