"""The Telegram channel proper: one update in, the person's replies out.

For each update: drop it if it was handled before (update ids survive a restart), read it
into an engine event, queue it behind the person's earlier updates (with a flood limit), let
the orchestrator decide and store, then deliver the replies. Only private chats are served;
the bot leaves groups and channels.

Rules a person meets here rather than in the engine:
- A campaign code can be typed: `start CODE` (or `/start CODE`), or a bare code that has a
  letter and a digit ("wimn26"), is read as opening the bot with that code, but only before
  consent; afterwards the same text is an ordinary answer.
- An edited message after consent gets a note that the first version was kept and that
  /back changes an answer; before consent nothing is kept, so nothing is said.
- A person who blocks the bot (or whose chat answers 403) has their session ended quietly.
- A button from before a restart of the bot re-asks the current question ("welcome back").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from telegram import Update
from telegram.error import Forbidden, TelegramError

from bot import outbound as out
from bot.channels.telegram import texts
from bot.channels.telegram.api import ChannelBot
from bot.channels.telegram.flood import FloodGate, FloodLimits
from bot.channels.telegram.inbound import (
    Blocked,
    Edited,
    Ignored,
    NotPrivate,
    Said,
    read_update,
    update_id,
)
from bot.channels.telegram.media import MediaFetcher
from bot.channels.telegram.memory import ChatMemories, ChatMemory, SentPrompt
from bot.channels.telegram.render import (
    PROMPT_ROOM,
    answered_text,
    keyboard,
    split_text,
)
from bot.channels.telegram.staff import FieldWork
from bot.channels.telegram.webhook import detach_from_webhook
from bot.engine import ChoiceIn, CommandIn, Event, Phase, Start
from bot.engine.text import Text
from bot.i18n import negotiate
from bot.orchestrator import Orchestrator
from storage.pg.ledger import PgChannelLedger
from storage.telegram import TelegramLedger

log = logging.getLogger(__name__)

CHANNEL = "telegram"
UNKNOWN_KEY = "~unknown"  # no question has it: the engine answers a stale token, ignores it else
MAX_TOAST = 200  # answerCallbackQuery text limit
NOTICE_EVERY = 60.0  # seconds between two flood notices to one person


def utc_now() -> datetime:
    return datetime.now(UTC)


class TelegramChannel:
    def __init__(self, orchestrator: Orchestrator, bot: ChannelBot, *,
                 ledger: TelegramLedger | PgChannelLedger[int] | None, media_limit: int,
                 flood: FloodLimits | None = None,
                 clock: Callable[[], datetime] = utc_now,
                 monotonic: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.orchestrator = orchestrator
        self.bot = bot
        self.ledger = ledger
        self.fetch = MediaFetcher(bot, media_limit)
        self.gate = FloodGate(flood, monotonic)
        self.monotonic = monotonic
        self.chats = ChatMemories()
        self.clock = clock
        self.sleep = sleep
        self.languages = orchestrator.translator.languages
        self._hints: dict[str | None, str | None] = {}
        self.handled = 0  # updates finished (for tests and benchmarks to wait on)
        self._queued: set[asyncio.Task[None]] = set()  # updates waiting behind earlier ones
        self.field_work: FieldWork | None = None  # set by the service when configured

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
                self.handled += 1

    async def handle(self, update: Mapping[str, Any]) -> bool:
        """Handle one update; True if it was queued behind the person's earlier ones (it
        then finishes in the background)."""
        number = update_id(update)
        now = self.clock()
        tag = None
        if number is not None and self.ledger is not None:
            tag = self.ledger.claim(number, now)
            if tag is None:
                log.info("duplicate_update_ignored")
                return False
        started = time.perf_counter()
        incoming = read_update(update)
        queued = False
        try:
            if isinstance(incoming, Said):
                queued = await self._said(incoming)
            elif isinstance(incoming, Edited):
                await self._edited(incoming)
            elif isinstance(incoming, Blocked):
                await self._end_quietly(incoming.chat_id)
            elif isinstance(incoming, NotPrivate):
                log.info("left_non_private_chat")
                await self.bot.leave(incoming.chat_id)
            elif isinstance(incoming, Ignored):
                log.debug("update_ignored kind=%s", incoming.reason)
        finally:
            if tag is not None and self.ledger is not None:
                self.ledger.handled(tag, now)
            log.debug("update_handled kind=%s ms=%.1f", type(incoming).__name__,
                      (time.perf_counter() - started) * 1000)
        return queued

    # -- a message or a button press in a private chat -----------------------------------
    async def _said(self, said: Said) -> bool:
        memory = self.chats.get(said.chat_id)
        if said.message_id is not None and said.sent_at is not None:
            self._track(said.chat_id, memory, [(said.message_id, said.sent_at)])
        memory.waiting += 1
        if memory.waiting > self.gate.limits.max_waiting:
            memory.waiting -= 1
            await self._refuse(said, memory)
            return False
        if memory.waiting > 1:
            # An earlier update of this person is still being handled: this one waits its
            # turn in the background, so it does not hold one of the few connections Telegram
            # opens to the webhook (one person's flood must not delay everyone else).
            task = asyncio.create_task(self._in_turn(said, memory, detached=True))
            self._queued.add(task)
            task.add_done_callback(self._queued.discard)
            return True
        await self._in_turn(said, memory)
        return False

    async def _in_turn(self, said: Said, memory: ChatMemory, detached: bool = False) -> None:
        """Handle one update once the person's earlier ones are done, within the flood limit."""
        if detached:
            detach_from_webhook()  # the request that brought it has been answered already
        try:
            async with memory.lock:
                wait = self.gate.delay(said.chat_id)
                if wait > 0:
                    log.info("flood_delayed ms=%d", wait * 1000)
                    if self._due(memory, "slow_down"):
                        await self._notice(said.chat_id, memory, texts.SLOW_DOWN,
                                           said.language_code)
                    await self.sleep(wait)
                await self._converse(said, memory)
        except Forbidden:
            await self._end_quietly(said.chat_id)
        except Exception as exc:
            if not detached:
                raise  # PTB's error handler logs it and apologises
            log.error("update_failed error=%s", type(exc).__name__)
            await self.apologise_to(said)
        finally:
            memory.waiting -= 1
            if detached:
                self.handled += 1

    async def _refuse(self, said: Said, memory: ChatMemory) -> None:
        log.warning("flood_refused")
        try:
            if self._due(memory, "resend"):
                await self._notice(said.chat_id, memory, texts.RESEND_LATER, said.language_code)
            if said.callback_id:
                await self.bot.answer_query(said.callback_id, None)
        except Forbidden:
            await self._end_quietly(said.chat_id)

    async def drain(self, grace: float) -> None:
        """Let updates queued behind others finish (at shutdown)."""
        if self._queued:
            await asyncio.wait(set(self._queued), timeout=grace)

    def _due(self, memory: ChatMemory, notice: str) -> bool:
        """Each flood notice at most once a minute: one note per burst, not one per message."""
        now = self.monotonic()
        if now - memory.told.get(notice, -NOTICE_EVERY) < NOTICE_EVERY:
            return False
        memory.told[notice] = now
        return True

    async def _converse(self, said: Said, memory: ChatMemory) -> None:
        if self.field_work is not None:
            routed = await self.field_work.take(said)  # /newlink, /stats: field workers only
            if routed is None:
                return
            said = routed
        user_id = str(said.chat_id)  # in a private chat the chat id is the person's id
        hint = self._hint(said.language_code)
        event = await self._event(said, memory, user_id, hint)
        if event is None:  # a forged or malformed button
            log.info("callback_ignored")
            if said.callback_id:
                await self.bot.answer_query(said.callback_id, None)
            return
        replies = await self.orchestrator.handle(CHANNEL, user_id, event,
                                                 event_id=said.event_id, language_hint=hint,
                                                 fetch_media=self.fetch)
        if (not replies and isinstance(event, ChoiceIn) and event.key == UNKNOWN_KEY):
            # The current question's button, but its keyboard was sent before a restart:
            # ask the question again rather than leave the press unanswered.
            replies = await self.orchestrator.handle(CHANNEL, user_id, Start(language_hint=hint),
                                                     language_hint=hint)
        log.info("event_handled event=%s replies=%d", type(event).__name__, len(replies))
        await self._deliver(said, memory, replies)

    async def _event(self, said: Said, memory: ChatMemory, user_id: str,
                     hint: str | None) -> Event | None:
        if said.event is None:
            press = said.press
            if press is None:
                return None
            prompt = memory.prompts.get(press.token)
            if prompt is None and self.orchestrator.store.shared:
                # Another worker drew these buttons: the open question's own are the same.
                current = await self.orchestrator.current_prompt(CHANNEL, user_id)
                if current is not None and current.token == press.token:
                    keys = keyboard(current).keys
                    if press.position < len(keys):
                        return ChoiceIn(press.token, keys[press.position])
            if prompt is None:
                return ChoiceIn(press.token, UNKNOWN_KEY)
            if press.position >= len(prompt.keys):
                return None
            return ChoiceIn(press.token, prompt.keys[press.position])
        event = said.event
        if isinstance(event, Start):
            return Start(event.campaign, hint)
        return event  # a typed campaign code is the orchestrator's to recognise

    # -- delivering replies ---------------------------------------------------------------
    async def _deliver(self, said: Said, memory: ChatMemory, replies: list[out.Outbound]) -> None:
        chat_id = said.chat_id
        tracking = True
        toasts: list[str] = []
        for reply in replies:
            if isinstance(reply, out.Message):
                for part in split_text(reply.text):
                    await self._send(chat_id, memory, part, None, tracking)
            elif isinstance(reply, out.Prompt):
                await self._prompt(said, memory, reply, tracking)
            elif isinstance(reply, out.Answered):
                await self._answered(said, memory, reply)
            elif isinstance(reply, out.Toast):
                if said.callback_id:
                    toasts.append(reply.text)
                else:
                    await self._send(chat_id, memory, reply.text, None, tracking)
            elif isinstance(reply, out.WipeChat):
                await self._wipe(chat_id, memory)
            elif isinstance(reply, out.SessionEnded):
                # Message ids leave the database now; memory keeps them (at most 48 hours)
                # only so that /exit, offered in the closing words, can still clear the chat.
                tracking = False
                if self.ledger is not None:
                    self.ledger.forget(self._respondent(chat_id))
        if said.callback_id:
            toast = " ".join(toasts)
            await self.bot.answer_query(said.callback_id,
                                        toast[:MAX_TOAST - 1] + "…" if len(toast) > MAX_TOAST
                                        else toast or None)

    async def _send(self, chat_id: int, memory: ChatMemory, text: str,
                    markup: str | None, tracking: bool) -> int:
        message_id, sent_at = await self.bot.send_text(chat_id, text, markup)
        if tracking:
            self._track(chat_id, memory, [(message_id, sent_at)])
        return message_id

    async def _prompt(self, said: Said, memory: ChatMemory, prompt: out.Prompt,
                      tracking: bool) -> None:
        board = keyboard(prompt)
        if prompt.refresh:
            known = self._prompt_message(said, memory, prompt.token)
            if known is not None:
                await self.bot.edit_markup(said.chat_id, known.message_id, board.encoded)
                memory.remember_prompt(prompt.token, SentPrompt(known.message_id, known.text,
                                                                board.keys))
                return
        *before, last = split_text(prompt.text, PROMPT_ROOM)
        for part in before:
            await self._send(said.chat_id, memory, part, None, tracking)
        message_id = await self._send(said.chat_id, memory, last, board.encoded, tracking)
        memory.remember_prompt(prompt.token, SentPrompt(message_id, last, board.keys))

    async def _answered(self, said: Said, memory: ChatMemory, answered: out.Answered) -> None:
        known = self._prompt_message(said, memory, answered.token)
        if known is None:
            return  # sent before a restart and not the pressed message: leave it as it is
        if answered.summary:
            await self.bot.edit_text(said.chat_id, known.message_id,
                                     answered_text(known.text, answered.summary))
        elif known.keys:
            await self.bot.edit_markup(said.chat_id, known.message_id, None)
        memory.prompts.pop(answered.token, None)

    @staticmethod
    def _prompt_message(said: Said, memory: ChatMemory, token: str) -> SentPrompt | None:
        """The message showing the question `token`: the one pressed, if it is one (a question
        asked again has several copies, and the person looks at the one they pressed), else
        the last one sent."""
        known = memory.prompts.get(token)
        press = said.press
        if press is not None and press.token == token and said.pressed_message_id is not None \
                and said.pressed_text is not None and (
                    known is None or known.message_id != said.pressed_message_id):
            return SentPrompt(said.pressed_message_id, said.pressed_text,
                              known.keys if known is not None else (UNKNOWN_KEY,))
        return known

    async def _wipe(self, chat_id: int, memory: ChatMemory) -> None:
        now = self.clock()
        ids = set(memory.deletable(now))
        if self.ledger is not None:
            respondent = self._respondent(chat_id)
            ids.update(mid for mid, _ in await self.ledger.tracked(respondent, now))
            self.ledger.forget(respondent)
        await self.bot.delete(chat_id, sorted(ids))
        memory.forget_messages()
        log.info("chat_wiped messages=%d", len(ids))

    # -- the channel's own notes ----------------------------------------------------------
    async def _notice(self, chat_id: int, memory: ChatMemory, text: Text,
                      language_code: str | None) -> None:
        language = await self._language(chat_id, language_code)
        await self._send(chat_id, memory, self.orchestrator.translator.render(text, language),
                         None, True)

    async def _language(self, chat_id: int, language_code: str | None) -> str:
        state = await self.orchestrator.peek(CHANNEL, str(chat_id))
        return (state.language or self._hint(language_code)
                or self.orchestrator.script.default_language)

    def _hint(self, language_code: str | None) -> str | None:
        """Telegram's language_code mapped onto ours (babel negotiation), remembered: a few
        dozen codes cover everyone."""
        if language_code not in self._hints:
            if len(self._hints) > 1000:
                self._hints.clear()
            self._hints[language_code] = negotiate(language_code, self.languages)
        return self._hints[language_code]

    async def _edited(self, edited: Edited) -> None:
        state = await self.orchestrator.peek(CHANNEL, str(edited.chat_id))
        if state.phase is not Phase.QUESTIONS:
            log.info("edit_ignored")
            return  # before consent nothing was kept; after the end there is nothing to change
        log.info("edit_after_answer")
        memory = self.chats.get(edited.chat_id)
        try:
            async with memory.lock:
                await self._notice(edited.chat_id, memory, texts.EDITED, edited.language_code)
        except Forbidden:
            await self._end_quietly(edited.chat_id)

    async def apologise(self, update: object) -> None:
        """After a failure of our own: the person hears that, rather than nothing."""
        raw = update.to_dict() if isinstance(update, Update) else update
        if isinstance(raw, dict):
            incoming = read_update(raw)
            if isinstance(incoming, Said):
                await self.apologise_to(incoming)

    async def apologise_to(self, said: Said) -> None:
        memory = self.chats.get(said.chat_id)
        with contextlib.suppress(TelegramError):
            if said.callback_id:
                await self.bot.answer_query(said.callback_id, None)
            await self._notice(said.chat_id, memory, texts.SORRY, said.language_code)

    async def _end_quietly(self, chat_id: int) -> None:
        """The person blocked the bot: end the session without a word (none would arrive)."""
        user_id = str(chat_id)
        state = await self.orchestrator.peek(CHANNEL, user_id)
        if state.phase is not Phase.NEW:
            await self.orchestrator.handle(CHANNEL, user_id, CommandIn("exit"))
        memory = self.chats.peek(chat_id)
        if memory is not None:
            memory.forget_messages()
        if self.ledger is not None:
            self.ledger.forget(self._respondent(chat_id))
        log.info("blocked_session_ended")

    # -- bookkeeping ----------------------------------------------------------------------
    def _respondent(self, chat_id: int) -> bytes:
        memory = self.chats.peek(chat_id)
        if memory is None:
            return self.orchestrator.keys.pseudonym(CHANNEL, str(chat_id))
        if not memory.respondent:
            memory.respondent = self.orchestrator.keys.pseudonym(CHANNEL, str(chat_id))
        return memory.respondent

    def _track(self, chat_id: int, memory: ChatMemory,
               messages: list[tuple[int, datetime]]) -> None:
        for message_id, sent_at in messages:
            memory.track(message_id, sent_at)
        memory.prune(self.clock())
        if self.ledger is not None:
            self.ledger.track(self._respondent(chat_id), messages)
