"""Bad input and faults that are Telegram's own, against the real channel and the fake Bot
API: forged callback data, 429, 403 and blocking, groups and channels, edits, /start payloads,
/exit's deleteMessages and its 48-hour window, and the Bot API's file limits. What every
channel must do (stale buttons, redelivery, restarts, floods, long texts, unsupported
messages, typed codes) is in tests/test_channel_contract.py."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from bot.channels.telegram.media import BOT_API_LIMIT
from bot.engine import Script
from bot.i18n import Translator
from bot.orchestrator import Orchestrator
from storage.keys import KeyPair
from storage.server_keys import ServerKeys
from storage.store import Store
from tests.conftest import Clock
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.updates import TgUser, UpdateFactory
from tests.telegram_support import (
    TelegramBot,
    consent,
    make_orchestrator,
    opened_testimonies,
    telegram_bot,
)

AMINA = TgUser(8_100_200_300, "Amina", language_code="en")


@pytest.fixture
async def bot(api: FakeBotApi, orchestrator: Orchestrator, db_path: Path,
              clock: Clock) -> AsyncIterator[TelegramBot]:
    async with telegram_bot(api, orchestrator, db_path.parent, webhook=True,
                            clock=clock) as running:
        yield running


def answer_text(api: FakeBotApi, update: dict[str, object]) -> object:
    query = update["callback_query"]
    assert isinstance(query, dict)
    return api.callback_answers[query["id"]].get("text")


def count(db: Path, sql: str) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute(sql).fetchone()[0])


# -- buttons --------------------------------------------------------------------------------
@pytest.mark.parametrize("data", ["garbage", "a.b:c", "x" * 64, "0:0", "zz.1:1:1"])
async def test_malformed_callback_data_is_ignored(bot: TelegramBot, api: FakeBotApi,
                                                  data: str) -> None:
    await consent(bot, AMINA)
    before = (len(bot.texts(AMINA.id)), bot.buttons(AMINA.id))
    forged = bot.updates.callback(AMINA, bot.keyboard_message(AMINA.id)["message_id"], data)
    await bot.send(forged)
    assert answer_text(api, forged) is None  # answered (no spinner), silently
    assert (len(bot.texts(AMINA.id)), bot.buttons(AMINA.id)) == before


async def test_a_forged_position_changes_nothing(
        answers_in: Callable[[Path], int], bot: TelegramBot, api: FakeBotApi,
                                                 db_path: Path) -> None:
    await consent(bot, AMINA)
    message = bot.keyboard_message(AMINA.id)
    token = message["reply_markup"]["inline_keyboard"][0][0]["callback_data"].split(":")[0]
    forged = bot.updates.callback(AMINA, message["message_id"], f"{token}:42")
    await bot.send(forged)
    assert answer_text(api, forged) is None
    await bot.press(AMINA, "Farm work")  # the real buttons still work
    assert answers_in(db_path) == 1


# -- delivery -------------------------------------------------------------------------------
async def test_429_is_retried_after_retry_after(bot: TelegramBot, api: FakeBotApi) -> None:
    api.fail_next("sendMessage", status=429, retry_after=1)
    await bot.text(AMINA, "/start")
    statuses = [call.status for call in api.calls_to("sendMessage")]
    assert statuses[:2] == [429, 200]
    assert "Please read" in bot.texts(AMINA.id)[0]


async def test_a_person_who_blocked_the_bot_has_their_session_ended_quietly(
        bot: TelegramBot, api: FakeBotApi, store: Store, server_keys: ServerKeys) -> None:
    await consent(bot, AMINA)
    respondent = server_keys.pseudonym("telegram", str(AMINA.id))
    assert (await store.status(respondent)).state is not None
    api.block_user(AMINA.id)
    await bot.press(AMINA, "Care work")  # the reply gets 403
    assert (await store.status(respondent)).state is None
    assert not api.internal_errors


async def test_blocking_the_bot_ends_the_session(bot: TelegramBot, api: FakeBotApi,
                                                 store: Store, server_keys: ServerKeys) -> None:
    await consent(bot, AMINA)
    calls = len(api.calls)
    await bot.send(bot.updates.my_chat_member_private(AMINA, blocked=True))
    respondent = server_keys.pseudonym("telegram", str(AMINA.id))
    assert (await store.status(respondent)).state is None
    assert [c.method for c in api.calls[calls:]] == []  # not a word: none would arrive


@pytest.mark.parametrize("kind", ["added", "message", "channel"])
async def test_the_bot_leaves_groups_and_channels(bot: TelegramBot, api: FakeBotApi,
                                                  db_path: Path, kind: str) -> None:
    if kind == "added":
        update = bot.updates.my_chat_member_added_to_group(AMINA, -1001234)
    elif kind == "message":
        update = bot.updates.group_message(AMINA, -1001234, "/start")
    else:
        update = bot.updates.channel_post(-1001234, "hello")
    await bot.send(update)
    assert api.left_chats == [-1001234]
    assert not api.calls_to("sendMessage")
    assert count(db_path, "SELECT count(*) FROM respondents") == 0


# -- what people send -----------------------------------------------------------------------
async def test_an_edit_after_an_answer_is_explained(
        api: FakeBotApi, orchestrator: Orchestrator, db_path: Path, clock: Clock) -> None:
    # With CLEAN_CHAT on, an answer is gone from the chat before it could be edited.
    async with telegram_bot(api, orchestrator, db_path.parent, webhook=True, clock=clock,
                            clean_chat=False) as bot:
        await consent(bot, AMINA)
        await bot.press(AMINA, "Care work")
        await bot.press(AMINA, "Wages")
        await bot.press(AMINA, "Done")
        sent = await bot.text(AMINA, "7")
        await bot.send(bot.updates.edited_text(AMINA, sent["message"]["message_id"], "8"))
        assert "send /back" in bot.last_text(AMINA.id)


async def test_an_edit_before_consent_is_ignored(bot: TelegramBot) -> None:
    sent = await bot.text(AMINA, "hello")
    said = len(bot.texts(AMINA.id))
    await bot.send(bot.updates.edited_text(AMINA, sent["message"]["message_id"], "hi"))
    assert len(bot.texts(AMINA.id)) == said


# -- campaign codes -------------------------------------------------------------------------
@pytest.mark.parametrize(("opening", "typed", "attributed"), [
    ("/start {code}", None, True),
    ("/start", "{code}", True),  # QR scanned again: iOS opened the chat without /start
    ("/start", "start {code}", True),
    ("/start", "yes", False),  # a word is never a code
    ("/start wimn26", None, False),  # not one of our links: never written anywhere
    ("/start", "kl-07x", False),
    ("/start bad!code", None, False),  # not Telegram's payload alphabet: dropped
    ("/start " + "c" * 65, None, False),
])
async def test_campaign_codes_from_links_and_typed(
        bot: TelegramBot, store: Store, clock: Clock, db_path: Path, researcher: KeyPair,
        opening: str, typed: str | None, attributed: bool) -> None:
    link = await store.links.create(campaign="imrf", partner="p", region="r", now=clock())
    await bot.text(AMINA, opening.format(code=link.code))
    if typed:
        await bot.text(AMINA, typed.format(code=link.code))
    for _ in range(3):
        await bot.press(AMINA, "Yes")
    await bot.press(AMINA, "Care work")
    [testimony] = opened_testimonies(db_path, researcher)
    assert testimony.campaign == ("imrf" if attributed else None)
    with sqlite3.connect(db_path) as conn:
        dump = "\n".join(conn.iterdump())
    for text in ("wimn26", "kl-07x", "bad!code", "c" * 65):
        assert text not in dump


# -- /exit ----------------------------------------------------------------------------------
async def test_exit_deletes_every_message_still_deletable(bot: TelegramBot, api: FakeBotApi,
                                                          clock: Clock, db_path: Path) -> None:
    await bot.text(AMINA, "/start")
    old = {m["message_id"] for m in api.messages(AMINA.id)}
    clock.advance(hours=49)  # Telegram no longer lets a bot delete those
    await bot.press(AMINA, "Yes")
    await bot.press(AMINA, "Yes")
    await bot.press(AMINA, "Yes")
    await bot.press(AMINA, "Care work")
    mine = await bot.text(AMINA, "a message of mine")
    assert bot.service.ledger is not None
    await bot.service.ledger.flush()
    assert count(db_path, "SELECT count(*) FROM channel_messages") > 0
    everything = {m["message_id"] for m in api.messages(AMINA.id)} | {
        mine["message"]["message_id"]}
    exit_command = await bot.text(AMINA, "/exit")
    [call] = api.calls_to("deleteMessages")
    deleted = set(call.params["message_ids"])
    assert deleted == (everything - old) | {exit_command["message"]["message_id"]}
    assert [m["text"] for m in api.messages(AMINA.id) if m["message_id"] not in old] == [
        "Chat cleared.", "Messages older than 48 hours could not be removed. "
        "Please delete this chat yourself."]  # and the person is told so
    await bot.service.ledger.flush()
    assert count(db_path, "SELECT count(*) FROM channel_messages") == 0


async def test_exit_after_a_restart_deletes_what_was_stored(
        api: FakeBotApi, mini_script: Script, store: Store, server_keys: ServerKeys,
        translator: Translator, clock: Clock, db_path: Path) -> None:
    updates = UpdateFactory(api)
    orchestrator = make_orchestrator(mini_script, store, server_keys, translator, clock)
    async with telegram_bot(api, orchestrator, db_path.parent, webhook=True,
                            clock=clock, updates=updates) as bot:
        await consent(bot, AMINA)
        await bot.press(AMINA, "Care work")
        shown = {m["message_id"] for m in api.messages(AMINA.id)}
    clock.advance(seconds=2)
    restarted = make_orchestrator(mini_script, store, server_keys, translator, clock)
    async with telegram_bot(api, restarted, db_path.parent, webhook=True,
                            clock=clock, updates=updates) as bot:
        await bot.text(AMINA, "/exit")
    deleted = set(api.calls_to("deleteMessages")[0].params["message_ids"])
    assert shown <= deleted  # the intro and consent too: kept in memory until consent


# -- files ---------------------------------------------------------------------------------
async def test_a_file_over_the_limit_gets_a_clear_reply(
        api: FakeBotApi, orchestrator: Orchestrator, db_path: Path, clock: Clock,
        answers_in: Callable[[Path], int]) -> None:
    async with telegram_bot(api, orchestrator, db_path.parent, webhook=True, clock=clock,
                            media_limit=BOT_API_LIMIT) as bot:
        await send_a_file_too_large(bot, api, db_path, answers_in)
        assert not api.calls_to("getFile")  # refused on the announced size: nothing fetched


async def test_a_self_hosted_api_server_refusing_a_file_gets_the_same_reply(
        bot: TelegramBot, api: FakeBotApi, db_path: Path,
        answers_in: Callable[[Path], int]) -> None:
    # our limit is higher; the server's is not
    await send_a_file_too_large(bot, api, db_path, answers_in)
    assert [c.status for c in api.calls_to("getFile")] == [400]


async def send_a_file_too_large(bot: TelegramBot, api: FakeBotApi, db_path: Path,
                                answers_in: Callable[[Path], int]) -> None:
    await consent(bot, AMINA)
    await bot.press(AMINA, "Care work")
    await bot.press(AMINA, "Wages")
    await bot.press(AMINA, "Done")
    await bot.text(AMINA, "7")
    api.add_file("big-voice", b"x", file_size=21 * 1024 * 1024)
    await bot.send(bot.updates.voice(AMINA, "big-voice", duration=1800,
                                     size=21 * 1024 * 1024))
    assert "too large" in bot.last_text(AMINA.id) and "20 MB" in bot.last_text(AMINA.id)
    assert answers_in(db_path) == 3  # sector, themes, months
