"""A whole testimony on Telegram by long polling, end to end: real PTB Application, real update
JSON, the fake Bot API over HTTP, the real store; the researcher's key opens exactly those
answers. What is Telegram's own is checked on the way: clean-as-you-go edits, check marks on
multi-choice keyboards. The same conversation by webhook, and on WhatsApp, is in
tests/test_channel_contract.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.engine import Script
from bot.i18n import Translator
from storage.keys import KeyPair
from storage.server_keys import ServerKeys
from storage.store import Store
from tests.conftest import Clock
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.updates import TgUser
from tests.telegram_support import (
    TelegramBot,
    make_orchestrator,
    opened_testimonies,
    script_with_languages,
    telegram_bot,
)

AMINA = TgUser(8_100_200_300, "Amina", language_code="en", username="amina_w")
VOICE = b"OggS\x00\x02" + bytes(range(256)) * 40  # stands in for an opus voice note


@pytest.fixture
def two_languages(default_script: Script) -> Script:
    return script_with_languages(default_script, ("en", "sw"))


async def walk_the_questionnaire(bot: TelegramBot, user: TgUser, code: str = "wimn26") -> None:
    await bot.text(user, "/start " + code)
    assert bot.buttons(user.id) == ["✓ English", "Kiswahili"]  # by their own names
    await bot.press(user, "English")
    await bot.press(user, "Yes, I agree")
    await bot.press(user, "Yes, 18 or older")
    await bot.press(user, "Yes, you may quote me")
    for label in ("Woman", "25-34", "East Africa", "Europe", "Care and domestic work"):
        await bot.press(user, label)
    await bot.press(user, "Work and pay")  # multi-choice: toggles with check marks
    await bot.press(user, "Health care")
    assert [b for b in bot.buttons(user.id) if b.startswith("✓")] == [
        "✓ Work and pay, including wages not paid", "✓ Health care and vaccines"]
    await bot.press(user, "Health care")  # and off again
    await bot.press(user, "Done")
    await bot.press(user, "Sometimes")
    await bot.press(user, "No")
    bot.api.add_file("voice-1", VOICE)
    await bot.send(bot.updates.voice(user, "voice-1", duration=14, size=len(VOICE)))
    await bot.text(user, "Pay us what we earn, on time.")


async def test_a_whole_testimony_by_polling_is_sealed_with_its_campaign(
        api: FakeBotApi, two_languages: Script, store: Store, server_keys: ServerKeys,
        translator: Translator, clock: Clock, db_path: Path, researcher: KeyPair) -> None:
    orchestrator = make_orchestrator(two_languages, store, server_keys, translator, clock)
    link = await store.links.create(campaign="wimn26", partner="p", region="r", now=clock())
    async with telegram_bot(api, orchestrator, db_path.parent, clock=clock) as bot:
        await walk_the_questionnaire(bot, AMINA, link.code)
        assert "Thank you for sharing your experience" in bot.texts(AMINA.id)[-2]
        answered = [m for m in api.messages(AMINA.id) if "How do you describe" in m["text"]]
        # Clean as you go (the default): the question shows it was answered, not the answer.
        assert answered[0]["text"].endswith("→ Answered") and "reply_markup" not in answered[0]
        assert not [m for m in api.messages(AMINA.id) if "Woman" in m["text"]]
        assert not api.internal_errors

    [testimony] = opened_testimonies(db_path, researcher)
    assert testimony.campaign == link.campaign
    assert testimony.consent is not None and testimony.consent.items == {
        "take_part": True, "adult": True, "quote": True}
    answers = {a.question_id: a for a in testimony.answers}
    assert {q: a.header.get("value") for q, a in answers.items() if q != "wages_story"} == {
        "gender": ["woman"], "age_band": ["25_34"], "origin_region": ["africa_east"],
        "living_region": ["europe"], "sector": ["care_domestic"], "themes": ["wages"],
        "wages_paid_less": ["sometimes"], "wages_contract": ["no"],
        "recommendation": "Pay us what we earn, on time.",
    }
    voice = answers["wages_story"]
    assert voice.body == VOICE
    assert voice.header["media"] == "voice" and voice.header["duration"] == 14

