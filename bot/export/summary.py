"""Counting closed answers for the one-page report, with small cells suppressed.

Only choice answers are opened (free text is never decrypted for a report). A count below k
is shown as "fewer than k"; when a table would then hide a single cell whose value could be
worked out from the total, the next smallest cell is hidden too (secondary suppression).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bot.export.consent import ConsentPolicy
from bot.export.records import month
from bot.export.selection import THEMES_QUESTION, Selection
from bot.flow import Question, QuestionKind, Questionnaire
from storage.keys import KeyPair
from storage.reader import RecordFailure, read_testimonies

PROFILE_TABLES = ("origin_region", "living_region")


@dataclass(frozen=True)
class Cell:
    key: str
    label: str
    count: int | None  # None: suppressed
    share: float | None  # of the table's base, when shown


@dataclass(frozen=True)
class Table:
    title: str
    base: int  # testimonies the shares are of (those who answered)
    cells: tuple[Cell, ...]
    multi: bool = False  # several answers per person: shares add up to more than 100%

    @property
    def suppressed(self) -> bool:
        return any(c.count is None for c in self.cells)


def suppress(counts: Mapping[str, int], k: int) -> dict[str, int | None]:
    shown: dict[str, int | None] = {key: (n if n == 0 or n >= k else None)
                                    for key, n in counts.items()}
    hidden = [key for key, n in shown.items() if n is None]
    if len(hidden) == 1:
        visible = sorted((n, key) for key, n in shown.items() if n)
        if visible:
            shown[visible[0][1]] = None
    return shown


def table(title: str, counts: Mapping[str, int], labels: Mapping[str, str], base: int, k: int,
          multi: bool = False) -> Table:
    if base < k:  # too few answers: nothing can be shown at all
        return Table(title, base, tuple(Cell(key, labels.get(key, key), None, None)
                                        for key in counts), multi)
    shown = suppress(counts, k)
    cells = tuple(Cell(key, labels.get(key, key), n,
                       (n / base if base and n is not None else None))
                  for key, n in sorted(shown.items(), key=lambda kv: -counts[kv[0]]))
    return Table(title, base, cells, multi)


@dataclass
class Tally:
    testimonies: int = 0
    languages: Counter[str] = field(default_factory=Counter)
    months: Counter[str] = field(default_factory=Counter)
    choices: dict[str, Counter[str]] = field(default_factory=dict)
    answered: Counter[str] = field(default_factory=Counter)


def key_questions(questionnaire: Questionnaire) -> tuple[Question, ...]:
    """Closed questions inside the theme sections: "paid less than promised" and the like."""
    themed = {s.id for s in questionnaire.sections if s.when is not None}
    return tuple(q for q in questionnaire.questions
                 if q.kind.has_choices and q.section in themed)


def count(snapshot: Path, key: KeyPair, questionnaire: Questionnaire, policy: ConsentPolicy,
          selection: Selection, failures: list[RecordFailure]) -> Tally:
    closed = {q.id for q in questionnaire.questions if q.kind.has_choices}
    tally = Tally()
    for testimony in read_testimonies(snapshot, key, failures, closed):
        chosen: dict[str, list[str]] = {}
        for answer in testimony.answers:
            value = answer.header.get("value")
            if answer.header.get("kind") == "choice" and isinstance(value, list):
                chosen[answer.question_id] = [str(v) for v in value]
        if not policy.admits(testimony.consent) or not testimony.stored_answers:
            continue
        if not selection.admits(testimony, chosen.get(THEMES_QUESTION, ())):
            continue
        tally.testimonies += 1
        tally.languages[testimony.consent.language if testimony.consent else ""] += 1
        tally.months[month(testimony.started_on)] += 1
        for question_id, codes in chosen.items():
            tally.answered[question_id] += 1
            tally.choices.setdefault(question_id, Counter()).update(codes)
    return tally


def labels_of(question: Question) -> dict[str, str]:
    return {c.id: c.label for c in question.choices}


def tables(tally: Tally, questionnaire: Questionnaire, k: int) -> dict[str, list[Table]]:
    """The report's tables, grouped: overview, then the key questions."""
    n = tally.testimonies
    overview: list[Table] = []
    if questionnaire.has_question(THEMES_QUESTION):
        themes = questionnaire.question(THEMES_QUESTION)
        counts = {c.id: tally.choices.get(THEMES_QUESTION, Counter())[c.id]
                  for c in themes.choices}
        overview.append(table("Testimonies by theme", counts, labels_of(themes), n, k,
                              multi=True))
    for qid in PROFILE_TABLES:
        if questionnaire.has_question(qid):
            question = questionnaire.question(qid)
            overview.append(table(_title(question), dict(tally.choices.get(qid, Counter())),
                                  labels_of(question), tally.answered[qid], k))
    overview.append(table("Testimonies by language", dict(tally.languages), {}, n, k))
    months = dict(sorted(tally.months.items()))
    by_month = table("Testimonies by month", months, {}, n, k)
    overview.append(Table(by_month.title, by_month.base,
                          tuple(sorted(by_month.cells, key=lambda c: c.key))))
    questions = [table(q.text, {c.id: tally.choices.get(q.id, Counter())[c.id]
                                for c in q.choices},
                       labels_of(q), tally.answered[q.id], k,
                       multi=q.kind is QuestionKind.MULTI)
                 for q in key_questions(questionnaire) if tally.answered[q.id]]
    return {"overview": overview, "questions": questions}


def _title(question: Question) -> str:
    return {"origin_region": "Testimonies by region of origin",
            "living_region": "Testimonies by region where people live now"}.get(
                question.id, question.text)


def flatten(groups: Mapping[str, Iterable[Table]]) -> list[Table]:
    return [t for group in groups.values() for t in group]
