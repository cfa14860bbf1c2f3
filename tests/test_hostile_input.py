"""Hostile input, one parametrized test per class, through the real webhook endpoint and
channel: nothing crashes, nothing unexpected is triggered, what is stored is stored literally.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
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
    telegram_bot,
)

LAYLA = TgUser(8_300_000_001, "Layla", language_code="en")
UNKNOWN_COMMAND = "I do not know that command. Send /help to see what you can do."


@pytest.fixture
async def bot(api: FakeBotApi, mini_script: Script, store: Store, server_keys: ServerKeys,
              translator: Translator, clock: Clock, db_path: Path
              ) -> AsyncIterator[TelegramBot]:
    orchestrator = make_orchestrator(mini_script, store, server_keys, translator, clock)
    async with telegram_bot(api, orchestrator, db_path.parent, webhook=True,
                            clock=clock) as running:
        yield running


async def at_the_story(bot: TelegramBot) -> None:
    """Consent, a sector, the wages theme, a number: the next answer is free text."""
    await bot.text(LAYLA, "/start")
    for _ in range(3):
        await bot.press(LAYLA, "Yes")
    await bot.press(LAYLA, "Care work")
    await bot.press(LAYLA, "Wages")
    await bot.press(LAYLA, "Done")
    await bot.text(LAYLA, "2")


async def raw_post(bot: TelegramBot, body: bytes) -> httpx.Response:
    assert bot.service.webhook is not None
    return await bot._http.post(
        f"http://127.0.0.1:{bot.service.webhook.port}/tg/hook", content=body,
        headers={"X-Telegram-Bot-Api-Secret-Token": bot.api.webhook.secret_token,
                 "Content-Type": "application/json"})


@pytest.mark.parametrize("story", [
    "Robert'); DROP TABLE answers;--",
    "1' OR '1'='1",
    "\"; DELETE FROM respondents WHERE 1=1; --",
    "x' UNION SELECT sealed FROM answers --",
], ids=["drop", "tautology", "delete", "union"])
async def test_sql_injection_is_stored_literally(bot: TelegramBot, db_path: Path,
                                                 researcher: KeyPair, story: str) -> None:
    await at_the_story(bot)
    await bot.text(LAYLA, story)
    (testimony,) = opened_testimonies(db_path, researcher)
    answers = {a.question_id: a.header["value"] for a in testimony.answers}
    assert answers["wages_story"] == story
    assert answers["sector"] == ["care"]


@pytest.mark.parametrize(("typed", "stored"), [
    ("paid \u202eyad 03\u202c late", "paid \u202eyad 03\u202c late"),  # bidi override kept
    ("no\u200bpay", "no\u200bpay"),  # zero-width space kept (exports strip bidi controls)
    ("nul\x00byte", "nulbyte"),
    ("  \n spaced \t ", "spaced"),
], ids=["bidi", "zero-width", "nul", "whitespace"])
async def test_invisible_and_control_characters(bot: TelegramBot, db_path: Path,
                                                researcher: KeyPair, typed: str,
                                                stored: str) -> None:
    await at_the_story(bot)
    await bot.text(LAYLA, typed)
    (testimony,) = opened_testimonies(db_path, researcher)
    assert {a.question_id: a.header["value"] for a in testimony.answers}[
        "wages_story"] == stored


@pytest.mark.parametrize("command", ["/de\u200blete", "/dele\u202ete", "/\u200bdelete",
                                     "/delete\u200d"])
async def test_invisible_characters_never_make_or_hide_a_command(
        bot: TelegramBot, db_path: Path, researcher: KeyPair, command: str) -> None:
    await at_the_story(bot)
    await bot.text(LAYLA, command)
    assert "Do you want to delete everything" not in bot.last_text(LAYLA.id)
    # Whatever it became (an unknown command or a story), nothing was erased.
    (testimony,) = opened_testimonies(db_path, researcher)
    assert {"sector", "themes", "months_unpaid"} <= {a.question_id for a in testimony.answers}


async def test_full_width_commands_match_after_nfkc(bot: TelegramBot) -> None:
    await at_the_story(bot)
    await bot.text(LAYLA, "/ｈｅｌｐ")
    assert any(t.startswith("This is a safe, private conversation")
               for t in bot.texts(LAYLA.id)[-3:])


@pytest.mark.parametrize("body", [
    b'{"update_id": 5, "message": {"text": "\\ud800"}}',  # a lone surrogate
    b'{"update_id": 6, "message": {"text": "\xff\xfe"}}',  # not UTF-8 at all
    b'{"update_id": 7',  # cut short
    b"[]",
    b'{"update_id": "seven"}',
], ids=["lone-surrogate", "invalid-utf8", "truncated", "array", "bad-id"])
async def test_malformed_webhook_bodies_get_400_and_the_bot_carries_on(
        bot: TelegramBot, body: bytes) -> None:
    response = await raw_post(bot, body)
    assert response.status_code in (200, 400)
    if body != b'{"update_id": 5, "message": {"text": "\\ud800"}}':
        assert response.status_code == 400
    await bot.text(LAYLA, "/start")  # still serving
    assert bot.last_text(LAYLA.id) == "Do you agree to take part?"


async def test_a_megabyte_body_is_refused_with_413(bot: TelegramBot) -> None:
    """Refused from its Content-Length, before the body is read (the client may still be
    sending it: a raw socket reads the answer first, as a careful client would)."""
    assert bot.service.webhook is not None
    reader, writer = await asyncio.open_connection("127.0.0.1", bot.service.webhook.port)
    writer.write(b"POST /tg/hook HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                 b"Content-Type: application/json\r\nContent-Length: 1048577\r\n"
                 b"X-Telegram-Bot-Api-Secret-Token: "
                 + bot.api.webhook.secret_token.encode() + b"\r\n\r\n" + b"{" * 4096)
    await writer.drain()
    status_line = await asyncio.wait_for(reader.readline(), 10)
    writer.close()
    assert status_line.split()[1] == b"413"
    await bot.text(LAYLA, "/start")
    assert bot.last_text(LAYLA.id) == "Do you agree to take part?"


async def test_an_unknown_update_type_is_acknowledged_and_ignored(bot: TelegramBot) -> None:
    response = await raw_post(bot, json.dumps({
        "update_id": 11, "business_message": {"message_id": 1, "text": "hi"}}).encode())
    assert response.status_code == 200
    assert not bot.api.calls_to("sendMessage")


@pytest.mark.parametrize("data", ["x" * 65, "é" * 40, "a.1:" + "9" * 70],
                         ids=["65-bytes", "multibyte", "huge-position"])
async def test_oversized_callback_data_changes_nothing(bot: TelegramBot, api: FakeBotApi,
                                                       data: str) -> None:
    await bot.text(LAYLA, "/start")
    prompt = bot.keyboard_message(LAYLA.id)
    button = prompt["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    update = bot.updates.callback(LAYLA, prompt["message_id"], button)
    update["callback_query"]["data"] = data  # what Telegram never sends, forged by hand
    before = api.sent_texts(LAYLA.id)
    response = await raw_post(bot, json.dumps(update).encode())
    assert response.status_code == 200
    assert api.sent_texts(LAYLA.id) == before
    await bot.press(LAYLA, "Yes")  # the real button still works
    assert bot.last_text(LAYLA.id) == "Are you 18 or older?"


async def test_a_replayed_button_press_counts_once(bot: TelegramBot, db_path: Path,
                                                   researcher: KeyPair) -> None:
    await bot.text(LAYLA, "/start")
    for _ in range(3):
        await bot.press(LAYLA, "Yes")
    press = await bot.press(LAYLA, "Care work")
    replay = dict(press, update_id=bot.updates.next_update_id())  # same press, new update
    replay["callback_query"] = dict(press["callback_query"], id="replayed-1")
    await bot.send(replay)
    assert bot.api.callback_answers["replayed-1"].get("text") == "This question has passed."
    (testimony,) = opened_testimonies(db_path, researcher)
    assert [a.question_id for a in testimony.answers] == ["sector"]
