"""One face for both chat channels, so the channel contract (tests/test_channel_contract.py)
runs the same conversations on Telegram and on WhatsApp: each harness drives its channel's
real service against its strict platform fake, as a person would."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Protocol

from bot.channels.common.flood import FloodLimits
from bot.orchestrator import Orchestrator
from tests.conftest import Clock
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.graph_api import TOKEN as GRAPH_TOKEN
from tests.fakes.graph_api import FakeGraphApi
from tests.fakes.updates import TgUser
from tests.telegram_support import TOKEN, TelegramBot, fake_bot_api, telegram_bot
from tests.whatsapp_support import NUMBERED, WhatsAppBot, fake_graph_api, whatsapp_bot

JSON = dict[str, Any]


class Harness(Protocol):
    name: str
    secrets: tuple[str, ...]  # what must never be logged: tokens

    def person(self, number: int) -> Any: ...
    def person_id(self, person: Any) -> str: ...
    async def open(self, person: Any) -> None: ...
    async def text(self, person: Any, text: str) -> JSON: ...
    async def choose(self, person: Any, label: str) -> JSON: ...
    async def choose_several(self, person: Any, labels: list[str], done: str) -> None: ...
    async def voice(self, person: Any, data: bytes) -> JSON: ...
    async def photo(self, person: Any, data: bytes) -> JSON: ...
    async def redeliver(self, update: JSON) -> None: ...
    async def burst(self, person: Any, texts: list[str]) -> None: ...
    async def wait_all(self, within: float = 60) -> None: ...
    def fail_next_send(self) -> None: ...
    def texts(self, person: Any) -> list[str]: ...
    def notice(self, update: JSON) -> str: ...


class TelegramHarness:
    name = "telegram"
    secrets = (TOKEN, TOKEN.split(":")[1])

    def __init__(self, bot: TelegramBot, api: FakeBotApi) -> None:
        self.bot = bot
        self.api = api
        self._sent = 0

    def person(self, number: int) -> TgUser:
        return TgUser(8_600_000_000 + number, "Person", language_code=None)

    def person_id(self, person: TgUser) -> str:
        return str(person.id)

    async def open(self, person: TgUser) -> None:
        await self.bot.text(person, "/start")

    async def text(self, person: TgUser, text: str) -> JSON:
        return await self.bot.text(person, text)

    async def choose(self, person: TgUser, label: str) -> JSON:
        return await self.bot.press(person, label)

    async def choose_several(self, person: TgUser, labels: list[str], done: str) -> None:
        for label in labels:
            await self.bot.press(person, label)
        message = self.bot.keyboard_message(person.id)
        (data,) = [b["callback_data"] for row in message["reply_markup"]["inline_keyboard"]
                   for b in row if b["text"] == done]
        await self.bot.send(self.bot.updates.callback(person, message["message_id"], data))

    async def voice(self, person: TgUser, data: bytes) -> JSON:
        file_id = f"voice-{len(self.api.calls)}"
        self.api.add_file(file_id, data)
        update = self.bot.updates.voice(person, file_id, duration=5, size=len(data))
        await self.bot.send(update)
        return update

    async def photo(self, person: TgUser, data: bytes) -> JSON:
        file_id = f"photo-{len(self.api.calls)}"
        self.api.add_file(file_id, data)
        update = self.bot.updates.photo(person, file_id, size=len(data))
        await self.bot.send(update)
        return update

    async def redeliver(self, update: JSON) -> None:
        await self.bot.send(update)

    async def burst(self, person: TgUser, texts: list[str]) -> None:
        updates = [self.bot.updates.text(person, text) for text in texts]
        self._sent = self.bot.channel.handled + len(updates)
        responses = await asyncio.gather(*(self.bot.post(u) for u in updates))
        assert {r.status_code for r in responses} == {200}

    async def wait_all(self, within: float = 60) -> None:
        await self.bot.wait_handled(self._sent, within=within)

    def fail_next_send(self) -> None:
        self.api.fail_next("sendMessage", status=500)

    def texts(self, person: TgUser) -> list[str]:
        return self.bot.texts(person.id)

    def notice(self, update: JSON) -> str:
        """The passing note a press was answered with (a toast)."""
        query = update["callback_query"]
        return str(self.api.callback_answers[query["id"]].get("text", ""))


class WhatsAppHarness:
    name = "whatsapp"
    secrets = (GRAPH_TOKEN,)

    def __init__(self, bot: WhatsAppBot, api: FakeGraphApi) -> None:
        self.bot = bot
        self.api = api
        self._sent = 0

    def person(self, number: int) -> str:
        return f"97150{number:07d}"

    def person_id(self, person: str) -> str:
        return person

    async def open(self, person: str) -> None:
        await self.bot.text(person, "Hello")

    async def text(self, person: str, text: str) -> JSON:
        return await self.bot.text(person, text)

    async def choose(self, person: str, label: str) -> JSON:
        return await self.bot.choose(person, label)

    async def choose_several(self, person: str, labels: list[str], done: str) -> None:
        sent = self.bot.last_with_options(person)
        numbers = [number for number, text in NUMBERED.findall(sent.text)
                   if any(label in text for label in labels)]
        assert len(numbers) == len(labels), sent.text
        await self.bot.text(person, " ".join(numbers))

    async def voice(self, person: str, data: bytes) -> JSON:
        return await self.bot.voice(person, data)

    async def photo(self, person: str, data: bytes) -> JSON:
        message = self.api.image(person, self.api.add_media(data, "image/jpeg"))
        await self.bot.deliver(message)
        return message

    async def redeliver(self, update: JSON) -> None:
        await self.bot.deliver(update)

    async def burst(self, person: str, texts: list[str]) -> None:
        messages = [self.api.text(person, text) for text in texts]
        self._sent = self.bot.service.channel.handled + len(messages)
        bodies = [json.dumps(self.api.body([m])).encode() for m in messages]
        responses = await asyncio.gather(*(self.bot.post(b) for b in bodies))
        assert {r.status_code for r in responses} == {200}

    async def wait_all(self, within: float = 60) -> None:
        await self.bot.wait_handled(self._sent, within=within)

    def fail_next_send(self) -> None:
        self.api.fail_next(131000)

    def texts(self, person: str) -> list[str]:
        return self.bot.texts(person)

    def notice(self, update: JSON) -> str:
        """WhatsApp has no toasts: the note comes as the latest message."""
        return self.api.texts(str(update["from"]))[-1]


@asynccontextmanager
async def harness(name: str, orchestrator: Orchestrator, data_dir: Path, clock: Clock, *,
                  flood: FloodLimits | None = None) -> AsyncIterator[Harness]:
    if name == "telegram":
        async with fake_bot_api(clock) as api, telegram_bot(
                api, orchestrator, data_dir, webhook=True, clock=clock, flood=flood) as bot:
            yield TelegramHarness(bot, api)
    else:
        async with fake_graph_api(clock) as graph, whatsapp_bot(
                graph, orchestrator, data_dir, clock=clock, flood=flood) as wbot:
            yield WhatsAppHarness(wbot, graph)


def raw_files(data_dir: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(data_dir.glob("testimonies.db*")))
