"""What the engine wants done. The orchestrator stores first, then delivers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from bot.engine.events import MediaRef
from bot.engine.text import Text

# Keys of control buttons; choice ids never start with "~", so these cannot collide with one.
DONE_KEY = "~done"
SKIP_KEY = "~skip"


@dataclass(frozen=True)
class Option:
    key: str
    label: Text
    selected: bool = False


@dataclass(frozen=True)
class Say:
    text: Text


@dataclass(frozen=True)
class Ask:
    """Ask something. `token` ties buttons to this very question in this very session."""

    token: str
    text: Text
    options: tuple[Option, ...] = ()
    multi: bool = False
    skippable: bool = False
    question_id: str | None = None
    refresh: bool = False  # re-draw the same question in place (multi-choice toggles)


@dataclass(frozen=True)
class Notice:
    """A brief, passing note (Telegram shows it as a toast on the pressed button)."""

    text: Text


@dataclass(frozen=True)
class Settle:
    """The question with `token` is answered: show the answer, take its buttons away."""

    token: str
    answer: tuple[Text, ...]


@dataclass(frozen=True)
class ChoiceAnswer:
    choices: tuple[str, ...]


@dataclass(frozen=True)
class TextAnswer:
    text: str


@dataclass(frozen=True)
class NumberAnswer:
    number: int | float  # a float only for decimal questions


@dataclass(frozen=True)
class MediaAnswer:
    media: MediaRef


AnswerValue = ChoiceAnswer | TextAnswer | NumberAnswer | MediaAnswer


@dataclass(frozen=True)
class StoreAnswer:
    question_id: str
    value: AnswerValue
    language: str  # the language the question was asked in
    flow_id: str
    flow_version: str


@dataclass(frozen=True)
class DropAnswer:
    """The person skipped a question they had answered before (after /back)."""

    question_id: str


@dataclass(frozen=True)
class RecordConsent:
    version: str
    language: str
    at: datetime
    items: Mapping[str, bool]


@dataclass(frozen=True)
class Count:
    """An anonymous counter (no respondent reference), e.g. for a campaign's funnel."""

    metric: str


@dataclass(frozen=True)
class Completed:
    """The questionnaire is finished."""


@dataclass(frozen=True)
class Erase:
    """Delete everything this person gave."""


@dataclass(frozen=True)
class EndSession:
    """Forget the working state (after the end, a refusal, an erasure or /exit)."""


@dataclass(frozen=True)
class WipeChat:
    """Remove this conversation's messages from the person's device, where possible."""


@dataclass(frozen=True)
class ScheduleReminder:
    """The person asked for one reminder, `days` from now (quiet hours are the caller's)."""

    days: int


@dataclass(frozen=True)
class CancelReminder:
    """The person wrote again: a reminder they asked for is not needed any more."""


Action = (
    Say | Ask | Notice | Settle | StoreAnswer | DropAnswer | RecordConsent | Count | Completed
    | Erase | EndSession | WipeChat | ScheduleReminder | CancelReminder
)
