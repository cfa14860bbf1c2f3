"""Load flow files and refuse anything malformed, naming the file, the item and the fault."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bot.flow.model import (
    Choice,
    Condition,
    ConsentItem,
    ConsentText,
    Question,
    QuestionKind,
    Questionnaire,
    Section,
)

ID_PATTERN = re.compile(r"[a-z0-9_]{1,32}")
FLOW_ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
CONSENT_KINDS = ("required", "age_gate", "optional")
QUESTIONNAIRE_KEYS = {"id", "version", "welcome", "closing", "safety_note", "sections"}
SECTION_KEYS = {"id", "title", "when", "questions"}
QUESTION_KEYS = {"id", "kind", "text", "optional", "choices", "min", "max", "max_length", "when"}
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

    def __init__(self, source: str) -> None:
        self.source = source

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

    def ident(self, table: Mapping[str, Any], item: str) -> str:
        value = table.get("id")
        if not isinstance(value, str) or not ID_PATTERN.fullmatch(value):
            raise self.fail(item, "'id' must be 1-32 characters of a-z, 0-9 and _")
        return value

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
        table = reader.table(entry, where, {"id", "label"})
        choice_id = reader.ident(table, where)
        label = table.get("label")
        if not isinstance(label, str) or not label.strip():
            raise reader.fail(f"{item}.choices.{choice_id}", "choice has no label")
        if any(c.id == choice_id for c in choices):
            raise reader.fail(f"{item}.choices.{choice_id}", "duplicate choice id")
        choices.append(Choice(choice_id, label.strip()))
    return tuple(choices)


def _question(reader: _Reader, raw: Any, section: Section, position: int) -> Question:
    where = f"sections.{section.id}.questions[{position}]"
    table = reader.table(raw, where, QUESTION_KEYS)
    qid = reader.ident(table, where)
    kind_name = table.get("kind")
    try:
        kind = QuestionKind(str(kind_name))
    except ValueError:
        kinds = ", ".join(k.value for k in QuestionKind)
        raise reader.fail(qid, f"unknown kind {kind_name!r} (use one of: {kinds})") from None
    optional = table.get("optional", True)
    if not isinstance(optional, bool):
        raise reader.fail(qid, "'optional' must be true or false")
    choices: tuple[Choice, ...] = ()
    if kind.has_choices:
        choices = _choices(reader, reader.array(table, "choices", qid), qid)
    elif "choices" in table:
        raise reader.fail(qid, f"a {kind} question has no choices")
    minimum, maximum = reader.integer(table, "min", qid), reader.integer(table, "max", qid)
    if (minimum is not None or maximum is not None) and kind is not QuestionKind.NUMBER:
        raise reader.fail(qid, "'min'/'max' belong to number questions")
    if minimum is not None and maximum is not None and minimum > maximum:
        raise reader.fail(qid, f"'min' ({minimum}) is greater than 'max' ({maximum})")
    max_length = reader.integer(table, "max_length", qid) or 4000
    if max_length < 1:
        raise reader.fail(qid, "'max_length' must be positive")
    own = (_condition(reader, table["when"], qid),) if "when" in table else ()
    inherited = (section.when,) if section.when else ()
    return Question(
        id=qid,
        kind=kind,
        text=reader.text(table, "text", qid),
        section=section.id,
        optional=optional,
        choices=choices,
        minimum=minimum,
        maximum=maximum,
        max_length=max_length,
        when=inherited + own,
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


def parse_questionnaire(doc: Mapping[str, Any], source: str) -> Questionnaire:
    reader = _Reader(source)
    reader.table(doc, "file", QUESTIONNAIRE_KEYS)
    flow_id = reader.flow_ident(doc)
    version = _version(reader, doc)
    sections: list[Section] = []
    questions: list[Question] = []
    seen_ids: set[str] = set()
    for position, raw in enumerate(reader.array(doc, "sections", "file"), start=1):
        table = reader.table(raw, f"sections[{position}]", SECTION_KEYS)
        section_id = reader.ident(table, f"sections[{position}]")
        if section_id in seen_ids:
            raise reader.fail(f"sections.{section_id}", "duplicate id")
        seen_ids.add(section_id)
        when = _condition(reader, table["when"], section_id) if "when" in table else None
        section = Section(section_id, reader.text(table, "title", section_id, False) or None,
                          when, ())
        own: list[Question] = []
        for index, raw_question in enumerate(reader.array(table, "questions", section_id), 1):
            question = _question(reader, raw_question, section, index)
            if question.id in seen_ids:
                raise reader.fail(question.id, "duplicate id")
            seen_ids.add(question.id)
            own.append(question)
        sections.append(Section(section.id, section.title, when, tuple(q.id for q in own)))
        questions.extend(own)
    _check_conditions(reader, questions)
    return Questionnaire(
        id=flow_id,
        version=version,
        welcome=reader.text(doc, "welcome", "file"),
        closing=reader.text(doc, "closing", "file"),
        safety_note=reader.text(doc, "safety_note", "file"),
        sections=tuple(sections),
        questions=tuple(questions),
        source=source,
    )


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
