"""Form logic for the engine: relevance, constraints, calculations, choice filters, texts that
show earlier answers, and the answer kinds of flow format 2 (decimal, date, media, acknowledge).

Expressions (bot.flow.expr) read the answers the engine remembers for them in the session
state (`remembered`, encrypted at rest like the rest of the working state): choice names, or
the one value of any other answer, as ODK sees it. Pure, like the rest of the engine.
"""

from __future__ import annotations

import unicodedata
from datetime import date, datetime

from bot.engine import messages as msg
from bot.engine.actions import (
    AnswerValue,
    ChoiceAnswer,
    MediaAnswer,
    NumberAnswer,
    Option,
    TextAnswer,
)
from bot.engine.state import SessionState
from bot.engine.text import Text
from bot.flow import Question, QuestionKind, Questionnaire
from bot.flow.expr import Context, Value, evaluate, to_bool, to_string
from bot.flow.model import PLACEHOLDER

ACKNOWLEDGED = "OK"  # what ODK stores for an acknowledged question
DEFAULT_KEY = "~default"  # the button that gives a text question's default answer


def _context(flow: Questionnaire, state: SessionState, now: datetime,
             current: Value = "") -> Context:
    remembered = state.remembered

    def answer(name: str) -> Value:
        values = remembered.get(name)
        if not values:
            return ""
        if flow.has_question(name) and flow.question(name).kind.is_numeric:
            try:
                return float(values[0])
            except ValueError:
                return ""
        return " ".join(values)

    return Context(answer, current, now.date())


def relevant(flow: Questionnaire, question: Question, state: SessionState,
             now: datetime) -> bool:
    if not question.relevant:
        return True
    context = _context(flow, state, now)
    return all(to_bool(evaluate(e.tree, context)) for e in question.relevant)


def remembered_values(value: AnswerValue) -> tuple[str, ...]:
    """An answer as the expressions see it."""
    match value:
        case ChoiceAnswer(choices):
            return choices
        case TextAnswer(text):
            return (text,)
        case NumberAnswer(number):
            return (to_string(float(number)),)
        case MediaAnswer(media):
            return (media.kind,)


def remember(flow: Questionnaire, state: SessionState, question: Question,
             value: AnswerValue) -> SessionState:
    if question.id not in flow.condition_sources:
        return state
    return state.evolve(remembered={**state.remembered,
                                    question.id: remembered_values(value)})


def _as_value(question: Question, value: AnswerValue) -> Value:
    values = remembered_values(value)
    if question.kind.is_numeric:
        return float(values[0])
    return " ".join(values)


def rejection(flow: Questionnaire, question: Question, state: SessionState, now: datetime,
              value: AnswerValue, context_id: str) -> Text | None:
    """Why this answer is refused by the question's constraint, or None when it is fine."""
    if question.constraint is None:
        return None
    context = _context(flow, state, now, _as_value(question, value))
    if to_bool(evaluate(question.constraint.tree, context)):
        return None
    if question.constraint_message:
        return Text(question.constraint_message, f"{flow.id}:{context_id}.constraint_message")
    return msg.NOT_ACCEPTED


def required_text(flow: Questionnaire, question: Question) -> Text:
    if question.required_message:
        return Text(question.required_message,
                    f"{flow.id}:{question.context_id}.required_message")
    return msg.CANNOT_SKIP if question.kind.has_choices else msg.ANSWER_NEEDED


def calculate(flow: Questionnaire, question: Question, state: SessionState,
              now: datetime) -> str:
    assert question.calculation is not None
    return to_string(evaluate(question.calculation.tree, _context(flow, state, now)))


def choice_allowed(flow: Questionnaire, question: Question, data: tuple[tuple[str, str], ...],
                   state: SessionState, now: datetime) -> bool:
    """A choice passes the question's filter; its own columns are read by bare name."""
    if question.choice_filter is None:
        return True
    own = dict(data)
    base = _context(flow, state, now)
    context = Context(base.answers, "", base.today, lambda name: own.get(name, ""))
    return to_bool(evaluate(question.choice_filter.tree, context))


def with_answers(text: Text, source: str, flow: Questionnaire, state: SessionState) -> Text:
    """A text that shows earlier answers (`${name}`) gets them as parameters."""
    if "${" not in source:
        return text
    shown = {name: " ".join(state.remembered.get(name, ())) for name in
             PLACEHOLDER.findall(source)}
    return text.format(**shown)


def parse_decimal(raw: str) -> float | None:
    """A decimal number in any script's digits, with a point or a comma."""
    compact = "".join(unicodedata.normalize("NFKC", raw).split())
    compact = compact.replace(",", ".").replace("\u066b", ".")  # the Arabic decimal separator
    digits = "".join(str(unicodedata.digit(c)) if c.isdigit() else c for c in compact)
    try:
        number = float(digits)
    except ValueError:
        return None
    return number if number == number and abs(number) != float("inf") else None


def parse_date(raw: str) -> str | None:
    """`2024-05-17`, `17.05.2024` or `17/05/2024` (any script's digits) as `2024-05-17`."""
    text = "".join(str(unicodedata.digit(c)) if c.isdigit() else c
                   for c in unicodedata.normalize("NFKC", raw).strip())
    for separator in ("-", ".", "/"):
        parts = text.split(separator)
        if len(parts) == 3 and all(p.isdigit() for p in parts):
            if len(parts[0]) != 4 and len(parts[2]) != 4:
                return None  # a two-digit year is ambiguous
            first, middle, last = (int(p) for p in parts)
            year, month, day = (first, middle, last) if len(parts[0]) == 4 else \
                (last, middle, first)
            try:
                return date(year, month, day).isoformat()
            except ValueError:
                return None
    return None


def decimal_problem(question: Question, number: float | None) -> Text | None:
    low, high = question.decimal_bounds
    if number is None:
        return msg.NOT_A_NUMBER.format(example="2.5")
    if (low is not None and number < low) or (high is not None and number > high):
        if low is not None and high is not None:
            return msg.NUMBER_RANGE.format(minimum=to_string(low), maximum=to_string(high))
        if low is not None:
            return msg.NUMBER_MIN.format(minimum=to_string(low))
        return msg.NUMBER_MAX.format(maximum=to_string(high or 0.0))
    return None


def typed_answer(question: Question, raw: str) -> AnswerValue | Text:
    """The answer a person typed to a format-2 kind, or what to tell them."""
    if question.kind is QuestionKind.DECIMAL:
        number = parse_decimal(raw)
        problem = decimal_problem(question, number)
        if problem is not None or number is None:
            return problem or msg.NOT_A_NUMBER
        return NumberAnswer(int(number) if number == int(number) else number)
    if question.kind is QuestionKind.DATE:
        day = parse_date(raw)
        return TextAnswer(day) if day else msg.NOT_A_DATE.format(example="2024-05-17")
    if question.kind is QuestionKind.MEDIA:
        return msg.SEND_PHOTO if question.accepts == ("photo",) else msg.SEND_MEDIA
    return msg.CHOOSE_BUTTON_REQUIRED  # acknowledge: a button


def with_default(question: Question, options: tuple[Option, ...]) -> tuple[Option, ...]:
    """A form's default: a single choice shows as chosen; a text question offers it as a
    button (pressing it answers with it). Other kinds ignore it."""
    if question.default is None:
        return options
    if question.kind is QuestionKind.SINGLE:
        return tuple(Option(o.key, o.label, selected=True) if o.key == question.default else o
                     for o in options)
    if question.kind is QuestionKind.TEXT:
        return (Option(DEFAULT_KEY, Text.raw(question.default)), *options)
    return options
