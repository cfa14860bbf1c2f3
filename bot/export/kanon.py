"""k-anonymity over every column an export releases about a person.

Re-identification in small communities comes from combinations: "a woman of 55+ from East
Africa, living in Europe, in farming, from campaign X" may be one person, and so may "the
Amharic speaker who started in March and did not finish". Every combination shared by fewer
than k exported people is made coarser, one step at a time and only for those people:
regions to continents and months to quarters, then age bands widened and quarters to years,
then single fields suppressed
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

from bot.small_counts import publishable, shown

SUPPRESSED = "*"
Row = tuple[str, ...]


@dataclass(frozen=True)
class QuasiIdentifier:
    name: str
    wider: Mapping[str, str] = field(default_factory=dict)  # value -> coarser value
    step: int = 0  # generalization round (1, 2...); 0 = never generalized, only suppressed
    later: tuple[tuple[int, Mapping[str, str]], ...] = ()  # further rounds: (step, wider)

    @property
    def levels(self) -> dict[int, Mapping[str, str]]:
        found = {self.step: self.wider} if self.step else {}
        return found | dict(self.later)


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
        """The report as short sentences for people. Counts of people follow the rule of
        `bot.small_counts` (below k, zero included: "fewer than k"), as the report does."""
        k = self.k
        lines = [
            f"k = {k}: every combination of {', '.join(self.quasi_identifiers)} must be "
            f"shared by at least {k} exported testimonies.",
            f"Testimonies exported: {shown(self.records, k)}.",
            f"In a combination rarer than k before any change: {shown(self.rare_before, k)}.",
            f"Records generalized: {shown(self.records_generalized, k)} "
            + _per_field(self.generalized, k) + ".",
            f"Records with a field suppressed: {shown(self.records_suppressed, k)} "
            + _per_field(self.suppressed, k) + ".",
            f"Groups after: {self.groups}; smallest group: {shown(self.smallest_group, k)}.",
        ]
        if self.rare_after:
            lines.append("Still rarer than k with every field suppressed: "
                         f"{shown(self.rare_after, k)} (they show no quasi-identifier at all).")
        return lines

    def published(self) -> dict[str, object]:
        """The report for `disclosure_report.json`, counts of people under the same rule:
        a count below k is the string "<k"."""
        def count(n: int) -> int | str:
            return n if publishable(n, self.k) else f"<{self.k}"

        return {
            "k": self.k, "records": count(self.records),
            "quasi_identifiers": list(self.quasi_identifiers),
            "rare_before": count(self.rare_before),
            "records_generalized": count(self.records_generalized),
            "generalized": {name: count(n) for name, n in self.generalized.items()},
            "records_suppressed": count(self.records_suppressed),
            "suppressed": {name: count(n) for name, n in self.suppressed.items()},
            "rare_after": count(self.rare_after),
            "smallest_group": count(self.smallest_group), "groups": self.groups,
        }


def _per_field(counts: Mapping[str, int], k: int) -> str:
    listed = ", ".join(f"{name} {shown(n, k)}" for name, n in counts.items() if n)
    return f"({listed})" if listed else "(none)"


def _without(row: Row, col: int) -> Row:
    return (*row[:col], SUPPRESSED, *row[col + 1:])


def _rare(rows: Sequence[Row], k: int) -> list[int]:
    counts = Counter(rows)
    return [i for i, row in enumerate(rows) if counts[row] < k]


def _ladder(value: str, levels: Mapping[int, Mapping[str, str]]) -> list[str]:
    """A value from its own detail up to its coarsest form."""
    found = [value]
    for step in sorted(levels):
        wider = levels[step]
        if found[-1] in wider:
            found.append(wider[found[-1]])
    return found


def _restore(original: Sequence[Row], current: list[Row],
             levels: Sequence[Mapping[int, Mapping[str, str]]], k: int) -> None:
    """Give back detail that was not needed. Coarsening works record by record, so a record
    rare because of its themes also loses its region and its month; afterwards, each group
    of k or more gets a field back (as detailed as possible) wherever every group it splits
    into still holds k people. Other groups are untouched, so k-anonymity still holds."""
    groups: dict[Row, list[int]] = {}
    for i, row in enumerate(current):
        groups.setdefault(row, []).append(i)
    work = list(groups)
    while work:
        members = groups.get(work.pop(), [])
        if len(members) < k:
            continue
        split = _split(original, current, members, levels, k)
        if split is None:
            continue
        del groups[current[members[0]]]
        for i, value in split.items():
            current[i] = value
            groups.setdefault(value, []).append(i)
        work.extend(set(split.values()))


def _split(original: Sequence[Row], current: Sequence[Row], members: list[int],
           levels: Sequence[Mapping[int, Mapping[str, str]]], k: int) -> dict[int, Row] | None:
    """The first field (in order) that can be made more detailed for this group."""
    for col, level in enumerate(levels):
        now = current[members[0]][col]
        for depth in range(len(level) + 1):
            values = {}
            for i in members:
                ladder = _ladder(original[i][col], level)
                values[i] = ladder[min(depth, len(ladder) - 1)]
            if all(value == now for value in values.values()):
                break  # as detailed as this group can be
            if min(Counter(values.values()).values()) >= k:
                return {i: (*current[i][:col], values[i], *current[i][col + 1:])
                        for i in members}
    return None


def anonymize(rows: Sequence[Row], fields: Sequence[QuasiIdentifier],
              k: int) -> tuple[list[Row], DisclosureReport]:
    if k < 1:
        raise ValueError("k must be at least 1")
    current = list(rows)
    names = tuple(f.name for f in fields)
    rare_before = len(_rare(current, k))
    levels = [f.levels for f in fields]
    for step in sorted({step for level in levels for step in level}):
        for i in _rare(current, k):
            values = list(current[i])
            for col, level in enumerate(levels):
                wider = level.get(step, {})
                if values[col] in wider:
                    values[col] = wider[values[col]]
            current[i] = tuple(values)
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
            changed = True
        if not changed:
            break
    _restore(rows, current, levels, k)
    generalized_by = [{i for i, (a, b) in enumerate(zip(rows, current, strict=True))
                       if a[col] != b[col] and b[col] != SUPPRESSED} for col in range(len(names))]
    suppressed_by = [{i for i, (a, b) in enumerate(zip(rows, current, strict=True))
                      if a[col] != b[col] and b[col] == SUPPRESSED} for col in range(len(names))]
    generalized = {name: len(found) for name, found in zip(names, generalized_by, strict=True)}
    suppressed = {name: len(found) for name, found in zip(names, suppressed_by, strict=True)}
    generalized_rows = set().union(*generalized_by)
    suppressed_rows = set().union(*suppressed_by)
    final = Counter(current)
    report = DisclosureReport(
        k=k, records=len(current), quasi_identifiers=names, rare_before=rare_before,
        records_generalized=len(generalized_rows), generalized=generalized,
        records_suppressed=len(suppressed_rows), suppressed=suppressed,
        rare_after=sum(n for n in final.values() if n < k),
        smallest_group=min(final.values(), default=0), groups=len(final),
    )
    return current, report
