"""Writing a flow as an XLSForm (survey, choices, settings), with every language of its
catalogs, so researchers can edit the questions in a spreadsheet and import them back.

The welcome, closing and safety texts become notes named `welcome`, `closing` and
`safety_note`; a testimony question is a `text` with appearance `testimony`; a number with
both bounds is a `range`. `flow import` reads all of these back to the same flow.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po
from openpyxl import Workbook

from bot.flow import Question, QuestionKind, Questionnaire, Section
from bot.flow.expr import to_string
from bot.flow.model import Condition
from bot.i18n import DOMAIN, SOURCE_LANGUAGE
from bot.xlsform.languages import language_label

TEXT_COLUMNS = ("label", "hint", "constraint_message", "required_message")
PLAIN_COLUMNS = ("required", "relevant", "constraint", "calculation", "choice_filter",
                 "repeat_count", "default", "appearance", "parameters")


def translations(flow: Questionnaire, locales: Path) -> dict[str, dict[str, str]]:
    """language -> catalog context item -> translation, for this flow's entries."""
    found: dict[str, dict[str, str]] = {}
    prefix = f"{flow.id}:"
    for po_file in sorted(locales.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        language = po_file.parent.parent.name
        if language == SOURCE_LANGUAGE:
            continue
        with po_file.open("rb") as handle:
            catalog = read_po(handle)
        texts = {str(m.context)[len(prefix):]: str(m.string) for m in catalog
                 if m.context and str(m.context).startswith(prefix) and m.string
                 and not m.fuzzy}
        if texts:
            found[language] = texts
    return found


class _Sheet:
    def __init__(self, languages: Iterable[str], extra: Iterable[str] = ()) -> None:
        self.languages = tuple(languages)
        self.extra = tuple(extra)
        self.rows: list[dict[str, str]] = []

    def columns(self, first: tuple[str, ...], texts: tuple[str, ...],
                plain: tuple[str, ...]) -> list[str]:
        used = {k for row in self.rows for k, v in row.items() if v}
        header = [c for c in first]
        for column in texts:
            header += [f"{column}::{language_label(code)}" for code in self.languages
                       if f"{column}::{code}" in used]
        header += [c for c in (*plain, *self.extra) if c in used]
        return header


def _texts(row: dict[str, str], column: str, item: str, source: str | None,
           found: dict[str, dict[str, str]]) -> None:
    if not source:
        return
    row[f"{column}::{SOURCE_LANGUAGE}"] = source
    for language, texts in found.items():
        if texts.get(item):
            row[f"{column}::{language}"] = texts[item]


def _relevant(flow: Questionnaire, conditions: Iterable[Condition]) -> str:
    parts = []
    for condition in conditions:
        values = sorted(condition.any_of)
        # a multi answer contains the choice; a single answer is it (see the loader)
        includes = flow.question(condition.question).kind is QuestionKind.MULTI
        terms = [f"selected(${{{condition.question}}}, '{v}')" if includes
                 else f"${{{condition.question}}} = '{v}'" for v in values]
        parts.append(" or ".join(terms))
    return " and ".join(f"({p})" if len(parts) > 1 else p for p in parts)


def _kind(question: Question) -> tuple[str, dict[str, str]]:
    extra: dict[str, str] = {}
    match question.kind:
        case QuestionKind.SINGLE:
            return f"select_one {question.id}", extra
        case QuestionKind.MULTI:
            return f"select_multiple {question.id}", extra
        case QuestionKind.TEXT:
            return "text", extra
        case QuestionKind.TESTIMONY:
            return "text", {"appearance": "testimony"}
        case QuestionKind.NUMBER if question.minimum is not None and question.maximum is not None:
            return "range", {"parameters": f"start={question.minimum} end={question.maximum} "
                                           "step=1"}
        case QuestionKind.NUMBER:
            return "integer", extra
        case QuestionKind.DECIMAL:
            low, high = question.decimal_bounds
            if low is not None and high is not None:
                return "range", {"parameters": f"start={to_string(low)} end={to_string(high)} "
                                               "step=0.01"}
            return "decimal", extra
        case QuestionKind.DATE:
            return "date", extra
        case QuestionKind.MEDIA:
            return ("image" if question.accepts == ("photo",) else "audio"), extra
        case QuestionKind.NOTE:
            return "note", extra
        case QuestionKind.ACKNOWLEDGE:
            return "acknowledge", extra
        case QuestionKind.CALCULATE:
            return "calculate", extra


def _question_row(flow: Questionnaire, section: Section, question: Question,
                  found: dict[str, dict[str, str]]) -> dict[str, str]:
    kind, row = _kind(question)
    row |= {"type": kind, "name": question.id}
    _texts(row, "label", question.id, question.text, found)
    _texts(row, "hint", f"{question.id}.hint", question.hint, found)
    _texts(row, "constraint_message", f"{question.id}.constraint_message",
           question.constraint_message, found)
    _texts(row, "required_message", f"{question.id}.required_message",
           question.required_message, found)
    if not question.optional:
        row["required"] = "yes"
    own_when = question.when[1:] if section.when else question.when
    own_relevant = question.relevant[1:] if section.relevant else question.relevant
    relevant = [e.source for e in own_relevant]
    if own_when:
        relevant.insert(0, _relevant(flow, own_when))
    if relevant:
        row["relevant"] = " and ".join(f"({r})" if len(relevant) > 1 else r for r in relevant)
    for key, expression in (("constraint", question.constraint),
                            ("calculation", question.calculation),
                            ("choice_filter", question.choice_filter)):
        if expression is not None:
            row[key] = expression.source
    if question.default is not None:
        row["default"] = question.default
    return row


def survey_rows(flow: Questionnaire, found: dict[str, dict[str, str]]) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    welcome: dict[str, str] = {"type": "note", "name": "welcome"}
    _texts(welcome, "label", "welcome", flow.welcome, found)
    rows.append(welcome)
    for section in flow.sections:
        begin = {"type": "begin repeat" if section.repeat else "begin group",
                 "name": section.id}
        _texts(begin, "label", f"section.{section.id}", section.title, found)
        if section.when is not None:
            begin["relevant"] = _relevant(flow, (section.when,))
        elif section.relevant is not None:
            begin["relevant"] = section.relevant.source
        if section.repeat is not None and section.repeat.count is not None:
            begin["repeat_count"] = section.repeat.count.source
        rows.append(begin)
        rows += [_question_row(flow, section, flow.question(qid), found)
                 for qid in section.question_ids]
        rows.append({"type": "end repeat" if section.repeat else "end group"})
    for item, text in (("closing", flow.closing), ("safety_note", flow.safety_note)):
        row = {"type": "note", "name": item}
        _texts(row, "label", item, text, found)
        rows.append(row)
    return rows


def choice_rows(flow: Questionnaire, found: dict[str, dict[str, str]]) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for section in flow.sections:
        for qid in section.question_ids:
            question = flow.question(qid)
            for choice in question.choices:
                row = {"list_name": qid, "name": choice.id, **dict(choice.data)}
                _texts(row, "label", f"{qid}.{choice.id}", choice.label, found)
                rows.append(row)
    return rows


def _write(sheet: Any, header: list[str], rows: list[dict[str, str]]) -> None:
    sheet.append(header)
    for row in rows:
        sheet.append([row.get(_key(column), "") for column in header])


def _key(column: str) -> str:
    """`label::French (fr)` -> `label::fr` (how rows are keyed here)."""
    if "::" not in column:
        return column
    name, language = column.split("::", 1)
    return f"{name}::{language.rsplit('(', 1)[-1].rstrip(')')}"


def write_xlsform(flow: Questionnaire, locales: Path, out: Path) -> tuple[str, ...]:
    """Write the XLSForm; returns its languages (English first)."""
    found = translations(flow, locales)
    languages = (SOURCE_LANGUAGE, *sorted(found))
    book = Workbook()
    survey = book.active
    assert survey is not None
    survey.title = "survey"
    rows = survey_rows(flow, found)
    sheet = _Sheet(languages)
    sheet.rows = rows
    _write(survey, sheet.columns(("type", "name"), TEXT_COLUMNS, PLAIN_COLUMNS), rows)
    choices = choice_rows(flow, found)
    data_columns = sorted({k for row in choices for k in row} - {"list_name", "name"}
                          - {k for k in (r for row in choices for r in row) if "::" in k})
    sheet = _Sheet(languages, data_columns)
    sheet.rows = choices
    _write(book.create_sheet("choices"), sheet.columns(("list_name", "name"), ("label",), ()),
           choices)
    settings = book.create_sheet("settings")
    settings.append(["form_id", "form_title", "version", "default_language"])
    settings.append([flow.id, flow.id, flow.version, language_label(SOURCE_LANGUAGE)])
    out.parent.mkdir(parents=True, exist_ok=True)
    book.save(out)
    return languages
