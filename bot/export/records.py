"""Turning one opened testimony into an export record, through the anonymization steps.

Order matters: direction controls are removed before redaction (so they cannot split a phone
number), quasi-identifiers come from the k-anonymity plan (never the raw answers), dates are
cut to the month, and media are cleaned before anything refers to them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from bot.export import bidi
from bot.export.consent import ConsentPolicy
from bot.export.kanon import SUPPRESSED, QuasiIdentifier, Row
from bot.export.model import (
    CAMPAIGN,
    QUASI_QUESTIONS,
    SUPPRESSED_LABEL,
    ExportAnswer,
    ExportRecord,
)
from bot.export.pseudonyms import ExportPseudonyms
from bot.export.redaction import Note, Numbering, Redactor
from bot.export.regions import CONTINENTS, WIDER_AGE
from bot.flow import QuestionKind, Questionnaire
from storage.reader import OpenedAnswer, Testimony

MEDIA_NAMES = {"voice": "voice note", "audio": "audio", "photo": "photo"}


class MediaSink(Protocol):
    def save(self, export_id: str, question_id: str, mime_type: str, data: bytes
             ) -> tuple[str | None, str]:
        """(path relative to the export folder or None, a note when it was left out)."""
        ...


def quasi_identifiers() -> tuple[QuasiIdentifier, ...]:
    """The default flow's quasi-identifiers and how each may be made coarser."""
    continent = {region: wider for region, (wider, _) in CONTINENTS.items()}
    age = {band: wider for band, (wider, _) in WIDER_AGE.items()}
    return (
        QuasiIdentifier("gender"),
        QuasiIdentifier("age_band", age, step=2),
        QuasiIdentifier("origin_region", continent, step=1),
        QuasiIdentifier("living_region", continent, step=1),
        QuasiIdentifier("sector"),
        QuasiIdentifier(CAMPAIGN),
    )


QUASI_NAMES = tuple(q.name for q in quasi_identifiers())
COARSE_LABELS = {**{w: label for w, label in CONTINENTS.values()},
                 **{w: label for w, label in WIDER_AGE.values()}}


def quasi_row(testimony: Testimony) -> Row:
    """The raw quasi-identifier values of one testimony ("" when not answered)."""
    chosen = {a.question_id: a for a in testimony.answers}
    values = []
    for name in QUASI_QUESTIONS:
        answer = chosen.get(name)
        codes = answer.header.get("value") if answer and answer.header.get("kind") == "choice" \
            else None
        values.append(str(codes[0]) if isinstance(codes, list) and codes else "")
    values.append(testimony.campaign or "")
    return tuple(values)


def month(day: str | None) -> str:
    return day[:7] if day else ""


@dataclass
class RecordBuilder:
    questionnaire: Questionnaire
    policy: ConsentPolicy
    pseudonyms: ExportPseudonyms
    redactor: Redactor
    media: MediaSink | None

    def build(self, testimony: Testimony, quasi: Row) -> ExportRecord:
        export_id = self.pseudonyms.of(testimony.respondent)
        coarse = dict(zip(QUASI_NAMES, quasi, strict=True))
        regions = tuple(v for v in quasi_row(testimony)[2:4] if v)  # raw, for phone formats
        numbering = Numbering()
        notes: list[Note] = []
        answers: list[ExportAnswer] = []
        quotes: list[str] = []
        may_quote = self.policy.may_quote(testimony.consent)
        by_id = {a.question_id: a for a in testimony.answers}
        ordered = [by_id.pop(q.id) for q in self.questionnaire.questions if q.id in by_id]
        for opened in [*ordered, *by_id.values()]:  # unknown questions (other flows) last
            if opened.question_id in coarse:
                answers.append(self._quasi(opened, coarse[opened.question_id]))
                continue
            answer, found = self._answer(export_id, opened, regions, numbering)
            answers.append(answer)
            notes += found
            if answer.is_text and may_quote:
                quotes.append(f"{opened.question_id}: {answer.value}")
        consent = testimony.consent
        campaign = coarse.get(CAMPAIGN, "")
        return ExportRecord(
            export_id=export_id,
            language=consent.language if consent else "",
            campaign=SUPPRESSED_LABEL if campaign == SUPPRESSED else campaign,
            consent_version=consent.version if consent else "",
            started_month=month(testimony.started_on),
            completed_month=month(testimony.completed_on),
            may_quote=may_quote,
            answers=tuple(answers),
            quotable="\n\n".join(quotes),
            notes=tuple(notes),
        )

    def _kind(self, question_id: str, fallback: str) -> QuestionKind | None:
        if self.questionnaire.has_question(question_id):
            return self.questionnaire.question(question_id).kind
        try:
            return QuestionKind(fallback)
        except ValueError:
            return None

    def _label(self, question_id: str, code: str) -> str:
        if code == SUPPRESSED:
            return SUPPRESSED_LABEL
        if self.questionnaire.has_question(question_id):
            choice = self.questionnaire.question(question_id).choice(code)
            if choice:
                return choice.label
        return COARSE_LABELS.get(code, code)

    def _quasi(self, opened: OpenedAnswer, code: str) -> ExportAnswer:
        kind = self._kind(opened.question_id, "single")
        return ExportAnswer(opened.question_id, str(kind or "single"),
                            (code,) if code else (), self._label(opened.question_id, code),
                            opened.language, month(opened.answered_on))

    def _answer(self, export_id: str, opened: OpenedAnswer, regions: tuple[str, ...],
                numbering: Numbering) -> tuple[ExportAnswer, tuple[Note, ...]]:
        header: Mapping[str, object] = opened.header
        stored = str(header.get("kind", ""))
        kind = str(self._kind(opened.question_id, "text") or stored)
        qid, language, when = opened.question_id, opened.language, month(opened.answered_on)
        value = header.get("value")
        if stored == "choice" and isinstance(value, list):
            codes = tuple(str(c) for c in value)
            labels = "; ".join(self._label(qid, c) for c in codes)
            return ExportAnswer(qid, kind, codes, labels, language, when), ()
        if stored == "number" and isinstance(value, int):
            return ExportAnswer(qid, kind, (), str(value), language, when, number=value), ()
        if stored == "number" and isinstance(value, float):  # a decimal question's answer
            return ExportAnswer(qid, kind, (), repr(value), language, when), ()
        if stored == "text" and isinstance(value, str):
            redacted = self.redactor.redact(qid, bidi.clean(value), regions, numbering)
            return (ExportAnswer(qid, kind, (), redacted.text, language, when, is_text=True),
                    redacted.notes)
        if stored == "media":
            return self._media(export_id, opened, kind), ()
        return ExportAnswer(qid, kind, (), "[answer in an unknown form, not exported]",
                            language, when), ()

    def _media(self, export_id: str, opened: OpenedAnswer, kind: str) -> ExportAnswer:
        name = MEDIA_NAMES.get(str(opened.header.get("media")), "file")
        path, reason = None, "media export is switched off"
        if self.media is not None:
            path, reason = self.media.save(export_id, opened.question_id,
                                           str(opened.header.get("mime_type", "")), opened.body)
        shown = f"[{name}: {path}]" if path else f"[{name} not exported: {reason}]"
        return ExportAnswer(opened.question_id, kind, (), shown, opened.language,
                            month(opened.answered_on), media_file=path)
