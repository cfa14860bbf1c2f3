"""The fake Bot API, driven by a real python-telegram-bot ``Bot`` / ``Application``.

These tests pin down both halves of the contract the bot's own tests rely on: that the fake
answers like Telegram (so PTB raises the same exceptions it would in production) and that it
records what the bot did.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import struct
import warnings
import zlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    TelegramObject,
    Update,
)
from telegram.error import (
    BadRequest,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
)
from telegram.ext import Application, ApplicationBuilder, CommandHandler, ContextTypes
from telegram.helpers import escape_markdown
from telegram.warnings import PTBDeprecationWarning

from tests.fakes.bot_api import ApiError, Call, FakeBotApi, UploadedFile, parse_formatted
from tests.fakes.updates import TgUser, UpdateFactory, chat_instance_for

TOKEN = "123:ABC"
ALICE = TgUser(id=111_222_333, first_name="Alice", username="alice")
BOB = TgUser(id=444_555_666, first_name="Bob", language_code="fr")
GROUP_ID = -100_987_654_321


def tiny_png(width: int = 3, height: int = 2) -> bytes:
    """A valid PNG, built by hand so the tests need no imaging library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        checksum = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + checksum

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def build_app(api: FakeBotApi, token: str = TOKEN) -> Application[Any, Any, Any, Any, Any, Any]:
    return (
        ApplicationBuilder()
        .token(token)
        .base_url(api.base_url)
        .base_file_url(api.base_file_url)
        .build()
    )


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as fake:
        yield fake


@pytest.fixture
def updates(api: FakeBotApi) -> UpdateFactory:
    return UpdateFactory(api)


@pytest.fixture
async def bot(api: FakeBotApi) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=api.base_url, base_file_url=api.base_file_url) as tg_bot:
        yield tg_bot


@pytest.fixture
def alice_chat(api: FakeBotApi, updates: UpdateFactory) -> int:
    """Alice has written /start (message 1), so the bot may write to her."""
    api.push_update(updates.text(ALICE, "/start"))
    return ALICE.id


# ---- identity, tokens, unknown methods -------------------------------------------------------


async def test_initialize_calls_get_me_with_the_token(api: FakeBotApi, bot: Bot) -> None:
    assert bot.username == "testimony_test_bot"
    assert bot.id == api.bot_id
    assert [call.method for call in api.calls] == ["getMe"]
    assert api.calls[0].token == TOKEN
    assert api.calls[0].status == 200


async def test_other_tokens_are_unauthorized_when_a_valid_token_is_set(api: FakeBotApi) -> None:
    api.valid_token = TOKEN
    with pytest.raises(InvalidToken):
        async with Bot("999:WRONG", base_url=api.base_url):
            pass
    async with httpx.AsyncClient() as client:
        answer = await client.post(f"{api.base_url}999:WRONG/getMe")
    assert answer.status_code == 401
    assert answer.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    assert api.tokens == {"999:WRONG"}


async def test_unknown_method_is_404_and_names_are_case_insensitive(
    api: FakeBotApi, bot: Bot
) -> None:
    async with httpx.AsyncClient() as client:
        unknown = await client.post(f"{api.base_url}{TOKEN}/sendDice", data={"chat_id": "1"})
        get_me = await client.get(f"{api.base_url}{TOKEN}/GETME")
    assert unknown.status_code == 404
    assert unknown.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
    assert get_me.json()["result"]["username"] == "testimony_test_bot"
    assert api.calls[-1].method == "getMe"
    # PTB maps 404 to InvalidToken, or to EndPointNotFound once the bot is initialized.
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("sendTestimony", api_kwargs={"chat_id": 1})


# ---- sendMessage ----------------------------------------------------------------------------


async def test_send_message_is_recorded_and_answered_like_telegram(
    api: FakeBotApi, bot: Bot, alice_chat: int
) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Yes", callback_data="consent:yes")]])
    message = await bot.send_message(alice_chat, "Do you agree?", reply_markup=keyboard)

    assert message.message_id == 2  # the user's /start was message 1 of the chat
    assert message.from_user is not None and message.from_user.is_bot
    assert message.chat.id == ALICE.id
    assert message.date == dt.datetime.fromtimestamp(api.now(), dt.UTC).replace(microsecond=0)
    assert message.reply_markup == keyboard
    assert api.sent_texts(alice_chat) == ["Do you agree?"]
    call = api.calls_to("sendMessage")[0]
    assert call == Call(
        "sendMessage",
        {
            "chat_id": ALICE.id,
            "text": "Do you agree?",
            "reply_markup": {
                "inline_keyboard": [[{"text": "Yes", "callback_data": "consent:yes"}]]
            },
        },
        TOKEN,
        200,
    )


async def test_message_ids_are_per_chat(api: FakeBotApi, bot: Bot, updates: UpdateFactory) -> None:
    api.push_update(updates.text(ALICE, "hi"))
    api.push_update(updates.text(BOB, "salut"))
    first = await bot.send_message(ALICE.id, "one")
    second = await bot.send_message(ALICE.id, "two")
    other = await bot.send_message(BOB.id, "un")
    assert (first.message_id, second.message_id, other.message_id) == (2, 3, 2)


async def test_unknown_chat_and_empty_text_are_refused(bot: Bot, alice_chat: int) -> None:
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(999, "hello")
    with pytest.raises(BadRequest, match="Message must be non-empty"):
        await bot.send_message(alice_chat, "  \n ")


async def test_over_long_text_is_a_bad_request(api: FakeBotApi, bot: Bot, alice_chat: int) -> None:
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(alice_chat, "x" * 4097)
    assert api.calls_to("sendMessage")[-1].status == 400
    # The limit counts characters after entity parsing, not the markup.
    await bot.send_message(alice_chat, "<b>" + "é" * 4096 + "</b>", parse_mode="HTML")
    assert len(api.messages(alice_chat)[0]["text"]) == 4096


async def test_parse_mode_errors_are_bad_requests(bot: Bot, alice_chat: int) -> None:
    with pytest.raises(BadRequest, match="Can't parse entities: unsupported start tag"):
        await bot.send_message(alice_chat, "<blink>hi</blink>", parse_mode="HTML")
    with pytest.raises(BadRequest, match="reserved and must be escaped"):
        await bot.send_message(alice_chat, "Thanks. Bye!", parse_mode="MarkdownV2")
    escaped = escape_markdown("Thanks. (1-2) Bye!", version=2)
    message = await bot.send_message(alice_chat, f"*{escaped}*", parse_mode="MarkdownV2")
    assert message.text == "Thanks. (1-2) Bye!"
    assert message.entities[0].type == "bold"


def test_formatting_parsers_produce_telegram_entities() -> None:
    text, entities = parse_formatted('<b>a</b> &amp; <a href="https://x.org">l&lt;</a>', "HTML")
    assert text == "a & l<"
    assert entities == [
        {"offset": 0, "length": 1, "type": "bold"},
        {"offset": 4, "length": 2, "type": "text_link", "url": "https://x.org"},
    ]
    text, entities = parse_formatted("__u _i_ \\*__ [😀](tg://x) ```py\nx```", "MarkdownV2")
    assert text == "u i * 😀 x"
    assert [(e["type"], e["offset"], e["length"]) for e in entities] == [
        ("underline", 0, 5),
        ("italic", 2, 1),
        ("text_link", 6, 2),  # offsets and lengths are UTF-16 code units
        ("pre", 9, 1),
    ]
    assert parse_formatted("```\nprint(1)\n```", "MarkdownV2") == (
        "print(1)\n",
        [{"offset": 0, "length": 9, "type": "pre"}],
    )
    with pytest.raises(ApiError, match="Can't find end of Bold entity at byte offset 2"):
        parse_formatted("a *b", "MarkdownV2")
    with pytest.raises(ApiError, match='Unmatched end tag at byte offset 7, expected "</i>"'):
        parse_formatted("<b><i>x</b>", "HTML")
    with pytest.raises(ApiError, match='Can\'t find end tag corresponding to start tag "b"'):
        parse_formatted("<b>x", "HTML")


async def test_callback_data_is_limited_to_64_bytes(
    api: FakeBotApi, bot: Bot, alice_chat: int
) -> None:
    fits = InlineKeyboardButton("ok", callback_data="é" * 32)  # 64 bytes, 32 characters
    await bot.send_message(alice_chat, "fits", reply_markup=InlineKeyboardMarkup([[fits]]))
    too_long = InlineKeyboardButton("no", callback_data="é" * 32 + "x")  # 65 bytes
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        await bot.send_message(alice_chat, "no", reply_markup=InlineKeyboardMarkup([[too_long]]))
    assert api.sent_texts(alice_chat) == ["fits"]


async def test_reply_to_a_user_message(bot: Bot, alice_chat: int) -> None:
    reply = await bot.send_message(alice_chat, "Welcome", reply_to_message_id=1)
    assert reply.reply_to_message is not None
    assert reply.reply_to_message.text == "/start"
    with pytest.raises(BadRequest, match="Message to be replied not found"):
        await bot.send_message(alice_chat, "?", reply_to_message_id=77)


# ---- editing --------------------------------------------------------------------------------


async def test_edit_message_text_and_reply_markup(
    api: FakeBotApi, bot: Bot, alice_chat: int
) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Done", callback_data="done")]])
    sent = await bot.send_message(alice_chat, "Choose", reply_markup=keyboard)

    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("x", chat_id=alice_chat, message_id=99)
    with pytest.raises(BadRequest, match="Message can't be edited"):
        await bot.edit_message_text("x", chat_id=alice_chat, message_id=1)  # the user's
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_text(
            "Choose", chat_id=alice_chat, message_id=sent.message_id, reply_markup=keyboard
        )

    edited = await bot.edit_message_text("Chosen", chat_id=alice_chat, message_id=sent.message_id)
    assert isinstance(edited, TelegramObject)
    assert api.messages(alice_chat)[0]["text"] == "Chosen"
    assert "reply_markup" not in api.messages(alice_chat)[0]  # no markup in the edit removes it
    assert api.sent_texts(alice_chat) == ["Choose"]
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_reply_markup(chat_id=alice_chat, message_id=sent.message_id)
    await bot.edit_message_reply_markup(alice_chat, sent.message_id, reply_markup=keyboard)
    assert api.messages(alice_chat)[0]["reply_markup"] == keyboard.to_dict()


# ---- callback queries -----------------------------------------------------------------------


async def test_answer_callback_query_once_and_short(
    api: FakeBotApi, bot: Bot, updates: UpdateFactory, alice_chat: int
) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Yes", callback_data="yes")]])
    sent = await bot.send_message(alice_chat, "Continue?", reply_markup=keyboard)
    update = updates.callback(ALICE, sent.message_id, "yes")
    api.push_update(update)
    query = update["callback_query"]
    assert query["message"]["text"] == "Continue?"
    assert query["chat_instance"] == chat_instance_for(ALICE.id)

    with pytest.raises(BadRequest, match="Message_too_long"):
        await bot.answer_callback_query(query["id"], text="x" * 201)
    assert await bot.answer_callback_query(query["id"], text="Saved") is True
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query(query["id"])
    assert api.callback_answers[query["id"]]["text"] == "Saved"


# ---- deleting -------------------------------------------------------------------------------


async def test_delete_messages_refuses_more_than_100_ids(bot: Bot, alice_chat: int) -> None:
    with pytest.raises(BadRequest, match="Too many message identifiers specified"):
        await bot.delete_messages(alice_chat, list(range(1, 102)))
    assert await bot.delete_messages(alice_chat, list(range(1, 101))) is True


async def test_delete_messages_skips_messages_older_than_48_hours(
    api: FakeBotApi, bot: Bot, updates: UpdateFactory, alice_chat: int
) -> None:
    old = await bot.send_message(alice_chat, "old")
    api.advance_clock(48 * 3600)
    fresh = await bot.send_message(alice_chat, "fresh")
    api.push_update(updates.text(ALICE, "my answer"))  # a user message, 48 hours later too
    user_message_id = fresh.message_id + 1

    ids = [1, old.message_id, fresh.message_id, user_message_id, 999]
    assert await bot.delete_messages(alice_chat, ids) is True

    assert api.deleted(alice_chat) == [fresh.message_id, user_message_id]
    assert [message["text"] for message in api.messages(alice_chat)] == ["old"]
    assert api.sent_texts(alice_chat) == ["old", "fresh"]
    with pytest.raises(BadRequest, match="Message can't be deleted"):
        await bot.delete_message(alice_chat, old.message_id)
    with pytest.raises(BadRequest, match="Message to delete not found"):
        await bot.delete_message(alice_chat, fresh.message_id)


# ---- fault injection and blocked users ---------------------------------------------------------


async def test_fail_next_429_surfaces_as_retry_after(
    api: FakeBotApi, bot: Bot, alice_chat: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without PTB_TIMEDELTA, building RetryAfter emits a PTBDeprecationWarning (see next test).
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    api.fail_next("sendMessage", retry_after=3)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(alice_chat, "hello")
    assert caught.value.retry_after == dt.timedelta(seconds=3)
    await bot.send_message(alice_chat, "hello")  # count=1: the next call goes through
    assert [call.status for call in api.calls_to("sendMessage")] == [429, 200]


async def test_retry_after_needs_ptb_timedelta_when_warnings_are_errors(
    api: FakeBotApi, bot: Bot, alice_chat: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PTB 22 reads its own deprecated ``retry_after`` in RetryAfter.__init__."""
    monkeypatch.delenv("PTB_TIMEDELTA", raising=False)
    api.fail_next("sendMessage", retry_after=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", PTBDeprecationWarning)  # as pyproject's filterwarnings
        with pytest.raises(PTBDeprecationWarning):
            await bot.send_message(alice_chat, "hello")


async def test_raw_429_body_and_other_statuses(api: FakeBotApi, bot: Bot, alice_chat: int) -> None:
    api.fail_next("getMe", retry_after=7)
    async with httpx.AsyncClient() as client:
        answer = await client.post(f"{api.base_url}{TOKEN}/getMe")
    assert answer.status_code == 429
    assert answer.json() == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 7",
        "parameters": {"retry_after": 7},
    }
    api.fail_next("sendMessage", status=500, count=2)
    for _ in range(2):
        with pytest.raises(NetworkError, match="Internal Server Error"):
            await bot.send_message(alice_chat, "hi")


async def test_blocked_user_gives_forbidden(
    api: FakeBotApi, bot: Bot, updates: UpdateFactory, alice_chat: int
) -> None:
    api.block_user(alice_chat)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(alice_chat, "are you there?")
    with pytest.raises(Forbidden):
        await bot.send_photo(alice_chat, tiny_png())
    api.unblock_user(alice_chat)
    await bot.send_message(alice_chat, "welcome back")
    # A my_chat_member update with status "kicked" is how Telegram reports a block.
    api.push_update(updates.my_chat_member_private(ALICE, blocked=True))
    with pytest.raises(Forbidden):
        await bot.send_message(alice_chat, "again?")


# ---- getUpdates and polling -------------------------------------------------------------------


async def test_get_updates_offsets_confirm_updates(
    api: FakeBotApi, bot: Bot, updates: UpdateFactory
) -> None:
    ids = [api.push_update(updates.text(ALICE, f"message {n}")) or 0 for n in range(3)]
    assert [u.update_id for u in await bot.get_updates(timeout=0)] == ids
    assert [u.update_id for u in await bot.get_updates(offset=ids[1], timeout=0)] == ids[1:]
    assert len(api.pending_updates) == 2
    assert [u.update_id for u in await bot.get_updates(offset=-1, timeout=0)] == ids[2:]
    assert await bot.get_updates(offset=ids[2] + 1, timeout=0) == ()
    assert api.pending_updates == []


async def test_long_poll_waits_for_a_pushed_update(
    api: FakeBotApi, bot: Bot, updates: UpdateFactory
) -> None:
    loop = asyncio.get_running_loop()
    late = updates.text(ALICE, "late")
    loop.call_later(0.2, api.push_update, late)
    started = loop.time()
    received = await bot.get_updates(timeout=5)
    assert [u.update_id for u in received] == [late["update_id"]]
    assert loop.time() - started < 2


async def test_second_poller_terminates_the_first_with_conflict(api: FakeBotApi, bot: Bot) -> None:
    async with Bot(TOKEN, base_url=api.base_url) as second_instance:
        waiting = asyncio.create_task(bot.get_updates(timeout=5))
        await asyncio.sleep(0.2)
        assert await second_instance.get_updates(timeout=0) == ()
        with pytest.raises(Conflict, match="terminated by other getUpdates request"):
            await waiting


async def test_stop_ends_a_waiting_long_poll(api: FakeBotApi, bot: Bot) -> None:
    waiting = asyncio.create_task(bot.get_updates(timeout=30))
    await asyncio.sleep(0.2)
    await asyncio.wait_for(api.stop(), 2)
    assert await asyncio.wait_for(waiting, 2) == ()


async def test_polling_application_runs_a_handler(api: FakeBotApi, updates: UpdateFactory) -> None:
    app = build_app(api)
    handled = asyncio.Event()

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text("Welcome!")
        handled.set()

    app.add_handler(CommandHandler("start", start))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(timeout=1)
        api.push_update(updates.text(ALICE, "/start abc"))
        await asyncio.wait_for(handled.wait(), 5)
        await app.updater.stop()
        await app.stop()

    assert api.sent_texts(ALICE.id) == ["Welcome!"]
    assert api.pending_updates == []  # PTB confirmed the update with a last getUpdates
    assert api.calls_to("deleteWebhook")  # polling starts by removing any webhook
    assert api.calls_to("getUpdates")[0].params["timeout"] == 1


async def test_updates_outside_allowed_updates_are_dropped(
    api: FakeBotApi, bot: Bot, updates: UpdateFactory
) -> None:
    await bot.get_updates(timeout=0, allowed_updates=["callback_query"])
    assert api.push_update(updates.text(ALICE, "ignored")) is None
    assert api.pending_updates == []
    await bot.get_updates(timeout=0, allowed_updates=[])  # [] restores the default
    assert api.push_update(updates.text(ALICE, "kept")) is not None


async def test_push_update_rejects_decreasing_update_ids(
    api: FakeBotApi, updates: UpdateFactory
) -> None:
    first, second = updates.text(ALICE, "a"), updates.text(ALICE, "b")
    api.push_update(second)
    with pytest.raises(ValueError, match="must be greater"):
        api.push_update(first)


# ---- webhooks and commands ---------------------------------------------------------------------


async def test_webhook_rules(api: FakeBotApi, bot: Bot) -> None:
    assert await bot.set_webhook("https://example.org/hook", secret_token="s3cr3t_-") is True
    info = await bot.get_webhook_info()
    assert (info.url, info.pending_update_count) == ("https://example.org/hook", 0)
    assert api.webhook.secret_token == "s3cr3t_-"
    with pytest.raises(Conflict, match="can't use getUpdates method while webhook is active"):
        await bot.get_updates()

    api.advance_clock(1)  # Telegram accepts one new webhook per second
    with pytest.raises(BadRequest, match="Secret token contains unallowed characters"):
        await bot.set_webhook("https://example.org/other", secret_token="not allowed!")
    api.advance_clock(1)
    with pytest.raises(BadRequest, match="Bad webhook: an https url must be provided"):
        await bot.set_webhook("http://example.org/hook")

    async with httpx.AsyncClient() as client:
        deleted = await client.post(f"{api.base_url}{TOKEN}/deleteWebhook")
    assert deleted.json() == {"ok": True, "result": True, "description": "Webhook was deleted"}
    assert await bot.get_updates(timeout=0) == ()


async def test_my_commands_are_validated_and_kept_per_language(api: FakeBotApi, bot: Bot) -> None:
    await bot.set_my_commands([BotCommand("start", "Begin"), BotCommand("help", "Help")])
    await bot.set_my_commands([BotCommand("start", "Commencer")], language_code="fr")

    assert [c.command for c in await bot.get_my_commands()] == ["start", "help"]
    assert [c.description for c in await bot.get_my_commands(language_code="fr")] == ["Commencer"]
    assert api.commands("fr") == [{"command": "start", "description": "Commencer"}]
    assert api.commands("de") == []

    with pytest.raises(BadRequest, match="Bot_command_invalid"):
        await bot.set_my_commands([BotCommand("Start", "Begin")])
    with pytest.raises(BadRequest, match="Bot_command_description_invalid"):
        await bot.set_my_commands([BotCommand("start", "x" * 257)])
    with pytest.raises(BadRequest, match="Bot_commands_too_much"):
        await bot.set_my_commands([BotCommand(f"c{n}", "d") for n in range(101)])
    assert len(api.commands()) == 2  # failed calls changed nothing


# ---- files ------------------------------------------------------------------------------------


async def test_file_round_trip_through_get_file(api: FakeBotApi, bot: Bot) -> None:
    voice = b"OggS" + bytes(range(256)) * 64
    api.add_file("voice-file-1", voice, file_path="voice/file_1.oga")

    tg_file = await bot.get_file("voice-file-1")
    assert tg_file.file_path == f"{api.base_file_url}{TOKEN}/voice/file_1.oga"
    assert tg_file.file_size == len(voice)
    assert bytes(await tg_file.download_as_bytearray()) == voice
    assert api.downloads == ["voice/file_1.oga"]

    api.add_file("huge", b"x", file_size=20 * 1024 * 1024 + 1)
    with pytest.raises(BadRequest, match="File is too big"):
        await bot.get_file("huge")
    with pytest.raises(BadRequest, match="Invalid file_id"):
        await bot.get_file("never-registered")


async def test_send_photo_records_the_upload(api: FakeBotApi, bot: Bot, alice_chat: int) -> None:
    png = tiny_png(3, 2)
    message = await bot.send_photo(alice_chat, png, caption="<i>Your</i> photo", parse_mode="HTML")

    assert api.sent_photos(alice_chat) == [png]
    upload = api.calls_to("sendPhoto")[0].params["photo"]
    assert isinstance(upload, UploadedFile) and upload.data == png
    assert message.caption == "Your photo"
    largest = message.photo[-1]
    assert (largest.width, largest.height, largest.file_size) == (3, 2, len(png))
    downloaded = await (await bot.get_file(largest.file_id)).download_as_bytearray()
    assert bytes(downloaded) == png

    with pytest.raises(BadRequest, match="Image_process_failed"):
        await bot.send_photo(alice_chat, b"this is not an image")
    with pytest.raises(BadRequest, match="Wrong file identifier"):
        await bot.send_photo(alice_chat, "unknown-file-id")


# ---- groups -----------------------------------------------------------------------------------


async def test_leave_chat(
    api: FakeBotApi, bot: Bot, updates: UpdateFactory, alice_chat: int
) -> None:
    api.push_update(updates.my_chat_member_added_to_group(BOB, GROUP_ID, chat_type="supergroup"))
    await bot.send_message(GROUP_ID, "Hello group")
    assert await bot.leave_chat(GROUP_ID) is True
    assert api.left_chats == [GROUP_ID]
    with pytest.raises(Forbidden, match="bot is not a member of the supergroup chat"):
        await bot.send_message(GROUP_ID, "still here?")
    with pytest.raises(BadRequest, match="Chat member status can't be changed in private chats"):
        await bot.leave_chat(alice_chat)


# ---- update builders ----------------------------------------------------------------------------


def _unknown_fields(value: object, path: str) -> list[str]:
    """Fields PTB did not recognise (it keeps them in api_kwargs), anywhere in the object."""
    if isinstance(value, tuple | list):
        return [p for n, item in enumerate(value) for p in _unknown_fields(item, f"{path}[{n}]")]
    if not isinstance(value, TelegramObject):
        return []
    found = [f"{path}.{key}" for key in value.api_kwargs]
    for cls in type(value).__mro__:
        for slot in getattr(cls, "__slots__", ()):
            if not slot.startswith("_") and slot != "api_kwargs":
                found += _unknown_fields(getattr(value, slot, None), f"{path}.{slot}")
    return found


async def test_update_builders_match_the_bot_api_schema(
    api: FakeBotApi, bot: Bot, updates: UpdateFactory, alice_chat: int
) -> None:
    sent = await bot.send_message(alice_chat, "Pick one")
    built = {
        "text": updates.text(ALICE, "/start@testimony_test_bot abc"),
        "callback": updates.callback(ALICE, sent.message_id, "pick:1"),
        "voice": updates.voice(ALICE, "voice-id", duration=12, size=34_000),
        "audio": updates.audio(ALICE, "audio-id", duration=95, size=1_500_000, title="Song"),
        "photo": updates.photo(ALICE, "photo-id", size=180_000, caption="me"),
        "sticker": updates.sticker(ALICE, "sticker-id"),
        "location": updates.location(ALICE, 48.85, 2.35),
        "contact": updates.contact(ALICE, "+33600000000"),
        "edited": updates.edited_text(ALICE, 1, "/start again"),
        "group": updates.group_message(BOB, GROUP_ID, "hello all"),
        "added": updates.my_chat_member_added_to_group(BOB, -4_000_123),
        "blocked": updates.my_chat_member_private(BOB),
        "channel": updates.channel_post(-100_111, "news", username="news_channel"),
    }
    for name, raw in built.items():
        update = Update.de_json(raw, bot)
        unknown = _unknown_fields(update, name)
        # The server still sends the pre-6.6 "thumb" next to "thumbnail" for stickers.
        assert unknown in ([], ["sticker.message.sticker.thumb"]), unknown
        assert update.update_id == raw["update_id"]

    text = built["text"]["message"]
    assert text["entities"] == [{"offset": 0, "length": 25, "type": "bot_command"}]
    assert text["chat"] == {
        "id": ALICE.id,
        "first_name": "Alice",
        "username": "alice",
        "type": "private",
    }
    photo = built["photo"]["message"]["photo"]
    assert [size["width"] for size in photo] == [90, 320, 800, 1280]
    assert photo[-1]["file_id"] == "photo-id" and photo[-1]["file_size"] == 180_000
    assert built["callback"]["callback_query"]["message"]["text"] == "Pick one"
    edited = Update.de_json(built["edited"], bot).edited_message
    assert edited is not None and edited.edit_date is not None
    assert api.message(ALICE.id, 1) is not None
    assert api.message(ALICE.id, 1)["text"] == "/start again"  # type: ignore[index]
    assert Update.de_json(built["channel"], bot).channel_post.sender_chat.id == -100_111  # type: ignore[union-attr]


def test_update_factory_without_a_fake_keeps_its_own_counters() -> None:
    factory = UpdateFactory(first_update_id=10)
    first = factory.text(ALICE, "hi")
    second = factory.callback(ALICE, 5, "x")
    assert (first["update_id"], second["update_id"]) == (10, 11)
    assert first["message"]["message_id"] == 1
    assert second["callback_query"]["message"]["from"]["username"] == "testimony_test_bot"
    with pytest.raises(ValueError, match="1-64 bytes"):
        factory.callback(ALICE, 5, "x" * 65)
