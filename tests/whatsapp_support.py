"""Driving the real WhatsApp channel in tests: the service's own webhook server on 127.0.0.1,
bodies signed as Meta signs them, the strict fake Graph API, a real store and real keys.

`WhatsAppBot` is what a test talks to: it posts webhook bodies and waits until the bot has
handled them, then lets the test tap buttons or list rows by their title, or type the number
of an answer in a numbered question, as a person would.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from bot.channels.common.flood import FloodLimits
from bot.channels.whatsapp.app import WhatsAppService
from bot.channels.whatsapp.webhook import PATH
from bot.config import Settings, load_settings
from bot.orchestrator import Orchestrator
from tests.fakes.graph_api import (
    APP_SECRET,
    PHONE_NUMBER_ID,
    TOKEN,
    VERIFY_TOKEN,
    FakeGraphApi,
    Sent,
    sign,
)

JSON = dict[str, Any]
NUMBER = "+1 555 000 1234"
NUMBERED = re.compile(r"^([0-9]{1,2})\. (.*)$", re.MULTILINE)


@asynccontextmanager
async def fake_graph_api(clock: Callable[[], datetime]) -> AsyncIterator[FakeGraphApi]:
    api = FakeGraphApi(clock=lambda: clock().timestamp())
    await api.start()
    try:
        yield api
    finally:
        await api.stop()


def whatsapp_settings(api: FakeGraphApi, data_dir: Path, *,
                      field_workers: tuple[str, ...] = (), token: str = TOKEN) -> Settings:
    loaded = load_settings({
        "WHATSAPP_ACCESS_TOKEN": token,
        "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
        "WHATSAPP_APP_SECRET": APP_SECRET,
        "WHATSAPP_VERIFY_TOKEN": VERIFY_TOKEN,
        "WHATSAPP_API_URL": api.base_url,
        "WHATSAPP_NUMBER": NUMBER,
        "WHATSAPP_FIELD_WORKERS": ",".join(field_workers),
        "DATA_DIR": str(data_dir),
        "WEBHOOK_LISTEN": "127.0.0.1",
    }, dotenv=None)
    return dataclasses.replace(loaded, webhook_port=0)  # any free port


async def no_pause(seconds: float) -> None:
    await asyncio.sleep(0)


class WhatsAppBot:
    def __init__(self, api: FakeGraphApi, service: WhatsAppService) -> None:
        self.api = api
        self.service = service
        self._http = httpx.AsyncClient(timeout=30)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.service.port}{PATH}"

    async def close(self) -> None:
        await self._http.aclose()

    # -- sending, as Meta does --------------------------------------------------------------
    async def post(self, body: JSON | bytes, *, signature: str | None = None,
                   headers: dict[str, str] | None = None) -> httpx.Response:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        sent = {"Content-Type": "application/json",
                "X-Hub-Signature-256": sign(raw) if signature is None else signature}
        return await self._http.post(self.url, content=raw,
                                     headers=sent if headers is None else headers)

    async def deliver(self, *messages: JSON, within: float = 10) -> None:
        """One POST with these messages; wait until each is handled."""
        channel = self.service.channel
        target = channel.handled + len(messages)
        response = await self.post(self.api.body(list(messages)))
        assert response.status_code == 200, response.status_code
        await self.wait_handled(target, within=within)

    async def wait_handled(self, count: int, *, within: float = 10) -> None:
        async with asyncio.timeout(within):
            while self.service.channel.handled < count:  # noqa: ASYNC110 - a counter
                await asyncio.sleep(0.002)

    # -- a person's side of the chat --------------------------------------------------------
    async def text(self, user: str, text: str) -> JSON:
        message = self.api.text(user, text)
        await self.deliver(message)
        return message

    def last_with_options(self, user: str) -> Sent:
        with_options = [s for s in self.api.to(user) if s.options() or NUMBERED.search(s.text)]
        assert with_options, "the bot shows no answers to choose from"
        return with_options[-1]

    async def choose(self, user: str, label: str) -> JSON:
        """Tap the button or row whose title contains `label`, or type the number of the
        numbered answer that does."""
        sent = self.last_with_options(user)
        for title, _ in sent.options():
            if label in title or (title.endswith("…") and label.startswith(title[:-1])):
                message = self.api.reply(user, sent, title)
                await self.deliver(message)
                return message
        for number, text in NUMBERED.findall(sent.text):
            if label in text:
                return await self.text(user, number)
        raise AssertionError(f"no answer {label!r} in {sent.options() or sent.text!r}")

    async def voice(self, user: str, data: bytes) -> JSON:
        message = self.api.voice(user, self.api.add_media(data, "audio/ogg"))
        await self.deliver(message)
        return message

    def texts(self, user: str) -> list[str]:
        return self.api.texts(user)


@asynccontextmanager
async def whatsapp_bot(api: FakeGraphApi, orchestrator: Orchestrator, data_dir: Path, *,
                       clock: Callable[[], datetime] | None = None,
                       field_workers: tuple[str, ...] = (),
                       settings: Settings | None = None,
                       flood: FloodLimits | None = None) -> AsyncIterator[WhatsAppBot]:
    config = settings or whatsapp_settings(api, data_dir, field_workers=field_workers)
    kwargs: dict[str, Any] = {"sleep": no_pause, "flood": flood}
    if clock is not None:
        kwargs["clock"] = clock
    service = WhatsAppService(config, orchestrator, **kwargs)
    await service.start()
    bot = WhatsAppBot(api, service)
    try:
        yield bot
    finally:
        await bot.close()
        await service.stop()
