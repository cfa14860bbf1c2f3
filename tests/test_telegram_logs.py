"""A whole conversation with logging at DEBUG, set up as `testimony-bot run` sets it up: no
record and no line of output carries an answer, a name, a user id, a phone number or a token."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.engine import Script
from bot.i18n import Translator
from bot.logsetup import configure_logging
from storage.server_keys import ServerKeys
from storage.store import Store
from tests.conftest import Clock
from tests.fakes.updates import TgUser
from tests.telegram_support import TOKEN, fake_bot_api, make_orchestrator, telegram_bot

PERSON = TgUser(8_100_200_377, "Maricel", language_code="en", username="maricel_ofw",
                last_name="Santos")
STORY = "They kept my passport at Sunrise Farm for eleven months"
RECOMMENDATION = "Contracts in Tagalog please"


class Recorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        self.lines.append(f"{record.name} {text}")


@pytest.fixture
def debug_logging(capsys: pytest.CaptureFixture[str]) -> Iterator[Recorder]:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    names = ("telegram", "aiosqlite", "httpx", "httpcore", "telegram.ext.Updater",
             "tornado.access", "apscheduler")
    levels = {name: logging.getLogger(name).level for name in names}
    configure_logging("DEBUG")  # as the CLI does with LOG_LEVEL=DEBUG (into capsys' stderr)
    recorder = Recorder()
    root.addHandler(recorder)
    try:
        yield recorder
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


@pytest.mark.parametrize("webhook", [False, True], ids=["polling", "webhook"])
async def test_no_log_line_carries_anything_personal(
        debug_logging: Recorder, capsys: pytest.CaptureFixture[str], mini_script: Script,
        store: Store, server_keys: ServerKeys, translator: Translator, clock: Clock,
        db_path: Path, webhook: bool) -> None:
    orchestrator = make_orchestrator(mini_script, store, server_keys, translator, clock)
    async with fake_bot_api(clock) as api, telegram_bot(
            api, orchestrator, db_path.parent, webhook=webhook, clock=clock) as bot:
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
        secret = api.webhook.secret_token
    output = capsys.readouterr().err
    lines = debug_logging.lines
    assert any("answer_stored" in line for line in lines)  # logging did happen, at DEBUG
    assert "answer_stored" in output
    forbidden = [STORY, "Sunrise", RECOMMENDATION, "Maricel", "Santos", "maricel_ofw",
                 str(PERSON.id), "612345678", TOKEN, TOKEN.split(":")[1], "wimn26"]
    if secret:
        forbidden.append(secret)
    ours = [line for line in lines if not line.startswith("tests.")]  # not the fake's own
    for needle in forbidden:
        assert not [line for line in ours if needle in line], needle
        assert needle not in output, needle  # every line, the fake's too, as printed
