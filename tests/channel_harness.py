"""One face for both chat channels, so the channel contract (tests/test_channel_contract.py)
runs the same conversations on Telegram and on WhatsApp: each harness drives its channel's
real service against its strict platform fake, as a person would."""

from __future__ import annotations

import asyncio
import copy
import json
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any, Protocol

import pytest

from bot.channels.common.flood import FloodLimits
from bot.logsetup import configure_logging
from bot.orchestrator import Orchestrator
from tests.conftest import Clock
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.graph_api import TOKEN as GRAPH_TOKEN
from tests.fakes.graph_api import FakeGraphApi
from tests.fakes.updates import TgUser, UpdateFactory
from tests.telegram_support import TOKEN, TelegramBot, fake_bot_api, press_exactly, telegram_bot
from tests.whatsapp_support import NUMBERED, WhatsAppBot, fake_graph_api, whatsapp_bot

JSON = dict[str, Any]
PHONE = "+33612345678"  # a number shared as a contact card: never kept, never logged
PLACE = (48.85, 2.35)  # a shared location: the same


class Harness(Protocol):
    name: str
    notes_in_chat: bool  # a passing note is a message in the chat (no toasts on WhatsApp)

    @property
    def secrets(self) -> tuple[str, ...]: ...  # what must never be logged: tokens

    def person(self, number: int) -> Any: ...
    def person_secrets(self, person: Any) -> tuple[str, ...]: ...
    async def open(self, person: Any, code: str | None = None) -> None: ...
    async def text(self, person: Any, text: str) -> JSON: ...
    async def choose(self, person: Any, label: str) -> JSON: ...
    async def choose_exactly(self, person: Any, label: str) -> None: ...
    def choices(self, person: Any) -> list[str]: ...
    async def choose_earlier(self, person: Any, question: str, label: str,
                             copy: int = 0) -> JSON: ...
    async def choose_several(self, person: Any, labels: list[str], done: str) -> None: ...
    async def voice(self, person: Any, data: bytes) -> JSON: ...
    async def photo(self, person: Any, data: bytes, *, as_file: bool = False) -> JSON: ...
    async def unsupported(self, person: Any, kind: str) -> None: ...
    async def redeliver(self, update: JSON) -> None: ...
    async def burst(self, person: Any, texts: list[str]) -> None: ...
    async def wait_all(self, within: float = 60, others: int = 0) -> None:
        """Until the burst, and `others` messages sent meanwhile, are handled."""
    async def restart(self, orchestrator: Orchestrator) -> None: ...
    def handled(self) -> int: ...
    def fail_next_send(self) -> None: ...
    def texts(self, person: Any) -> list[str]: ...
    def notice(self, update: JSON) -> str: ...


def telegram_id(number: int) -> int:
    return 8_600_000_000 + number


def wa_id(number: int) -> str:
    return f"97150{number:07d}"


class Running:
    """The channel's service, started and stopped (and started again: a restart) over one
    platform fake, so what the fake remembers (chats, message ids) outlives the restart."""

    def __init__(self, start: Callable[[Orchestrator], AbstractAsyncContextManager[Any]],
                 orchestrator: Orchestrator) -> None:
        self._start = start
        self._orchestrator = orchestrator
        self._stack = AsyncExitStack()

    async def __aenter__(self) -> Any:
        return await self._stack.enter_async_context(self._start(self._orchestrator))

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.aclose()

    async def restart(self, orchestrator: Orchestrator) -> Any:
        await self._stack.aclose()
        self._stack = AsyncExitStack()
        return await self._stack.enter_async_context(self._start(orchestrator))


class TelegramHarness:
    name = "telegram"
    notes_in_chat = False

    def __init__(self, bot: TelegramBot, api: FakeBotApi, running: Running,
                 clock: Clock) -> None:
        self.bot = bot
        self.api = api
        self._running = running
        self._clock = clock
        self._sent = 0
        # Every keyboard as the person saw it: clean chat takes it off once answered, but an
        # older copy on a phone still has it.
        self._keyboards: dict[int, dict[int, JSON]] = {}

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (TOKEN, TOKEN.split(":")[1], self.api.webhook.secret_token)
                     if s)

    def person(self, number: int) -> TgUser:
        return TgUser(telegram_id(number), "Maricel", language_code=None,
                      username=f"maricel_ofw{number}", last_name="Santos")

    def person_secrets(self, person: TgUser) -> tuple[str, ...]:
        return (str(person.id), person.first_name, str(person.last_name),
                str(person.username))

    def _saw(self, person: TgUser) -> None:
        seen = self._keyboards.setdefault(person.id, {})
        for message in self.api.messages(person.id):
            if message.get("reply_markup"):
                seen[message["message_id"]] = copy.deepcopy(message)

    async def _send(self, person: TgUser, update: JSON) -> JSON:
        await self.bot.send(update)
        self._saw(person)
        return update

    async def open(self, person: TgUser, code: str | None = None) -> None:
        await self.text(person, "/start" if code is None else f"/start {code}")

    async def text(self, person: TgUser, text: str) -> JSON:
        return await self._send(person, self.bot.updates.text(person, text))

    async def choose(self, person: TgUser, label: str) -> JSON:
        update = await self.bot.press(person, label)
        self._saw(person)
        return update

    async def choose_exactly(self, person: TgUser, label: str) -> None:
        await press_exactly(self.bot, person, label)
        self._saw(person)

    def choices(self, person: TgUser) -> list[str]:
        return self.bot.buttons(person.id)

    async def choose_earlier(self, person: TgUser, question: str, label: str,
                             copy: int = 0) -> JSON:
        shown = [m for _, m in sorted(self._keyboards.get(person.id, {}).items())
                 if question in m.get("text", "")]
        message = shown[copy]
        (data,) = [b["callback_data"] for row in message["reply_markup"]["inline_keyboard"]
                   for b in row if label in b["text"]]
        return await self._send(person, self.bot.updates.callback(
            person, message["message_id"], data))

    async def choose_several(self, person: TgUser, labels: list[str], done: str) -> None:
        for label in labels:
            await self.choose(person, label)
        message = self.bot.keyboard_message(person.id)
        (data,) = [b["callback_data"] for row in message["reply_markup"]["inline_keyboard"]
                   for b in row if b["text"] == done]
        await self._send(person, self.bot.updates.callback(person, message["message_id"], data))

    async def voice(self, person: TgUser, data: bytes) -> JSON:
        file_id = f"voice-{len(self.api.calls)}"
        self.api.add_file(file_id, data)
        return await self._send(person, self.bot.updates.voice(person, file_id, duration=5,
                                                               size=len(data)))

    async def photo(self, person: TgUser, data: bytes, *, as_file: bool = False) -> JSON:
        file_id = f"photo-{len(self.api.calls)}"
        self.api.add_file(file_id, data)
        if as_file:  # sent "as a file": Telegram keeps every byte, metadata included
            update = self.bot.updates.text(person, "")
            update["message"].pop("text")
            update["message"]["document"] = {"file_id": file_id, "file_unique_id": file_id,
                                             "mime_type": "image/jpeg",
                                             "file_size": len(data)}
        else:
            update = self.bot.updates.photo(person, file_id, size=len(data))
        return await self._send(person, update)

    async def unsupported(self, person: TgUser, kind: str) -> None:
        updates = self.bot.updates
        made = {"sticker": lambda: updates.sticker(person, "sticker-1"),
                "location": lambda: updates.location(person, *PLACE),
                "contact": lambda: updates.contact(person, PHONE)}
        await self._send(person, made[kind]())

    async def redeliver(self, update: JSON) -> None:
        await self.bot.send(update)

    async def burst(self, person: TgUser, texts: list[str]) -> None:
        updates = [self.bot.updates.text(person, text) for text in texts]
        self._sent = self.bot.channel.handled + len(updates)
        responses = await asyncio.gather(*(self.bot.post(u) for u in updates))
        assert {r.status_code for r in responses} == {200}  # at once: none holds a connection

    async def wait_all(self, within: float = 60, others: int = 0) -> None:
        await self.bot.wait_handled(self._sent + others, within=within)

    async def restart(self, orchestrator: Orchestrator) -> None:
        self._clock.advance(seconds=2)  # Telegram takes one new webhook per second
        self.bot = await self._running.restart(orchestrator)

    def handled(self) -> int:
        return int(self.bot.channel.handled)

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
    notes_in_chat = True
    secrets = (GRAPH_TOKEN,)

    def __init__(self, bot: WhatsAppBot, api: FakeGraphApi, running: Running) -> None:
        self.bot = bot
        self.api = api
        self._running = running
        self._sent = 0

    def person(self, number: int) -> str:
        return wa_id(number)

    def person_secrets(self, person: str) -> tuple[str, ...]:
        return (person, "Profile Name Never Read")  # the name Meta sends with each message

    async def open(self, person: str, code: str | None = None) -> None:
        await self.bot.text(person, "Hello" if code is None else code)  # as wa.me typed it

    async def text(self, person: str, text: str) -> JSON:
        return await self.bot.text(person, text)

    async def choose(self, person: str, label: str) -> JSON:
        return await self.bot.choose(person, label)

    async def choose_exactly(self, person: str, label: str) -> None:
        sent = self.bot.last_with_options(person)
        if sent.options():
            await self.bot.deliver(self.api.reply(person, sent, label))
        else:
            [number] = [n for n, text in NUMBERED.findall(sent.text) if text == label]
            await self.bot.text(person, number)

    def choices(self, person: str) -> list[str]:
        sent = self.bot.last_with_options(person)
        return [title for title, _ in sent.options()] or [
            text for _, text in NUMBERED.findall(sent.text)]

    async def choose_earlier(self, person: str, question: str, label: str,
                             copy: int = 0) -> JSON:
        shown = [s for s in self.api.to(person) if question in s.text and s.options()]
        sent = shown[copy]
        [title] = [title for title, _ in sent.options() if label in title]
        message = self.api.reply(person, sent, title)
        await self.bot.deliver(message)
        return message

    async def choose_several(self, person: str, labels: list[str], done: str) -> None:
        sent = self.bot.last_with_options(person)
        numbers = [number for number, text in NUMBERED.findall(sent.text)
                   if any(label in text for label in labels)]
        assert len(numbers) == len(labels), sent.text
        await self.bot.text(person, " ".join(numbers))

    async def voice(self, person: str, data: bytes) -> JSON:
        return await self.bot.voice(person, data)

    async def photo(self, person: str, data: bytes, *, as_file: bool = False) -> JSON:
        media_id = self.api.add_media(data, "image/jpeg")
        if as_file:  # sent as a document: WhatsApp keeps every byte, metadata included
            message = self.api.message(person, "document", {
                "id": media_id, "mime_type": "image/jpeg", "filename": "IMG_0001.jpg"})
        else:
            message = self.api.image(person, media_id)
        await self.bot.deliver(message)
        return message

    async def unsupported(self, person: str, kind: str) -> None:
        content: dict[str, tuple[str, Any]] = {
            "sticker": ("sticker", {"id": "55", "mime_type": "image/webp"}),
            "location": ("location", {"latitude": PLACE[0], "longitude": PLACE[1]}),
            "contact": ("contacts", [{"name": {"formatted_name": "X"},
                                      "phones": [{"phone": PHONE}]}])}
        await self.bot.deliver(self.api.message(person, *content[kind]))

    async def redeliver(self, update: JSON) -> None:
        await self.bot.deliver(update)

    async def burst(self, person: str, texts: list[str]) -> None:
        messages = [self.api.text(person, text) for text in texts]
        self._sent = self.bot.service.channel.handled + len(messages)
        bodies = [json.dumps(self.api.body([m])).encode() for m in messages]
        responses = await asyncio.gather(*(self.bot.post(b) for b in bodies))
        assert {r.status_code for r in responses} == {200}  # at once: none holds a connection

    async def wait_all(self, within: float = 60, others: int = 0) -> None:
        await self.bot.wait_handled(self._sent + others, within=within)

    async def restart(self, orchestrator: Orchestrator) -> None:
        self.bot = await self._running.restart(orchestrator)

    def handled(self) -> int:
        return int(self.bot.service.channel.handled)

    def fail_next_send(self) -> None:
        self.api.fail_next(131000)

    def texts(self, person: str) -> list[str]:
        return self.bot.texts(person)

    def notice(self, update: JSON) -> str:
        """WhatsApp has no toasts: the note comes as the latest message."""
        return self.api.texts(str(update["from"]))[-1]


@asynccontextmanager
async def harness(name: str, orchestrator: Orchestrator, data_dir: Path, clock: Clock, *,
                  flood: FloodLimits | None = None,
                  field_worker: int | None = None) -> AsyncIterator[Harness]:
    """The channel `name` running; person number `field_worker`, if given, is one."""
    if name == "telegram":
        async with fake_bot_api(clock) as api:
            updates = UpdateFactory(api)  # one across restarts: callback ids go on counting
            workers = () if field_worker is None else (telegram_id(field_worker),)

            def start_telegram(o: Orchestrator) -> AbstractAsyncContextManager[TelegramBot]:
                return telegram_bot(api, o, data_dir, webhook=True, clock=clock, flood=flood,
                                    updates=updates, field_workers=workers)

            running = Running(start_telegram, orchestrator)
            async with running as bot:
                yield TelegramHarness(bot, api, running, clock)
    else:
        async with fake_graph_api(clock) as graph:
            numbers = () if field_worker is None else (f"+{wa_id(field_worker)}",)

            def start_whatsapp(o: Orchestrator) -> AbstractAsyncContextManager[WhatsAppBot]:
                return whatsapp_bot(graph, o, data_dir, clock=clock, flood=flood,
                                    field_workers=numbers)

            running = Running(start_whatsapp, orchestrator)
            async with running as wbot:
                yield WhatsAppHarness(wbot, graph, running)


def raw_files(data_dir: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(data_dir.glob("testimonies.db*")))


# -- logging as `testimony-bot run` sets it up, at DEBUG --------------------------------------
class Recorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        self.lines.append(f"{record.name} {text}")


@pytest.fixture
def debug_logging(capsys: pytest.CaptureFixture[str]) -> Iterator[Recorder]:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    names = ("telegram", "aiosqlite", "httpx", "httpcore", "telegram.ext.Updater",
             "tornado.access", "apscheduler")
    levels = {name: logging.getLogger(name).level for name in names}
    configure_logging("DEBUG")  # as the CLI does with LOG_LEVEL=DEBUG (into capsys' stderr)
    recorder = Recorder()
    root.addHandler(recorder)
    try:
        yield recorder
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
