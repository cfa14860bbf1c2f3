"""The Telegram channel proper: one update in, handed to the shared conversation machinery.

For each update: drop it if it was handled before (update ids survive a restart), read it
into what the channel acts on, and pass a private chat's messages on (bot.channels.common
does the queueing, the flood limit, the conversation and the delivery). Only private chats
are served; the bot leaves groups and channels. A campaign code can be typed: `start CODE`
(or `/start CODE`), or a bare code that has a letter and a digit ("wimn26"), is read as
opening the bot with that code, but only before consent (the orchestrator's rule).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any, assert_never

from telegram import Update

from bot.channels.common.conversation import Conversations, utc_now
from bot.channels.common.flood import FloodLimits
from bot.channels.common.inbound import Blocked, Edited, Ignored, Said
from bot.channels.telegram.api import ChannelBot
from bot.channels.telegram.inbound import NotPrivate, read_update, update_id
from bot.channels.telegram.media import telegram_media
from bot.channels.telegram.transport import TelegramTransport
from bot.orchestrator import Orchestrator
from storage.backend import Ledger

log = logging.getLogger(__name__)

CHANNEL = "telegram"

__all__ = ["CHANNEL", "TelegramChannel", "utc_now"]


class TelegramChannel:
    def __init__(self, orchestrator: Orchestrator, bot: ChannelBot, *,
                 ledger: Ledger | None, media_limit: int,
                 flood: FloodLimits | None = None, clean_chat: bool = True,
                 clock: Callable[[], datetime] = utc_now,
                 monotonic: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.bot = bot
        self.ledger = ledger
        self.clock = clock
        self.conversations = Conversations(
            orchestrator, TelegramTransport(bot), channel=CHANNEL, ledger=ledger,
            fetch_media=telegram_media(bot, media_limit), flood=flood, clean_chat=clean_chat,
            clock=clock, monotonic=monotonic, sleep=sleep)
        self._handled = 0  # updates finished here (the rest count in `conversations`)

    @property
    def handled(self) -> int:
        """Updates finished (for tests and benchmarks to wait on)."""
        return self._handled + self.conversations.handled

    async def drain(self, grace: float) -> None:
        await self.conversations.drain(grace)

    # -- entry point ----------------------------------------------------------------------
    async def on_update(self, update: object, _context: Any = None) -> None:
        """The handler PTB calls: for an update's JSON (webhook) or an `Update` (polling)."""
        queued = False
        try:
            if isinstance(update, Update):
                queued = await self.handle(update.to_dict())
            elif isinstance(update, dict):
                queued = await self.handle(update)
        finally:
            if not queued:
                self._handled += 1

    async def handle(self, update: Mapping[str, Any]) -> bool:
        """Handle one update; True if it was queued behind the person's earlier ones (it
        then finishes in the background)."""
        number = update_id(update)
        now = self.clock()
        tag = None
        if number is not None and self.ledger is not None:
            tag = self.ledger.claim(str(number), now)
            if tag is None:
                log.info("duplicate_update_ignored")
                return False
        started = time.perf_counter()
        incoming = read_update(update)
        queued = False
        try:
            match incoming:
                case Said():
                    queued = await self.conversations.said(incoming)
                case Edited():
                    await self.conversations.edited(incoming)
                case Blocked():
                    await self.conversations.blocked(incoming.chat_id)
                case NotPrivate():
                    log.info("left_non_private_chat")
                    await self.bot.leave(incoming.chat_id)
                case Ignored():
                    log.debug("update_ignored kind=%s", incoming.reason)
                case _:
                    assert_never(incoming)
        finally:
            if tag is not None and self.ledger is not None:
                self.ledger.handled(tag, now)
            log.debug("update_handled kind=%s ms=%.1f", type(incoming).__name__,
                      (time.perf_counter() - started) * 1000)
        return queued

    async def apologise(self, update: object) -> None:
        """After a failure of our own: the person hears that, rather than nothing."""
        raw = update.to_dict() if isinstance(update, Update) else update
        if isinstance(raw, dict):
            incoming = read_update(raw)
            if isinstance(incoming, Said):
                await self.conversations.apologise_to(incoming)
