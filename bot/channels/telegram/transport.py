"""The Telegram side of the channel seam: texts, inline keyboards, edits, deletions and
button answers through the Bot API (bot.channels.telegram.api), ids as strings."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import timedelta
from typing import TypeVar

from telegram.error import Forbidden, TelegramError

from bot import outbound as out
from bot.channels.common.text import utf16_len
from bot.channels.common.transport import (
    Capabilities,
    Sent,
    SentPrompt,
    TransportError,
    Unreachable,
)
from bot.channels.telegram.api import ChannelBot
from bot.channels.telegram.render import (
    MAX_TEXT,
    PROMPT_ROOM,
    answered_text,
    keyboard,
    split_text,
)
from bot.channels.telegram.webhook import detach_from_webhook

T = TypeVar("T")

CAPABILITIES = Capabilities(
    can_delete=True,
    deletable_for=timedelta(hours=48),  # private chats: a bot's and the person's messages
    max_text=MAX_TEXT,
    measure=utf16_len,
)


async def _guarded(call: Awaitable[T]) -> T:
    """Telegram's errors as the seam's: a 403 means the person blocked the bot."""
    try:
        return await call
    except Forbidden as exc:
        raise Unreachable("the person blocked the bot") from exc
    except TelegramError as exc:
        raise TransportError(type(exc).__name__) from exc


class TelegramTransport:
    capabilities = CAPABILITIES

    def __init__(self, bot: ChannelBot) -> None:
        self.bot = bot

    async def send_text(self, chat: str, text: str) -> Sent:
        message_id, sent_at = await _guarded(self.bot.send_text(int(chat), text))
        return Sent(str(message_id), sent_at)

    def option_keys(self, prompt: out.Prompt) -> tuple[str, ...]:
        return keyboard(prompt).keys

    async def send_prompt(self, chat: str, prompt: out.Prompt,
                          replacing: SentPrompt | None) -> SentPrompt:
        board = keyboard(prompt)
        if replacing is not None:
            await _guarded(self.bot.edit_markup(int(chat), int(replacing.message_id),
                                                board.encoded))
            return SentPrompt(replacing.message_id, replacing.text, board.keys, prompt.multi)
        *before, last = split_text(prompt.text, PROMPT_ROOM)
        sent = [await self.send_text(chat, part) for part in before]
        message_id, sent_at = await _guarded(self.bot.send_text(int(chat), last,
                                                                board.encoded))
        sent.append(Sent(str(message_id), sent_at))
        return SentPrompt(str(message_id), last, board.keys, prompt.multi, sent)

    async def settle(self, chat: str, prompt: SentPrompt, summary: str) -> None:
        if summary:
            await _guarded(self.bot.edit_text(int(chat), int(prompt.message_id),
                                              answered_text(prompt.text, summary)))
        elif prompt.keys:
            await _guarded(self.bot.edit_markup(int(chat), int(prompt.message_id), None))

    async def delete(self, chat: str, message_ids: list[str]) -> None:
        await _guarded(self.bot.delete(int(chat), [int(m) for m in message_ids]))

    async def acknowledge(self, press_id: str, toast: str | None) -> None:
        await _guarded(self.bot.answer_query(press_id, toast))

    async def send_photo(self, chat: str, png: bytes, caption: str) -> None:
        await _guarded(self.bot.send_photo(int(chat), png, caption=caption))

    def detach(self) -> None:
        detach_from_webhook()
