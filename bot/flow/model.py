"""The shape of a consent text and a questionnaire once loaded and validated."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from bot.flow.expr import Expression

# An earlier answer shown inside a text: "You said ${age}."
PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][\w.\-\[\]]*)\}")


class QuestionKind(StrEnum):
    SINGLE = "single"
    MULTI = "multi"
    TEXT = "text"
    NUMBER = "number"
    TESTIMONY = "testimony"
    # format 2
    DECIMAL = "decimal"
    DATE = "date"
    MEDIA = "media"  # a voice note, audio or photo only (see `accepts`)
    NOTE = "note"  # said, not asked
    ACKNOWLEDGE = "acknowledge"  # one "OK" button
    CALCULATE = "calculate"  # never asked: computed from earlier answers and stored

    @property
    def has_choices(self) -> bool:
        return self in (QuestionKind.SINGLE, QuestionKind.MULTI)

    @property
    def is_asked(self) -> bool:
        """Whether the person sees it as a question (notes are said, calculations silent)."""
        return self not in (QuestionKind.NOTE, QuestionKind.CALCULATE)

    @property
    def is_numeric(self) -> bool:
        return self in (QuestionKind.NUMBER, QuestionKind.DECIMAL)


@dataclass(frozen=True)
class Choice:
    id: str
    label: str
    # other columns of the choice (a form's `choice_filter` compares them), as (name, value)
    data: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Condition:
    """Show an item only when an earlier choice answer is one of `any_of`."""

    question: str
    any_of: frozenset[str]

    def holds(self, answers: Mapping[str, tuple[str, ...]]) -> bool:
        # A skipped (absent) answer matches nothing.
        return not self.any_of.isdisjoint(answers.get(self.question, ()))


@dataclass(frozen=True)
class Question:
    id: str
    kind: QuestionKind
    text: str
    section: str
    optional: bool = True
    choices: tuple[Choice, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    max_length: int = 4000
    when: tuple[Condition, ...] = ()
    # format 2: form logic in expressions (bot.flow.expr), all of which must hold
    relevant: tuple[Expression, ...] = ()
    hint: str | None = None
    constraint: Expression | None = None
    constraint_message: str | None = None
    required_message: str | None = None
    calculation: Expression | None = None
    default: str | None = None
    choice_filter: Expression | None = None
    accepts: tuple[str, ...] = ()  # media kinds a MEDIA question takes
    decimal_bounds: tuple[float | None, float | None] = (None, None)
    # the item whose texts this question shows: itself, or the question it repeats
    text_id: str = ""
    # an interface question the engine words itself (a repeat's "add another?")
    generated: bool = False

    @property
    def context_id(self) -> str:
        return self.text_id or self.id

    def choice(self, choice_id: str) -> Choice | None:
        return next((c for c in self.choices if c.id == choice_id), None)

    @property
    def expressions(self) -> tuple[Expression, ...]:
        own = (self.constraint, self.calculation, self.choice_filter)
        return (*self.relevant, *(e for e in own if e is not None))


@dataclass(frozen=True)
class Section:
    id: str
    title: str | None
    when: Condition | None
    question_ids: tuple[str, ...]
    relevant: Expression | None = None  # format 2
    repeat: Repeat | None = None  # format 2


@dataclass(frozen=True)
class Repeat:
    """A section asked again: `count` times (an expression), else while the person says yes,
    at most `max` times."""

    max: int
    count: Expression | None = None


@dataclass(frozen=True)
class Questionnaire:
    id: str
    version: str
    welcome: str
    closing: str
    safety_note: str
    sections: tuple[Section, ...]
    questions: tuple[Question, ...]
    source: str = "<memory>"
    format: int = 1
    # Lookups the engine makes on every answer, derived once here (the object is frozen).
    _by_id: Mapping[str, Question] = field(default_factory=dict, compare=False, repr=False)
    _positions: Mapping[str, int] = field(default_factory=dict, compare=False, repr=False)
    _sections_by_id: Mapping[str, Section] = field(default_factory=dict, compare=False,
                                                   repr=False)
    _condition_sources: frozenset[str] = field(default=frozenset(), compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {q.id: q for q in self.questions})
        object.__setattr__(self, "_positions",
                           {q.id: position for position, q in enumerate(self.questions)})
        object.__setattr__(self, "_sections_by_id", {s.id: s for s in self.sections})
        object.__setattr__(self, "_condition_sources", frozenset(
            {c.question for q in self.questions for c in q.when}
            | {name for q in self.questions for e in q.expressions for name in e.references}
            | {name for q in self.questions for name in PLACEHOLDER.findall(q.text)}))

    def question(self, question_id: str) -> Question:
        return self._by_id[question_id]

    def has_question(self, question_id: str) -> bool:
        return question_id in self._by_id

    def index(self, question_id: str) -> int:
        return self._positions[question_id]

    @property
    def condition_sources(self) -> frozenset[str]:
        """Questions whose answers the engine must remember for skip logic."""
        return self._condition_sources

    def section_of(self, question: Question) -> Section:
        return self._sections_by_id[question.section]


@dataclass(frozen=True)
class ConsentItem:
    id: str
    kind: str  # "required" | "age_gate" | "optional"
    text: str
    yes: str
    no: str


@dataclass(frozen=True)
class ConsentText:
    id: str
    version: str
    intro: str
    items: tuple[ConsentItem, ...]
    source: str = "<memory>"
    # Said after the intro when present: what the chat app itself sees and what the bot can
    # remove from it (platform facts, kept apart so another platform can get its own text),
    # and how to reach the deploying organisation (each deployer writes their own).
    chat_app: str = ""
    contact: str = ""
