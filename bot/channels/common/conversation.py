"""One person's messages in, their replies out, on any platform.

For each message the channel has read: queue it behind the person's earlier ones (with a
flood limit), let the orchestrator decide and store, then deliver the replies through the
channel's transport. Rules a person meets here rather than in the engine:
- A button of a question that has passed, or one sent before a restart, gets a clear answer
  (the current question again: "welcome back").
- An edited message after consent gets a note that the first version was kept and that
  /back changes an answer; before consent nothing is kept, so nothing is said.
- A person who blocked the bot has their session ended quietly.
- Clean as you go: once a written, spoken or photographed answer is sealed and committed, the
  person's message is removed from the chat (where the platform allows) and a short note
  stands in its place; answered questions show that they were answered, not the answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import assert_never

from bot import outbound as out
from bot.channels.common import texts
from bot.channels.common.commands import CommandWords
from bot.channels.common.flood import FloodGate, FloodLimits
from bot.channels.common.inbound import Edited, Said
from bot.channels.common.memory import DELETE_MARGIN, ChatMemories, ChatMemory
from bot.channels.common.staff import FieldWork
from bot.channels.common.text import split_text
from bot.channels.common.transport import (
    Sent,
    SentPrompt,
    Transport,
    TransportError,
    Unreachable,
)
from bot.engine import ChoiceIn, CommandIn, Event, MediaRef, Phase, Start, TextIn
from bot.engine import messages as msg
from bot.engine.actions import DONE_KEY, SKIP_KEY
from bot.engine.text import Text
from bot.i18n import negotiate
from bot.orchestrator import Orchestrator
from bot.reminders import Reach
from storage.backend import Ledger

log = logging.getLogger(__name__)

UNKNOWN_KEY = "~unknown"  # no question has it: the engine answers a stale token, ignores it else
MAX_TOAST = 200  # a passing note on a pressed button, at most
NOTICE_EVERY = 60.0  # seconds between two flood notices to one person
NUMBERS = re.compile(r"[0-9]{1,2}(?:[\s,;.]+[0-9]{1,2})*")

MediaFetch = Callable[[MediaRef], Awaitable[bytes]]
# Sends the approved reminder template (chat, language) where free text may not go any more.
TemplateSender = Callable[[str, str], Awaitable[Sent]]


def utc_now() -> datetime:
    return datetime.now(UTC)


class Conversations:
    def __init__(self, orchestrator: Orchestrator, transport: Transport, *, channel: str,
                 ledger: Ledger | None, fetch_media: MediaFetch | None,
                 flood: FloodLimits | None = None, clean_chat: bool = True,
                 wording: Mapping[Text, Text] | None = None,
                 consent_notice: Text | None = None,
                 command_words: CommandWords | None = None,
                 reminder_template: TemplateSender | None = None,
                 clock: Callable[[], datetime] = utc_now,
                 monotonic: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.orchestrator = orchestrator
        self.transport = transport
        self.capabilities = transport.capabilities
        self.channel = channel
        self.ledger = ledger if transport.capabilities.can_delete else None
        self.fetch = fetch_media
        self.gate = FloodGate(flood, monotonic)
        self.clean_chat = clean_chat
        self.wording = wording or {}
        self.consent_notice = consent_notice
        self.command_words = command_words  # typed words for commands (no command menu)
        self.monotonic = monotonic
        self.chats = ChatMemories()
        self.clock = clock
        self.sleep = sleep
        self.languages = orchestrator.translator.languages
        self._hints: dict[str | None, str | None] = {}
        self.handled = 0  # messages finished (for tests and benchmarks to wait on)
        self._queued: set[asyncio.Task[None]] = set()  # messages waiting behind earlier ones
        self.field_work: FieldWork | None = None  # set by the service when configured
        self.reminder_template = reminder_template
        window = self.capabilities.reply_window
        self.reach = Reach(None if reminder_template is not None else window)

    def serve_field_workers(self, field_worker_ids: Iterable[str],
                            link_for: Callable[[str], str]) -> None:
        """Let these platform ids use /newlink and /stats; `link_for` turns a link code into
        the URL that opens the bot with it."""
        orchestrator = self.orchestrator
        self.field_work = FieldWork(
            transport=self.transport, channel=self.channel, link_for=link_for,
            links=orchestrator.store.links, translator=orchestrator.translator,
            keys=orchestrator.keys, field_worker_ids=field_worker_ids, clock=self.clock)

    # -- a reminder the person asked for ---------------------------------------------------
    async def remind(self, user_id: str, text: str, language: str, asked_at: datetime) -> bool:
        """Send the reminder (bot.reminders runs this); False if it could not go out."""
        chat = user_id  # in a private chat the chat is the person
        memory = self.chats.get(chat)
        window = self.capabilities.reply_window
        outside = window is not None and self.clock() >= asked_at + window
        if outside and self.reminder_template is None:
            log.info("reminder_dropped reason=outside_window")
            return False
        try:
            async with memory.lock:
                if outside:
                    assert self.reminder_template is not None
                    sent = await self.reminder_template(chat, language)
                    self._track(chat, memory, sent.message_id, sent.sent_at)
                else:
                    await self._send(chat, memory, text, True)
        except Unreachable:
            await self.blocked(chat)
            return False
        return True

    @property
    def reply_window(self) -> timedelta | None:
        return self.capabilities.reply_window

    async def reach_out(self, user_id: str,
                        decide: Callable[[], Awaitable[list[out.Outbound]]]) -> bool:
        """The offer after a quiet while (bot.reminder_offers runs this): decided and
        delivered in the person's turn, so a message of theirs comes before or after it,
        never in between. False if nothing went out."""
        chat = user_id  # in a private chat the chat is the person
        memory = self.chats.get(chat)
        try:
            async with memory.lock:
                replies = await decide()
                if not replies:
                    return False
                await self._deliver(Said(chat, None, None, ""), memory, replies)
        except Unreachable:
            await self.blocked(chat)
            return False
        return True

    # -- a message or a button press -------------------------------------------------------
    async def said(self, said: Said) -> bool:
        """Handle one message; True if it was queued behind the person's earlier ones (it
        then finishes in the background and counts itself as handled)."""
        memory = self.chats.get(said.chat_id)
        if said.message_id is not None and said.sent_at is not None:
            self._track(said.chat_id, memory, said.message_id, said.sent_at)
        memory.waiting += 1
        if memory.waiting > self.gate.limits.max_waiting:
            memory.waiting -= 1
            await self._refuse(said, memory)
            return False
        if memory.waiting > 1:
            # An earlier message of this person is still being handled: this one waits its
            # turn in the background, so it does not hold one of the few connections the
            # platform opens to the webhook (one person's flood must not delay everyone else).
            task = asyncio.create_task(self._in_turn(said, memory, detached=True))
            self._queued.add(task)
            task.add_done_callback(self._queued.discard)
            return True
        await self._in_turn(said, memory)
        return False

    async def _in_turn(self, said: Said, memory: ChatMemory, detached: bool = False) -> None:
        """Handle one message once the person's earlier ones are done, within the flood
        limit."""
        if detached:
            self.transport.detach()  # the request that brought it has been answered already
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
        except Unreachable:
            await self.blocked(said.chat_id)
        except Exception as exc:
            if not detached:
                raise  # the channel's error handler logs it and apologises
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
                await self.transport.acknowledge(said.callback_id, None)
        except Unreachable:
            await self.blocked(said.chat_id)

    async def drain(self, grace: float) -> None:
        """Let messages queued behind others finish (at shutdown)."""
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
        user_id = said.chat_id  # in a private chat the chat is the person
        hint = self._hint(said.language_code)
        events = self._events(said, memory, hint)
        if (events and isinstance(events[0], ChoiceIn) and events[0].key == UNKNOWN_KEY
                and said.press is not None and self.orchestrator.store.shared):
            events = await self._drawn_elsewhere(said.press.token, said.press.position,
                                                 user_id) or events
        if events is None:  # a forged or malformed button
            log.info("callback_ignored")
            if said.callback_id:
                await self.transport.acknowledge(said.callback_id, None)
            return
        notify = False
        if self.consent_notice is not None and not memory.notified:
            state = await self.orchestrator.peek(self.channel, user_id)
            notify = not state.consented and state.phase is not Phase.DONE
            memory.notified = True
        replies: list[out.Outbound] = []
        for number, event in enumerate(events):
            event_id = said.event_id if number == 0 else f"{said.event_id}.{number}"
            replies += await self.orchestrator.handle(
                self.channel, user_id, event, event_id=event_id, language_hint=hint,
                fetch_media=self.fetch, wording=self.wording, reach=self.reach)
            if not replies and isinstance(event, ChoiceIn) and event.key == UNKNOWN_KEY:
                # The current question's button, but it was sent before a restart: ask the
                # question again rather than leave the press unanswered.
                replies = await self.orchestrator.handle(
                    self.channel, user_id, Start(language_hint=hint), language_hint=hint,
                    wording=self.wording, reach=self.reach)
        log.info("event_handled event=%s replies=%d", type(events[-1]).__name__, len(replies))
        if notify and self.consent_notice is not None:
            # Before anything is asked, in the language the person will be asked in.
            await self._notice(said.chat_id, memory, self.consent_notice, said.language_code)
        await self._deliver(said, memory, replies)

    async def _drawn_elsewhere(self, token: str, position: int, user_id: str
                               ) -> list[Event] | None:
        """A press on buttons another worker drew (several workers on one database): the
        open question's own buttons are the same, so its layout gives the key. (Before
        consent the open question is the one the pressed button carries.)"""
        current = await self.orchestrator.current_prompt(self.channel, user_id, token)
        if current is None or current.token != token:
            return None
        keys = self.transport.option_keys(current)
        return [ChoiceIn(token, keys[position])] if position < len(keys) else None

    def _events(self, said: Said, memory: ChatMemory, hint: str | None) -> list[Event] | None:
        if said.event is None:
            press = said.press
            if press is None:
                return None
            prompt = memory.prompts.get(press.token)
            if prompt is None:
                return [ChoiceIn(press.token, UNKNOWN_KEY)]
            if press.position >= len(prompt.keys):
                return None
            return [ChoiceIn(press.token, prompt.keys[press.position])]
        event = said.event
        if isinstance(event, Start):
            return [Start(event.campaign, hint)]
        if isinstance(event, TextIn) and self.command_words is not None:
            command = self.command_words.command(event.text)
            if command is not None:
                return [command]
        if isinstance(event, TextIn) and self.capabilities.typed_choices:
            typed = typed_choices(event.text, memory.latest_prompt)
            if typed:
                return typed
        return [event]  # a typed campaign code is the orchestrator's to recognise

    # -- delivering replies ---------------------------------------------------------------
    async def _deliver(self, said: Said, memory: ChatMemory, replies: list[out.Outbound]) -> None:
        chat = said.chat_id
        tracking = True
        too_old = False
        note: str | None = None  # clean-as-you-go's note, not shown yet
        removed = False  # ... shown under the answered question
        toasts: list[str] = []
        # Several toggles of one question in one go (typed numbers): only the last drawing,
        # and none when the question is answered in the same go.
        last_prompt = {r.token: i for i, r in enumerate(replies) if isinstance(r, out.Prompt)}
        settled = {r.token for r in replies if isinstance(r, out.Answered)}
        for index, reply in enumerate(replies):
            match reply:
                case out.Message() if removed and reply.source == msg.RECEIVED:
                    pass  # the note under the question has said it arrived
                case out.Message():
                    for part in split_text(reply.text, self.capabilities.max_text,
                                           self.capabilities.measure):
                        await self._send(chat, memory, part, tracking)
                case out.Prompt():
                    if not reply.refresh or (last_prompt[reply.token] == index
                                             and reply.token not in settled):
                        await self._prompt(said, memory, reply, tracking)
                case out.Answered():
                    if await self._answered(said, memory, reply, note):
                        note, removed = None, True
                case out.Toast():
                    if said.callback_id and self.capabilities.toasts:
                        toasts.append(reply.text)
                    else:
                        await self._send(chat, memory, reply.text, tracking)
                case out.WipeChat():
                    too_old = await self._wipe(chat, memory)
                case out.SessionEnded():
                    # Message ids leave the database now; memory keeps them (within the
                    # platform's window) only so that /exit, offered in the closing words,
                    # can still clear the chat.
                    tracking = False
                    if self.ledger is not None:
                        self.ledger.forget(self._respondent(chat))
                case out.AnswerKept():
                    # The note goes under the question the answer settles (one edit rather
                    # than a message of its own), or on its own if that question is not known.
                    note = await self._clean(said, memory)
                case _:
                    assert_never(reply)
        if note is not None:
            await self._send(chat, memory, note, tracking)
        if too_old:  # after the engine's words on /exit
            await self._too_old_to_wipe(chat)
        if said.callback_id:
            toast = " ".join(toasts)
            await self.transport.acknowledge(
                said.callback_id,
                toast[:MAX_TOAST - 1] + "…" if len(toast) > MAX_TOAST else toast or None)

    async def _send(self, chat: str, memory: ChatMemory, text: str, tracking: bool) -> None:
        sent = await self.transport.send_text(chat, text)
        if tracking:
            self._track(chat, memory, sent.message_id, sent.sent_at)

    async def _prompt(self, said: Said, memory: ChatMemory, prompt: out.Prompt,
                      tracking: bool) -> None:
        replacing = self._prompt_message(said, memory, prompt.token) if prompt.refresh else None
        sent = await self.transport.send_prompt(said.chat_id, prompt, replacing)
        if tracking:
            for message in sent.sent:
                self._track(said.chat_id, memory, message.message_id, message.sent_at)
        sent.sent = []
        sent.token = prompt.token
        memory.remember_prompt(prompt.token, sent)

    async def _answered(self, said: Said, memory: ChatMemory, answered: out.Answered,
                        note: str | None) -> bool:
        """Settle the question; True if `note` was shown under it."""
        known = self._prompt_message(said, memory, answered.token)
        if known is None:
            return False  # sent before a restart and not the pressed message: leave it
        summary = answered.summary
        if note is not None and self.capabilities.can_edit:
            summary = note
        elif summary and self.clean_chat:
            summary = await self._render(said, texts.ANSWERED)  # no echo of the answer
        await self.transport.settle(said.chat_id, known, summary)
        memory.prompts.pop(answered.token, None)
        return summary == note

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

    async def _clean(self, said: Said, memory: ChatMemory) -> str | None:
        """The person's answer is sealed and committed: take it out of the chat. Returns the
        note that stands in its place (shown under the answered question, or on its own)."""
        capabilities = self.capabilities
        if not (self.clean_chat and capabilities.can_delete) or said.message_id is None:
            return None
        sent_at = said.sent_at or self.clock()
        if sent_at <= self.clock() - capabilities.deletable_for + DELETE_MARGIN:
            return await self._render(said, texts.NOT_REMOVED)
        await self.transport.delete(said.chat_id, [said.message_id])
        memory.untrack(said.message_id)
        log.info("answer_removed_from_chat")
        return await self._render(said, texts.REMOVED)

    async def _wipe(self, chat: str, memory: ChatMemory) -> bool:
        """Remove what can be removed; True if older messages had to stay."""
        capabilities = self.capabilities
        if not capabilities.can_delete:
            memory.forget_messages()
            log.info("chat_wipe_impossible")  # the wording says how to do it by hand
            return False
        now = self.clock()
        ids = set(memory.deletable(now, capabilities.deletable_for))
        lost = memory.lost
        if self.ledger is not None:
            respondent = self._respondent(chat)
            ids.update(mid for mid, _ in await self.ledger.tracked(respondent, now))
            self.ledger.forget(respondent)
        await self.transport.delete(chat, sorted(ids, key=_by_number))
        memory.forget_messages()
        log.info("chat_wiped messages=%d", len(ids))
        return lost

    async def _too_old_to_wipe(self, chat: str) -> None:
        hours = int(self.capabilities.deletable_for.total_seconds() // 3600)
        language = await self._language(chat, None)
        await self.transport.send_text(chat, self.orchestrator.translator.render(
            texts.EXIT_TOO_OLD.format(hours=hours), language))

    # -- the channel's own notes ----------------------------------------------------------
    async def _notice(self, chat: str, memory: ChatMemory, text: Text,
                      language_code: str | None) -> None:
        language = await self._language(chat, language_code)
        await self._send(chat, memory, self.orchestrator.translator.render(text, language), True)

    async def _render(self, said: Said, text: Text) -> str:
        language = await self._language(said.chat_id, said.language_code)
        return self.orchestrator.translator.render(text, language)

    async def _language(self, chat: str, language_code: str | None) -> str:
        state = await self.orchestrator.peek(self.channel, chat)
        return (state.language or self._hint(language_code)
                or self.orchestrator.script.default_language)

    def _hint(self, language_code: str | None) -> str | None:
        """The platform's language code mapped onto ours (babel negotiation), remembered: a
        few dozen codes cover everyone."""
        if language_code not in self._hints:
            if len(self._hints) > 1000:
                self._hints.clear()
            self._hints[language_code] = negotiate(language_code, self.languages)
        return self._hints[language_code]

    async def edited(self, edited: Edited) -> None:
        state = await self.orchestrator.peek(self.channel, edited.chat_id)
        if state.phase is not Phase.QUESTIONS:
            log.info("edit_ignored")
            return  # before consent nothing was kept; after the end there is nothing to change
        log.info("edit_after_answer")
        memory = self.chats.get(edited.chat_id)
        try:
            async with memory.lock:
                await self._notice(edited.chat_id, memory, texts.EDITED, edited.language_code)
        except Unreachable:
            await self.blocked(edited.chat_id)

    async def apologise_to(self, said: Said) -> None:
        """After a failure of our own: the person hears that, rather than nothing."""
        memory = self.chats.get(said.chat_id)
        with contextlib.suppress(TransportError):
            if said.callback_id:
                await self.transport.acknowledge(said.callback_id, None)
            await self._notice(said.chat_id, memory, texts.SORRY, said.language_code)

    async def blocked(self, chat: str) -> None:
        """The person blocked the bot: end the session without a word (none would arrive)."""
        state = await self.orchestrator.peek(self.channel, chat)
        if state.phase is not Phase.NEW:
            await self.orchestrator.handle(self.channel, chat, CommandIn("exit"))
        memory = self.chats.peek(chat)
        if memory is not None:
            memory.forget_messages()
        if self.ledger is not None:
            self.ledger.forget(self._respondent(chat))
        log.info("blocked_session_ended")

    # -- bookkeeping ----------------------------------------------------------------------
    def _respondent(self, chat: str) -> bytes:
        memory = self.chats.peek(chat)
        if memory is None:
            return self.orchestrator.keys.pseudonym(self.channel, chat)
        if not memory.respondent:
            memory.respondent = self.orchestrator.keys.pseudonym(self.channel, chat)
        return memory.respondent

    def _track(self, chat: str, memory: ChatMemory, message_id: str, sent_at: datetime) -> None:
        window = self.capabilities.deletable_for
        if not self.capabilities.can_delete:
            return  # nothing could be removed anyway: keep no ids
        memory.track(message_id, sent_at)
        memory.prune(self.clock(), window)
        if self.ledger is not None:
            self.ledger.track(self._respondent(chat), [(message_id, sent_at)])


def typed_choices(text: str, prompt: SentPrompt | None) -> list[Event] | None:
    """Numbers typed for the latest question's options ("2", or "1 3" for several). Not for a
    question answered in words or a number, whose only option is Skip: "1" answers it."""
    if prompt is None or not [key for key in prompt.keys if key != SKIP_KEY]:
        return None
    stripped = text.strip()
    if not NUMBERS.fullmatch(stripped):
        return None
    picks = [int(n) for n in re.findall(r"[0-9]+", stripped)]
    if not all(1 <= n <= len(prompt.keys) for n in picks):
        return None
    if len(picks) > 1 and not prompt.multi:
        return None
    keys = list(dict.fromkeys(prompt.keys[n - 1] for n in picks))
    token = prompt.token
    events: list[Event] = [ChoiceIn(token, key) for key in keys]
    if prompt.multi and DONE_KEY not in keys:
        events.append(ChoiceIn(token, DONE_KEY))
    return events


def _by_number(message_id: str) -> tuple[int, str]:
    return (int(message_id), "") if message_id.isdigit() else (0, message_id)
