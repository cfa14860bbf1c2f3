"""REFI-QDA project (`testimonies.qdpx`): the exchange format NVivo, ATLAS.ti, MAXQDA and
QualCoder import.

A `.qdpx` is a zip holding `project.qde` (XML, namespace urn:QDA-XML:project:1.0) and the
sources under `Sources/`. Here each testimony is one text source (its free-text answers, each
marked as a selection coded with its theme), one case carrying the profile answers as case
variables, and the themes the person chose as codes on the case.

The XML must list all cases before all sources, so both are spilled into files inside the
export folder while the records stream by, and joined into `project.qde` at the end; the
text of each source goes into the zip at once.
"""

from __future__ import annotations

import shutil
import uuid
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO
from xml.sax.saxutils import escape, quoteattr

from bot import __version__
from bot.export.cells import xml_text
from bot.export.model import QUASI_QUESTIONS, ExportRecord, Layout
from bot.flow import Questionnaire

FILE = "testimonies.qdpx"
NAMESPACE = "urn:QDA-XML:project:1.0"
_IDS = uuid.UUID("5d1f3f0e-6c1a-4a8e-9a57-0a3c2b7f4e21")  # namespace for derived GUIDs
THEMES_QUESTION = "themes"
TEXT_VARIABLES = (*QUASI_QUESTIONS, "campaign", "language", "consent_version",
                  "started_month")
BOOLEAN_VARIABLES = ("complete", "may_quote")


def guid(*parts: str) -> str:
    return str(uuid.uuid5(_IDS, "\x1f".join(parts)))


def _attr(value: str) -> str:
    return quoteattr(xml_text(value))


class QdpxWriter:
    def __init__(self, out_dir: Path, layout: Layout, questionnaire: Questionnaire,
                 now: datetime | None = None) -> None:
        self.layout = layout
        self.path = out_dir / FILE
        self._when = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
        self._user = guid("user", "testimony-bot export")
        self._themes = self._theme_codes(questionnaire)
        self._section_codes = self._sections(questionnaire)
        self._variables = {name: guid("variable", name)
                           for name in (*TEXT_VARIABLES, *BOOLEAN_VARIABLES)}
        self._zip = zipfile.ZipFile(self.path, "w", compression=zipfile.ZIP_DEFLATED)
        self._spills = (out_dir / ".qdpx-cases.partial", out_dir / ".qdpx-sources.partial")
        self._cases: IO[bytes] = self._spills[0].open("wb")
        self._sources: IO[bytes] = self._spills[1].open("wb")
        self.count = 0

    @staticmethod
    def _theme_codes(questionnaire: Questionnaire) -> dict[str, tuple[str, str]]:
        if not questionnaire.has_question(THEMES_QUESTION):
            return {}
        return {c.id: (guid("code", "theme", c.id), c.label)
                for c in questionnaire.question(THEMES_QUESTION).choices}

    def _sections(self, questionnaire: Questionnaire) -> dict[str, tuple[str, str]]:
        """Question id -> the code its answers are marked with (its theme, or its section)."""
        codes: dict[str, tuple[str, str]] = {}
        for question in self.layout.text_questions():
            section = questionnaire.section_of(question)
            theme = None
            if section.when and section.when.question == THEMES_QUESTION:
                theme = next((t for t in sorted(section.when.any_of) if t in self._themes), None)
            if theme:
                codes[question.id] = self._themes[theme]
            else:
                codes[question.id] = (guid("code", "section", section.id),
                                      section.title or section.id)
        return codes

    def write(self, record: ExportRecord) -> None:
        self.count += 1
        source_id = guid("source", record.export_id)
        text, selections = self._text(record)
        self._zip.writestr(f"Sources/{source_id}.txt", text.encode("utf-8"))
        self._cases.write(self._case_xml(record, source_id).encode())
        self._sources.write(self._source_xml(record, source_id, selections).encode())

    def _text(self, record: ExportRecord) -> tuple[str, list[tuple[str, int, int]]]:
        quote = record.may_quote
        text = xml_text(f"{record.export_id}\nLanguage: {record.language}. "
                        f"May be quoted: {quote}.\n")
        selections = []
        questions = {q.id: q for q in self.layout.questions}
        for answer in record.answers:
            if not (answer.is_text or answer.media_file) or answer.question_id not in questions:
                continue
            _, title = self._section_codes.get(answer.question_id, ("", ""))
            text += f"\n[{answer.question_id}] {title}\n"
            start = len(text)
            text += xml_text(answer.value)
            selections.append((answer.question_id, start, len(text)))
            text += "\n"
        return text, selections

    def _case_xml(self, record: ExportRecord, source_id: str) -> str:
        parts = [f'<Case guid="{guid("case", record.export_id)}" name={_attr(record.export_id)}>']
        themes = record.answer(THEMES_QUESTION)
        for code in themes.codes if themes else ():
            if code in self._themes:
                parts.append(f'<CodeRef targetGUID="{self._themes[code][0]}"/>')
        values = {"campaign": record.campaign, "language": record.language,
                  "consent_version": record.consent_version,
                  "started_month": record.started_month}
        for name in QUASI_QUESTIONS:
            answer = record.answer(name)
            values[name] = answer.value if answer else ""
        for name in TEXT_VARIABLES:
            if values.get(name):
                parts.append(f'<VariableValue><VariableRef targetGUID="{self._variables[name]}"/>'
                             f'<TextValue>{escape(xml_text(values[name]))}</TextValue>'
                             '</VariableValue>')
        for name, flag in (("complete", record.complete), ("may_quote", record.may_quote)):
            if flag not in ("yes", "no"):
                continue  # suppressed: no value, as for every person whose flag is suppressed
            parts.append(f'<VariableValue><VariableRef targetGUID="{self._variables[name]}"/>'
                         f'<BooleanValue>{"true" if flag == "yes" else "false"}</BooleanValue>'
                         '</VariableValue>')
        parts.append(f'<SourceRef targetGUID="{source_id}"/></Case>')
        return "".join(parts)

    def _source_xml(self, record: ExportRecord, source_id: str,
                    selections: list[tuple[str, int, int]]) -> str:
        stamp = f'creatingUser="{self._user}" creationDateTime="{self._when}"'
        parts = [f'<TextSource guid="{source_id}" name={_attr(record.export_id)} '
                 f'plainTextPath="internal://{source_id}.txt" {stamp}>']
        for question_id, start, end in selections:
            code = self._section_codes[question_id][0]
            parts.append(
                f'<PlainTextSelection guid="{guid("selection", record.export_id, question_id)}" '
                f'name={_attr(question_id)} startPosition="{start}" endPosition="{end}" {stamp}>'
                f'<Coding guid="{guid("coding", record.export_id, question_id)}" {stamp}>'
                f'<CodeRef targetGUID="{code}"/></Coding></PlainTextSelection>')
        parts.append("</TextSource>")
        return "".join(parts)

    def _head(self) -> Iterator[str]:
        yield '<?xml version="1.0" encoding="utf-8"?>\n'
        yield (f'<Project xmlns="{NAMESPACE}" name="Testimonies" '
               f'origin={_attr("testimony-bot " + __version__)} '
               f'creatingUserGUID="{self._user}" creationDateTime="{self._when}">')
        yield f'<Users><User guid="{self._user}" name="testimony-bot export"/></Users>'
        codes = []
        if self._themes:
            children = "".join(f'<Code guid="{g}" name={_attr(label)} isCodable="true"/>'
                               for g, label in self._themes.values())
            codes.append(f'<Code guid="{guid("code", "themes")}" name="Themes" '
                         f'isCodable="false">{children}</Code>')
        themed = {g for g, _ in self._themes.values()}
        for code, title in dict(self._section_codes.values()).items():
            if code not in themed:
                codes.append(f'<Code guid="{code}" name={_attr(title)} isCodable="true"/>')
        if codes:
            yield f"<CodeBook><Codes>{''.join(codes)}</Codes></CodeBook>"
        yield "<Variables>"
        for name, variable in self._variables.items():
            kind = "Boolean" if name in BOOLEAN_VARIABLES else "Text"
            yield f'<Variable guid="{variable}" name={_attr(name)} typeOfVariable="{kind}"/>'
        yield "</Variables>"

    def close(self) -> None:
        self._cases.close()
        self._sources.close()
        try:
            with self._zip.open("project.qde", "w", force_zip64=True) as project:
                for piece in self._head():
                    project.write(piece.encode())
                self._copy(project, "Cases", self._spills[0])
                self._copy(project, "Sources", self._spills[1])
                project.write(b"</Project>")
            self._zip.close()
        finally:
            for spill in self._spills:
                spill.unlink(missing_ok=True)

    def _copy(self, project: IO[bytes], element: str, spill: Path) -> None:
        if not self.count:  # the schema wants at least one child, or no element at all
            return
        project.write(f"<{element}>".encode())
        with spill.open("rb") as handle:
            shutil.copyfileobj(handle, project)
        project.write(f"</{element}>".encode())
