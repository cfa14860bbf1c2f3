"""What the writers receive: anonymized records, and the columns they are laid out in.

A record holds nothing a writer may not write: the export pseudonym instead of any id,
months instead of days, quasi-identifiers after k-anonymity, redacted text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.export.redaction import Note
from bot.flow import Question, QuestionKind, Questionnaire

QUASI_QUESTIONS = ("gender", "age_band", "origin_region", "living_region", "sector")
CAMPAIGN = "campaign"
SUPPRESSED_LABEL = "[suppressed]"


@dataclass(frozen=True)
class ExportAnswer:
    question_id: str
    kind: str  # the flow's kind: single, multi, text, number, testimony
    codes: tuple[str, ...]  # choice ids (coarsened for quasi-identifiers)
    value: str  # what a reader sees: labels joined by "; ", redacted text, a number...
    language: str | None
    month: str  # YYYY-MM
    number: int | None = None
    media_file: str | None = None  # relative to the export folder
    is_text: bool = False  # free text (redacted), as opposed to a closed answer


@dataclass(frozen=True)
class ExportRecord:
    export_id: str
    language: str
    campaign: str
    consent_version: str
    started_month: str
    completed_month: str
    complete: str  # "yes", "no", or SUPPRESSED_LABEL like every suppressed column
    may_quote: str
    answers: tuple[ExportAnswer, ...]
    quotable: str  # the free text, only for people who agreed to be quoted
    notes: tuple[Note, ...]

    def answer(self, question_id: str) -> ExportAnswer | None:
        return next((a for a in self.answers if a.question_id == question_id), None)


FIXED_COLUMNS = ("export_id", "language", "campaign", "consent_version", "started_month",
                 "completed_month", "complete", "may_quote")
LONG_COLUMNS = ("export_id", "question_id", "question", "kind", "value", "codes", "language",
                "month")


@dataclass(frozen=True)
class Layout:
    """Column order shared by every tabular writer: the flow's questions, in flow order."""

    questions: tuple[Question, ...]

    @classmethod
    def of(cls, questionnaire: Questionnaire) -> Layout:
        # notes are said, never answered: no column
        return cls(tuple(q for q in questionnaire.questions if q.kind is not QuestionKind.NOTE))

    @property
    def wide_columns(self) -> tuple[str, ...]:
        return (*FIXED_COLUMNS, *(q.id for q in self.questions), "quotable")

    def wide_row(self, record: ExportRecord) -> list[str | int]:
        row: list[str | int] = [
            record.export_id, record.language, record.campaign, record.consent_version,
            record.started_month, record.completed_month, record.complete, record.may_quote,
        ]
        for question in self.questions:
            answer = record.answer(question.id)
            if answer is None:
                row.append("")
            elif answer.number is not None:
                row.append(answer.number)
            else:
                row.append(answer.value)
        row.append(record.quotable)
        return row

    def long_rows(self, record: ExportRecord) -> list[list[str | int]]:
        texts = {q.id: q.text for q in self.questions}
        return [
            [record.export_id, a.question_id, texts.get(a.question_id, ""), a.kind,
             a.number if a.number is not None else a.value, ";".join(a.codes),
             a.language or "", a.month]
            for a in record.answers
        ]

    def text_questions(self) -> tuple[Question, ...]:
        return tuple(q for q in self.questions
                     if q.kind in (QuestionKind.TEXT, QuestionKind.TESTIMONY))


class Writer(Protocol):
    """Each output format: rows go out as they come (streaming), `close` finishes the file."""

    def write(self, record: ExportRecord) -> None: ...

    def close(self) -> None: ...
