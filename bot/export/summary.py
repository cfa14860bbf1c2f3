"""Counting closed answers for the one-page report, with small cells suppressed.

Only choice answers are opened (free text is never decrypted for a report). Every count
follows the one rule of `bot.small_counts`: below k, zero included, it is hidden and shown as
"fewer than k". In a table whose cells add up to its base (one answer per person), hidden
cells could be worked out by subtraction: more cells are then hidden, smallest first and
marked "hidden" (they are not small themselves, they protect the others), until no hidden
cell's value follows from the base, the visible cells and what a reader knows of the hidden
ones (a small cell is 0 to k-1, a protecting one at least k). If even hiding every cell does
not get there, the table is withheld. Multi-answer tables do not add up to anything and
only hide their small cells.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from bot.export.consent import ConsentPolicy
from bot.export.records import month
from bot.export.selection import THEMES_QUESTION, Selection
from bot.export.sources import Sources, read_all
from bot.flow import Question, QuestionKind, Questionnaire
from bot.small_counts import publishable
from storage.keys import KeyPair
from storage.reader import RecordFailure

PROFILE_TABLES = ("origin_region", "living_region")
NO_ANSWER = "~no-answer"
THEMES_TITLE = "Testimonies by theme"
LANGUAGE_TITLE = "Testimonies by language"
MONTH_TITLE = "Testimonies by month"


class Hidden(StrEnum):
    SMALL = "small"  # below k itself: "fewer than k"
    PROTECTS = "protects"  # hidden so that small cells cannot be worked out: "hidden"


@dataclass(frozen=True)
class Cell:
    key: str
    label: str
    count: int | None  # None: suppressed
    share: float | None  # of the table's base, when shown
    hidden: Hidden | None = None


@dataclass(frozen=True)
class Table:
    title: str
    base: int  # testimonies the shares are of (those who answered)
    cells: tuple[Cell, ...]
    multi: bool = False  # several answers per person: shares add up to more than 100%
    withheld: str = ""  # why nothing of the table can be shown ("" when it is shown)

    @property
    def suppressed(self) -> bool:
        return any(c.count is None for c in self.cells)


Shown = int | Hidden


def _bounds(value: Shown, k: int, total: int) -> tuple[int, int]:
    """What a reader knows of a cell: exactly its count, or the range its mark implies."""
    if value is Hidden.SMALL:
        return 0, min(k - 1, total)
    if value is Hidden.PROTECTS:
        return min(k, total), total
    return value, value


def pinned(shown: Mapping[str, Shown], k: int, total: int) -> bool:
    """Can some hidden cell be worked out from the total and everything else shown?"""
    hidden = [_bounds(v, k, total) for v in shown.values() if isinstance(v, Hidden)]
    if not hidden:
        return False
    rest = total - sum(v for v in shown.values() if not isinstance(v, Hidden))
    low_sum, high_sum = sum(lo for lo, _ in hidden), sum(hi for _, hi in hidden)
    for lo, hi in hidden:
        lowest = max(lo, rest - (high_sum - hi))
        highest = min(hi, rest - (low_sum - lo))
        if lowest >= highest:
            return True
    return False


def suppress(counts: Mapping[str, int], k: int, additive: bool = True
             ) -> dict[str, Shown] | None:
    """Each cell's count or why it is hidden; None when the table must be withheld.

    `additive`: the cells add up to the table's total (one answer per person)."""
    shown: dict[str, Shown] = {key: (n if publishable(n, k) else Hidden.SMALL)
                               for key, n in counts.items()}
    if not additive:
        return shown
    total = sum(counts.values())
    while pinned(shown, k, total):
        visible = sorted((n, key) for key, n in shown.items() if not isinstance(n, Hidden))
        if not visible:
            return None
        shown[visible[0][1]] = Hidden.PROTECTS
    return shown


def table(title: str, counts: Mapping[str, int], labels: Mapping[str, str], base: int, k: int,
          multi: bool = False) -> Table:
    if not publishable(base, k):
        return Table(title, base, (), multi, withheld=f"fewer than {k} people answered")
    shown = suppress(counts, k, additive=not multi)
    if shown is None:
        return Table(title, base, (), multi, withheld="the answers are so alike that hidden "
                     "numbers could be worked out from the others")
    order = sorted(shown, key=lambda key: -counts[key])
    cells = tuple(
        Cell(key, labels.get(key, key), None, None, value) if isinstance(value, Hidden)
        else Cell(key, labels.get(key, key), value, value / base if base else None)
        for key in order for value in [shown[key]])
    return Table(title, base, cells, multi)


@dataclass
class Tally:
    testimonies: int = 0
    languages: Counter[str] = field(default_factory=Counter)
    months: Counter[str] = field(default_factory=Counter)
    choices: dict[str, Counter[str]] = field(default_factory=dict)
    answered: Counter[str] = field(default_factory=Counter)
    foreign: list[str] = field(default_factory=list)  # people sealed to another key
    asked: Counter[str] = field(default_factory=Counter)  # key questions put to people


def key_questions(questionnaire: Questionnaire) -> tuple[Question, ...]:
    """Closed questions inside the theme sections: "paid less than promised" and the like."""
    themed = {s.id for s in questionnaire.sections if s.when is not None}
    return tuple(q for q in questionnaire.questions
                 if q.kind.has_choices and q.section in themed)


def count(sources: Sources, key: KeyPair, questionnaire: Questionnaire,
          policy: ConsentPolicy, selection: Selection, failures: list[RecordFailure]) -> Tally:
    closed = {q.id for q in questionnaire.questions if q.kind.has_choices}
    tally = Tally()
    for testimony in read_all(sources, key, failures, closed):
        if testimony.foreign_records:  # sealed to another key: not counted at all
            tally.foreign.append(testimony.label)
            continue
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
        given = {qid: tuple(codes) for qid, codes in chosen.items()}
        for question in key_questions(questionnaire):
            if _asked(questionnaire, question, given):
                tally.asked[question.id] += 1
    return tally


def _asked(questionnaire: Questionnaire, question: Question,
           given: Mapping[str, tuple[str, ...]]) -> bool:
    """Was this question put to the person (their theme chosen, its conditions met)?"""
    section = next((s for s in questionnaire.sections if s.id == question.section), None)
    conditions = (*((section.when,) if section and section.when else ()), *question.when)
    return all(condition.holds(given) for condition in conditions)


def labels_of(question: Question) -> dict[str, str]:
    return {c.id: c.label for c in question.choices}


def tables(tally: Tally, questionnaire: Questionnaire, k: int) -> dict[str, list[Table]]:
    """The report's tables, grouped: overview, then the key questions. A question no one
    answered (everyone skipped it) has no table; `skipped_titles` names them."""
    n = tally.testimonies
    overview: list[Table] = []
    if questionnaire.has_question(THEMES_QUESTION):
        themes = questionnaire.question(THEMES_QUESTION)
        counts = {c.id: tally.choices.get(THEMES_QUESTION, Counter())[c.id]
                  for c in themes.choices}
        overview.append(table(THEMES_TITLE, counts, labels_of(themes),
                              tally.answered[THEMES_QUESTION], k, multi=True))
    for qid in PROFILE_TABLES:
        if questionnaire.has_question(qid):
            question = questionnaire.question(qid)
            counts = {c.id: tally.choices.get(qid, Counter())[c.id] for c in question.choices}
            counts.update(tally.choices.get(qid, Counter()))
            given = sum(counts.values())
            if not given:  # everyone skipped it: left out, and named
                overview.append(table(_title(question), counts, {}, 0, k))
                continue
            # Those who gave no answer are a cell like any other, hidden when small: a base
            # of "all but 2" next to the page's total would tell what the cell hides.
            counts[NO_ANSWER] = n - given
            overview.append(table(_title(question), counts,
                                  {**labels_of(question), NO_ANSWER: "No answer"}, n, k))
    overview.append(table(LANGUAGE_TITLE, dict(tally.languages), {}, n, k))
    months = dict(sorted(tally.months.items()))
    by_month = table(MONTH_TITLE, months, {}, n, k)
    overview.append(Table(by_month.title, by_month.base,
                          tuple(sorted(by_month.cells, key=lambda c: c.key)),
                          withheld=by_month.withheld))
    questions = [_key_table(q, tally, k) for q in key_questions(questionnaire)]
    return {"overview": overview, "questions": questions}


def _key_table(question: Question, tally: Tally, k: int) -> Table:
    """A key question over everyone it was put to: "No answer" is a cell, so the number
    who chose the theme (in the themes table) minus a base cannot reveal a few skips."""
    counts = {c.id: tally.choices.get(question.id, Counter())[c.id] for c in question.choices}
    answered, asked = tally.answered[question.id], max(tally.asked[question.id],
                                                      tally.answered[question.id])
    if not answered:  # everyone skipped it (or no one was asked): left out, and named
        return table(question.text, counts, {}, 0, k)
    counts[NO_ANSWER] = asked - answered
    return table(question.text, counts, {**labels_of(question), NO_ANSWER: "No answer"},
                 asked, k, multi=question.kind is QuestionKind.MULTI)


def skipped_titles(groups: Mapping[str, Iterable[Table]]) -> list[str]:
    """Tables of questions everyone skipped: left out of the page, named in a note."""
    return [t.title for t in flatten(groups) if t.base == 0]


def _title(question: Question) -> str:
    return {"origin_region": "Testimonies by region of origin",
            "living_region": "Testimonies by region where people live now"}.get(
                question.id, question.text)


def flatten(groups: Mapping[str, Iterable[Table]]) -> list[Table]:
    return [t for group in groups.values() for t in group]
