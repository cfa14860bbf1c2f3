"""The conversation rules, as one pure function.

`step(script, state, event, now)` returns the next state (None when the session is over and its
working state must be forgotten) and the actions to carry out, in order. It never reads a clock
(`now` is given), never does I/O and never imports a platform.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime

from bot.engine import logic
from bot.engine import messages as msg
from bot.engine.actions import (
    DONE_KEY,
    SKIP_KEY,
    Action,
    Ask,
    CancelReminder,
    ChoiceAnswer,
    Completed,
    Count,
    DropAnswer,
    EndSession,
    Erase,
    MediaAnswer,
    Notice,
    NumberAnswer,
    Option,
    RecordConsent,
    Say,
    ScheduleReminder,
    Settle,
    StoreAnswer,
    TextAnswer,
    WipeChat,
)
from bot.engine.events import (
    ChoiceIn,
    CommandIn,
    Event,
    MediaIn,
    Quiet,
    Repeat,
    Start,
    TextIn,
    Unsupported,
)
from bot.engine.script import Script
from bot.engine.state import Overlay, Phase, SessionState
from bot.engine.text import Text, flow_text
from bot.flow import ConsentItem, Question, QuestionKind, Questionnaire

ACCEPTED_MEDIA = frozenset({"voice", "audio", "photo"})
# Funnel steps, counted once per person as anonymous counters.
OPENED, LANGUAGE_CHOSEN, CONSENTED = "opened", "language_chosen", "consented"
DECLINED, UNDER_AGE, THEME_ANSWERED = "declined", "under_age", "theme_answered"
COMPLETED, DELETED = "completed", "deleted"
REMINDER_ASKED, REMINDER_CONTINUED = "reminder_asked", "reminder_continued"
MAX_REMINDERS = 2  # per person: a reminder is a favour asked for, never a campaign
REMINDER_DELAYS = {"1": msg.REMINDER_TOMORROW, "3": msg.REMINDER_IN_3_DAYS}  # days: label
_NOT_ASKED = frozenset({QuestionKind.NOTE, QuestionKind.CALCULATE})  # said, or computed
LONG_TEXT = 200  # characters: an answer this long is acknowledged before the next question
MEMOS_KEPT = 8  # questionnaires whose derived texts are kept (one in production)


def step(
    script: Script, state: SessionState, event: Event, now: datetime
) -> tuple[SessionState | None, tuple[Action, ...]]:
    turn = _Turn(script, state, now)
    turn.handle(event)
    return (None if turn.ended else turn.state), tuple(turn.actions)


def may_offer_reminder(state: SessionState) -> bool:
    """Whether a reminder may be offered at all: mid-questionnaire, after consent, with a
    delay the person's channel can deliver, fewer than MAX_REMINDERS chosen so far."""
    return (state.phase is Phase.QUESTIONS and bool(state.current)
            and any(key in REMINDER_DELAYS for key in state.reminder_options)
            and state.reminders_asked < MAX_REMINDERS)


def offers_after_quiet(state: SessionState) -> bool:
    """Whether a quiet while (`Quiet`) brings the one offer: not to someone paused (their
    /stop made its own offer), in a detour, already offered one in this session, or waiting
    for a reminder. Callers use it to find whom to tick; the engine decides with it."""
    return (may_offer_reminder(state) and not state.paused and state.overlay is None
            and not state.reminder_offered and not state.reminder_pending)


# Control characters (Unicode category Cc) but line breaks and tabs, for str.translate: one
# pass in C rather than a category lookup per character. Unicode's stability policy fixes Cc
# to U+0000-U+001F and U+007F-U+009F, so the first 160 code points hold all of them.
_CONTROLS: dict[int, None] = {
    code: None for code in range(0xA0)
    if unicodedata.category(chr(code)) == "Cc" and chr(code) not in "\n\t"
}


def clean_text(text: str) -> str:
    """Drop NUL and other control characters (keeping line breaks and tabs), trim."""
    return text.translate(_CONTROLS).strip()


def parse_number(text: str) -> int | None:
    """Whole numbers in any script's digits ("34", "٣٤", "३४"), spaces and signs allowed."""
    compact = "".join(clean_text(text).split())
    try:
        return int(compact)
    except ValueError:
        return None


class _FlowMemo:
    """What steps derive from one questionnaire, built once instead of on every event: its
    texts, and each question's options (a Text and an Option per choice, rebuilt whenever a
    question was asked, were most of a step's cost). All of it is immutable, so sharing it
    between steps changes nothing but the cost."""

    def __init__(self, flow: Questionnaire) -> None:
        self.flow = flow
        self._texts: dict[tuple[str, str], Text] = {}
        self._options: dict[str, tuple[Option, ...]] = {}

    def text(self, item: str, source: str) -> Text:
        key = (item, source)
        text = self._texts.get(key)
        if text is None:
            text = self._texts[key] = flow_text(self.flow.id, item, source)
        return text

    def choice_text(self, question: Question, choice_id: str, label: str) -> Text:
        if question.generated:  # a repeat's "add another?": the interface's own yes and no
            return msg.YES if choice_id == "yes" else msg.NO
        return self.text(f"{question.context_id}.{choice_id}", label)

    def options(self, question: Question) -> tuple[Option, ...]:
        """The question's buttons, none selected (and Done last for a multi-choice one)."""
        options = self._options.get(question.id)
        if options is None:
            options = tuple(Option(c.id, self.choice_text(question, c.id, c.label))
                            for c in question.choices)
            if question.kind is QuestionKind.ACKNOWLEDGE:
                options = (Option(logic.ACKNOWLEDGED, msg.OK_BUTTON),)
            if question.kind is QuestionKind.MULTI:
                options += (Option(DONE_KEY, msg.DONE_BUTTON),)
            self._options[question.id] = options
        return options


_MEMOS: dict[int, _FlowMemo] = {}


def _memo_for(flow: Questionnaire) -> _FlowMemo:
    """The memo of this very questionnaire object. Looked up by identity, because hashing a
    frozen questionnaire would hash every question in it on each event; the memo holds the
    questionnaire, so no other object can take its id while the entry exists."""
    memo = _MEMOS.get(id(flow))
    if memo is None or memo.flow is not flow:
        if len(_MEMOS) >= MEMOS_KEPT:
            _MEMOS.clear()
        memo = _MEMOS[id(flow)] = _FlowMemo(flow)
    return memo


class _Turn:
    """One event's worth of decisions: mutates a copy of the state, collects actions."""

    def __init__(self, script: Script, state: SessionState, now: datetime) -> None:
        self.script = script
        self.flow = script.questionnaire
        self.memo = _memo_for(self.flow)
        self.state = state
        self.now = now
        self.actions: list[Action] = []
        self.ended = False

    # -- small helpers -------------------------------------------------------------------
    def emit(self, *actions: Action) -> None:
        self.actions.extend(actions)

    def say(self, text: Text) -> None:
        self.emit(Say(text))

    def count_once(self, metric: str) -> None:
        if metric not in self.state.counted:
            self.emit(Count(metric))
            self.state = self.state.evolve(counted=(*self.state.counted, metric))

    def end(self) -> None:
        self.emit(EndSession())
        self.ended = True

    def flow_text(self, item: str, source: str) -> Text:
        return self.memo.text(item, source)

    def consent_text(self, item: str, source: str) -> Text:
        return flow_text(self.script.consent.id, item, source)

    @property
    def language(self) -> str:
        return self.state.language or self.script.default_language

    # -- dispatch ------------------------------------------------------------------------
    def handle(self, event: Event) -> None:
        if isinstance(event, CommandIn):
            # Full-width or compatibility forms match ("/ｓｋｉｐ"); invisible characters do
            # not vanish, so "/de\u200blete" is an unknown command, never a deletion.
            event = CommandIn(unicodedata.normalize("NFKC", event.name).casefold(),
                              event.argument)
        if isinstance(event, CommandIn) and event.name == "start":
            event = Start(campaign=event.argument or None)
        if isinstance(event, Repeat):
            if self.state.phase not in (Phase.NEW, Phase.DONE):
                self.ask_current()
            return
        if isinstance(event, Quiet):  # nobody wrote: nothing of theirs closes or counts
            if offers_after_quiet(self.state):
                self.offer_reminder()
            return
        self.person_wrote(event)
        if self.state.phase is Phase.NEW and not self.state.overlay and not (
                isinstance(event, CommandIn) and event.name == "delete"):
            if isinstance(event, CommandIn) and event.name == "help":
                self.say(msg.HELP)  # someone's very first message can be /help
            if isinstance(event, Start):
                self.begin(event.campaign, event.language_hint)
            else:
                self.begin(None, None)
            return
        if isinstance(event, Start):
            self.restart(event)
        elif isinstance(event, CommandIn):
            self.state = self.state.evolve(paused=False)
            self.command(event)
        elif self.state.paused:
            self.resume(event)
        elif isinstance(event, ChoiceIn):
            self.choice(event)
        elif isinstance(event, TextIn):
            self.text(event.text)
        elif isinstance(event, MediaIn):
            self.media(event)
        elif isinstance(event, Unsupported):
            self.say(msg.UNSUPPORTED_CONTACT if event.kind == "contact" else msg.UNSUPPORTED)

    def person_wrote(self, event: Event) -> None:
        """Whatever the person sends, they are here: a reminder they asked for is not needed
        any more, an open offer of one closes (unless this is its answer), and if a reminder
        brought them back, that is counted."""
        state = self.state
        if state.reminder_pending:
            self.emit(CancelReminder())
            self.state = state = state.evolve(reminder_pending=False)
        if state.reminded:
            if state.consented and not isinstance(event, CommandIn):
                self.count_once(REMINDER_CONTINUED)
            self.state = state = self.state.evolve(reminded=False)
        if state.overlay is Overlay.REMINDER and not (
                isinstance(event, ChoiceIn) and event.token == state.token):
            self.emit(Settle(state.token, ()))
            self.state = state.evolve(overlay=None)

    def begin(self, campaign: str | None, hint: str | None) -> None:
        # A language the person chose earlier in this conversation (before declining, say)
        # wins over a hint from their phone, and is not asked for again.
        chosen = self.state.language if self.state.language_chosen else None
        language = next(
            (code for code in (chosen, hint, self.state.language)
             if code in self.script.languages),
            self.script.default_language,
        )
        self.state = self.state.evolve(phase=Phase.LANGUAGE, campaign=campaign, language=language)
        self.count_once(OPENED)
        if len(self.script.languages) == 1 or language == chosen:
            self.set_language(language)
        else:
            self.new_question()
            self.ask_current()

    def restart(self, event: Start) -> None:
        """`/start` again: resume, never reset (a rescanned QR code must not lose anything)."""
        if self.state.phase is Phase.DONE:
            self.say(msg.ALREADY_DONE)
            return
        if event.campaign and not self.state.consented and not self.state.campaign:
            # A campaign code before consent (typed, or a second scan) starts over exactly
            # as its link would have: its preset language, its funnel from "opened" on.
            self.state = self.state.evolve(phase=Phase.NEW, counted=(), paused=False,
                                           overlay=None, consent_step=0, consent_answers={})
            self.begin(event.campaign, event.language_hint)
            return
        self.state = self.state.evolve(paused=False)
        self.welcome_back()

    def welcome_back(self) -> None:
        self.say(msg.RESUMED)
        if self.state.phase is Phase.QUESTIONS and self.state.history:
            self.say(msg.progress(len(self.state.history)))
        self.ask_current()

    def resume(self, event: Event) -> None:
        if isinstance(event, ChoiceIn) and event.token == self.state.token:
            if self.state.overlay is not Overlay.REMINDER:  # the pause's offer: still paused
                self.state = self.state.evolve(paused=False)
            self.choice(event)  # a button of the paused question simply answers it
            return
        self.state = self.state.evolve(paused=False)
        self.welcome_back()

    # -- asking --------------------------------------------------------------------------
    def new_question(self) -> None:
        """What is asked next is another question (or consent item): its buttons get a new
        number, and the buttons of everything asked before stop working."""
        state = self.state
        self.state = state.evolve(seq=max(state.seq, state.overlay_seq) + 1)

    def open_detour(self, overlay: Overlay) -> None:
        state = self.state
        if state.overlay is not overlay:
            self.state = state.evolve(overlay=overlay,
                                      overlay_seq=max(state.seq, state.overlay_seq) + 1)

    def ask_current(self) -> None:
        state = self.state
        if state.overlay is Overlay.LANGUAGE or state.phase is Phase.LANGUAGE:
            self.ask_language()
        elif state.overlay is Overlay.CONFIRM_DELETE:
            self.emit(Ask(self.state.token, msg.DELETE_CONFIRM,
                          (Option("yes", msg.DELETE_YES), Option("no", msg.DELETE_NO))))
        elif state.overlay is Overlay.REMINDER:
            options = tuple(Option(key, REMINDER_DELAYS[key]) for key in state.reminder_options
                            if key in REMINDER_DELAYS)
            self.emit(Ask(self.state.token, msg.REMINDER_OFFER, (*options, Option("no", msg.NO))))
        elif state.phase is Phase.CONSENT:
            self.ask_consent(self.script.consent.items[state.consent_step])
        elif state.phase is Phase.QUESTIONS and state.current:
            self.ask_question(self.flow.question(state.current))

    def ask_language(self) -> None:
        options = tuple(
            Option(code, Text.raw(self.script.language_names.get(code, code)),
                   selected=code == self.language)
            for code in self.script.languages
        )
        greeting = msg.CHANGE_LANGUAGE if self.state.overlay else msg.CHOOSE_LANGUAGE
        self.emit(Ask(self.state.token, greeting, options))

    def ask_consent(self, item: ConsentItem) -> None:
        options = (
            Option("yes", self.consent_text(f"{item.id}.yes", item.yes)),
            Option("no", self.consent_text(f"{item.id}.no", item.no)),
        )
        self.emit(Ask(self.state.token, self.consent_text(item.id, item.text), options))

    def choice_options(self, question: Question) -> tuple[Option, ...]:
        options = self.memo.options(question)
        if question.choice_filter is not None:
            options = tuple(o for o, c in zip(options, question.choices, strict=False)
                            if logic.choice_allowed(self.flow, question, c.data, self.state,
                                                    self.now)) + options[len(question.choices):]
        if question.default is not None:
            options = logic.with_default(question, options)
        pending = self.state.pending
        if not pending:
            return options
        return tuple(Option(o.key, o.label, selected=True) if o.key in pending else o
                     for o in options)

    def ask_question(self, question: Question, refresh: bool = False) -> None:
        options = self.choice_options(question)
        self.emit(Ask(self.state.token, self.question_text(question), options,
                      multi=question.kind is QuestionKind.MULTI, skippable=question.optional,
                      question_id=question.id, refresh=refresh))

    def question_text(self, question: Question) -> Text:
        if question.generated:
            return msg.ADD_ANOTHER
        text = self.flow_text(question.context_id, question.text)
        if "${" not in question.text:
            return text
        return logic.with_answers(text, question.text, self.flow, self.state)

    def reprompt(self, text: Text) -> None:
        self.say(text)
        self.ask_current()

    # -- buttons -------------------------------------------------------------------------
    def choice(self, event: ChoiceIn) -> None:
        state = self.state
        if event.token != state.token:
            if not (state.overlay and event.token == state.question_token):
                self.emit(Notice(msg.STALE_BUTTON))
                return
            # The interrupted question's own button, pressed during the detour: the person
            # answers instead, so the detour ends (its buttons go) and the press counts.
            self.emit(Settle(state.token, ()))
            self.state = state = state.evolve(overlay=None)
        if state.overlay is Overlay.LANGUAGE or state.phase is Phase.LANGUAGE:
            if event.key in self.script.languages:
                self.emit(Settle(event.token, (Text.raw(self.script.language_names.get(
                    event.key, event.key)),)))
                self.set_language(event.key)
        elif state.overlay is Overlay.CONFIRM_DELETE:
            if event.key in ("yes", "no"):
                self.confirm_delete(event.token, event.key == "yes")
        elif state.overlay is Overlay.REMINDER:
            if event.key == "no" or event.key in state.reminder_options:
                self.reminder_choice(event.token, event.key)
        elif state.phase is Phase.CONSENT:
            if event.key in ("yes", "no"):
                self.consent_answer(event.token, event.key == "yes")
        elif state.phase is Phase.QUESTIONS and state.current:
            self.question_choice(self.flow.question(state.current), event.key)
        # Anything else is forged or malformed: ignore it, change nothing.

    def set_language(self, code: str) -> None:
        self.state = self.state.evolve(language=code, language_chosen=True)
        self.count_once(LANGUAGE_CHOSEN)
        if self.state.overlay is Overlay.LANGUAGE:
            self.state = self.state.evolve(overlay=None)
            self.say(msg.LANGUAGE_SET)
            self.ask_current()
        elif self.state.phase is Phase.LANGUAGE:
            self.state = self.state.evolve(phase=Phase.CONSENT, consent_step=0)
            self.say_consent_intro()
            self.new_question()
            self.ask_current()

    def say_consent_intro(self) -> None:
        consent = self.script.consent
        self.say(self.consent_text("intro", consent.intro))
        for item, text in (("chat_app", consent.chat_app), ("contact", consent.contact)):
            if text:
                self.say(self.consent_text(item, text))

    def consent_answer(self, token: str, agreed: bool) -> None:
        item = self.script.consent.items[self.state.consent_step]
        self.emit(Settle(token, (self.consent_text(f"{item.id}.{'yes' if agreed else 'no'}",
                                                   item.yes if agreed else item.no),)))
        answers = {**self.state.consent_answers, item.id: agreed}
        self.state = self.state.evolve(consent_answers=answers)
        if not agreed and item.kind in ("required", "age_gate"):
            self.count_once(DECLINED if item.kind == "required" else UNDER_AGE)
            self.say(msg.DECLINED if item.kind == "required" else msg.UNDER_AGE)
            self.end()
            return
        if self.state.consent_step + 1 < len(self.script.consent.items):
            self.state = self.state.evolve(consent_step=self.state.consent_step + 1)
            self.new_question()
            self.ask_current()
            return
        self.emit(RecordConsent(self.script.consent.version, self.language, self.now, answers))
        self.count_once(CONSENTED)
        # Recorded (sealed) now: the working state keeps only what routing needs.
        self.state = self.state.evolve(phase=Phase.QUESTIONS, current=None, consent_answers={})
        self.say(self.flow_text("welcome", self.flow.welcome))
        self.advance(record=False)

    def confirm_delete(self, token: str, confirmed: bool) -> None:
        self.emit(Settle(token, (msg.DELETE_YES if confirmed else msg.DELETE_NO,)))
        if confirmed:
            self.emit(Erase())
            self.count_once(DELETED)
            self.say(msg.DELETED_AND_COPIES if self.state.copied else msg.DELETED)
            self.end()
            return
        self.state = self.state.evolve(overlay=None)
        self.say(msg.NOT_DELETED)
        self.ask_current()

    def offer_reminder(self) -> None:
        self.state = self.state.evolve(reminder_offered=True)
        self.open_detour(Overlay.REMINDER)
        self.ask_current()

    def reminder_choice(self, token: str, key: str) -> None:
        """The answer to an offer. After /stop the person stays paused; after a quiet while,
        "no" brings the open question back, and a chosen time pauses them like /stop."""
        paused = self.state.paused
        self.state = self.state.evolve(overlay=None, paused=True)
        if key not in REMINDER_DELAYS:
            self.emit(Settle(token, (msg.NO,)))
            if not paused:
                self.state = self.state.evolve(paused=False)
                self.ask_current()
            return
        self.emit(Settle(token, (REMINDER_DELAYS[key],)), ScheduleReminder(int(key)))
        self.state = self.state.evolve(reminders_asked=self.state.reminders_asked + 1,
                                       reminder_pending=True)
        self.count_once(REMINDER_ASKED)
        self.say(msg.REMINDER_SET)

    def question_choice(self, question: Question, key: str) -> None:
        if question.choice_filter is not None and question.choice(key) and key not in {
                o.key for o in self.choice_options(question)}:
            return  # filtered out, so never offered: forged or malformed
        if key == SKIP_KEY:
            self.skip()
        elif question.kind is QuestionKind.SINGLE and question.choice(key):
            self.store(question, ChoiceAnswer((key,)))
        elif question.kind is QuestionKind.MULTI and question.choice(key):
            pending = set(self.state.pending) ^ {key}
            ordered = tuple(c.id for c in question.choices if c.id in pending)
            self.state = self.state.evolve(pending=ordered)
            self.ask_question(question, refresh=True)
        elif key == logic.DEFAULT_KEY and question.default is not None:
            self.text(question.default)
        elif question.kind is QuestionKind.ACKNOWLEDGE and key == logic.ACKNOWLEDGED:
            self.store(question, ChoiceAnswer((key,)))
        elif question.kind is QuestionKind.MULTI and key == DONE_KEY:
            if not self.state.pending:
                self.emit(Notice(msg.CHOOSE_AT_LEAST_ONE))
                return
            self.store(question, ChoiceAnswer(self.state.pending))

    # -- answers -------------------------------------------------------------------------
    def store(self, question: Question, value: ChoiceAnswer | TextAnswer | NumberAnswer
              | MediaAnswer) -> None:
        if question.constraint is not None:
            problem = logic.rejection(self.flow, question, self.state, self.now, value,
                                      question.context_id)
            if problem is not None:
                self.reprompt(problem)
                return
        self.emit(StoreAnswer(question.id, value, self.language, self.flow.id, self.flow.version))
        if isinstance(value, ChoiceAnswer):
            labels = tuple(o.label for o in self.memo.options(question)
                           if o.key in value.choices)  # in the question's order
            self.emit(Settle(self.state.token, labels))
            if question.id in self.flow.condition_sources:
                remembered = {**self.state.remembered, question.id: value.choices}
                self.state = self.state.evolve(remembered=remembered)
        else:
            self.emit(Settle(self.state.token, ()))
            if question.id in self.flow.condition_sources:
                self.state = logic.remember(self.flow, self.state, question, value)
            if isinstance(value, MediaAnswer) or (isinstance(value, TextAnswer)
                                                  and len(value.text) >= LONG_TEXT):
                self.say(msg.RECEIVED)  # a story took effort: say it arrived
        if question.when:
            self.count_once(THEME_ANSWERED)
        self.advance()

    def skip(self) -> None:
        state = self.state
        if state.phase is not Phase.QUESTIONS or state.overlay or not state.current:
            self.reprompt(msg.CHOOSE_BUTTON_REQUIRED)
            return
        question = self.flow.question(state.current)
        if not question.optional:
            self.reprompt(logic.required_text(self.flow, question))
            return
        self.emit(DropAnswer(question.id), Settle(state.token, (msg.SKIPPED,)))
        remembered = {k: v for k, v in state.remembered.items() if k != question.id}
        self.state = state.evolve(remembered=remembered)
        self.advance()

    def advance(self, record: bool = True) -> None:
        """Move to the next question whose conditions hold, or finish."""
        current = self.state.current
        history = (*self.state.history, current) if record and current else self.state.history
        start = self.flow.index(current) + 1 if current else 0
        # Lazy: whether a later item is shown is asked after the ones before it have passed
        # by (a calculation's value may decide it).
        candidates = (q for q in self.flow.questions[start:] if self.shown(q))
        upcoming = next(candidates, None)
        while upcoming is not None and upcoming.kind in _NOT_ASKED:
            self.announce_section(upcoming)
            self.pass_by(upcoming)  # a note is said, a calculation stored
            upcoming = next(candidates, None)
        self.state = self.state.evolve(history=history, pending=(),
                                       current=upcoming.id if upcoming else None)
        if upcoming is None:
            self.finish()
            return
        self.announce_section(upcoming)
        self.new_question()
        if upcoming.hint is not None:  # once, when the question comes up
            self.say(self.flow_text(f"{upcoming.context_id}.hint", upcoming.hint))
        self.ask_question(upcoming)

    def announce_section(self, upcoming: Question) -> None:
        """Say a section's title before the first item of it the person meets."""
        section = self.flow.section_of(upcoming)
        if section.title and upcoming.text_id and not upcoming.generated \
                and upcoming.text_id == section.question_ids[0]:
            self.say(self.flow_text(f"section.{section.id}", section.title))  # a repeat again
        elif section.title and section.question_ids and upcoming.id == next(
            (qid for qid in section.question_ids if self.flow.question(qid).kind
             is not QuestionKind.CALCULATE and self.shown(self.flow.question(qid))),
            None,
        ):
            self.say(self.flow_text(f"section.{section.id}", section.title))

    def pass_by(self, item: Question) -> None:
        if item.kind is QuestionKind.NOTE:
            self.say(logic.with_answers(self.flow_text(item.context_id, item.text), item.text,
                                        self.flow, self.state))
            return
        value = TextAnswer(logic.calculate(self.flow, item, self.state, self.now))
        self.emit(StoreAnswer(item.id, value, self.language, self.flow.id, self.flow.version))
        self.state = logic.remember(self.flow, self.state, item, value)

    def shown(self, question: Question) -> bool:
        """Whether the question's conditions hold (most questions have none)."""
        return (not question.when or all(c.holds(self.state.remembered) for c in question.when)
                ) and (not question.relevant
                       or logic.relevant(self.flow, question, self.state, self.now))

    def finish(self) -> None:
        self.say(self.flow_text("closing", self.flow.closing))
        self.say(self.flow_text("safety_note", self.flow.safety_note))
        self.count_once(COMPLETED)
        self.emit(Completed())
        self.state = self.state.evolve(phase=Phase.DONE)
        self.end()

    def text(self, raw: str) -> None:
        state = self.state
        if state.phase is Phase.DONE:
            self.say(msg.ALREADY_DONE)
            return
        if state.overlay is Overlay.LANGUAGE or state.phase is Phase.LANGUAGE:
            typed = clean_text(raw).casefold()
            for code in self.script.languages:
                if typed in (code, self.script.language_names.get(code, "").casefold()):
                    self.emit(Settle(state.token, (Text.raw(
                        self.script.language_names.get(code, code)),)))
                    self.set_language(code)
                    return
            self.reprompt(msg.CHOOSE_BUTTON_REQUIRED)
            return
        if state.overlay or state.phase is not Phase.QUESTIONS or not state.current:
            self.reprompt(msg.CHOOSE_BUTTON_REQUIRED)
            return
        question = self.flow.question(state.current)
        if question.kind.has_choices:
            self.reprompt(msg.CHOOSE_BUTTON if question.optional else msg.CHOOSE_BUTTON_REQUIRED)
        elif question.kind is QuestionKind.NUMBER:
            self.number(question, raw)
        elif question.kind not in (QuestionKind.TEXT, QuestionKind.TESTIMONY):
            reply = logic.typed_answer(question, raw)
            if isinstance(reply, Text):
                self.say(reply)  # what to send instead
            else:
                self.store(question, reply)
        else:
            text = clean_text(raw)
            if not text:
                self.say(msg.EMPTY_TEXT)
            elif len(text) > question.max_length:
                self.say(msg.TOO_LONG.format(limit=question.max_length))
            else:
                self.store(question, TextAnswer(text))

    def number(self, question: Question, raw: str) -> None:
        value = parse_number(raw)
        low, high = question.minimum, question.maximum
        if value is not None and (low is None or value >= low) and (high is None or value <= high):
            self.store(question, NumberAnswer(value))
            return
        if low is not None and high is not None:
            self.say(msg.NUMBER_RANGE.format(minimum=low, maximum=high))
        elif low is not None and value is not None:
            self.say(msg.NUMBER_MIN.format(minimum=low))
        elif high is not None and value is not None:
            self.say(msg.NUMBER_MAX.format(maximum=high))
        else:
            self.say(msg.NOT_A_NUMBER.format(example=low if low is not None else 3))

    def media(self, event: MediaIn) -> None:
        state = self.state
        if state.phase is Phase.DONE:
            self.say(msg.ALREADY_DONE)
            return
        if state.overlay or state.phase is not Phase.QUESTIONS or not state.current:
            self.reprompt(msg.CHOOSE_BUTTON_REQUIRED)  # nothing is kept before consent
            return
        question = self.flow.question(state.current)
        accepted = question.accepts if question.kind is QuestionKind.MEDIA else (
            ACCEPTED_MEDIA if question.kind is QuestionKind.TESTIMONY else ())
        if event.media.kind in accepted:
            self.store(question, MediaAnswer(event.media))
        elif question.kind is QuestionKind.MEDIA:
            self.say(msg.SEND_PHOTO if question.accepts == ("photo",) else msg.SEND_MEDIA)
        elif question.kind is QuestionKind.TESTIMONY:
            self.say(msg.UNSUPPORTED)
        elif question.kind.has_choices:
            self.reprompt(msg.CHOOSE_BUTTON if question.optional else msg.CHOOSE_BUTTON_REQUIRED)
        elif question.kind is QuestionKind.NUMBER:
            self.say(msg.NOT_A_NUMBER.format(example=question.minimum or 3))
        else:
            self.say(msg.WRITE_PLEASE)

    # -- commands ------------------------------------------------------------------------
    def command(self, event: CommandIn) -> None:
        name = event.name
        phase = self.state.phase
        if name == "help":
            self.say(msg.HELP)
            if phase is not Phase.DONE:
                self.ask_current()
        elif name == "stop":
            if phase is Phase.DONE:
                self.say(msg.ALREADY_DONE)
                return
            self.state = self.state.evolve(paused=True)
            self.say(msg.PAUSED if self.state.consented else msg.PAUSED_BEFORE_CONSENT)
            if may_offer_reminder(self.state):  # offered with the pause, in its reply
                self.offer_reminder()
        elif name == "skip":
            self.skip() if phase is not Phase.DONE else self.say(msg.ALREADY_DONE)
        elif name == "back":
            self.back()
        elif name == "language":
            self.open_detour(Overlay.LANGUAGE)
            self.ask_current()
        elif name == "delete":
            if not (self.state.consented or self.state.stored):
                if self.state.copied:
                    # Nothing here, but an earlier purge may have moved their answers to a
                    # researcher's snapshot: an erasure record reaches those copies.
                    self.emit(Erase())
                    self.say(msg.NOTHING_HERE_MAYBE_COPIES)
                    if phase is not Phase.NEW:
                        self.ask_current()
                else:
                    self.reprompt(msg.NOTHING_STORED)
                return
            self.open_detour(Overlay.CONFIRM_DELETE)
            self.ask_current()
        elif name == "exit":
            self.emit(WipeChat())
            self.end()
            self.say(msg.EXITED)
        else:
            self.say(msg.UNKNOWN_COMMAND)

    def back(self) -> None:
        state = self.state
        if state.phase is Phase.DONE:
            self.say(msg.ALREADY_DONE)
        elif state.overlay:
            self.state = state.evolve(overlay=None)
            self.ask_current()
        elif state.phase is Phase.CONSENT and state.consent_step > 0:
            self.state = state.evolve(consent_step=state.consent_step - 1)
            self.new_question()
            self.ask_current()
        elif state.phase is Phase.QUESTIONS and state.history:
            previous = state.history[-1]
            self.state = state.evolve(current=previous, history=state.history[:-1], pending=())
            self.say(msg.GOING_BACK)
            self.new_question()
            self.ask_current()
        else:
            self.reprompt(msg.NOTHING_BEFORE)
