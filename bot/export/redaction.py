"""Free-text redaction with numbered placeholders: `[PHONE-1]`, `[EMAIL-1]`, `[NAME-2]`...

Numbers are per testimony: the same phone number written twice, or a name in two answers,
gets the same placeholder, so a reader can still follow the story ("[NAME-1] told [NAME-2]").
Each replacement is reported as a `Note` (where, which kind, which rule) for the mandatory
human review; the original value is never kept or written.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from bot.export import patterns
from bot.export.names import NameFinder
from bot.export.normalise import normalise
from bot.export.phones import PhoneTest
from bot.export.regions import phone_regions
from bot.export.spans import Kind, Span, merge

PLACEHOLDER = re.compile(r"\[(?:PHONE|EMAIL|ID|NAME|PLACE|URL)-\d+\]")
REVIEW_ALL_CAPS = "all-caps: names could not be told by capital letters; read it in full"
REVIEW_SCRIPT = ("{script} script: names not on the lists cannot be found in it; read it in "
                 "full")
REVIEW_LOWER_CASE = ("lower-case word after a title (employer, madam, sir, boss...) may be a "
                     "name; read it in full")
# Scripts without capital letters, in which only listed names are found (NFKC has already
# turned Arabic presentation forms into the letters of the main block).
SCRIPTS = (("Arabic", "\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff"),
           ("Devanagari", "\u0900-\u097f"), ("Bengali", "\u0980-\u09ff"),
           ("Sinhala", "\u0d80-\u0dff"), ("Burmese", "\u1000-\u109f"),
           ("Ethiopic", "\u1200-\u139f\u2d80-\u2ddf"))
_SCRIPT_PATTERNS = tuple((name, re.compile(f"[{letters}]")) for name, letters in SCRIPTS)


@dataclass(frozen=True)
class Note:
    """One replacement (or a review flag when `placeholder` is empty)."""

    question_id: str
    placeholder: str
    kind: str
    rule: str
    position: int  # character offset of the placeholder in the redacted answer


@dataclass
class Numbering:
    """Placeholder numbers for one testimony."""

    assigned: dict[tuple[Kind, str], str] = field(default_factory=dict)
    counts: dict[Kind, int] = field(default_factory=dict)

    def placeholder(self, kind: Kind, key: str) -> str:
        found = self.assigned.get((kind, key))
        if found is None:
            number = self.counts.get(kind, 0) + 1
            self.counts[kind] = number
            found = self.assigned[(kind, key)] = f"[{kind.value}-{number}]"
        return found


@dataclass(frozen=True)
class Redacted:
    text: str
    notes: tuple[Note, ...]


class Redactor:
    def __init__(self, names: NameFinder, phone_regions: tuple[str, ...] = ()) -> None:
        self.names = names
        self.phone_regions = phone_regions  # countries added to each person's own regions

    def spans(self, text: str, regions: tuple[str, ...]) -> tuple[list[Span], list[str]]:
        """Spans in `text` (already normalised) and the reasons to read it in full.
        `regions`: the person's region answers (origin, where living), for phone formats."""
        is_phone = PhoneTest(phone_regions(regions, self.phone_regions))
        found: list[Span] = []
        found += patterns.find_emails(text)
        found += patterns.find_urls(text)
        found += patterns.find_codes(text)
        found += patterns.find_numbers(text, is_phone)
        found += patterns.find_short_numbers(text)
        named, shouting = self.names.find(text)
        spans = merge(found + named, text)
        reviews = [REVIEW_ALL_CAPS] if shouting else []
        reviews += [REVIEW_SCRIPT.format(script=name) for name, pattern in _SCRIPT_PATTERNS
                    if pattern.search(text)]
        if self.names.lower_case_after_title(text, spans):
            reviews.append(REVIEW_LOWER_CASE)
        return spans, reviews

    def redact(self, question_id: str, text: str, regions: Iterable[str],
               numbering: Numbering) -> Redacted:
        # Text that already looks like a placeholder must not pass for one of ours.
        text = PLACEHOLDER.sub(lambda m: "(" + m.group()[1:-1] + ")", text)
        matched = normalise(text)
        spans, reviews = self.spans(matched.text, tuple(regions))
        out: list[str] = []
        notes: list[Note] = []
        cursor = 0
        length = 0
        for span in spans:
            start, end = matched.span(span.start, span.end)
            out.append(text[cursor:start])
            length += start - cursor
            placeholder = numbering.placeholder(span.kind, span.key)
            notes.append(Note(question_id, placeholder, span.kind.value, span.rule, length))
            out.append(placeholder)
            length += len(placeholder)
            cursor = end
        out.append(text[cursor:])
        notes += [Note(question_id, "", "REVIEW", reason, 0) for reason in reviews]
        return Redacted("".join(out), tuple(notes))
