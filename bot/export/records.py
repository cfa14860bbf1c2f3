"""Turning one opened testimony into an export record, through the anonymization steps.

Order matters: direction controls are removed before redaction (so they cannot split a phone
number), quasi-identifiers come from the k-anonymity plan (never the raw answers), dates are
cut to the month, and media are cleaned before anything refers to them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
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
from bot.export.selection import THEMES_QUESTION
from bot.flow import QuestionKind, Questionnaire
from storage.reader import OpenedAnswer, Testimony

MEDIA_NAMES = {"voice": "voice note", "audio": "audio", "photo": "photo"}


class MediaSink(Protocol):
    def save(self, export_id: str, question_id: str, mime_type: str, data: bytes
             ) -> tuple[str | None, str]:
        """(path relative to the export folder or None, a note when it was left out)."""
        ...


# Every column an export releases about a person, in the order fields are given up on a tie
# (the last first): profile answers and themes are what reports are made of.
QUASI_NAMES = (*QUASI_QUESTIONS, THEMES_QUESTION, "language", "complete", "started_month",
               "completed_month", CAMPAIGN, "may_quote", "answer_languages", "consent_version")
MONTH_COLUMNS = ("started_month", "completed_month")


def quarter(month_value: str) -> str:
    year, _, number = month_value.partition("-")
    return f"{year}-Q{(int(number) - 1) // 3 + 1}"


def quasi_identifiers(months: Iterable[str] = ()) -> tuple[QuasiIdentifier, ...]:
    """The quasi-identifiers and how each may be made coarser: regions to continents and
    months to quarters first, then wider age bands and quarters to years."""
    continent = {region: wider for region, (wider, _) in CONTINENTS.items()}
    age = {band: wider for band, (wider, _) in WIDER_AGE.items()}
    seen = {m for m in months if len(m) == 7 and m[4] == "-" and m[5:].isdigit()}
    quarters = {m: quarter(m) for m in seen}
    years = {q: q[:4] for q in quarters.values()}
    wider: dict[str, QuasiIdentifier] = {
        "age_band": QuasiIdentifier("age_band", age, step=2),
        "origin_region": QuasiIdentifier("origin_region", continent, step=1),
        "living_region": QuasiIdentifier("living_region", continent, step=1),
        **{name: QuasiIdentifier(name, quarters, step=1, later=((2, years),))
           for name in MONTH_COLUMNS},
    }
    return tuple(wider.get(name, QuasiIdentifier(name)) for name in QUASI_NAMES)


COARSE_LABELS = {**{w: label for w, label in CONTINENTS.values()},
                 **{w: label for w, label in WIDER_AGE.values()}}


def _choices(answer: OpenedAnswer | None) -> list[str]:
    value = answer.header.get("value") if answer and answer.header.get("kind") == "choice" \
        else None
    return [str(v) for v in value] if isinstance(value, list) else []


def raw_regions(testimony: Testimony) -> tuple[str, ...]:
    """The person's own region answers (origin, where living), for phone formats."""
    chosen = {a.question_id: a for a in testimony.answers}
    return tuple(codes[0] for name in ("origin_region", "living_region")
                 for codes in [_choices(chosen.get(name))] if codes)


def quasi_row(testimony: Testimony, may_quote: bool) -> Row:
    """The raw quasi-identifier values of one testimony ("" when not answered), in the
    order of QUASI_NAMES. Needs every answer opened (their languages are released)."""
    chosen = {a.question_id: a for a in testimony.answers}
    profile = [(_choices(chosen.get(name)) or [""])[0] for name in QUASI_QUESTIONS]
    consent = testimony.consent
    language = consent.language if consent else ""
    others = sorted({a.language for a in testimony.answers if a.language} - {language})
    return (
        *profile,
        "+".join(sorted(_choices(chosen.get(THEMES_QUESTION)))),
        language,
        "yes" if testimony.completed_on else "no",
        month(testimony.started_on),
        month(testimony.completed_on),
        testimony.campaign or "",
        "yes" if may_quote else "no",
        "+".join(others),
        consent.version if consent else "",
    )


def month(day: str | None) -> str:
    return day[:7] if day else ""


def shown(value: str) -> str:
    return SUPPRESSED_LABEL if value == SUPPRESSED else value


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
        context = _Context(testimony, coarse)
        numbering = Numbering()
        notes: list[Note] = []
        answers: list[ExportAnswer] = []
        quotes: list[str] = []
        # A suppressed permission to quote says nothing, so nothing of theirs is quotable.
        may_quote = (coarse["may_quote"] != SUPPRESSED
                     and self.policy.may_quote(testimony.consent))
        by_id = {a.question_id: a for a in testimony.answers}
        ordered = [by_id.pop(q.id) if q.id in by_id else q.id
                   for q in self.questionnaire.questions]
        for opened in [*ordered, *by_id.values()]:  # unknown questions (other flows) last
            if isinstance(opened, str):  # not answered: written as suppressed when it is
                if coarse.get(opened) == SUPPRESSED:
                    answers.append(self._suppressed(opened, context))
                continue
            if opened.question_id in coarse:
                answers.append(self._quasi(opened, coarse[opened.question_id], context))
                continue
            answer, found = self._answer(export_id, opened, context, numbering)
            answers.append(answer)
            notes += found
            if answer.is_text and may_quote:
                quotes.append(f"{opened.question_id}: {answer.value}")
        return ExportRecord(
            export_id=export_id,
            language=shown(coarse["language"]),
            campaign=shown(coarse[CAMPAIGN]),
            consent_version=shown(coarse["consent_version"]),
            started_month=shown(coarse["started_month"]),
            completed_month=shown(coarse["completed_month"]),
            complete=shown(coarse["complete"]),
            may_quote=shown(coarse["may_quote"]),
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

    def _quasi(self, opened: OpenedAnswer, code: str, context: _Context) -> ExportAnswer:
        kind = self._kind(opened.question_id, "single")
        codes = tuple(code.split("+")) if code and code != SUPPRESSED else ()
        value = "; ".join(self._label(opened.question_id, c) for c in codes) if codes \
            else self._label(opened.question_id, code)
        return ExportAnswer(opened.question_id, str(kind or "single"), codes, value,
                            context.language(opened.language), context.month(opened))

    def _suppressed(self, question_id: str, context: _Context) -> ExportAnswer:
        """A quasi-identifier the person skipped, in a row where it is suppressed: written
        exactly as if they had answered, so the skip does not single the row out."""
        kind = self._kind(question_id, "single")
        return ExportAnswer(question_id, str(kind or "single"), (), SUPPRESSED_LABEL,
                            context.language(None), context.started)

    def _answer(self, export_id: str, opened: OpenedAnswer, context: _Context,
                numbering: Numbering) -> tuple[ExportAnswer, tuple[Note, ...]]:
        header: Mapping[str, object] = opened.header
        stored = str(header.get("kind", ""))
        kind = str(self._kind(opened.question_id, "text") or stored)
        qid, language, when = (opened.question_id, context.language(opened.language),
                               context.month(opened))
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
            redacted = self.redactor.redact(qid, bidi.clean(value), context.regions, numbering)
            return (ExportAnswer(qid, kind, (), redacted.text, language, when, is_text=True),
                    redacted.notes)
        if stored == "media":
            return self._media(export_id, opened, kind, language, when), ()
        return ExportAnswer(qid, kind, (), "[answer in an unknown form, not exported]",
                            language, when), ()

    def _media(self, export_id: str, opened: OpenedAnswer, kind: str, language: str,
               when: str) -> ExportAnswer:
        name = MEDIA_NAMES.get(str(opened.header.get("media")), "file")
        path, reason = None, "media export is switched off"
        if self.media is not None:
            path, reason = self.media.save(export_id, opened.question_id,
                                           str(opened.header.get("mime_type", "")), opened.body)
        shown_as = f"[{name}: {path}]" if path else f"[{name} not exported: {reason}]"
        return ExportAnswer(opened.question_id, kind, (), shown_as, language, when,
                            media_file=path)


class _Context:
    """What one record's answers may say of their language and month: no more than the
    record's own (k-anonymous) columns say."""

    def __init__(self, testimony: Testimony, coarse: Mapping[str, str]) -> None:
        self.coarse = coarse
        consent = testimony.consent
        self.consent_language = consent.language if consent else ""
        self.raw_months = {month(testimony.started_on): shown(coarse["started_month"]),
                           month(testimony.completed_on): shown(coarse["completed_month"])}
        self.raw_months.pop("", None)
        self.started = shown(coarse["started_month"])
        self.regions = raw_regions(testimony)

    def language(self, language: str | None) -> str:
        if not language or language == self.consent_language:
            return shown(self.coarse["language"])
        return SUPPRESSED_LABEL if self.coarse["answer_languages"] == SUPPRESSED else language

    def month(self, opened: OpenedAnswer) -> str:
        """The month of an answer, as coarse as the record's: only the start and completion
        months are k-anonymous, so an answer given in another month says "[suppressed]"."""
        return self.raw_months.get(month(opened.answered_on), SUPPRESSED_LABEL)
