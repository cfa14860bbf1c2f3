"""Telegram on PostgreSQL, before consent: three webhook workers, a person's presses reaching
whichever, the language choice and the consent items carried in the buttons' own data (within
Telegram's 64 bytes, which the fake API enforces); an altered button is answered kindly;
nothing is in the database until she agrees."""

from __future__ import annotations

from pathlib import Path

from bot import button_state
from bot.i18n import Translator
from storage.keys import KeyPair
from storage.server_keys import ServerKeys
from tests.conftest import TEST_FLOWS, Clock, make_script
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.updates import TgUser
from tests.store_backends import Backend
from tests.test_postgres_telegram import webhook_workers

NADIA = TgUser(8_100_200_777, "Nadia", language_code="en")
GREETING = "Hello! Which language would you like to use?"


async def test_presses_before_consent_go_on_at_any_worker_and_store_nothing(
    api: FakeBotApi, postgres_url: str, translator: Translator, server_keys: ServerKeys,
    clock: Clock, tmp_path: Path, researcher: KeyPair,
) -> None:
    script = make_script(translator, TEST_FLOWS / "mini.toml", TEST_FLOWS / "consent.toml",
                         ("en", "fr", "es"))
    database = Backend("postgres", postgres_url, tmp_path / "unused.db")
    async with webhook_workers(api, postgres_url, script, server_keys, translator, clock,
                               tmp_path, researcher, count=3) as bots:
        first, second, third = bots
        updates = first.updates

        await first.text(NADIA, "/start")
        assert first.last_text(NADIA.id) == GREETING
        picker, data = first.button(NADIA.id, "Français")
        assert data.startswith(button_state.PREFIX) and len(data.encode()) <= 64
        clock.advance(seconds=3)
        await second.press(NADIA, "Français")  # a worker that never saw her
        assert second.last_text(NADIA.id) == "Acceptez-vous de participer ?"
        shown = next(m for m in api.messages(NADIA.id) if m["message_id"] == picker)
        assert not shown.get("reply_markup"), "the pressed picker is settled"
        clock.advance(seconds=3)
        await first.press(NADIA, "Yes")  # the worker that drew the picker: an older memory
        assert "Are you 18 or older?" in first.last_text(NADIA.id)

        # An altered button: a worker that never saw her greets her; one that did says the
        # question has passed. Nothing breaks, nothing is stored.
        message_id, data = first.button(NADIA.id, "Yes")
        token, position = data.rsplit(":", 1)
        at = len(token) // 2
        altered = f"{token[:at]}{'A' if token[at] != 'A' else 'B'}{token[at + 1:]}:{position}"
        clock.advance(seconds=3)
        await third.send(updates.callback(NADIA, message_id, altered))
        assert third.last_text(NADIA.id) == GREETING
        clock.advance(seconds=3)
        await first.send(updates.callback(NADIA, message_id, altered))
        toasts = [c.params.get("text") for c in api.calls_to("answerCallbackQuery")]
        assert toasts[-1] == "Cette question est déjà passée."
        for table in ("respondents", "records", "sessions", "channel_messages"):
            assert database.count(table) == 0, table

        clock.advance(seconds=3)
        await third.send(updates.callback(NADIA, message_id, data))  # her own button
        assert "May we quote you?" in third.last_text(NADIA.id)
        assert database.count("respondents") == 0
        clock.advance(seconds=3)
        await second.press(NADIA, "Yes")
        assert "Where do you work?" in second.last_text(NADIA.id)
        assert database.count("respondents") == 1
