"""Running the bot on Telegram: start-up checks, PTB's Application around the channel, long
polling or a webhook, the command menu in every language, and a graceful shutdown.

`testimony-bot run` calls `run_telegram(settings)` when TELEGRAM_BOT_TOKEN is set.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import traceback
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from telegram import BotCommand, Update
from telegram.error import InvalidToken, NetworkError, RetryAfter, TelegramError
from telegram.ext import Application, ApplicationBuilder, TypeHandler
from telegram.request import BaseRequest, HTTPXRequest

from bot.channels.common.conversation import Conversations
from bot.channels.common.flood import FloodLimits
from bot.channels.telegram.api import ChannelBot
from bot.channels.telegram.channel import TelegramChannel, utc_now
from bot.channels.telegram.limits import ReplyRateLimiter
from bot.channels.telegram.media import BOT_API_LIMIT, SELF_HOSTED_LIMIT
from bot.channels.telegram.texts import COMMANDS
from bot.channels.telegram.webhook import WebhookReceiver, WebhookServer
from bot.config import DEFAULT_API_URL, ConfigError, Settings
from bot.links.qr import link_url
from bot.orchestrator import Orchestrator
from bot.runtime import ChannelService
from bot.runtime import serve as serve_channels
from storage.backend import Ledger, open_ledger

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ("message", "edited_message", "callback_query", "my_chat_member",
                   "channel_post")
TOKEN_SHAPE = re.compile(r"[0-9]{3,20}:[A-Za-z0-9_-]{20,}")
CONCURRENT_UPDATES = 256  # updates of different people handled at once (commits are grouped)
WEBHOOK_CONNECTIONS = 40  # Telegram's default; each connection carries one update at a time
WEBHOOK_ATTEMPTS = 10  # setWebhook tries when Telegram asks to wait (workers starting together)
SHUTDOWN_GRACE = 30.0  # seconds in-flight updates get to finish
LEDGER_FLUSH = 0.25  # seconds between grouped commits of update ids and message ids

AnyApplication = Application[Any, Any, Any, Any, Any, Any]


def quiet_platform_logs() -> None:
    """Keep libraries from logging what only we may decide about.

    At DEBUG, PTB logs every update it processes and every API call with its parameters
    (texts, chat ids, names); aiosqlite logs every statement with its arguments; httpx logs
    every request URL, which contains the bot token, at INFO. None of that may reach a log,
    whatever LOG_LEVEL says: these loggers never go below INFO (httpx below WARNING).
    """
    floor = logging.getLogger().getEffectiveLevel()
    for name, lowest in (("telegram", logging.INFO), ("aiosqlite", logging.INFO),
                         ("httpx", logging.WARNING), ("httpcore", logging.WARNING),
                         ("telegram.ext.Updater", logging.WARNING),
                         ("tornado.access", logging.WARNING)):
        logging.getLogger(name).setLevel(max(lowest, floor))


def rate_limiter() -> ReplyRateLimiter:
    """Limits for a bot that answers people rather than broadcasting to them (see limits.py):
    replies get no overall cap; groups (which we only ever leave) keep 20 a minute; a 429
    answer is retried after Telegram's `retry_after`, up to three times."""
    return ReplyRateLimiter(group_max_rate=20, group_time_period=60, max_retries=3)


def limit_for(settings: Settings) -> int:
    """20 MB on Telegram's servers; more through a self-hosted Bot API server."""
    return BOT_API_LIMIT if settings.telegram_api_url == DEFAULT_API_URL else SELF_HOSTED_LIMIT


def check_token(settings: Settings) -> str:
    token = settings.telegram_bot_token.value
    if not TOKEN_SHAPE.fullmatch(token):
        raise ConfigError(
            "TELEGRAM_BOT_TOKEN does not look like a bot token (digits, a colon, then about 35 "
            "letters and digits). Copy it again from @BotFather into .env."
        )
    return token


def webhook_path(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise ConfigError(f"WEBHOOK_URL must be a public https:// address, not {url!r}")
    return parts.path or "/"


class TelegramService:
    """The running bot: the PTB Application, the channel and its ledger, started and stopped
    together. The orchestrator (and its store) belongs to the caller."""

    def __init__(self, settings: Settings, orchestrator: Orchestrator, *,
                 request: BaseRequest | None = None,
                 get_updates_request: BaseRequest | None = None,
                 clock: Callable[[], datetime] = utc_now,
                 flood: FloodLimits | None = None,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 media_limit: int | None = None) -> None:
        self.settings = settings
        self.orchestrator = orchestrator
        api = settings.telegram_api_url.rstrip("/")
        self.bot = ChannelBot(
            check_token(settings),
            base_url=f"{api}/bot",
            base_file_url=f"{api}/file/bot",
            request=request or HTTPXRequest(connection_pool_size=CONCURRENT_UPDATES),
            get_updates_request=get_updates_request or HTTPXRequest(connection_pool_size=1),
            rate_limiter=rate_limiter(),
        )
        self.webhook_secret = secrets.token_urlsafe(32)
        if orchestrator.store.shared:
            # Several workers behind one webhook: each sets it at start, so they must agree
            # on its secret. Derived from the server secret, never written anywhere.
            self.webhook_secret = orchestrator.keys.tag("telegram-webhook-secret").hex()
            if not settings.webhook_url:
                log.warning("polling_on_shared_database: run one worker only, or set "
                            "WEBHOOK_URL (Telegram hands updates to one poller at a time)")
        self.ledger: Ledger | None = open_ledger(orchestrator.store, orchestrator.keys,
                                                 LEDGER_FLUSH)
        self.channel = TelegramChannel(orchestrator, self.bot, ledger=self.ledger,
                                       media_limit=media_limit or limit_for(settings),
                                       flood=flood, clean_chat=settings.clean_chat,
                                       clock=clock, sleep=sleep)
        self.channel.conversations.serve_field_workers(
            settings.field_worker_ids, lambda code: link_url(self.bot.username, code))
        builder = ApplicationBuilder().bot(self.bot).concurrent_updates(CONCURRENT_UPDATES)
        if settings.webhook_url:
            builder = builder.updater(None)
        self.application: AnyApplication = builder.build()
        # Polling hands over `Update` objects through PTB; the webhook hands the update's
        # JSON straight to the channel (`_take`).
        self.application.add_handler(TypeHandler(Update, self.channel.on_update))
        self.application.add_error_handler(self._on_error)
        self.webhook: WebhookServer | None = None
        self._in_hand = asyncio.Semaphore(CONCURRENT_UPDATES)
        self._clock = clock
        self._started = False

    @property
    def mode(self) -> str:
        return "webhook" if self.settings.webhook_url else "polling"

    @property
    def description(self) -> str:
        return f"Telegram ({self.mode})"

    @property
    def reminding(self) -> Conversations:
        return self.channel.conversations

    async def start(self) -> None:
        quiet_platform_logs()
        try:
            await self._start()
        except BaseException:
            await self._abort()  # whatever was opened is closed again: no stray connections
            raise
        log.info("telegram_started mode=%s", self.mode)

    async def _start(self) -> None:
        try:
            await self.application.initialize()  # getMe: proves the token
        except InvalidToken as exc:
            raise ConfigError(
                f"The Bot API at {self.settings.telegram_api_url} rejected TELEGRAM_BOT_TOKEN. "
                "Check it with @BotFather (it may have been revoked)."
            ) from exc
        except NetworkError as exc:
            raise ConfigError(
                f"Cannot reach the Bot API at {self.settings.telegram_api_url} "
                f"({exc.__class__.__name__}). Check TELEGRAM_API_URL and the network."
            ) from exc
        self._started = True
        if self.ledger is not None:
            await self.ledger.start(self._clock())
        await self.set_commands()
        if self.settings.webhook_url:
            await self._start_webhook()
        else:
            assert self.application.updater is not None
            await self.application.updater.start_polling(
                allowed_updates=list(ALLOWED_UPDATES), drop_pending_updates=False)
        await self.application.start()

    async def _abort(self) -> None:
        if self._started:
            await self.stop()
        else:
            await self.bot.shutdown()

    async def _start_webhook(self) -> None:
        path = webhook_path(self.settings.webhook_url)
        receiver = WebhookReceiver(self.webhook_secret, self._take)
        server = WebhookServer(receiver, path, self.settings.webhook_listen,
                               self.settings.webhook_port)
        await server.start()
        self.webhook = server
        for attempt in range(WEBHOOK_ATTEMPTS):
            try:
                await self.bot.set_webhook(self.settings.webhook_url,
                                           secret_token=self.webhook_secret,
                                           allowed_updates=list(ALLOWED_UPDATES),
                                           max_connections=WEBHOOK_CONNECTIONS)
                return
            except RetryAfter as exc:
                # Several workers starting together each set the (same) webhook, and Telegram
                # allows about one call a second: wait as told, then set it again.
                if attempt + 1 == WEBHOOK_ATTEMPTS:
                    raise ConfigError(f"Telegram refused WEBHOOK_URL: {exc.message}") from exc
                wait = exc.retry_after
                await asyncio.sleep(wait.total_seconds() if isinstance(wait, timedelta)
                                    else float(wait))
            except TelegramError as exc:
                raise ConfigError(f"Telegram refused WEBHOOK_URL: {exc.message}") from exc

    async def set_commands(self) -> None:
        """The command menu in every supported language (Telegram picks the person's)."""
        translator = self.orchestrator.translator
        default = self.orchestrator.script.default_language

        def menu(language: str) -> list[BotCommand]:
            return [BotCommand(name, translator.render(text, language)[:256])
                    for name, text in COMMANDS]

        await self.bot.set_my_commands(menu(default))
        for language in translator.languages:
            code = language.split("_")[0].split("-")[0].lower()
            if re.fullmatch(r"[a-z]{2}", code):  # Telegram takes two-letter ISO 639-1 codes
                await self.bot.set_my_commands(menu(language), language_code=code)

    async def stop(self) -> None:
        """Stop taking updates, let those in flight finish, save what is pending."""
        if not self._started:
            return
        self._started = False
        if self.webhook is not None:
            await self.webhook.stop(SHUTDOWN_GRACE)
        elif self.application.updater is not None and self.application.updater.running:
            await self.application.updater.stop()
        await self.channel.drain(SHUTDOWN_GRACE)  # updates queued behind a person's earlier
        if self.application.running:
            await self.application.stop()  # waits for updates being handled
        if self.ledger is not None:
            await self.ledger.close()
        await self.application.shutdown()
        log.info("telegram_stopped")

    async def _take(self, update: dict[str, Any]) -> None:
        """A webhook update, straight to the channel. PTB's dispatch (handler groups, a
        context object and a task per update) has nothing to do for one handler, and cost a
        few percent of the pipeline benchmark's throughput. Its bound stays: at most
        CONCURRENT_UPDATES updates in hand at once, the rest wait holding only their JSON (a
        backlog delivered at once must not hold thousands of conversations in memory). A
        failure is reported as PTB's would be, and the webhook still answers 200 (the
        update is not sent again)."""
        async with self._in_hand:
            try:
                await self.channel.on_update(update)
            except Exception as exc:
                await self._report(update, exc)

    async def _on_error(self, update: object, context: Any) -> None:
        await self._report(update, context.error)

    async def _report(self, update: object, error: BaseException | None) -> None:
        """Where a handler failed, by file and line only: never a message, never content."""
        frames = traceback.extract_tb(error.__traceback__) if error is not None else []
        where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "?"
        log.error("update_failed error=%s at=%s", type(error).__name__, where)
        await self.channel.apologise(update)


async def serve(settings: Settings) -> int:
    """The bot on Telegram alone, through the runtime's one start-up/shutdown path."""
    return await serve_channels(settings, lambda orchestrator: telegram_channels(settings,
                                                                                 orchestrator))


def telegram_channels(settings: Settings, orchestrator: Orchestrator) -> list[ChannelService]:
    return [TelegramService(settings, orchestrator)]


def run_telegram(settings: Settings) -> int:
    """`testimony-bot run` with a token: runs until SIGINT or SIGTERM."""
    check_token(settings)  # before anything else: no keys loaded, no database opened
    if settings.webhook_url:
        webhook_path(settings.webhook_url)
    return asyncio.run(serve(settings))
