"""k-anonymity of the quasi-identifiers (gender, age band, regions, sector, campaign).

Re-identification in small communities comes from combinations: "a woman of 55+ from East
Africa, living in Europe, in farming, from campaign X" may be one person. Every combination
shared by fewer than k exported people is made coarser, one step at a time and only for those
people: regions to continents, then age bands widened, then single fields suppressed
(greedily, the field whose removal joins the largest group), until every combination is
shared by at least k people or nothing is left to remove. Suppressed and missing values count
as values of their own, so no record hides behind a wildcard.

This needs the quasi-identifiers of all exported people at once: a few short strings per
person, never their answers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

SUPPRESSED = "*"
Row = tuple[str, ...]


@dataclass(frozen=True)
class QuasiIdentifier:
    name: str
    wider: Mapping[str, str] = field(default_factory=dict)  # value -> coarser value
    step: int = 0  # generalization round (1, 2...); 0 = never generalized, only suppressed


@dataclass(frozen=True)
class DisclosureReport:
    k: int
    records: int
    quasi_identifiers: tuple[str, ...]
    rare_before: int  # records in combinations shared by fewer than k, before any change
    records_generalized: int
    generalized: dict[str, int]  # field -> records whose value was made coarser
    records_suppressed: int
    suppressed: dict[str, int]  # field -> records whose value was removed
    rare_after: int  # records still in a combination rarer than k (nothing left to remove)
    smallest_group: int
    groups: int

    def lines(self) -> list[str]:
        """The report as short sentences for people."""
        lines = [
            f"k = {self.k}: every combination of {', '.join(self.quasi_identifiers)} must be "
            f"shared by at least {self.k} exported testimonies.",
            f"Testimonies exported: {self.records}.",
            f"In a combination rarer than k before any change: {self.rare_before}.",
            f"Records generalized: {self.records_generalized} "
            + _per_field(self.generalized) + ".",
            f"Records with a field suppressed: {self.records_suppressed} "
            + _per_field(self.suppressed) + ".",
            f"Groups after: {self.groups}; smallest group: {self.smallest_group}.",
        ]
        if self.rare_after:
            lines.append(f"Still rarer than k with every field suppressed: {self.rare_after} "
                         "(they show no quasi-identifier at all).")
        return lines


def _per_field(counts: Mapping[str, int]) -> str:
    shown = ", ".join(f"{name} {n}" for name, n in counts.items() if n)
    return f"({shown})" if shown else "(none)"


def _without(row: Row, col: int) -> Row:
    return (*row[:col], SUPPRESSED, *row[col + 1:])


def _rare(rows: Sequence[Row], k: int) -> list[int]:
    counts = Counter(rows)
    return [i for i, row in enumerate(rows) if counts[row] < k]


def anonymize(rows: Sequence[Row], fields: Sequence[QuasiIdentifier],
              k: int) -> tuple[list[Row], DisclosureReport]:
    if k < 1:
        raise ValueError("k must be at least 1")
    current = list(rows)
    names = tuple(f.name for f in fields)
    rare_before = len(_rare(current, k))
    generalized_rows: set[int] = set()
    generalized = dict.fromkeys(names, 0)
    for step in sorted({f.step for f in fields if f.step}):
        for i in _rare(current, k):
            values = list(current[i])
            for col, quasi in enumerate(fields):
                if quasi.step == step and values[col] in quasi.wider:
                    values[col] = quasi.wider[values[col]]
                    generalized[quasi.name] += 1
                    generalized_rows.add(i)
            current[i] = tuple(values)
    suppressed_rows: set[int] = set()
    suppressed = dict.fromkeys(names, 0)
    while rare := _rare(current, k):
        counts = Counter(current)
        # What each removal would join: groups already there, and the other rare records
        # that would lose the same field (rare records that differ only in their sector
        # form a group once the sector goes).
        joined = [Counter(_without(current[i], c) for i in rare) for c in range(len(fields))]
        changed = False
        for i in rare:
            row = current[i]
            options = [col for col in range(len(fields)) if row[col] != SUPPRESSED]
            if not options:
                continue
            # Prefer the field whose removal joins the largest group; on a tie, the last
            # field (campaign before sector before regions...), least useful to analysis.
            col = max(options, key=lambda c: (counts[_without(row, c)]
                                              + joined[c][_without(row, c)], c))
            current[i] = _without(row, col)
            suppressed[names[col]] += 1
            suppressed_rows.add(i)
            changed = True
        if not changed:
            break
    final = Counter(current)
    report = DisclosureReport(
        k=k, records=len(current), quasi_identifiers=names, rare_before=rare_before,
        records_generalized=len(generalized_rows), generalized=generalized,
        records_suppressed=len(suppressed_rows), suppressed=suppressed,
        rare_after=sum(n for n in final.values() if n < k),
        smallest_group=min(final.values(), default=0), groups=len(final),
    )
    return current, report
