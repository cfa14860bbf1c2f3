"""A person's working state: where they are, and only what the skip logic needs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from enum import StrEnum
from typing import Any


class Phase(StrEnum):
    NEW = "new"  # nothing said yet
    LANGUAGE = "language"  # choosing a language (before consent)
    CONSENT = "consent"  # reading and answering the consent items
    QUESTIONS = "questions"  # consented: the questionnaire
    DONE = "done"  # finished; only /delete, /language and /help still do something


class Overlay(StrEnum):
    """A short detour on top of the phase, after which the current question is asked again."""

    LANGUAGE = "language"
    CONFIRM_DELETE = "confirm_delete"
    REMINDER = "reminder"  # after /stop or a quiet while: would they like one reminder, when


@dataclass(frozen=True)
class SessionState:
    # A new field is listed in bot/button_state.py too (what buttons before consent carry).
    sid: str  # random per session (from the caller): buttons of older sessions go stale
    phase: Phase = Phase.NEW
    language: str | None = None
    language_chosen: bool = False  # by the person (not only a hint from their phone)
    campaign: str | None = None
    consent_step: int = 0
    consent_answers: Mapping[str, bool] = field(default_factory=dict)
    current: str | None = None  # the question being asked
    history: tuple[str, ...] = ()  # questions asked before, for /back
    remembered: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # for conditions
    pending: tuple[str, ...] = ()  # multi-choice toggles not yet confirmed with Done
    seq: int = 0  # the number of the question being asked (a new one for each new question)
    paused: bool = False
    overlay: Overlay | None = None
    overlay_seq: int = 0  # the open detour's own number, so it never shares the question's
    counted: tuple[str, ...] = ()  # once-per-person funnel steps already counted
    # Facts about the database the caller looks up for this person, for /delete to tell the
    # truth: something of theirs is stored (even with no session), and the database was
    # purged before (so copies of their answers may be in a researcher's snapshot).
    stored: bool = False
    copied: bool = False
    # Reminders, only ever on request. `reminder_options` is set by the caller for each event:
    # the delays (days, as button keys) the person's channel can deliver, none for a channel
    # that cannot remind. `reminded` too: a reminder was sent since the person last wrote.
    reminder_options: tuple[str, ...] = ()
    # Reminders this person chose, in this session and before it (the caller takes the
    # count from their profile when a session begins): at most MAX_REMINDERS.
    reminders_asked: int = 0
    reminder_pending: bool = False  # one is scheduled and not yet sent
    reminded: bool = False
    reminder_offered: bool = False  # an offer was made in this session (quiet: never again)
    # When the person last wrote mid-questionnaire, set by the caller only where several
    # workers share the database (none keeps the state in memory): a worker about to make the
    # offer after a quiet while finds here whether another one heard from them since. Saved
    # only inside the encrypted state. None: not known (one worker, or an older saved form).
    heard_at: datetime | None = None

    @property
    def consented(self) -> bool:
        return self.phase in (Phase.QUESTIONS, Phase.DONE)

    @property
    def token(self) -> str:
        """What the buttons of the open question carry: the same each time it is asked again,
        so every copy of it on the person's screen keeps working until it is answered."""
        return f"{self.sid}.{self.overlay_seq if self.overlay else self.seq}"

    @property
    def question_token(self) -> str:
        """The token of the question a detour interrupted (equal to `token` without one)."""
        return f"{self.sid}.{self.seq}"

    def evolve(self, **changes: Any) -> SessionState:
        """A copy with `changes` applied. The engine evolves a state a few times per event,
        and `dataclasses.replace` runs `__init__` again, a guarded setattr per field (3.4 µs
        against 0.9 µs for this). The class has no `__post_init__` or validation to skip, so
        copying the field values directly yields the same object. Unknown names are
        refused, as `replace` refuses them."""
        unknown = changes.keys() - _FIELD_NAMES
        if unknown:
            raise TypeError(f"SessionState has no field(s) {sorted(unknown)}")
        evolved = object.__new__(type(self))
        values = evolved.__dict__
        values.update(self.__dict__)
        values.update(changes)
        return evolved


_FIELD_NAMES = frozenset(f.name for f in fields(SessionState))
