"""Default word lists for redaction, as plain text files: one folder per list, one file per
language (`common/en.txt`) or, for names and places, per script (`names/arab.txt`), since a
name crosses languages. Deployments add their own with --names/--places/--allow, in the same
format: one entry per line, `#` starts a comment line, entries may hold spaces ("Hong Kong").

- common: frequent words that may start a sentence capitalised without being a name
  (pronouns, articles, conjunctions...). A capitalised word at the start of a sentence is
  kept only if it is one of these.
- allowed: capitalised words that are not personal data anywhere in a sentence (the pronoun
  "I", months, weekdays, acronyms of this domain, titles such as "Mr", after which the name
  itself is still redacted).
- ambiguous: everyday words that are also names or places; an entry made only of such words
  is matched only when capitalised ("Grace told me", not "by the grace of god").
- names and places: given names and places common in migration corridors.

The files ship inside the package (package data) and are read like the migrations are.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

LISTS = ("common", "allowed", "ambiguous", "names", "places")


def parse(text: str) -> tuple[str, ...]:
    """Entries of a word list file: stripped lines, blank lines and `#` comments left out."""
    return tuple(" ".join(line.split()) for line in text.splitlines()
                 if line.strip() and not line.lstrip().startswith("#"))


@cache
def files(name: str) -> dict[str, tuple[str, ...]]:
    """One list's entries by language (or script) code, from the package's files."""
    if name not in LISTS:
        raise KeyError(name)
    folder = resources.files(__package__).joinpath(name)
    return {entry.name.removesuffix(".txt"): parse(entry.read_text(encoding="utf-8"))
            for entry in sorted(folder.iterdir(), key=lambda e: e.name)
            if entry.name.endswith(".txt")}


def entries(name: str) -> frozenset[str]:
    """Every entry of one list, all languages together."""
    return frozenset(entry for group in files(name).values() for entry in group)
