"""The terminal channel: the real engine and store, driven from stdin and stdout.

Buttons are shown as numbered options. On a several-answer question each typed number ticks
or unticks its answer, as a button press does ("1 3" ticks two), and the number of Done sends
them ("1 3 9" does all at once). `/voice PATH` or `/photo PATH` sends a file as a voice note
or photo.
"""

from __future__ import annotations

import asyncio
import mimetypes
import secrets
import sys
from pathlib import Path
from typing import TextIO, assert_never

from bot import outbound as out
from bot.channels.common.media import DEFAULT_LIMIT, MediaPolicy
from bot.engine import ChoiceIn, CommandIn, Event, MediaIn, MediaRef, Start, TextIn
from bot.engine import messages as msg
from bot.engine.actions import DONE_KEY, SKIP_KEY
from bot.engine.text import N_, Text
from bot.orchestrator import Orchestrator

CHANNEL = "terminal"
MEDIA_COMMANDS = {"voice": "audio/ogg", "audio": "audio/mpeg", "photo": "image/jpeg"}
# Nothing is tapped here: the engine's words about tapping, as said in a terminal.
TYPED_WORDING: dict[Text, Text] = {
    msg.CHOOSE_AT_LEAST_ONE: N_("Please type the number of at least one answer, then the "
                                "number of Done, or send /skip."),
}


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
        # Event ids must never repeat across runs: the saved state remembers recent ones to
        # recognise redeliveries, and a restarted chat counting from 1 again would be ignored.
        self.run_id = secrets.token_hex(4)

    def show(self, text: str) -> None:
        self.writer.write(text + "\n")
        self.writer.flush()

    async def run(self) -> None:
        self.render_all(await self.handle(Start()))
        loop = asyncio.get_running_loop()
        while True:
            self.writer.write("> ")
            self.writer.flush()
            line = await loop.run_in_executor(None, self.reader.readline)
            if not line:
                self.show("")
                return
            replies: list[out.Outbound] = []
            for event in self.events(line.rstrip("\r\n")):
                replies += await self.handle(event)
            self.render_all(replies)

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
                return [ChoiceIn(prompt.token, prompt.buttons[n - 1].key) for n in picks]
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

    async def handle(self, event: Event) -> list[out.Outbound]:
        self.counter += 1
        return await self.orchestrator.handle(
            CHANNEL, self.user, event, event_id=f"t{self.run_id}.{self.counter}",
            fetch_media=self.fetch, wording=TYPED_WORDING)

    def render_all(self, replies: list[out.Outbound]) -> None:
        """One typed line's replies; a menu ticked several times is shown once, as it ends."""
        for at, reply in enumerate(replies):
            if isinstance(reply, out.Prompt) and reply.refresh and any(
                    isinstance(later, out.Prompt) and later.refresh
                    and later.token == reply.token for later in replies[at + 1:]):
                continue
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
