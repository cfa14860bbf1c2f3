"""A conversation end to end on Telegram in Arabic and in Tagalog: the person's
`language_code` preselects the language, and every reply comes in that language."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.engine import Script
from bot.engine.text import flow_text
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
    telegram_bot,
)


@pytest.mark.parametrize(("language", "telegram_code", "story"), [
    ("ar", "ar", "لم يدفعوا لي أجري لمدة ثلاثة أشهر"),
    ("tl", "fil", "Hindi ako binayaran nang tatlong buwan"),
])
async def test_a_testimony_in_the_persons_language(
        api: FakeBotApi, default_script: Script, store: Store, server_keys: ServerKeys,
        translator: Translator, clock: Clock, db_path: Path, researcher: KeyPair,
        language: str, telegram_code: str, story: str) -> None:
    flow, consent = default_script.questionnaire, default_script.consent

    def local(flow_id: str, item: str, source: str) -> str:
        return translator.render(flow_text(flow_id, item, source), language)

    person = TgUser(8_400_000_001, "Maria", language_code=telegram_code)
    orchestrator = make_orchestrator(default_script, store, server_keys, translator, clock)
    async with telegram_bot(api, orchestrator, db_path.parent, webhook=True,
                            clock=clock) as bot:
        await bot.text(person, "/start")
        name = default_script.language_names[language]
        assert f"✓ {name}" in bot.buttons(person.id)  # preselected from Telegram's code
        await bot.press(person, name)
        said = bot.texts(person.id)
        for text_id, source in (("intro", consent.intro), ("chat_app", consent.chat_app),
                                ("contact", consent.contact)):
            assert local(consent.id, text_id, source) in said
        for item in consent.items:
            assert bot.last_text(person.id) == local(consent.id, item.id, item.text)
            await bot.press(person, local(consent.id, f"{item.id}.yes", item.yes))
        gender = flow.question("gender")
        assert bot.last_text(person.id) == local(flow.id, "gender", gender.text)
        await bot.press(person, local(flow.id, "gender.woman", "Woman"))
        for _ in ("age_band", "origin_region", "living_region", "sector"):
            await bot.text(person, "/skip")
        await bot.press(person, local(flow.id, "themes.wages",
                                      flow.question("themes").choice("wages").label))  # type: ignore[union-attr]
        await press_exactly(bot, person, translator.render(_done(), language))
        for _ in ("wages_paid_less", "wages_contract"):
            await bot.text(person, "/skip")
        assert bot.last_text(person.id) == local(flow.id, "wages_story",
                                                 flow.question("wages_story").text)
        await bot.text(person, story)
        await bot.text(person, "/skip")  # the recommendation: the end
        closing = local(flow.id, "closing", flow.closing)
        assert closing in bot.texts(person.id)
        english = {"Do you agree to take part?", flow.closing, gender.text}
        assert not english & set(bot.texts(person.id))

    (testimony,) = opened_testimonies(db_path, researcher)
    assert testimony.consent is not None and testimony.consent.language == language
    answers = {a.question_id: (a.header["value"], a.language) for a in testimony.answers}
    assert answers["wages_story"] == (story, language)
    assert answers["gender"] == (["woman"], language)


def _done() -> object:
    from bot.engine.messages import DONE_BUTTON

    return DONE_BUTTON


async def press_exactly(bot: TelegramBot, person: TgUser, label: str) -> None:
    """`bot.press` matches a part of a label; a short one ("تم", Done) can hide in others."""
    message = bot.keyboard_message(person.id)
    (data,) = [b["callback_data"] for row in message["reply_markup"]["inline_keyboard"]
               for b in row if b["text"] == label]
    await bot.send(bot.updates.callback(person, message["message_id"], data))
