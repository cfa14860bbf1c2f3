"""Driving the real Telegram channel in tests: a real PTB Application (polling or webhook)
against the recording fake Bot API on 127.0.0.1, with a real store and real keys.

`TelegramBot` is what a test talks to: it sends update JSON as Telegram would (pushed to the
fake for long polling, or POSTed to the bot's webhook server with the secret token) and waits
until the bot has handled it, then lets the test press buttons by their label.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import io
import os
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

from bot.channels.common.flood import FloodLimits
from bot.channels.telegram.app import TelegramService
from bot.config import Settings, load_settings
from bot.engine import Script
from bot.i18n import Translator, language_name
from bot.orchestrator import Orchestrator
from storage.keys import KeyPair, encode_public
from storage.reader import Testimony, read_testimonies
from storage.server_keys import ServerKeys
from storage.store import Store
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.updates import TgUser, UpdateFactory

TOKEN = "123456789:AAF" + "x7Kq2" * 7  # the shape of a real token; the fake accepts any
WEBHOOK_URL = "https://bot.example.org/tg/hook"
JSON = dict[str, Any]


@asynccontextmanager
async def fake_bot_api(clock: Callable[[], datetime]) -> AsyncIterator[FakeBotApi]:
    """The fake Bot API on 127.0.0.1, its clock (message dates, 48 h) the test's clock."""
    api = FakeBotApi(clock=lambda: clock().timestamp())
    await api.start()
    try:
        yield api
    finally:
        await api.stop()


def settings_for(api: FakeBotApi, data_dir: Path, *, webhook: bool = False,
                 field_workers: tuple[int, ...] = (), clean_chat: bool = True) -> Settings:
    loaded = load_settings({
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": f"http://127.0.0.1:{api.port}",
        "DATA_DIR": str(data_dir),
        "WEBHOOK_URL": WEBHOOK_URL if webhook else "",
        "WEBHOOK_LISTEN": "127.0.0.1",
        "FIELD_WORKER_IDS": ",".join(str(i) for i in field_workers),
        "CLEAN_CHAT": "1" if clean_chat else "0",
    }, dotenv=None)
    return dataclasses.replace(loaded, webhook_port=0)  # any free port


def script_with_languages(script: Script, languages: tuple[str, ...]) -> Script:
    """The same flows offered in several languages (catalogs or not: English shows then)."""
    return dataclasses.replace(script, languages=languages,
                               language_names={c: language_name(c) for c in languages})


class TelegramBot:
    def __init__(self, api: FakeBotApi, service: TelegramService,
                 updates: UpdateFactory | None = None) -> None:
        self.api = api
        self.service = service
        # Keep one factory across restarts: its callback query ids restart at 1 otherwise.
        self.updates = updates or UpdateFactory(api)
        self._http = httpx.AsyncClient(timeout=30)

    @property
    def channel(self) -> Any:
        return self.service.channel

    @property
    def webhook_mode(self) -> bool:
        return self.service.webhook is not None

    async def close(self) -> None:
        await self._http.aclose()

    # -- sending updates ------------------------------------------------------------------
    async def send(self, update: JSON, *, within: float = 10) -> None:
        """Deliver one update the way Telegram would and wait until it is handled."""
        target = self.channel.handled + 1
        if self.webhook_mode:
            response = await self.post(update)
            assert response.status_code == 200, response.status_code
            await self.forward_webhook_answer(response)
        else:
            self.api.push_update(update)
        await self.wait_handled(target, within=within)

    async def post(self, update: JSON, *, secret: str | None = None,
                   headers: dict[str, str] | None = None) -> httpx.Response:
        assert self.service.webhook is not None
        # The fake has no webhook delivery of its own; let it learn what Telegram would know
        # once this update exists (open callback queries, chats). No public hook for it yet.
        self.api._learn_from_update(copy.deepcopy(update))
        sent = {"X-Telegram-Bot-Api-Secret-Token":
                self.api.webhook.secret_token if secret is None else secret}
        if headers is not None:
            sent = headers
        return await self._http.post(
            f"http://127.0.0.1:{self.service.webhook.port}/tg/hook", json=update, headers=sent)

    async def forward_webhook_answer(self, response: httpx.Response) -> None:
        """Telegram carries out a method call found in a webhook's answer: so does this."""
        if not response.content:
            return
        call = response.json()
        method = call.pop("method")
        sent = await self._http.post(f"{self.api.base_url}{TOKEN}/{method}", json=call)
        assert sent.status_code == 200, sent.text

    async def wait_handled(self, count: int, *, within: float = 10) -> None:
        """Until the channel has finished `count` updates (polling hands them over later)."""
        async with asyncio.timeout(within):
            while self.channel.handled < count:  # noqa: ASYNC110 - a counter, polled briefly
                await asyncio.sleep(0.002)

    # -- a person's side of the chat ------------------------------------------------------
    async def text(self, user: TgUser, text: str) -> JSON:
        update = self.updates.text(user, text)
        await self.send(update)
        return update

    async def press(self, user: TgUser, label: str) -> JSON:
        """Press the button whose text contains `label`, under the newest keyboard."""
        update = self.updates.callback(user, *self.button(user.id, label))
        await self.send(update)
        return update

    def button(self, chat_id: int, label: str) -> tuple[int, str]:
        """The message id and callback data of the button whose text contains `label`, under
        the newest keyboard."""
        message = self.keyboard_message(chat_id)
        for row in message["reply_markup"]["inline_keyboard"]:
            for button in row:
                if label in button["text"]:
                    return int(message["message_id"]), str(button["callback_data"])
        raise AssertionError(f"no button {label!r} in {self.buttons(chat_id)}")

    def keyboard_message(self, chat_id: int) -> JSON:
        with_keyboard = [m for m in self.api.messages(chat_id) if m.get("reply_markup")]
        assert with_keyboard, "the bot shows no buttons"
        return with_keyboard[-1]

    def buttons(self, chat_id: int) -> list[str]:
        message = self.keyboard_message(chat_id)
        return [b["text"] for row in message["reply_markup"]["inline_keyboard"] for b in row]

    def texts(self, chat_id: int) -> list[str]:
        return self.api.sent_texts(chat_id)

    def last_text(self, chat_id: int) -> str:
        return self.texts(chat_id)[-1]


@asynccontextmanager
async def telegram_bot(api: FakeBotApi, orchestrator: Orchestrator, data_dir: Path, *,
                       webhook: bool = False, flood: FloodLimits | None = None,
                       clock: Callable[[], datetime] | None = None,
                       updates: UpdateFactory | None = None,
                       media_limit: int | None = None,
                       field_workers: tuple[int, ...] = (),
                       clean_chat: bool = True) -> AsyncIterator[TelegramBot]:
    settings = settings_for(api, data_dir, webhook=webhook, field_workers=field_workers,
                            clean_chat=clean_chat)
    kwargs: dict[str, Any] = {"flood": flood, "media_limit": media_limit}
    if clock is not None:
        kwargs["clock"] = clock
    service = TelegramService(settings, orchestrator, **kwargs)
    await service.start()
    bot = TelegramBot(api, service, updates)
    try:
        yield bot
    finally:
        await bot.close()
        await service.stop()


def make_orchestrator(script: Script, store: Store, keys: ServerKeys, translator: Translator,
                      clock: Callable[[], datetime]) -> Orchestrator:
    return Orchestrator(script, store, keys, translator, clock)


def opened_testimonies(db: Path, key: KeyPair) -> list[Testimony]:
    return list(read_testimonies(db, key))


def jpeg_with_metadata() -> bytes:
    """A photo that gives away the phone, a place and the time, with bytes after its end."""
    image = Image.new("RGB", (40, 20), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "SecretPhoneMaker"  # Make
    exif[0x0112] = 6  # Orientation: rotate 90° to show upright
    exif[0x010E] = "Behind the bakery on Rue X"  # ImageDescription
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif, comment=b"gps 48.85 2.35")
    return buffer.getvalue() + b"TRAILING-DATA-AFTER-EOI"


async def consent(bot: TelegramBot, user: TgUser, start: str = "/start") -> None:
    """Through the mini script's three consent questions, to its first question."""
    await bot.text(user, start)
    for _ in range(3):
        await bot.press(user, "Yes")
    assert "Where do you work?" in bot.last_text(user.id)


async def press_exactly(bot: TelegramBot, person: TgUser, label: str) -> None:
    """`bot.press` matches a part of a label; a short one ("تم", Done) can hide in others."""
    message = bot.keyboard_message(person.id)
    (data,) = [b["callback_data"] for row in message["reply_markup"]["inline_keyboard"]
               for b in row if b["text"] == label]
    await bot.send(bot.updates.callback(person, message["message_id"], data))


def run_env(api: FakeBotApi, data_dir: Path, researcher: KeyPair, secret: str,
            **settings: str) -> dict[str, str]:
    """The environment of `testimony-bot run` on the fake Bot API: the test's own, less any
    platform setting it carries, plus `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM", "DEMO",
                                                                    "WEBHOOK", "WHATSAPP"))}
    return env | {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": f"http://127.0.0.1:{api.port}",
                  "DATA_DIR": str(data_dir), "RECIPIENT_PUBLIC_KEYS": encode_public(
                      researcher.public), "SERVER_SECRET": secret} | settings


async def run_until(cwd: Path, env: dict[str, str],
                    until: Callable[[], Awaitable[None]]) -> tuple[int, bytes, bytes]:
    """Start the real bot process, wait (a minute at most) for `until`, stop it with SIGTERM
    as a service manager would: its exit status, stdout and stderr. Killed if it outlives
    the test."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", cwd=cwd, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        async with asyncio.timeout(60):
            await until()
            process.send_signal(signal.SIGTERM)
            out, err = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode, out, err
