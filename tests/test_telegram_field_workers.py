"""Field workers on Telegram: /newlink makes a t.me link and its QR code, people arrive through
it (by link, typed code, or after it ended), and /stats shows masked figures — never who.
That only field workers have the commands, and that an expired link still starts the bot, is
checked on both channels in tests/test_channel_contract.py."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from bot.engine import Script
from bot.i18n import Translator
from storage.server_keys import ServerKeys
from storage.store import Store
from tests.conftest import Clock
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.updates import TgUser
from tests.telegram_support import (
    TelegramBot,
    make_orchestrator,
    script_with_languages,
    telegram_bot,
)

WORKER = TgUser(7_000_111, "Field", language_code="en")


@pytest.fixture
def script(mini_script: Script) -> Script:
    return script_with_languages(mini_script, ("en", "ar"))


async def make_link(bot: TelegramBot) -> str:
    await bot.text(WORKER, "/newlink")
    assert "Which campaign" in bot.last_text(WORKER.id)
    await bot.text(WORKER, "imrf-2022")
    await bot.text(WORKER, "WIMN Beirut")
    await bot.text(WORKER, "Bourj Hammoud")
    assert "Which time zone" in bot.last_text(WORKER.id)
    await bot.text(WORKER, "asia/beirut")  # typed, in any case
    assert "Which language" in bot.last_text(WORKER.id)
    await bot.text(WORKER, "klingon")
    assert "I do not know that language code" in bot.last_text(WORKER.id)
    await bot.text(WORKER, "ar")
    ready = bot.last_text(WORKER.id)
    url = re.search(r"https://t\.me/\S+", ready)
    assert url is not None
    code = url.group(0).rsplit("=", 1)[1]
    (photo,) = bot.api.sent_photos(WORKER.id)
    (decoded,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(photo)))
    assert decoded.text == url.group(0) == f"https://t.me/testimony_test_bot?start={code}"
    return code


async def agree(bot: TelegramBot, user: TgUser) -> None:
    await bot.press(user, "English")
    for _ in range(3):
        await bot.press(user, "Yes")


def figures(text: str, code: str) -> str:
    block = next(part for part in text.split("\n\n") if part.startswith(code))
    return block


async def test_links_made_in_telegram_and_their_masked_funnel(
        api: FakeBotApi, script: Script, store: Store, server_keys: ServerKeys,
        translator: Translator, clock: Clock, db_path: Path) -> None:
    orchestrator = make_orchestrator(script, store, server_keys, translator, clock)
    async with telegram_bot(api, orchestrator, db_path.parent, clock=clock,
                            field_workers=(WORKER.id,)) as bot:
        code = await make_link(bot)
        people = [TgUser(9_000_000 + n, f"P{n}", language_code="en") for n in range(9)]
        for n, person in enumerate(people):
            if n == 8:
                await bot.text(person, code.upper())  # typed, as under the QR code
            else:
                await bot.text(person, f"/start {code}")
            assert bot.buttons(person.id)[1] == "✓ العربية"  # the link's preset language
            if n == 0:
                await bot.press(person, "English")
                await bot.press(person, "No")  # declines
                continue
            await agree(bot, person)
            await bot.press(person, "Care work")
            if n == 1:
                await bot.text(person, "/delete")
                await bot.press(person, "Yes, delete everything")
                continue
            await bot.press(person, "Skip")  # themes
            await bot.press(person, "Skip")  # recommendation: the end
        await bot.text(WORKER, "/stats")
        stats = figures(bot.last_text(WORKER.id), code)
        assert "imrf-2022, WIMN Beirut, Bourj Hammoud (active)" in stats
        assert "opened 9, chose a language 9, agreed 8, declined <5" in stats
        assert "finished 7, deleted <5" in stats and "under 18 <5" in stats
        assert "reminders: asked <5, sent <5, went on after one <5" in stats

        # The link ends; a newcomer is still welcomed, and counted apart.
        assert await store.links.disable(code)
        late = TgUser(9_100_000, "Late", language_code="en")
        await bot.text(late, f"/start {code}")
        await agree(bot, late)
        await bot.text(WORKER, "/stats")
        stats = figures(bot.last_text(WORKER.id), code)
        assert "(ended)" in stats
        assert "after the link ended: opened <5, agreed <5, finished <5" in stats
        assert "opened 9" in stats

