"""Load flow files and refuse anything malformed, naming the file, the item and the fault."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bot.flow.expr import ExprError, Expression, parse
from bot.flow.model import (
    PLACEHOLDER,
    Choice,
    Condition,
    ConsentItem,
    ConsentText,
    Question,
    QuestionKind,
    Questionnaire,
    Repeat,
    Section,
)
from bot.flow.repeats import unroll
from bot.flow.texts import context_clash

ID_PATTERN = re.compile(r"[a-z0-9_]{1,32}")
# Format 2 keeps a form's own names (XLSForm names may have capitals, dots and hyphens), so
# exported answers carry them. Choice names may also start with a digit ("01").
NAME_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]{0,63}")
CHOICE_NAME_PATTERN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,63}")
FLOW_ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
CONSENT_KINDS = ("required", "age_gate", "optional")
FORMAT = 2  # the flow file format this code writes and reads; older files are upgraded
QUESTIONNAIRE_KEYS = {"id", "version", "welcome", "closing", "safety_note", "sections", "format"}
SECTION_KEYS = {"id", "title", "when", "questions"}
SECTION_KEYS_2 = {"relevant", "repeat"}
QUESTION_KEYS = {"id", "kind", "text", "optional", "choices", "min", "max", "max_length", "when"}
QUESTION_KEYS_2 = {"hint", "relevant", "constraint", "constraint_message", "required_message",
                   "calculation", "default", "choice_filter", "accepts"}
FORMAT_2_KINDS = {QuestionKind.DECIMAL, QuestionKind.DATE, QuestionKind.MEDIA,
                  QuestionKind.NOTE, QuestionKind.ACKNOWLEDGE, QuestionKind.CALCULATE}
MEDIA_KINDS = ("voice", "audio", "photo")
REPEAT_CAP = 10  # a repeat without a fixed count is asked at most this often
CONSENT_KEYS = {"id", "version", "intro", "chat_app", "contact", "items"}
# Texts of the consent file itself; an item may not take their names (they share a context).
CONSENT_TEXTS = ("intro", "chat_app", "contact")
CONSENT_ITEM_KEYS = {"id", "kind", "text", "yes", "no"}


class FlowError(ValueError):
    """A flow file is invalid. `str()` reads: `FILE: ITEM: what is wrong`."""

    def __init__(self, source: str, item: str, problem: str) -> None:
        super().__init__(f"{source}: {item}: {problem}")
        self.source, self.item, self.problem = source, item, problem


class _Reader:
    """Typed access to parsed TOML that turns every surprise into a FlowError."""

    def __init__(self, source: str, format: int = FORMAT) -> None:
        self.source = source
        self.format = format

    def fail(self, item: str, problem: str) -> FlowError:
        return FlowError(self.source, item, problem)

    def table(self, value: Any, item: str, allowed: set[str]) -> Mapping[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(item, "must be a table")
        unknown = sorted(set(value) - allowed)
        if unknown:
            raise self.fail(item, f"unknown key(s): {', '.join(unknown)}")
        return value

    def text(self, table: Mapping[str, Any], key: str, item: str, required: bool = True) -> str:
        value = table.get(key)
        if value is None and not required:
            return ""
        if not isinstance(value, str) or not value.strip():
            raise self.fail(item, f"'{key}' must be a non-empty text")
        return value.strip()

    def ident(self, table: Mapping[str, Any], item: str, choice: bool = False) -> str:
        value = table.get("id")
        if self.format < 2:
            if not isinstance(value, str) or not ID_PATTERN.fullmatch(value):
                raise self.fail(item, "'id' must be 1-32 characters of a-z, 0-9 and _")
            return value
        pattern = CHOICE_NAME_PATTERN if choice else NAME_PATTERN
        if not isinstance(value, str) or not pattern.fullmatch(value):
            start = "a letter, digit or _" if choice else "a letter or _"
            raise self.fail(item, f"'id' must be 1-64 characters of letters, digits, _, . and -, "
                                  f"starting with {start}")
        return value

    def expression(self, table: Mapping[str, Any], key: str, item: str) -> Expression | None:
        value = table.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.fail(item, f"'{key}' must be an expression (a text)")
        try:
            return parse(value, columns=key == "choice_filter")
        except ExprError as exc:
            raise self.fail(item, f"'{key}': {exc}") from None

    def number(self, table: Mapping[str, Any], key: str, item: str) -> float | None:
        value = table.get(key)
        if value is None:
            return None
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise self.fail(item, f"'{key}' must be a number")
        return float(value)

    def flow_ident(self, table: Mapping[str, Any]) -> str:
        value = table.get("id")
        if not isinstance(value, str) or not FLOW_ID_PATTERN.fullmatch(value):
            raise self.fail("file", "'id' must be 1-32 characters of a-z, 0-9, _ and -")
        return value

    def integer(self, table: Mapping[str, Any], key: str, item: str) -> int | None:
        value = table.get(key)
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.fail(item, f"'{key}' must be a whole number")
        return value

    def array(self, table: Mapping[str, Any], key: str, item: str) -> list[Any]:
        value = table.get(key)
        if not isinstance(value, list) or not value:
            raise self.fail(item, f"'{key}' must be a non-empty list")
        return value


def _parse(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise FlowError(str(path), "file", f"cannot be read ({exc.strerror})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise FlowError(str(path), "file", f"is not valid TOML ({exc})") from exc


def upgrade(doc: Mapping[str, Any], source: str) -> tuple[int, Mapping[str, Any]]:
    """The file's format and its content. Format 1 (files without `format`) is a subset of
    format 2 read with format 1's narrower ids, so nothing is rewritten; a file from a newer
    program is refused rather than half-understood."""
    declared = doc.get("format", 1)
    if not isinstance(declared, int) or isinstance(declared, bool) or declared < 1:
        raise FlowError(source, "format", "'format' must be a whole number (1 or 2)")
    if declared > FORMAT:
        raise FlowError(source, "format", f"format {declared} is newer than this program "
                                          f"reads ({FORMAT}): update testimony-bot")
    return declared, doc


def _version(reader: _Reader, doc: Mapping[str, Any]) -> str:
    version = doc.get("version")
    if isinstance(version, int) and not isinstance(version, bool):
        version = str(version)
    if not isinstance(version, str) or not version.strip():
        raise reader.fail("version", "every flow file needs a 'version'")
    return version.strip()


def _condition(reader: _Reader, raw: Any, item: str) -> Condition:
    table = reader.table(raw, f"{item}.when", {"question", "includes", "equals"})
    question = table.get("question")
    if not isinstance(question, str):
        raise reader.fail(item, "'when' needs 'question'")
    keys = [k for k in ("includes", "equals") if k in table]
    if len(keys) != 1:
        raise reader.fail(item, "'when' needs exactly one of 'includes' or 'equals'")
    value = table[keys[0]]
    values = value if isinstance(value, list) else [value]
    if not values or not all(isinstance(v, str) for v in values):
        raise reader.fail(item, f"'when.{keys[0]}' must be a choice id or a list of them")
    return Condition(question=question, any_of=frozenset(values))


def _choices(reader: _Reader, raw: list[Any], item: str) -> tuple[Choice, ...]:
    choices: list[Choice] = []
    for position, entry in enumerate(raw, start=1):
        where = f"{item}.choices[{position}]"
        allowed = {"id", "label", "data"} if reader.format >= 2 else {"id", "label"}
        table = reader.table(entry, where, allowed)
        choice_id = reader.ident(table, where, choice=True)
        label = table.get("label")
        if not isinstance(label, str) or not label.strip():
            raise reader.fail(f"{item}.choices.{choice_id}", "choice has no label")
        if any(c.id == choice_id for c in choices):
            raise reader.fail(f"{item}.choices.{choice_id}", "duplicate choice id")
        data = table.get("data", {})
        if not isinstance(data, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
            raise reader.fail(f"{item}.choices.{choice_id}", "'data' must map names to texts")
        choices.append(Choice(choice_id, label.strip(), tuple(sorted(data.items()))))
    return tuple(choices)


def _question(reader: _Reader, raw: Any, section: Section, position: int) -> Question:
    where = f"sections.{section.id}.questions[{position}]"
    if reader.format < 2 and isinstance(raw, dict) and set(raw) & QUESTION_KEYS_2:
        keys = ", ".join(sorted(set(raw) & QUESTION_KEYS_2))
        raise reader.fail(where, f"{keys} need(s) 'format = 2' at the top of the file")
    table = reader.table(raw, where, QUESTION_KEYS | (QUESTION_KEYS_2 if reader.format >= 2
                                                      else set()))
    qid = reader.ident(table, where)
    kind_name = table.get("kind")
    try:
        kind = QuestionKind(str(kind_name))
    except ValueError:
        kinds = ", ".join(k.value for k in QuestionKind)
        raise reader.fail(qid, f"unknown kind {kind_name!r} (use one of: {kinds})") from None
    if reader.format < 2 and kind in FORMAT_2_KINDS:
        raise reader.fail(qid, f"kind {kind} needs 'format = 2' at the top of the file")
    optional = table.get("optional", True)
    if not isinstance(optional, bool):
        raise reader.fail(qid, "'optional' must be true or false")
    choices: tuple[Choice, ...] = ()
    if kind.has_choices:
        choices = _choices(reader, reader.array(table, "choices", qid), qid)
    elif "choices" in table:
        raise reader.fail(qid, f"a {kind} question has no choices")
    minimum = maximum = None
    bounds: tuple[float | None, float | None] = (None, None)
    if kind is QuestionKind.DECIMAL:
        bounds = (reader.number(table, "min", qid), reader.number(table, "max", qid))
    else:
        minimum, maximum = reader.integer(table, "min", qid), reader.integer(table, "max", qid)
    if ("min" in table or "max" in table) and not kind.is_numeric:
        raise reader.fail(qid, "'min'/'max' belong to number questions")
    low, high = (minimum, maximum) if kind is QuestionKind.NUMBER else bounds
    if low is not None and high is not None and low > high:
        raise reader.fail(qid, f"'min' ({low}) is greater than 'max' ({high})")
    max_length = reader.integer(table, "max_length", qid) or 4000
    if max_length < 1:
        raise reader.fail(qid, "'max_length' must be positive")
    own = (_condition(reader, table["when"], qid),) if "when" in table else ()
    inherited = (section.when,) if section.when else ()
    relevant = reader.expression(table, "relevant", qid)
    accepts: tuple[str, ...] = ()
    if kind is QuestionKind.MEDIA:
        raw_accepts = table.get("accepts", list(MEDIA_KINDS))
        if (not isinstance(raw_accepts, list) or not raw_accepts
                or not set(raw_accepts) <= set(MEDIA_KINDS)):
            raise reader.fail(qid, f"'accepts' must list some of: {', '.join(MEDIA_KINDS)}")
        accepts = tuple(raw_accepts)
    elif "accepts" in table:
        raise reader.fail(qid, "'accepts' belongs to media questions")
    calculation = reader.expression(table, "calculation", qid)
    if (calculation is None) == (kind is QuestionKind.CALCULATE):
        raise reader.fail(qid, "a calculate question needs 'calculation', and only it has one")
    choice_filter = reader.expression(table, "choice_filter", qid)
    if choice_filter is not None and not kind.has_choices:
        raise reader.fail(qid, "'choice_filter' belongs to choice questions")
    default = table.get("default")
    if default is not None and not isinstance(default, str | int | float):
        raise reader.fail(qid, "'default' must be a text or a number")
    text_required = kind is not QuestionKind.CALCULATE
    return Question(
        id=qid,
        kind=kind,
        text=reader.text(table, "text", qid, required=text_required),
        section=section.id,
        optional=optional,
        choices=choices,
        minimum=minimum,
        maximum=maximum,
        max_length=max_length,
        when=inherited + own,
        relevant=tuple(e for e in (section.relevant, relevant) if e is not None),
        hint=reader.text(table, "hint", qid, required=False) or None,
        constraint=reader.expression(table, "constraint", qid),
        constraint_message=reader.text(table, "constraint_message", qid, required=False) or None,
        required_message=reader.text(table, "required_message", qid, required=False) or None,
        calculation=calculation,
        default=None if default is None else str(default),
        choice_filter=choice_filter,
        accepts=accepts,
        decimal_bounds=bounds,
    )


def _check_conditions(reader: _Reader, questions: list[Question]) -> None:
    """A condition must look back at a choice question and a choice it really has."""
    seen: dict[str, Question] = {}
    for question in questions:
        for condition in question.when:
            source = seen.get(condition.question)
            if source is None:
                known = any(q.id == condition.question for q in questions)
                problem = (
                    f"condition refers to '{condition.question}', which comes later or is the "
                    "item itself, so this item is unreachable"
                    if known
                    else f"condition refers to unknown question '{condition.question}'"
                )
                raise reader.fail(question.id, problem)
            if not source.kind.has_choices:
                raise reader.fail(
                    question.id,
                    f"condition refers to '{source.id}', a {source.kind} question without choices",
                )
            missing = sorted(v for v in condition.any_of if source.choice(v) is None)
            if missing:
                raise reader.fail(
                    question.id,
                    f"condition asks for choice(s) {', '.join(missing)} that '{source.id}' does "
                    "not have, so this item is unreachable",
                )
        seen[question.id] = question


def _check_references(reader: _Reader, questions: tuple[Question, ...]) -> None:
    """Expressions and texts may only name questions of this flow."""
    known = {q.id for q in questions}
    for question in questions:
        names = {n for e in question.expressions for n in e.references}
        names |= set(PLACEHOLDER.findall(question.text))
        unknown = sorted(names - known)
        if unknown:
            raise reader.fail(question.text_id or question.id,
                              f"refers to unknown question(s): {', '.join(unknown)}")


def _repeat(reader: _Reader, raw: Any, section_id: str) -> Repeat:
    table = reader.table(raw, f"{section_id}.repeat", {"max", "count"})
    count = reader.expression(table, "count", section_id)
    cap = reader.integer(table, "max", section_id)
    if cap is None:
        cap = REPEAT_CAP
    if not 1 <= cap <= 50:
        raise reader.fail(section_id, "'repeat.max' must be from 1 to 50")
    return Repeat(cap, count)


def parse_questionnaire(doc: Mapping[str, Any], source: str) -> Questionnaire:
    format_, doc = upgrade(doc, source)
    reader = _Reader(source, format_)
    reader.table(doc, "file", QUESTIONNAIRE_KEYS)
    flow_id = reader.flow_ident(doc)
    version = _version(reader, doc)
    sections: list[Section] = []
    questions: list[Question] = []
    seen_ids: set[str] = set()
    for position, raw in enumerate(reader.array(doc, "sections", "file"), start=1):
        table = reader.table(raw, f"sections[{position}]",
                             SECTION_KEYS | (SECTION_KEYS_2 if format_ >= 2 else set()))
        section_id = reader.ident(table, f"sections[{position}]")
        if section_id in seen_ids:
            raise reader.fail(f"sections.{section_id}", "duplicate id")
        seen_ids.add(section_id)
        when = _condition(reader, table["when"], section_id) if "when" in table else None
        repeat = _repeat(reader, table["repeat"], section_id) if "repeat" in table else None
        section = Section(section_id, reader.text(table, "title", section_id, False) or None,
                          when, (), reader.expression(table, "relevant", section_id), repeat)
        own: list[Question] = []
        for index, raw_question in enumerate(reader.array(table, "questions", section_id), 1):
            question = _question(reader, raw_question, section, index)
            if question.id in seen_ids:
                raise reader.fail(question.id, "duplicate id")
            seen_ids.add(question.id)
            own.append(question)
        sections.append(Section(section.id, section.title, when, tuple(q.id for q in own),
                                section.relevant, repeat))
        if repeat:
            own_ids = {q.id for q in own}
            own = unroll(section, own)
            for question in own:
                if question.id in seen_ids and question.id not in own_ids:
                    raise reader.fail(question.id, f"repeat '{section_id}' needs this id for "
                                                   "its later answers: rename the other item")
                seen_ids.add(question.id)
        questions.extend(own)
    _check_conditions(reader, questions)
    _check_references(reader, tuple(questions))
    flow = Questionnaire(
        id=flow_id,
        version=version,
        welcome=reader.text(doc, "welcome", "file"),
        closing=reader.text(doc, "closing", "file"),
        safety_note=reader.text(doc, "safety_note", "file"),
        sections=tuple(sections),
        questions=tuple(questions),
        source=source,
        format=format_,
    )
    clash = context_clash(flow)
    if clash is not None:
        raise reader.fail(clash, "two texts would share this translation (a question named "
                                 "like a flow text, or a choice named hint or "
                                 "constraint_message): rename one of them")
    return flow


def parse_consent(doc: Mapping[str, Any], source: str) -> ConsentText:
    reader = _Reader(source)
    reader.table(doc, "file", CONSENT_KEYS)
    items: list[ConsentItem] = []
    for position, raw in enumerate(reader.array(doc, "items", "file"), start=1):
        table = reader.table(raw, f"items[{position}]", CONSENT_ITEM_KEYS)
        item_id = reader.ident(table, f"items[{position}]")
        if item_id in CONSENT_TEXTS:
            raise reader.fail(item_id, f"'{item_id}' is the name of a consent text, not an item")
        if any(i.id == item_id for i in items):
            raise reader.fail(item_id, "duplicate id")
        kind = table.get("kind")
        if kind not in CONSENT_KINDS:
            raise reader.fail(item_id, f"'kind' must be one of: {', '.join(CONSENT_KINDS)}")
        items.append(ConsentItem(item_id, kind, reader.text(table, "text", item_id),
                                 reader.text(table, "yes", item_id),
                                 reader.text(table, "no", item_id)))
    if not any(i.kind == "required" for i in items):
        raise reader.fail("items", "a consent needs at least one 'required' item")
    return ConsentText(
        id=reader.flow_ident(doc),
        version=_version(reader, doc),
        intro=reader.text(doc, "intro", "file"),
        items=tuple(items),
        source=source,
        chat_app=reader.text(doc, "chat_app", "file", required=False),
        contact=reader.text(doc, "contact", "file", required=False),
    )


def load_questionnaire(path: Path) -> Questionnaire:
    return parse_questionnaire(_parse(path), str(path))


def load_consent(path: Path) -> ConsentText:
    return parse_consent(_parse(path), str(path))


def parse_any(doc: Mapping[str, Any], source: str) -> Questionnaire | ConsentText:
    """A file with `items` is a consent text, otherwise a questionnaire."""
    if "items" in doc:
        return parse_consent(doc, source)
    return parse_questionnaire(doc, source)


def load_any(path: Path) -> Questionnaire | ConsentText:
    return parse_any(_parse(path), str(path))
