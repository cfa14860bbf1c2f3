"""Running the bot on WhatsApp: settings checked, the token and phone number id proven with
one call, the webhook served at /whatsapp/webhook, and a graceful shutdown."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

import httpx

from bot.channels.common.conversation import Conversations, utc_now
from bot.channels.common.flood import FloodLimits
from bot.channels.common.http import WebhookHost
from bot.channels.common.transport import TransportError
from bot.channels.whatsapp.channel import CHANNEL, MEDIA_LIMIT, WhatsAppChannel
from bot.channels.whatsapp.graph import FIRST_PAUSE, GraphClient, TokenRejected
from bot.channels.whatsapp.webhook import PATH, WhatsAppHandler, WhatsAppReceiver
from bot.config import ConfigError, Settings
from bot.links.qr import whatsapp_url
from bot.orchestrator import Orchestrator
from storage.backend import open_ledger

log = logging.getLogger(__name__)

SHUTDOWN_GRACE = 30.0
LEDGER_FLUSH = 0.05


def check_settings(settings: Settings) -> None:
    missing = [name for name, value in (
        ("WHATSAPP_ACCESS_TOKEN", settings.whatsapp_access_token.value),
        ("WHATSAPP_PHONE_NUMBER_ID", settings.whatsapp_phone_number_id),
        ("WHATSAPP_APP_SECRET", settings.whatsapp_app_secret.value),
        ("WHATSAPP_VERIFY_TOKEN", settings.whatsapp_verify_token.value)) if not value]
    if missing:
        raise ConfigError(
            f"WhatsApp is half configured: {', '.join(missing)} missing. Set all of "
            "WHATSAPP_ACCESS_TOKEN, WHATSAPP_PHONE_NUMBER_ID, WHATSAPP_APP_SECRET and "
            "WHATSAPP_VERIFY_TOKEN (Meta's app dashboard, WhatsApp > API setup), or none.")
    if not settings.whatsapp_phone_number_id.isdigit():
        raise ConfigError("WHATSAPP_PHONE_NUMBER_ID is the numeric id Meta shows under "
                          "WhatsApp > API setup, not the phone number itself")


class WhatsAppService:
    """The running WhatsApp channel: Graph client, ledger, channel and webhook, started and
    stopped together. The orchestrator (and its store) belongs to the caller."""

    def __init__(self, settings: Settings, orchestrator: Orchestrator, *,
                 transport: httpx.AsyncBaseTransport | None = None,
                 clock: Callable[[], datetime] = utc_now,
                 flood: FloodLimits | None = None,
                 sleep: Callable[[float], Awaitable[None]] | None = None,
                 media_limit: int = MEDIA_LIMIT) -> None:
        check_settings(settings)
        self.settings = settings
        self.graph = GraphClient(settings.whatsapp_api_url,
                                 settings.whatsapp_access_token.value,
                                 settings.whatsapp_phone_number_id, transport=transport,
                                 sleep=sleep or asyncio.sleep,
                                 first_pause=FIRST_PAUSE if sleep is None else 0.01)
        self.ledger = open_ledger(orchestrator.store, orchestrator.keys, LEDGER_FLUSH,
                                  channel=CHANNEL)
        self.channel = WhatsAppChannel(orchestrator, self.graph, ledger=self.ledger,
                                       media_limit=media_limit, flood=flood, clock=clock,
                                       reminder_template=settings.whatsapp_reminder_template
                                       or None)
        number = settings.whatsapp_number
        self.channel.conversations.serve_field_workers(
            settings.whatsapp_field_workers,
            lambda code: whatsapp_url(number, code) if number else code)
        self.receiver = WhatsAppReceiver(settings.whatsapp_app_secret.value,
                                         settings.whatsapp_verify_token.value,
                                         self.channel.handle)
        self._host = WebhookHost.shared(settings.webhook_listen, settings.webhook_port)
        self._clock = clock
        self._started = False
        self.port: int | None = None

    @property
    def description(self) -> str:
        return "WhatsApp (webhook)"

    @property
    def reminding(self) -> Conversations:
        return self.channel.conversations

    async def start(self) -> None:
        try:
            await self.graph.check()
        except TokenRejected as exc:
            await self.graph.close()
            raise ConfigError(
                "The Graph API rejected WHATSAPP_ACCESS_TOKEN (error 190: invalid or expired). "
                "Make a permanent system-user token in Meta's Business settings.") from exc
        except TransportError as exc:
            await self.graph.close()
            raise ConfigError(
                f"Cannot use the WhatsApp number {self.settings.whatsapp_phone_number_id} "
                f"through {self.settings.whatsapp_api_url} ({exc}). Check "
                "WHATSAPP_PHONE_NUMBER_ID, WHATSAPP_API_URL and the network.") from exc
        await self.ledger.start(self._clock())
        try:
            await self._host.add(PATH, WhatsAppHandler, {"receiver": self.receiver})
        except ConfigError:  # the port cannot be opened
            await self.ledger.close()
            await self.graph.close()
            raise
        self.port = self._host.port
        self._started = True
        log.info("whatsapp_started")

    async def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        self._host.remove(PATH)
        await self.receiver.drain(SHUTDOWN_GRACE)
        await self.channel.drain(SHUTDOWN_GRACE)
        await self._host.release()
        await self.ledger.close()
        await self.graph.close()
        log.info("whatsapp_stopped")
