"""A whole conversation by long polling with logging at DEBUG, set up as `testimony-bot run`
sets it up: no record and no line of output carries an answer, a name, a user id, a phone
number or a token (polling has requests and loggers of its own: getUpdates, PTB's updater).
The same by webhook, and on WhatsApp, is in tests/test_channel_contract.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.engine import Script
from bot.i18n import Translator
from storage.server_keys import ServerKeys
from storage.store import Store
from tests.channel_harness import Recorder, debug_logging  # noqa: F401 - a fixture
from tests.conftest import Clock
from tests.fakes.updates import TgUser
from tests.telegram_support import TOKEN, fake_bot_api, make_orchestrator, telegram_bot

PERSON = TgUser(8_100_200_377, "Maricel", language_code="en", username="maricel_ofw",
                last_name="Santos")
STORY = "They kept my passport at Sunrise Farm for eleven months"
RECOMMENDATION = "Contracts in Tagalog please"


async def test_no_log_line_carries_anything_personal_when_polling(
        debug_logging: Recorder, capsys: pytest.CaptureFixture[str],  # noqa: F811
        mini_script: Script, store: Store, server_keys: ServerKeys, translator: Translator,
        clock: Clock, db_path: Path) -> None:
    orchestrator = make_orchestrator(mini_script, store, server_keys, translator, clock)
    async with fake_bot_api(clock) as api, telegram_bot(
            api, orchestrator, db_path.parent, clock=clock) as bot:
        await bot.text(PERSON, "/start wimn26")
        for _ in range(3):
            await bot.press(PERSON, "Yes")
        await bot.send(bot.updates.contact(PERSON, "+33612345678"))
        await bot.press(PERSON, "Care work")
        await bot.press(PERSON, "Wages")
        await bot.press(PERSON, "Done")
        await bot.text(PERSON, "11")
        api.add_file("voice-9", b"OggS" + b"\x01" * 5000)
        await bot.send(bot.updates.voice(PERSON, "voice-9", duration=31, size=5004))
        await bot.text(PERSON, RECOMMENDATION)
        await bot.text(PERSON, STORY)  # after the end: still not logged
        await bot.text(PERSON, "/exit")
    output = capsys.readouterr().err
    lines = debug_logging.lines
    assert any("answer_stored" in line for line in lines)  # logging did happen, at DEBUG
    assert "answer_stored" in output
    forbidden = [STORY, "Sunrise", RECOMMENDATION, "Maricel", "Santos", "maricel_ofw",
                 str(PERSON.id), "612345678", TOKEN, TOKEN.split(":")[1], "wimn26"]
    ours = [line for line in lines if not line.startswith("tests.")]  # not the fake's own
    for needle in forbidden:
        assert not [line for line in ours if needle in line], needle
        assert needle not in output, needle  # every line, the fake's too, as printed
