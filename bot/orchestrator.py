"""Ties one channel, the engine and the store together.

For every inbound event: find the person's working state, let the engine decide, make the
storage changes durable (sealing answers as they arrive), and only then hand the rendered
replies back to the channel. If saving fails, the state does not advance and the person is
asked to send it again, so nothing already given is lost.

Before consent nothing is stored: the conversation lives in this worker's memory and, when
several workers share the database, in the buttons it draws as well (bot.button_state), so
whichever worker the next press reaches continues it. A typed message before consent that
reaches a worker that has not seen the person starts them at the beginning (the greeting and
the language choice, as for a first message): there is nothing it could have been read from.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import unicodedata
import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar, assert_never
from zoneinfo import ZoneInfo

from bot import button_state
from bot import outbound as out
from bot.engine import (
    Action,
    Ask,
    CancelReminder,
    ChoiceAnswer,
    ChoiceIn,
    CommandIn,
    Completed,
    Count,
    DropAnswer,
    EndSession,
    Erase,
    Event,
    MediaAnswer,
    MediaRef,
    Notice,
    NumberAnswer,
    Option,
    Phase,
    Quiet,
    RecordConsent,
    Repeat,
    Say,
    ScheduleReminder,
    Script,
    SessionState,
    Settle,
    Start,
    StoreAnswer,
    TextAnswer,
    TextIn,
    WipeChat,
    step,
)
from bot.engine.messages import REMINDER, SKIP_BUTTON
from bot.engine.state_codec import UnreadableState, decode_state, encode_state
from bot.engine.step import offers_after_quiet
from bot.engine.text import N_, Text
from bot.i18n import Translator
from bot.links.codes import maybe_link_code, typed_code
from bot.links.people import PeopleCounted
from bot.reminder_offers import QuietPerson
from bot.reminders import Due, Reach, due_time, zone
from storage.backend import LinkStore, StoreBackend, Turn
from storage.links import Link
from storage.reminders import ReminderIn
from storage.server_keys import ServerKeys, StateError
from storage.store import AnswerIn, Changes, ConsentIn, WriteFailed

log = logging.getLogger(__name__)

SAVE_FAILED = N_(
    "We could not save this right now. Please send it again in a little while. "
    "Your earlier answers are safe."
)
STATE_UNREADABLE = N_(
    "I could not pick up our earlier conversation, so we will begin again from the start. "
    "The answers you already gave are safe."
)
MEDIA_FAILED = N_("I could not receive that file. Please try sending it again.")
MEDIA_TOO_BIG = N_(
    "That file is too large for me to keep (the limit is {megabytes} MB). "
    "Please send a shorter voice note, or write your answer."
)
RECENT_EVENTS_KEPT = 32  # enough to recognise a redelivered update
MEMORY_SESSIONS = 50_000  # pre-consent and cached sessions kept in memory, oldest dropped
RENDERED_KEPT = 20_000  # rendered texts remembered (flow texts x languages, and a few more)
REMINDER_SENT = "reminder_sent"  # a funnel step counted when the job delivers one

MediaFetcher = Callable[[MediaRef], Awaitable[bytes]]
_V = TypeVar("_V")


class MediaTooLarge(Exception):
    """The channel refused to fetch a file over the size limit."""

    def __init__(self, limit_bytes: int) -> None:
        super().__init__(f"file larger than {limit_bytes} bytes")
        self.limit_bytes = limit_bytes


@dataclass
class _Session:
    state: SessionState
    seen: tuple[str, ...] = ()
    touched: datetime | None = None  # last activity, in memory only (expiry, quiet offers)
    unreadable: bool = False  # the saved state could not be read: this is a fresh start
    address: _Address | None = None  # where they wrote from, in memory only (quiet offers)

    def to_bytes(self) -> bytes:
        return encode_state(self.state, seen=self.seen)

    @classmethod
    def from_bytes(cls, raw: bytes) -> _Session:
        state, extras = decode_state(raw)
        seen = extras.get("seen", ())
        if not isinstance(seen, list) or not all(isinstance(s, str) for s in seen):
            seen = ()  # only ever used to recognise redelivered events
        return cls(state, tuple(seen))


@dataclass(frozen=True)
class _Address:
    """Where a person is reached: for a reminder they ask for."""

    channel: str
    user_id: str
    reach: Reach | None


@dataclass
class _Heard:
    """Someone mid-questionnaire this worker heard from, where several workers share the
    database and none keeps the person's state in memory: whom the offer after a quiet while
    may go to, and from when they are quiet. In memory only, like `_Session.touched`."""

    address: _Address
    campaign: str | None
    at: datetime  # their last message as this worker knows it (their state's `heard_at`)


@dataclass(frozen=True)
class _Outward:
    """The tokens buttons carry out of this worker, for the engine's tokens."""

    asks: dict[str, str]
    settles: dict[str, str]

    def asked(self, token: str) -> str:
        return self.asks.get(token, token)

    def settled(self, token: str) -> str:
        return self.settles.get(token, token)


def _latest(cached: _Session | None, carried: SessionState | None) -> _Session | None:
    """Of a conversation before consent as this worker remembers it and as the pressed
    button carries it, the later one. Within a session questions only ever get higher
    numbers; a button of another session is what the person is looking at."""
    if carried is None:
        return cached
    if cached is None or cached.state.sid != carried.sid:
        return _Session(carried)
    if _number(cached.state) > _number(carried):
        return cached  # an older button: "this question has passed", as with one worker
    return _Session(carried, cached.seen)


def _number(state: SessionState) -> int:
    return max(state.seq, state.overlay_seq)


def _keep_newest(memory: OrderedDict[bytes, _V], respondent: bytes, value: _V) -> None:
    """Remember `value` as the most recent, dropping the oldest beyond MEMORY_SESSIONS."""
    memory[respondent] = value
    memory.move_to_end(respondent)
    while len(memory) > MEMORY_SESSIONS:
        memory.popitem(last=False)


def _drop_older(memory: OrderedDict[bytes, _V], cutoff: datetime,
                when: Callable[[_V], datetime | None]) -> None:
    """Forget, oldest first, what was last active before `cutoff` (or at no known time)."""
    while memory:
        respondent, oldest = next(iter(memory.items()))
        last = when(oldest)
        if last is not None and last >= cutoff:
            break
        del memory[respondent]


def _command_name(name: str) -> str:
    return unicodedata.normalize("NFKC", name).casefold()


class Orchestrator:
    def __init__(self, script: Script, store: StoreBackend, keys: ServerKeys,
                 translator: Translator, clock: Callable[[], datetime]) -> None:
        self.script = script
        self.store = store
        self.keys = keys
        self.translator = translator
        self.clock = clock
        # One event at a time per person; weak, so idle people cost no memory.
        self._locks: weakref.WeakValueDictionary[bytes, asyncio.Lock] = (
            weakref.WeakValueDictionary())
        # Before consent nothing may be stored, so that state lives only here, in memory.
        self._sessions: OrderedDict[bytes, _Session] = OrderedDict()
        # Several workers: the people this one heard from mid-questionnaire (their states are
        # in the database), for the offer after a quiet while; least recently heard first.
        self._heard: OrderedDict[bytes, _Heard] = OrderedDict()
        # The language a person chose in a conversation that ended with nothing stored (they
        # declined): if they write again, they are not greeted in another language.
        self._chosen_languages: OrderedDict[bytes, str] = OrderedDict()
        self._rendered: dict[tuple[Text, str], str] = {}
        self._people_counted = PeopleCounted(keys)
        self._buttons: dict[tuple[tuple[Option, ...], str], tuple[out.Button, ...]] = {}

    async def handle(self, channel: str, user_id: str, event: Event, *,
                     event_id: str | None = None, language_hint: str | None = None,
                     fetch_media: MediaFetcher | None = None,
                     wording: Mapping[Text, Text] | None = None,
                     reach: Reach | None = None) -> list[out.Outbound]:
        """`wording`: the channel's own words for some of the engine's texts (a terminal
        cannot be tapped), each a message of its own for translators. `reach`: how far ahead
        the channel can remind this person (None: it cannot; no reminder is offered)."""
        respondent = self.keys.pseudonym(channel, user_id)
        # The in-process lock orders this worker's events; the store's turn orders them
        # across workers sharing one database (a no-op with a single SQLite worker).
        async with self._lock(respondent), self.store.turn(respondent) as turn:
            return await self._handle(turn, respondent, event, event_id, language_hint,
                                      fetch_media, wording, _Address(channel, user_id, reach))

    def _lock(self, respondent: bytes) -> asyncio.Lock:
        lock = self._locks.get(respondent)
        if lock is None:
            lock = self._locks[respondent] = asyncio.Lock()
        return lock

    async def peek(self, channel: str, user_id: str) -> SessionState:
        """The person's working state, read-only: for a channel's own decisions (whether a
        typed campaign code comes before consent, which language a notice is in)."""
        return (await self._load(self.store, self.keys.pseudonym(channel, user_id), None)).state

    async def current_prompt(self, channel: str, user_id: str, pressed: str | None = None
                             ) -> out.Prompt | None:
        """The question the person has open, rendered, read-only. With several workers a
        button's meaning is known only to the worker that drew it: another one finds it
        here (the engine asks the current question again, pure, nothing stored). `pressed`:
        the token of the button pressed, which before consent carries the conversation."""
        respondent = self.keys.pseudonym(channel, user_id)
        carried = self._carried(respondent, pressed)
        state = (await self._load(self.store, respondent, None, carried)).state
        language = state.language or self.script.default_language
        _, actions = step(self.script, state, Repeat(), self.clock())
        return next((reply for reply in self._deliver(
            actions, language, outward=self._outward(respondent, (state,), None))
            if isinstance(reply, out.Prompt)), None)

    def _carried(self, respondent: bytes, token: str | None) -> SessionState | None:
        """The conversation before consent a pressed button carries, if it verifies (only
        ever drawn on a database shared by several workers)."""
        if not (self.store.shared and token):
            return None
        return button_state.carried(token, self.script, respondent, self.keys)

    async def _handle(self, turn: Turn, respondent: bytes, event: Event, event_id: str | None,
                      language_hint: str | None,
                      fetch_media: MediaFetcher | None,
                      wording: Mapping[Text, Text] | None,
                      address: _Address, loaded: _Session | None = None
                      ) -> list[out.Outbound]:
        """`loaded`: the person's session, read already in this turn."""
        carried = None
        pressed: tuple[str, str] | None = None  # (engine token, carried token)
        if isinstance(event, ChoiceIn) and button_state.is_carried(event.token):
            carried = self._carried(respondent, event.token)
            if carried is None:
                # Altered, forged or someone else's: it names no question, so the engine
                # says the question has passed, or begins with a person it does not know.
                log.info("button_state_refused")
            else:
                pressed = (carried.token, event.token)
                event = ChoiceIn(carried.token, event.key)
        session = (loaded if loaded is not None
                   else await self._load(turn, respondent, language_hint, carried))
        options = (address.reach.options
                   if address.reach is not None and self.store.supports_reminders else ())
        if session.state.reminder_options != options:
            session.state = session.state.evolve(reminder_options=options)
        now = self.clock()
        if event_id is not None and event_id in session.seen:
            # Stored once already. The person may never have seen what came next (a crash
            # between saving and sending): ask the current question again, store nothing.
            log.info("duplicate_event_repeated")
            event, event_id = Repeat(), None
        event = await self._attribute(turn, event, session.state, now, language_hint)
        new_state, actions = step(self.script, session.state, event, now)
        if (self.store.shared and new_state is not None and new_state.phase is Phase.QUESTIONS
                and not isinstance(event, Quiet | Repeat)):
            # The person wrote (not a redelivery): whichever worker is quiet-watching them
            # learns it from the saved state, as nobody keeps it in memory.
            new_state = new_state.evolve(heard_at=now)
        language = (new_state or session.state).language or self.script.default_language
        try:
            changes = await self._changes(respondent, session.state, new_state, actions, now,
                                          fetch_media, address, turn.links)
        except MediaTooLarge as exc:
            megabytes = exc.limit_bytes // 1_000_000
            return [out.Message(self.translator.render(MEDIA_TOO_BIG.format(megabytes=megabytes),
                                             language))]
        except (OSError, ValueError):
            log.warning("media_fetch_failed")
            return [out.Message(self.translator.render(MEDIA_FAILED, language))]
        seen = (*session.seen, event_id)[-RECENT_EVENTS_KEPT:] if event_id else session.seen
        kept = _Session(new_state, seen) if new_state else None
        if session.unreadable:
            changes.end_session = True
        # A finished person keeps no working state (their profile says they finished): an
        # event that changes nothing but the ids seen (a redelivered last message) must not
        # bring a session row back.
        if (kept and new_state and new_state.consented and not changes.end_session
                and (new_state != session.state
                     or (seen != session.seen and new_state.phase is not Phase.DONE))):
            changes.state = kept.to_bytes()
        try:
            await turn.apply(changes)
        except WriteFailed:
            log.error("save_failed")
            return [out.Message(self.translator.render(SAVE_FAILED, language))]
        self._remember(respondent, kept, now, address)
        if kept is None:
            self._remember_language(respondent, session.state, actions)
        if log.isEnabledFor(logging.DEBUG):  # which questions, only when debugging
            for action in actions:
                if isinstance(action, StoreAnswer):
                    log.debug("answer_stored question=%s", action.question_id)
        delivered = self._deliver(actions, language, wording,
                                  self._outward(respondent, (new_state, session.state), pressed))
        if session.unreadable:
            delivered.insert(0, out.Message(self._render(STATE_UNREADABLE, language)))
        return delivered

    async def expire_idle(self, idle_for: timedelta) -> int:
        """Close sessions left unfinished for `idle_for`: in memory and in the database.

        Their working state is deleted for good; answers already given stay. Returns how many
        stored sessions were closed.
        """
        cutoff = self.clock() - idle_for
        _drop_older(self._sessions, cutoff, lambda session: session.touched)
        _drop_older(self._heard, cutoff, lambda heard: heard.at)
        closed = await self.store.expire_sessions(cutoff)
        if closed:
            log.info("sessions_expired count=%d", closed)
        return closed

    async def _attribute(self, turn: Turn, event: Event, state: SessionState, now: datetime,
                         language_hint: str | None) -> Event:
        """Resolve a campaign code against the links table; a link's code typed before
        consent counts as /start with it (bot.links.codes says which texts may be codes).

        Only codes of links that exist are kept (as the link's attribution key), so nothing
        else a person types or sends as a start payload is ever written anywhere. A link
        that expired or was disabled still starts the bot: the person is never turned away.
        """
        if isinstance(event, CommandIn) and _command_name(event.name) == "start":
            event = Start(campaign=event.argument.strip() or None, language_hint=language_hint)
        if isinstance(event, TextIn) and not state.consented:
            candidate = typed_code(event.text) or maybe_link_code(event.text)
            link = await turn.links.find(candidate) if candidate else None
            if link is not None:
                log.info("typed_campaign_code")
                return Start(campaign=link.attribution(now.date()),
                             language_hint=link.language or language_hint)
        if not isinstance(event, Start) or not event.campaign:
            return event
        link = await turn.links.find(event.campaign)
        if link is None:
            return Start(campaign=None, language_hint=event.language_hint)
        return Start(campaign=link.attribution(now.date()),
                     language_hint=link.language or event.language_hint)

    async def _load(self, turn: Turn | StoreBackend, respondent: bytes,
                    language_hint: str | None, carried: SessionState | None = None
                    ) -> _Session:
        cached = self._sessions.get(respondent)
        if cached is not None:
            self._sessions.move_to_end(respondent)
            if not self.store.shared:
                return cached
            # Several workers: another one may have moved this person on, past consent
            # (the database says) or before it (the pressed button says).
        fresh = SessionState(sid=secrets.token_urlsafe(6), language=language_hint)
        chosen = self._chosen_languages.get(respondent)  # kept until a session replaces it
        if chosen is not None:
            fresh = fresh.evolve(language=chosen, language_chosen=True)
        try:
            status = await turn.status(respondent)
            if status.state is not None:
                session = _Session.from_bytes(status.state)
                session.state = session.state.evolve(
                    stored=status.known, copied=status.copied, reminders_asked=max(
                        session.state.reminders_asked, status.reminders_asked))
                if (session.state.reminder_pending
                        and not await turn.reminder_waiting(respondent)):
                    # Taken by the job, but not known to have gone out (a send that failed,
                    # or a stop in between): a sent one says so in the saved state.
                    session.state = session.state.evolve(reminder_pending=False)
                return session
        except (UnreadableState, StateError):
            # Damaged, or written with another SERVER_SECRET: begin again, once, kindly (the
            # unreadable row is removed with this first reply), rather than fail every message.
            log.warning("state_unreadable")
            return _Session(fresh, unreadable=True)
        fresh = fresh.evolve(stored=status.known, copied=status.copied,
                             reminders_asked=status.reminders_asked)
        if status.completed:
            # Finished earlier: the working state is gone; only the language is known.
            return _Session(fresh.evolve(phase=Phase.DONE, language=status.consent_language))
        latest = _latest(cached, carried)
        if latest is not None:
            latest.state = latest.state.evolve(stored=status.known, copied=status.copied,
                                               reminders_asked=status.reminders_asked)
            return latest
        return _Session(fresh)

    def _remember_language(self, respondent: bytes, ended: SessionState,
                           actions: tuple[Action, ...]) -> None:
        """Keep the language of a conversation that ended before consent, in memory only;
        not after /exit, which asks to be forgotten."""
        if (ended.consented or not ended.language_chosen or not ended.language
                or any(isinstance(action, WipeChat) for action in actions)):
            return
        _keep_newest(self._chosen_languages, respondent, ended.language)

    def _remember(self, respondent: bytes, session: _Session | None, now: datetime,
                  address: _Address) -> None:
        if session is None or (self.store.shared and session.state.consented):
            # (Several workers: once consent is given the database holds it, see _load.)
            self._sessions.pop(respondent, None)
            self._listen(respondent, session.state if session else None, address)
            return
        session.touched = now
        session.address = address
        self._chosen_languages.pop(respondent, None)
        _keep_newest(self._sessions, respondent, session)

    def _listen(self, respondent: bytes, state: SessionState | None,
                address: _Address) -> None:
        """Several workers: keep (in memory) or forget someone whom a quiet while may bring
        the offer, by their state as just saved or read."""
        if (state is None or state.heard_at is None or address.reach is None
                or not offers_after_quiet(state)):
            self._heard.pop(respondent, None)
            return
        _keep_newest(self._heard, respondent, _Heard(address, state.campaign, state.heard_at))

    async def _changes(self, respondent: bytes, before: SessionState,
                       after: SessionState | None, actions: tuple[Action, ...],
                       now: datetime, fetch_media: MediaFetcher | None,
                       address: _Address, links: LinkStore) -> Changes:
        state = after or before
        changes = Changes(respondent=respondent, today=now.date(), now=now,
                          campaign=state.campaign, language=state.language,
                          reminders_asked=state.reminders_asked)
        for action in actions:
            match action:
                case StoreAnswer():
                    changes.answers.append(await self._answer(action, now, fetch_media))
                case DropAnswer():
                    changes.dropped.append(action.question_id)
                case RecordConsent():
                    changes.consent = ConsentIn(action.version, action.language, action.at,
                                                dict(action.items))
                case Count():
                    if self._people_counted.first_time(respondent, state.campaign,
                                                       action.metric):
                        changes.counters.append(action.metric)
                case Completed():
                    changes.completed = True
                case Erase():
                    changes.erase = True
                case EndSession():
                    changes.end_session = True
                case ScheduleReminder():
                    if address.reach is not None:
                        changes.reminder = await self._reminder(action.days, state, now,
                                                                address, address.reach, links)
                case CancelReminder():
                    changes.cancel_reminder = True
                case Say() | Ask() | Notice() | Settle() | WipeChat():
                    pass  # what is said and shown: delivered once the changes are durable
                case _:
                    assert_never(action)
        return changes

    async def _reminder(self, days: int, state: SessionState, now: datetime,
                        address: _Address, reach: Reach, links: LinkStore) -> ReminderIn:
        """The reminder's time: quiet hours where the person's campaign link was handed out
        (read in the person's turn: on PostgreSQL a turn takes no second connection)."""
        due = due_time(now, days, await self.link_zone(state.campaign, links),
                       reach.latest(now))
        return ReminderIn(address.channel, address.user_id, due, now,
                          state.language or self.script.default_language, state.campaign)

    async def link_zone(self, campaign: str | None, links: LinkStore | None = None
                        ) -> ZoneInfo:
        """The time zone of the link a person came through (its quiet hours); UTC without.
        `links`: the person's turn's, where the lookup is part of one."""
        book = links if links is not None else self.store.links
        link = await book.find(Link.code_of(campaign)) if campaign else None
        return zone(link.timezone if link else None)

    # -- the one offer after a quiet while (the job in bot/reminder_offers.py) -------------
    def quiet_people(self, since: datetime) -> list[QuietPerson]:
        """Whom a quiet while would bring the offer: silent since before `since`, by the
        last activity kept in memory (a restart forgets it: then nobody). One worker finds
        them among the sessions it keeps; several, among the people each one heard from
        (whether another worker heard from them since is found in their turn)."""
        found = []
        for respondent, session in self._sessions.items():
            touched, address = session.touched, session.address
            if (touched is not None and touched <= since and address is not None
                    and address.reach is not None and offers_after_quiet(session.state)):
                found.append(QuietPerson(respondent, address.channel, address.user_id,
                                         touched, session.state.campaign))
        for respondent, heard in self._heard.items():
            if heard.at <= since:
                found.append(QuietPerson(respondent, heard.address.channel,
                                         heard.address.user_id, heard.at, heard.campaign))
        return found

    async def offer_after_quiet(self, person: QuietPerson) -> list[out.Outbound]:
        """The engine's answer to their quiet while (the offer, or nothing), stored, then
        rendered; nothing if they wrote since they were found."""
        respondent = person.respondent
        async with self._lock(respondent), self.store.turn(respondent) as turn:
            if self.store.shared:
                return await self._offer_after_quiet_shared(turn, person)
            session = self._sessions.get(respondent)
            if session is None or session.touched != person.since or session.address is None:
                return []
            return await self._handle(turn, respondent, Quiet(), None, None, None, None,
                                      session.address)

    async def _offer_after_quiet_shared(self, turn: Turn, person: QuietPerson
                                        ) -> list[out.Outbound]:
        """Several workers, in the person's turn (their lock across the cluster): their state
        as saved says whether anyone heard from them since this worker did. If so, this worker
        watches on from that later message (the one that heard it does too; the first to
        find them quiet makes the offer, saved in the state, so the other finds it made)."""
        respondent = person.respondent
        heard = self._heard.get(respondent)
        if heard is None or heard.at != person.since:
            return []  # they wrote to this worker since they were found
        session = await self._load(turn, respondent, None)
        if session.unreadable:
            self._heard.pop(respondent, None)  # their next message begins again, kindly
            return []
        if session.state.heard_at != heard.at:
            self._listen(respondent, session.state, heard.address)
            return []
        return await self._handle(turn, respondent, Quiet(), None, None, None, None,
                                  heard.address, loaded=session)

    # -- reminders (the job in bot/reminders.py) -------------------------------------------
    async def due_reminders(self, channels: Collection[str]) -> list[Due]:
        """Claim the reminders due now (taken from storage for good: at most once), each
        rendered in its person's language. A person's cached state learns it is no longer
        pending (whether it went out is known only once it has: `reminder_sent`)."""
        claimed = await self.store.claim_due_reminders(self.clock(), channels)
        due = []
        for item in claimed:
            reminder = item.reminder
            async with self._lock(item.respondent):
                cached = self._sessions.get(item.respondent)
                if cached is not None and cached.state.reminder_pending:
                    cached.state = cached.state.evolve(reminder_pending=False)
            language = (reminder.language if reminder.language in self.script.languages
                        else self.script.default_language)
            due.append(Due(item.respondent, reminder.channel, reminder.user_id,
                           self._render(REMINDER, language), language, reminder.asked_at,
                           reminder.campaign))
        return due

    async def reminder_sent(self, due: Due) -> None:
        """The channel delivered it: counted, and saved in the person's state, so that
        their next message counts as coming back after a reminder. A send that failed
        never gets here: it is neither counted as sent nor followed by a "continued"."""
        if self._people_counted.first_time(due.respondent, due.campaign, REMINDER_SENT):
            await self.store.count(due.campaign, REMINDER_SENT)
        respondent = due.respondent
        async with self._lock(respondent), self.store.turn(respondent) as turn:
            session = await self._load(turn, respondent, None)
            if session.state.phase is not Phase.QUESTIONS or session.unreadable:
                return  # the session ended meanwhile: nothing to come back to
            session.state = session.state.evolve(reminder_pending=False, reminded=True)
            now = self.clock()
            try:
                await turn.apply(Changes(respondent=respondent, today=now.date(), now=now,
                                         state=session.to_bytes()))
            except WriteFailed:
                log.warning("reminder_outcome_not_saved")

    async def _answer(self, action: StoreAnswer, now: datetime,
                      fetch_media: MediaFetcher | None) -> AnswerIn:
        value = action.value
        header: dict[str, object] = {}
        body = b""
        match value:
            case ChoiceAnswer():
                header |= {"kind": "choice", "value": list(value.choices)}
            case TextAnswer():
                header |= {"kind": "text", "value": value.text}
            case NumberAnswer():
                header |= {"kind": "number", "value": value.number}
            case MediaAnswer():
                if fetch_media is None:
                    raise ValueError("this channel cannot fetch media")
                body = await fetch_media(value.media)
                header |= {"kind": "media", "media": value.media.kind,
                           "mime_type": value.media.mime_type,
                           "duration": value.media.duration}
            case _:
                assert_never(value)
        return AnswerIn(action.question_id, action.flow_id, action.flow_version, header, body,
                        language=action.language, at=now)

    def _outward(self, respondent: bytes, drawn_in: tuple[SessionState | None, ...],
                 pressed: tuple[str, str] | None) -> _Outward | None:
        """Several workers, before consent: the buttons carry the state they were drawn in
        (the state after the event, else before it, whichever asks the question), and the
        question answered is the button pressed."""
        if not self.store.shared:
            return None
        pairs = [(state.token, token) for state in drawn_in
                 if state is not None and not state.consented
                 and (token := button_state.carry(state, self.script, respondent, self.keys))]
        if not pairs and pressed is None:
            return None
        asks: dict[str, str] = {}
        settles: dict[str, str] = {}
        for engine_token, token in pairs:
            asks.setdefault(engine_token, token)
        for engine_token, token in reversed(pairs):
            settles.setdefault(engine_token, token)
        if pressed is not None:
            settles[pressed[0]] = pressed[1]
        return _Outward(asks, settles)

    def _deliver(self, actions: tuple[Action, ...], language: str,
                 wording: Mapping[Text, Text] | None = None,
                 outward: _Outward | None = None) -> list[out.Outbound]:
        if wording:
            def render(text: Text, language: str) -> str:
                return self._render(wording.get(text, text), language)
        else:
            render = self._render
        delivered: list[out.Outbound] = []
        for action in actions:
            match action:
                case Say():
                    delivered.append(out.Message(render(action.text, language), action.text))
                case Ask():
                    delivered.append(out.Prompt(
                        token=outward.asked(action.token) if outward else action.token,
                        text=render(action.text, language),
                        buttons=self._render_buttons(action.options, language),
                        multi=action.multi,
                        skip_label=render(SKIP_BUTTON, language) if action.skippable else None,
                        refresh=action.refresh,
                        language=language,
                    ))
                case Notice():
                    delivered.append(out.Toast(render(action.text, language)))
                case Settle():
                    delivered.append(out.Answered(
                        outward.settled(action.token) if outward else action.token,
                        ", ".join(render(t, language) for t in action.answer)))
                case WipeChat():
                    delivered.append(out.WipeChat())
                case EndSession():
                    delivered.append(out.SessionEnded())
                case StoreAnswer(value=TextAnswer()):
                    delivered.append(out.AnswerKept("text"))
                case StoreAnswer(value=NumberAnswer()):
                    delivered.append(out.AnswerKept("number"))
                case StoreAnswer(value=MediaAnswer()):
                    delivered.append(out.AnswerKept("media"))
                case (StoreAnswer() | DropAnswer() | RecordConsent() | Count() | Completed()
                      | Erase() | ScheduleReminder() | CancelReminder()):
                    pass  # storage's business, done before anything is delivered
                case _:
                    assert_never(action)
        return delivered

    def _render_buttons(self, options: tuple[Option, ...], language: str
                        ) -> tuple[out.Button, ...]:
        """A question's buttons, rendered once per language: the engine asks the same
        questions with the same options over and over (they are immutable, like texts)."""
        key = (options, language)
        buttons = self._buttons.get(key)
        if buttons is None:
            if len(self._buttons) >= RENDERED_KEPT:
                self._buttons.clear()
            buttons = self._buttons[key] = tuple(
                out.Button(o.key, self._render(o.label, language), o.selected,
                           self.translator.short(o.label, language)) for o in options)
        return buttons

    def _render(self, text: Text, language: str) -> str:
        """Rendered texts, remembered: the same labels and questions are shown again and
        again, and texts are immutable (a changed catalog means a restart)."""
        key = (text, language)
        rendered = self._rendered.get(key)
        if rendered is None:
            if len(self._rendered) >= RENDERED_KEPT:
                self._rendered.clear()
            rendered = self._rendered[key] = self.translator.render(text, language)
        return rendered
