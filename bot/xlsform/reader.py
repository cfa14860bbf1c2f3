"""Reading an XLSForm (KoboToolbox, ODK, Ona, SurveyCTO) into a flow document and its texts.

pyxform reads the spreadsheet (header aliases, languages, groups, `or_other`, choice lists);
this module maps its JSON onto flow format 2 and refuses, naming the sheet and row, anything
that would identify a person or their device, or that a chat cannot ask. Nothing here knows
the engine: the result is an ordinary flow file and gettext catalogs.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyxform.errors import PyXFormError
from pyxform.xls2json import parse_file_to_json
from pyxform.xls2json_backends import xls_to_dict, xlsx_to_dict

from bot.flow.expr import ExprError, parse
from bot.flow.loader import CHOICE_NAME_PATTERN, FLOW_ID_PATTERN, FORMAT, NAME_PATTERN
from bot.xlsform.conditions import as_condition
from bot.xlsform.languages import language_code
from bot.xlsform.rules import (
    CANNOT_CHAT,
    CHOICES,
    DEFAULT_TEXTS,
    FALSE_WORDS,
    IDENTIFYING,
    KINDS,
    LOCATION,
    METADATA,
    OTHER_CHOICE,
    OTHER_QUESTION,
    PYXFORM_OTHER,
    PYXFORM_SPECIFY,
    SETTINGS,
    SPECIAL_NOTES,
    SURVEY,
    TRUE_WORDS,
    FormRefused,
    Refusal,
    row_of,
    shipped_translation,
)

__all__ = ["FormRefused", "Imported", "Refusal", "read_form"]

@dataclass
class Imported:
    doc: dict[str, Any]  # a flow file's content (format 2)
    source_language: str  # the language of the texts in `doc`
    languages: tuple[str, ...]  # every language of the form, source first
    texts: dict[str, dict[str, str]]  # language -> catalog context item -> text
    sources: dict[str, str]  # catalog context item -> the text in the flow file
    took: list[str] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # pyxform's, missing translations

    def missing(self, language: str) -> int:
        """How many texts this language lacks (they are shown in the source language)."""
        return sum(1 for item in self.sources if item not in self.texts.get(language, {}))


def _rows(path: Path) -> dict[str, Any]:
    reader = xls_to_dict if path.suffix.lower() == ".xls" else xlsx_to_dict
    result: dict[str, Any] = reader(str(path))
    return result


class _Importer:
    def __init__(self, path: Path, allow_location: bool) -> None:
        self.path = path
        self.allow_location = allow_location
        self.refusals: list[Refusal] = []
        self.took: list[str] = []
        self.left_out: list[str] = []
        self.warnings: list[str] = []
        self.rows: dict[str, int] = {}
        self.texts: dict[str, dict[str, str]] = {}
        self.source_language = "en"
        self.default_language = "en"
        self.kinds: dict[str, str] = {}  # question name -> our kind, for `when`
        self.sections: list[dict[str, Any]] = []
        self.special: dict[str, dict[str, str]] = {}
        self.counts: dict[str, int] = {}
        self.literal_calculations: dict[str, str] = {}  # pyxform's repeat_count holders
        self.choice_rows: dict[tuple[Any, str], int] = {}
        self.sources: dict[str, str] = {}  # catalog context item -> source text

    def refuse(self, row: int, problem: str, sheet: str = SURVEY) -> None:
        self.refusals.append(Refusal(sheet, row, problem))

    # -- languages and texts -------------------------------------------------------------
    def by_language(self, value: Any, row: int, column: str) -> dict[str, str]:
        if value is None:
            return {}
        raw = value if isinstance(value, Mapping) else {"default": value}
        found: dict[str, str] = {}
        for name, text in raw.items():
            if not isinstance(text, str) or not text.strip():
                continue
            code = self.default_language if name == "default" else language_code(name)
            if code is None:
                self.refuse(row, f"column '{column}::{name}': unknown language; name it as "
                                 "'Language (code)', for example 'French (fr)'")
                continue
            found[code] = _plain(text)
        return found

    def text(self, context: str, value: Any, row: int, column: str) -> str | None:
        """The source language's text (kept in the flow), every language's in the catalogs."""
        texts = self.by_language(value, row, column)
        if not texts:
            return None
        source = texts.get(self.source_language) or next(iter(texts.values()))
        self.sources[context] = source
        for code, text in texts.items():
            self.texts.setdefault(code, {})[context] = text
        return source

    # -- expressions ---------------------------------------------------------------------
    def expression(self, source: Any, row: int, column: str) -> str | None:
        if source is None or (isinstance(source, str) and not source.strip()):
            return None
        text = str(source).strip()
        try:
            parse(text, columns=column == "choice_filter")
        except ExprError as exc:
            self.refuse(row, f"column '{column}': {exc.problem}: {exc.part!r} is outside the "
                             "supported expressions (see the README: 'Bring your own XLSForm')")
            return None
        return text

    def condition(self, relevant: str | None) -> dict[str, Any] | None:
        return as_condition(relevant, self.kinds)

    # -- the survey ----------------------------------------------------------------------
    def prescan(self, survey: list[dict[str, Any]]) -> None:
        for index, row in enumerate(survey, start=2):
            kind = str(row.get("type", "")).strip()
            name = row.get("name")
            if name and name not in self.rows:
                self.rows[str(name)] = index
            base = kind.split(" ")[0].lower().replace("_", "-") if kind else ""
            plain = kind.split(" ")[0].lower() if kind else ""
            if base in IDENTIFYING or plain in IDENTIFYING:
                what = IDENTIFYING.get(base) or IDENTIFYING[plain]
                self.refuse(index, f"type '{kind}' would record {what}; delete this row "
                                   "(testimonies must not identify anyone)")
            elif plain in LOCATION and not self.allow_location:
                self.refuse(index, f"type '{kind}' would record where the person is; delete "
                                   "this row, or import with --allow-location to ask for a "
                                   "place in words instead")
            elif plain in CANNOT_CHAT:
                self.refuse(index, f"type '{kind}': {CANNOT_CHAT[plain]}; delete or change "
                                   "this row")
            elif plain in ("select_one_from_file", "select_multiple_from_file") and \
                    kind.lower().endswith(".xml"):
                self.refuse(index, f"type '{kind}': {CANNOT_CHAT['select_one_from_file .xml']}")

    def walk(self, children: list[dict[str, Any]], relevant: str | None,
             section: dict[str, Any] | None, repeat: bool) -> dict[str, Any] | None:
        """Questions into sections; returns the section later loose questions go on in."""
        for child in children:
            kind = str(child.get("type", ""))
            name = str(child.get("name", ""))
            row = self.rows.get(name, 0)
            if name == "meta" and kind == "group":
                continue  # pyxform's own instanceID
            if kind in ("group", "repeat"):
                section = self.group(child, relevant, section, repeat)
                continue
            if kind in METADATA or kind.replace("-", "_") in METADATA:
                self.left_out.append(f"row {row} '{name}' ({kind}: not recorded)")
                continue
            if kind == "note" and name in SPECIAL_NOTES and not repeat and relevant is None:
                self.special[name] = self.by_language(child.get("label"), row, "label")
                continue
            question = self.question(child, row, relevant if repeat else None)
            if question is None:
                continue
            if section is None:
                section = self.new_section(f"part_{len(self.sections) + 1}", None, relevant)
            section["questions"].append(question)
        return section

    def new_section(self, sid: str, title: Any, relevant: str | None,
                    row: int = 0) -> dict[str, Any]:
        section: dict[str, Any] = {"id": sid}
        heading = self.text(f"section.{sid}", title, row, "label") if title else None
        if heading:
            section["title"] = heading
        when = self.condition(relevant)
        if when is not None:
            section["when"] = when
        elif relevant:
            section["relevant"] = relevant
        section["questions"] = []
        self.sections.append(section)
        return section

    def group(self, child: dict[str, Any], relevant: str | None,
              outer: dict[str, Any] | None, in_repeat: bool) -> dict[str, Any] | None:
        kind, name = str(child["type"]), str(child["name"])
        row = self.rows.get(name, 0)
        own = self.expression(child.get("bind", {}).get("relevant"), row, "relevant")
        combined = _and(relevant, own)
        children = child.get("children", [])
        if kind == "repeat":
            if in_repeat:
                self.refuse(row, f"repeat '{name}' is inside another repeat; flatten it into "
                                 "one repeat")
                return outer
            section = self.new_section(name, child.get("label"), combined, row)
            count = child.get("control", {}).get("jr:count")
            repeat: dict[str, Any] = {}
            if count:
                expression = self.expression(count, row, "repeat_count")
                if expression:
                    repeat["count"] = expression
                    repeat["max"] = self.repeat_cap(expression)
            section["repeat"] = repeat
            self.counts["repeat"] = self.counts.get("repeat", 0) + 1
            self.walk(children, None, section, True)
            return None
        if in_repeat and outer is not None:  # a group inside a repeat: its questions join it
            self.walk(children, own, outer, True)
            return outer
        self.counts["group"] = self.counts.get("group", 0) + 1
        section = self.new_section(name, child.get("label"), combined, row)
        after = self.walk(children, combined, section, False)
        return None if after is section else after

    def repeat_cap(self, count: str) -> int:
        """A count that is a literal (or pyxform's calculate holding one) is the limit."""
        match = re.fullmatch(r"\$\{([^}]+)\}", count.strip())
        literal = count.strip()
        if match and match[1] in self.literal_calculations:
            literal = self.literal_calculations[match[1]]
        try:
            return max(1, min(50, int(float(literal))))
        except ValueError:
            return 10

    def question(self, child: dict[str, Any], row: int,
                 inherited: str | None) -> dict[str, Any] | None:
        kind, name = str(child.get("type", "")), str(child.get("name", ""))
        bind: Mapping[str, Any] = child.get("bind", {})
        control: Mapping[str, Any] = child.get("control", {})
        if kind in LOCATION and self.allow_location:
            ours = "text"
            self.left_out.append(f"row {row} '{name}' ({kind}): asked as a place in words, "
                                 "no GPS position is recorded")
            self.warnings.append(f"row {row} '{name}': asking where someone lives or works can "
                                 "identify them; ask for a region rather than a place if you "
                                 "can")
        elif kind not in KINDS:
            self.refuse(row, f"type '{kind}' is not supported in a chat; change or delete "
                             "this row")
            return None
        else:
            ours = KINDS[kind]
        if not NAME_PATTERN.fullmatch(name):
            self.refuse(row, f"name '{name}': use up to 64 letters a-z, A-Z, digits, _, . and "
                             "-, starting with a letter")
            return None
        self.counts[kind] = self.counts.get(kind, 0) + 1
        if child.get("media"):
            self.left_out.append(f"row {row} '{name}': its picture, audio or video is not "
                                 "shown (a chat sends the text only)")
        if control.get("appearance") == "testimony" and ours == "text":
            ours = "testimony"
        question: dict[str, Any] = {"id": name, "kind": ours}
        label = self.text(name, child.get("label"), row, "label")
        if label:
            question["text"] = label
        elif ours != "calculate":
            self.refuse(row, f"'{name}' has no label; give it one in every language")
            return None
        required = str(bind.get("required", "")).strip().lower()
        if required in TRUE_WORDS:
            question["optional"] = False
        elif required not in FALSE_WORDS:
            self.refuse(row, f"column 'required': '{bind.get('required')}' must be yes or no "
                             "(an expression is not supported)")
        hint = self.text(f"{name}.hint", child.get("hint"), row, "hint")
        if hint:
            question["hint"] = hint
        own_relevant = self.expression(bind.get("relevant"), row, "relevant")
        when = None if inherited else self.condition(own_relevant)
        if when is not None:
            question["when"] = when
        else:
            relevant = _and(inherited, own_relevant)
            if relevant:
                question["relevant"] = relevant
        for key, column in (("constraint", "constraint"), ("calculation", "calculation"),
                            ("choice_filter", "choice_filter")):
            raw = bind.get("calculate") if key == "calculation" else (
                bind.get("constraint") if key == "constraint" else child.get("choice_filter"))
            value = self.expression(raw, row, column)
            if value:
                question[key] = value
        for key, raw_key, column in (("constraint_message", "jr:constraintMsg",
                                      "constraint_message"),
                                     ("required_message", "jr:requiredMsg", "required_message")):
            message = self.text(f"{name}.{key}", bind.get(raw_key), row, column)
            if message:
                question[key] = message
        if child.get("default") not in (None, ""):
            question["default"] = str(child["default"])
        if kind == "audio":
            question["accepts"] = ["voice", "audio"]
        elif kind in ("image", "photo"):
            question["accepts"] = ["photo"]
        elif kind == "range":
            self.range(question, child.get("parameters", {}), row)
        if ours in ("single", "multi"):
            choices = self.choices(name, child, row)
            if not choices:
                return None
            question["choices"] = choices
        self.kinds[name] = ours
        if ours == "calculate" and re.fullmatch(r"\d+", str(bind.get("calculate", ""))):
            self.literal_calculations[name] = str(bind["calculate"])
        return question

    def range(self, question: dict[str, Any], parameters: Mapping[str, Any], row: int) -> None:
        bounds = {}
        for ours, theirs, fallback in (("min", "start", "1"), ("max", "end", "10")):
            try:
                bounds[ours] = float(parameters.get(theirs, fallback))
            except ValueError:
                self.refuse(row, f"column 'parameters': '{theirs}' must be a number")
                return
        whole = all(v == int(v) for v in bounds.values()) and str(
            parameters.get("step", "1")).strip() in ("1", "1.0")
        question["kind"] = "number" if whole else "decimal"
        for key, value in bounds.items():
            question[key] = int(value) if whole else value

    def choices(self, name: str, child: dict[str, Any], row: int) -> list[dict[str, Any]]:
        raw = child.get("choices")
        itemset = str(child.get("itemset", ""))
        if not raw and itemset.lower().endswith(".csv"):
            raw = list(self.csv_choices(itemset, row))
        if not raw:
            self.refuse(row, f"'{name}' has no choices; add them to the choices sheet")
            return []
        result = []
        for choice in raw:
            choice_name = str(choice.get("name", ""))
            if not CHOICE_NAME_PATTERN.fullmatch(choice_name):
                self.refuse(self.choice_rows.get((child.get("list_name"), choice_name), 0),
                            f"choice name '{choice_name}': use up to 64 letters, digits, _, . "
                            "and -", CHOICES)
                continue
            label = self.text(f"{name}.{choice_name}", choice.get("label"), row, "label")
            entry: dict[str, Any] = {"id": choice_name, "label": label or choice_name}
            data = {k: str(v) for k, v in choice.items()
                    if k not in ("name", "label", "media") and isinstance(v, str | int | float)}
            if data:
                entry["data"] = data
            result.append(entry)
        if len(result) > 90:
            self.refuse(row, f"'{name}' has {len(result)} choices; a chat shows at most 90 "
                             "buttons: shorten the list or split it with a choice_filter")
        return result

    def csv_choices(self, file_name: str, row: int) -> Iterator[dict[str, Any]]:
        path = self.path.parent / Path(file_name).name
        try:
            with path.open(newline="", encoding="utf-8-sig") as handle:
                for entry in csv.DictReader(handle):
                    labels = {k.split("::", 1)[1] if "::" in k else "default": v
                              for k, v in entry.items() if k and k.startswith("label")}
                    yield {"name": entry.get("name", ""), "label": labels}
        except OSError:
            self.refuse(row, f"the choices file '{file_name}' is not beside the form; put it "
                             "in the same folder")

    # -- the whole form ------------------------------------------------------------------
    def run(self) -> Imported:
        try:
            sheets = _rows(self.path)
        except (PyXFormError, OSError, ValueError) as exc:
            raise FormRefused([Refusal("file", 0, f"cannot be read as an XLSForm ({exc})")]
                              ) from None
        if SURVEY not in sheets:
            raise FormRefused([Refusal("file", 0, "has no 'survey' sheet")])
        for index, choice in enumerate(sheets.get(CHOICES, []), start=2):
            self.choice_rows[(choice.get("list_name") or choice.get("list name"),
                              str(choice.get("name", "")))] = index
        self.prescan(sheets[SURVEY])
        if self.refusals:
            raise FormRefused(self.refusals)
        try:
            form = parse_file_to_json(str(self.path), warnings=self.warnings)
        except PyXFormError as exc:
            message = re.sub(r"^\[row : \d+\]\s*", "", str(exc))
            raise FormRefused([Refusal(SURVEY, row_of(str(exc)), message)]) from None
        settings = (sheets.get(SETTINGS) or [{}])[0]
        default_name = form.get("default_language") or "default"
        if default_name != "default":
            self.default_language = language_code(default_name) or "en"
        languages = self.languages_of(form)
        self.source_language = "en" if "en" in languages else (
            self.default_language if self.default_language in languages else
            (languages[0] if languages else "en"))
        self.walk(form.get("children", []), None, None, False)
        self.word_or_other(languages)
        doc = self.document(form, settings)
        if self.refusals:
            raise FormRefused(self.refusals, self.summary())
        ordered = (self.source_language,
                   *sorted(c for c in self.texts if c != self.source_language))
        return Imported(doc, self.source_language, ordered, self.texts, self.sources,
                        self.summary(), self.left_out, self.warnings)

    def word_or_other(self, languages: list[str]) -> None:
        """`or_other`'s English-only "Other" and "Specify other." in every language of the
        form, from the bot's own catalogs."""
        questions = {q["id"]: q for s in self.sections for q in s["questions"]}
        for context, source in list(self.sources.items()):
            if source == PYXFORM_SPECIFY and context in questions:
                questions[context]["text"] = self.sources[context] = OTHER_QUESTION.msgid
                wording = OTHER_QUESTION
            elif source == PYXFORM_OTHER and context.endswith(".other"):
                wording = OTHER_CHOICE
            else:
                continue
            for language in languages:
                own = self.texts.get(language, {}).get(context)
                if own in (None, PYXFORM_OTHER, PYXFORM_SPECIFY):
                    translated = shipped_translation(wording.msgid, language)
                    if translated:
                        self.texts.setdefault(language, {})[context] = translated
                    else:
                        self.texts.get(language, {}).pop(context, None)

    def languages_of(self, form: Mapping[str, Any]) -> list[str]:
        found: set[str] = set()

        def visit(node: Any) -> None:
            if isinstance(node, Mapping):
                label = node.get("label")
                if isinstance(label, Mapping):
                    found.update(language_code(k) or "" for k in label
                                 if k != "default")
                    if "default" in label:
                        found.add(self.default_language)
                elif isinstance(label, str):
                    found.add(self.default_language)
                for value in node.values():
                    visit(value)
            elif isinstance(node, list):
                for value in node:
                    visit(value)

        visit(form.get("children", []))
        found.discard("")
        return sorted(found)

    def document(self, form: Mapping[str, Any], settings: Mapping[str, Any]) -> dict[str, Any]:
        raw_id = str(form.get("id_string") or self.path.stem)
        flow_id = re.sub(r"[^a-z0-9_-]+", "-", raw_id.lower()).strip("-_")[:32] or "form"
        if not FLOW_ID_PATTERN.fullmatch(flow_id):
            flow_id = f"form-{flow_id}"[:32]
        doc: dict[str, Any] = {"format": FORMAT, "id": flow_id,
                               "version": str(form.get("version") or settings.get("version")
                                              or "1")}
        title = str(form.get("title") or raw_id)
        for item in SPECIAL_NOTES:
            texts = self.special.get(item)
            if texts:
                for code, text in texts.items():
                    self.texts.setdefault(code, {})[item] = text
                doc[item] = texts.get(self.source_language) or next(iter(texts.values()))
                self.sources[item] = doc[item]
            else:
                doc[item] = title if item == "welcome" else DEFAULT_TEXTS[item]
        empty = [s for s in self.sections if not s["questions"]]
        for section in empty:
            self.sections.remove(section)
        if not self.sections:
            self.refuse(0, "the form has no questions a chat can ask")
        doc["sections"] = self.sections
        return doc

    def summary(self) -> list[str]:
        return [f"{count} × {kind}" for kind, count in sorted(self.counts.items())]


# ODK styles labels with a little HTML; a chat shows plain text, so it is taken out.
_SPAN = re.compile(r"</?(?:span|font|b|i|u|strong|em)\b[^>]*>", re.IGNORECASE)
_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)


def _plain(text: str) -> str:
    return _SPAN.sub("", _BREAK.sub("\n", text)).strip()


def _and(first: str | None, second: str | None) -> str | None:
    if first and second:
        return f"({first}) and ({second})"
    return first or second


def read_form(path: Path, allow_location: bool = False) -> Imported:
    """The form as a flow document and texts, or FormRefused listing every problem."""
    return _Importer(path, allow_location).run()

