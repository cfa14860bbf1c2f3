"""The WhatsApp channel proper: one webhook body in, each of its messages handed to the
shared conversation machinery, exactly once.

Each message is claimed by its id in the ledger (a keyed tag in the database, so a message
Meta delivers again, even after a restart, is handled once); the same tag, never the raw id
(whose encoding holds the sender's number), is the event id the orchestrator remembers.
Failed-send statuses are logged by WhatsApp's error code only.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any, assert_never

from bot.channels.common.commands import CommandWords
from bot.channels.common.conversation import Conversations, TemplateSender, utc_now
from bot.channels.common.flood import FloodLimits
from bot.channels.common.inbound import Ignored, Said
from bot.channels.common.media import MediaPolicy
from bot.channels.common.transport import Sent
from bot.channels.whatsapp import texts
from bot.channels.whatsapp.graph import GraphClient
from bot.channels.whatsapp.inbound import Received, SendFailed, read_payload
from bot.channels.whatsapp.transport import WhatsAppTransport
from bot.engine import MediaRef
from bot.engine import messages as msg
from bot.engine.text import Text, flow_text
from bot.orchestrator import Orchestrator
from storage.backend import Ledger

log = logging.getLogger(__name__)

CHANNEL = "whatsapp"
MEDIA_LIMIT = 16 * 1024 * 1024  # WhatsApp's own cap for audio and images is 16 MB / 5 MB


class WhatsAppChannel:
    def __init__(self, orchestrator: Orchestrator, graph: GraphClient, *,
                 ledger: Ledger | None, media_limit: int = MEDIA_LIMIT,
                 flood: FloodLimits | None = None,
                 clock: Callable[[], datetime] = utc_now,
                 monotonic: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 reminder_template: str | None = None) -> None:
        """`reminder_template`: the approved template for reminders after the 24-hour
        window (WHATSAPP_REMINDER_TEMPLATE); without one, reminders are offered only for
        within the window."""
        self.graph = graph
        self.ledger = ledger
        self.clock = clock
        self.transport = WhatsAppTransport(graph, orchestrator.translator, clock)

        async def download(ref: MediaRef, limit: int) -> bytes:
            return await graph.media(ref.reference, limit)

        # The consent text's part about the chat app is written for Telegram: WhatsApp has its
        # own (Meta's servers see the chat; nothing can be deleted from the phone). Without
        # such a part, WhatsApp's note comes before anything is asked.
        consent = orchestrator.script.consent
        wording = {msg.EXITED: texts.EXIT_BY_HAND}
        notice: Text | None = texts.CONSENT_NOTICE
        if consent.chat_app:
            wording[flow_text(consent.id, "chat_app", consent.chat_app)] = texts.CHAT_APP
            notice = None
        template: TemplateSender | None = None
        if reminder_template:
            transport = self.transport

            async def template(chat: str, language: str) -> Sent:
                return await transport.send_template(chat, reminder_template, language)

        self.conversations = Conversations(
            orchestrator, self.transport, channel=CHANNEL, ledger=None,
            reminder_template=template,
            fetch_media=MediaPolicy(download, media_limit), flood=flood,
            wording=wording, consent_notice=notice,
            command_words=CommandWords(orchestrator.translator,
                                       orchestrator.translator.languages),
            clock=clock, monotonic=monotonic, sleep=sleep)
        self._handled = 0

    @property
    def handled(self) -> int:
        """Messages finished (for tests and benchmarks to wait on)."""
        return self._handled + self.conversations.handled

    async def drain(self, grace: float) -> None:
        await self.conversations.drain(grace)

    async def handle(self, body: Mapping[str, Any]) -> None:
        """One POST: each person's messages in their order, different people side by side
        (one person's voice note being fetched does not hold up the others)."""
        people: dict[str, list[Received]] = {}
        for item in read_payload(body, self.graph.phone_number_id):
            match item:
                case SendFailed():
                    log.warning("whatsapp_send_failed code=%d", item.code)
                case Received():
                    sender = item.incoming.chat_id if isinstance(item.incoming, Said) else ""
                    people.setdefault(sender, []).append(item)
                case _:
                    assert_never(item)
        await asyncio.gather(*(self._in_order(messages) for messages in people.values()))

    async def _in_order(self, messages: list[Received]) -> None:
        for received in messages:
            if not await self._received(received):
                self._handled += 1

    async def _received(self, received: Received) -> bool:
        """True if the message was queued behind the person's earlier ones."""
        now = self.clock()
        tag = None
        if self.ledger is not None:
            tag = self.ledger.claim(received.message_id, now)
            if tag is None:
                log.info("duplicate_update_ignored")
                return False
        incoming = received.incoming
        try:
            match incoming:
                case Said():
                    self.transport.heard(incoming.chat_id, incoming.sent_at or now)
                    if tag is not None:
                        incoming = dataclasses.replace(incoming, event_id=tag.hex()[:24])
                    try:
                        return await self.conversations.said(incoming)
                    except Exception as exc:
                        log.error("update_failed error=%s", type(exc).__name__)
                        await self.conversations.apologise_to(incoming)
                        return False
                case Ignored():
                    log.debug("update_ignored kind=%s", incoming.reason)
                    return False
                case _:
                    assert_never(incoming)
        finally:
            if tag is not None and self.ledger is not None:
                self.ledger.handled(tag, now)
