"""On Telegram, a question asked again leaves its first copy on screen: people scroll up and
press it. It must work there as in the newest copy, never say the question has passed."""

from __future__ import annotations

from pathlib import Path

from bot.engine import Script
from bot.i18n import Translator
from storage.server_keys import ServerKeys
from storage.store import Store
from tests.conftest import Clock
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.updates import TgUser
from tests.telegram_support import make_orchestrator, script_with_languages, telegram_bot

RUTH = TgUser(8_100_200_555, "Ruth", language_code="en")
THEMES = "Which of these would you like to talk about?"


def copies(api: FakeBotApi, chat_id: int, text: str) -> list[dict[str, object]]:
    return [m for m in api.messages(chat_id) if str(m.get("text", "")).startswith(text)]


def button_data(message: dict[str, object], label: str) -> str:
    markup = message["reply_markup"]
    assert isinstance(markup, dict)
    for row in markup["inline_keyboard"]:
        for button in row:
            if label in button["text"]:
                return str(button["callback_data"])
    raise AssertionError(f"no button {label!r}")


async def test_the_first_copy_of_a_question_asked_again_still_works(
        api: FakeBotApi, default_script: Script, store: Store, server_keys: ServerKeys,
        translator: Translator, clock: Clock, db_path: Path) -> None:
    script = script_with_languages(default_script, ("en", "sw"))
    orchestrator = make_orchestrator(script, store, server_keys, translator, clock)
    async with telegram_bot(api, orchestrator, db_path.parent, clock=clock) as bot:
        await bot.text(RUTH, "/start")
        for label in ("English", "Yes, I agree", "Yes, 18 or older", "Yes, you may quote me",
                      "Woman", "25-34", "East Africa", "Europe", "Care and domestic work"):
            await bot.press(RUTH, label)
        await bot.text(RUTH, "wages please")  # typed: the question is asked again below
        first, newest = copies(api, RUTH.id, THEMES)
        for label in ("Work and pay", "Done"):  # scrolled up: both presses on the first copy
            update = bot.updates.callback(RUTH, int(str(first["message_id"])),
                                          button_data(first, label))
            await bot.send(update)
            answer = api.callback_answers[update["callback_query"]["id"]]
            assert "passed" not in str(answer.get("text", "")), label
            if label == "Work and pay":  # the tick shows where the person pressed
                pressed = api.message(RUTH.id, int(str(first["message_id"])))
                assert pressed is not None
                assert button_data(pressed, "✓ Work and pay")
        assert "paid less" in bot.last_text(RUTH.id)  # the wages questions came next
        assert newest["message_id"] != first["message_id"]
        assert not api.internal_errors
