"""The terminal channel: the real engine and store, driven from stdin and stdout.

Buttons are shown as numbered options. For several-answer questions type the numbers
together ("1 3"). `/voice PATH` or `/photo PATH` sends a file as a voice note or photo.
"""

from __future__ import annotations

import asyncio
import mimetypes
import sys
from pathlib import Path
from typing import TextIO, assert_never

from bot import outbound as out
from bot.channels.common.media import DEFAULT_LIMIT, MediaPolicy
from bot.engine import ChoiceIn, CommandIn, Event, MediaIn, MediaRef, Start, TextIn
from bot.engine.actions import DONE_KEY, SKIP_KEY
from bot.orchestrator import Orchestrator

CHANNEL = "terminal"
MEDIA_COMMANDS = {"voice": "audio/ogg", "audio": "audio/mpeg", "photo": "image/jpeg"}


class TerminalChat:
    def __init__(self, orchestrator: Orchestrator, user: str = "local",
                 reader: TextIO = sys.stdin, writer: TextIO = sys.stdout) -> None:
        self.orchestrator = orchestrator
        self.user = user
        self.reader = reader
        self.writer = writer
        self.prompt: out.Prompt | None = None
        self.counter = 0
        # The same size limit and photo scrubbing as every other channel.
        self.fetch = MediaPolicy(self._read_file, DEFAULT_LIMIT)

    def show(self, text: str) -> None:
        self.writer.write(text + "\n")
        self.writer.flush()

    async def run(self) -> None:
        await self.send(Start())
        loop = asyncio.get_running_loop()
        while True:
            self.writer.write("> ")
            self.writer.flush()
            line = await loop.run_in_executor(None, self.reader.readline)
            if not line:
                self.show("")
                return
            for event in self.events(line.rstrip("\r\n")):
                await self.send(event)

    def events(self, line: str) -> list[Event]:
        """One typed line becomes one or more events (several numbers on a multi question)."""
        stripped = line.strip()
        if stripped.startswith("/"):
            name, _, argument = stripped[1:].partition(" ")
            name = name.lower()
            if name in MEDIA_COMMANDS and argument:
                return [self.media(name, Path(argument.strip()))]
            if name == "start":
                return [Start(campaign=argument.strip() or None)]
            return [CommandIn(name, argument.strip())]
        prompt = self.prompt
        numbers = stripped.replace(",", " ").split()
        if prompt and prompt.buttons and numbers and all(n.isdigit() for n in numbers):
            picks = [int(n) for n in numbers]
            if all(1 <= n <= len(prompt.buttons) for n in picks):
                keys = [prompt.buttons[n - 1].key for n in picks]
                events: list[Event] = [ChoiceIn(prompt.token, key) for key in keys]
                if prompt.multi and DONE_KEY not in keys:
                    events.append(ChoiceIn(prompt.token, DONE_KEY))
                return events
        if prompt and prompt.skip_label and stripped.lower() in ("s", "skip"):
            return [ChoiceIn(prompt.token, SKIP_KEY)]
        return [TextIn(line)]

    def media(self, kind: str, path: Path) -> Event:
        mime = mimetypes.guess_type(path.name)[0] or MEDIA_COMMANDS[kind]
        size = path.stat().st_size if path.exists() else None
        return MediaIn(MediaRef(kind, str(path), mime, size))

    @staticmethod
    async def _read_file(ref: MediaRef, limit: int) -> bytes:
        return await asyncio.to_thread(Path(ref.reference).read_bytes)

    async def send(self, event: Event) -> None:
        self.counter += 1
        replies = await self.orchestrator.handle(
            CHANNEL, self.user, event, event_id=f"t{self.counter}", fetch_media=self.fetch)
        for reply in replies:
            self.render(reply)

    def render(self, reply: out.Outbound) -> None:
        match reply:
            case out.Message():
                self.show(reply.text + "\n")
            case out.Toast():
                self.show(f"({reply.text})")
            case out.Prompt():
                self.show_prompt(reply)
            case out.SessionEnded():
                self.prompt = None
            case out.Answered() | out.WipeChat() | out.AnswerKept():
                pass  # a terminal keeps no chat history to change or clear
            case _:
                assert_never(reply)

    def show_prompt(self, prompt: out.Prompt) -> None:
        self.prompt = prompt
        if not prompt.refresh:
            self.show(prompt.text)
        for number, button in enumerate(prompt.buttons, start=1):
            mark = ""
            if prompt.multi and button.key != DONE_KEY:
                mark = "[x] " if button.selected else "[ ] "
            self.show(f"  {number}. {mark}{button.label}")
        if prompt.skip_label:
            self.show(f"  ({prompt.skip_label}: /skip)")
