"""A whole testimony on Telegram, end to end: real PTB Application, real update JSON, the fake
Bot API over HTTP, the real store; then the researcher's key opens exactly those answers."""

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
    jpeg_with_metadata,
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


@pytest.mark.parametrize("webhook", [False, True], ids=["polling", "webhook"])
async def test_a_whole_testimony_is_sealed_with_its_campaign(
        api: FakeBotApi, two_languages: Script, store: Store, server_keys: ServerKeys,
        translator: Translator, clock: Clock, db_path: Path, researcher: KeyPair,
        webhook: bool) -> None:
    orchestrator = make_orchestrator(two_languages, store, server_keys, translator, clock)
    link = await store.links.create(campaign="wimn26", partner="p", region="r", now=clock())
    async with telegram_bot(api, orchestrator, db_path.parent, webhook=webhook,
                            clock=clock) as bot:
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


@pytest.mark.parametrize("as_file", [False, True], ids=["photo", "image-file"])
async def test_a_photo_is_sealed_without_its_metadata(
        api: FakeBotApi, mini_script: Script, store: Store, server_keys: ServerKeys,
        translator: Translator, clock: Clock, db_path: Path, researcher: KeyPair,
        as_file: bool) -> None:
    orchestrator = make_orchestrator(mini_script, store, server_keys, translator, clock)
    photo = jpeg_with_metadata()
    async with telegram_bot(api, orchestrator, db_path.parent, webhook=True,
                            clock=clock) as bot:
        await bot.text(AMINA, "/start")
        for label in ("Yes", "Yes", "Yes", "Care work", "Wages", "Done"):
            await bot.press(AMINA, label)
        await bot.text(AMINA, "3")
        api.add_file("photo-1", photo)
        if as_file:  # sent "as a file": Telegram keeps every byte, metadata included
            update = bot.updates.text(AMINA, "")
            update["message"].pop("text")
            update["message"]["document"] = {"file_id": "photo-1", "file_unique_id": "u1",
                                             "mime_type": "image/jpeg",
                                             "file_size": len(photo)}
        else:
            update = bot.updates.photo(AMINA, "photo-1", size=len(photo))
        await bot.send(update)
        assert "What should governments change?" in bot.last_text(AMINA.id)
    [testimony] = opened_testimonies(db_path, researcher)
    [sealed] = [a for a in testimony.answers if a.question_id == "wages_story"]
    assert sealed.header["media"] == "photo" and sealed.header["mime_type"] == "image/jpeg"
    assert sealed.body.startswith(b"\xff\xd8") and sealed.body != photo
    assert b"SecretPhoneMaker" not in sealed.body and b"bakery" not in sealed.body
