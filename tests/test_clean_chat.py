"""Clean as you go, on the fake Bot API: once a written or spoken answer is sealed and
committed, the person's message leaves the chat and a short note stands in its place;
answered questions show no echo of the answer; nothing is removed when saving failed, and a
message beyond Telegram's 48 hours is named, not silently kept."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.engine import Script
from bot.i18n import Translator
from bot.orchestrator import Orchestrator
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

AMINA = TgUser(8_100_200_300, "Amina", language_code="en")
REMOVED = "Received, and removed from this chat for your safety."
SAVE_FAILED = ("We could not save this right now. Please send it again in a little while. "
               "Your earlier answers are safe.")
VOICE = b"OggS\x00\x02" + bytes(range(256)) * 8


async def up_to_the_number_question(bot: TelegramBot) -> None:
    await bot.text(AMINA, "/start")
    for label in ("Yes", "Yes", "Yes", "Care work", "Wages", "Done"):
        await bot.press(AMINA, label)


def deleted_ids(api: FakeBotApi) -> set[int]:
    return {m for call in api.calls_to("deleteMessages") for m in call.params["message_ids"]}


async def test_answers_leave_the_chat_once_sealed(
        api: FakeBotApi, mini_script: Script, store: Store, server_keys: ServerKeys,
        translator: Translator, clock: Clock, db_path: Path, researcher: KeyPair) -> None:
    orchestrator = make_orchestrator(mini_script, store, server_keys, translator, clock)
    async with telegram_bot(api, orchestrator, db_path.parent, webhook=True,
                            clock=clock) as bot:
        await up_to_the_number_question(bot)
        number = await bot.text(AMINA, "3")
        api.add_file("voice-1", VOICE)
        voice = bot.updates.voice(AMINA, "voice-1", duration=9, size=len(VOICE))
        await bot.send(voice)
        mine = {number["message"]["message_id"], voice["message"]["message_id"]}
        assert mine <= deleted_ids(api)
        assert all(api.message(AMINA.id, m) is None for m in mine)
        texts = [m["text"] for m in api.messages(AMINA.id)]
        # The note stands under the question each answer settled.
        assert [t.split("\n\n")[0] for t in texts if t.endswith(f"→ {REMOVED}")] == [
            "How many months were you not paid?", "Tell us about your pay."]
        assert "Received, thank you." not in bot.texts(AMINA.id)  # the note has said so
        # Choices show that they were answered, never what was chosen.
        assert not [t for t in texts if "Care work" in t or "Wages" in t]
        assert [t for t in texts if t.startswith("Where do you work")] == [
            "Where do you work?\n\n→ Answered"]
    [testimony] = opened_testimonies(db_path, researcher)
    answers = {a.question_id: a for a in testimony.answers}
    assert answers["months_unpaid"].header["value"] == 3 and answers["wages_story"].body == VOICE


async def test_nothing_is_removed_when_saving_failed(
        api: FakeBotApi, mini_script: Script, store: Store, server_keys: ServerKeys,
        translator: Translator, clock: Clock, db_path: Path) -> None:
    orchestrator = make_orchestrator(mini_script, store, server_keys, translator, clock)
    async with telegram_bot(api, orchestrator, db_path.parent, webhook=True,
                            clock=clock) as bot:
        await up_to_the_number_question(bot)
        await bot.text(AMINA, "3")
        before = deleted_ids(api)
        await store.limit_size(os.path.getsize(db_path))  # the disk is full now
        story = await bot.text(AMINA, "a long story " * 300)
        assert bot.last_text(AMINA.id) == SAVE_FAILED
        assert deleted_ids(api) == before
        assert api.message(AMINA.id, story["message"]["message_id"]) is not None
        await store.limit_size(None)


async def test_clean_chat_off_keeps_the_chat_as_it_was(
        api: FakeBotApi, orchestrator: Orchestrator, db_path: Path, clock: Clock) -> None:
    async with telegram_bot(api, orchestrator, db_path.parent, webhook=True, clock=clock,
                            clean_chat=False) as bot:
        await up_to_the_number_question(bot)
        number = await bot.text(AMINA, "3")
        assert not api.calls_to("deleteMessages")
        assert api.message(AMINA.id, number["message"]["message_id"]) is not None
        assert not [m for m in api.messages(AMINA.id) if REMOVED in m["text"]]
        assert "Where do you work?\n\n→ Care work" in [
            m["text"] for m in api.messages(AMINA.id)]


async def test_a_message_beyond_the_deletion_window_is_named(
        api: FakeBotApi, orchestrator: Orchestrator, db_path: Path, clock: Clock) -> None:
    async with telegram_bot(api, orchestrator, db_path.parent, webhook=True,
                            clock=clock) as bot:
        await up_to_the_number_question(bot)
        late = bot.updates.text(AMINA, "3")
        clock.advance(hours=49)  # delivered long after it was written
        await bot.send(late)
        assert not api.calls_to("deleteMessages")
        assert [m for m in api.messages(AMINA.id) if "too old for me to remove" in m["text"]]


async def test_the_terminal_chat_scrubs_photos_and_keeps_the_size_limit(
        orchestrator: Orchestrator, tmp_path: Path) -> None:
    """The media policy is the channels' common one: the terminal chat too."""
    from bot.channels.terminal import TerminalChat
    from bot.engine import MediaRef
    from bot.orchestrator import MediaTooLarge
    from tests.telegram_support import jpeg_with_metadata

    photo = tmp_path / "photo.jpg"
    photo.write_bytes(jpeg_with_metadata())
    chat = TerminalChat(orchestrator)
    data = await chat.fetch(MediaRef("photo", str(photo), "image/jpeg", photo.stat().st_size))
    assert data.startswith(b"\xff\xd8") and b"SecretPhoneMaker" not in data
    chat.fetch.limit_bytes = 10
    with pytest.raises(MediaTooLarge):
        await chat.fetch(MediaRef("voice", str(photo), "audio/ogg", photo.stat().st_size))
