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
from bot.export.phones import PhoneTest
from bot.export.regions import phone_regions
from bot.export.spans import Kind, Span, merge

PLACEHOLDER = re.compile(r"\[(?:PHONE|EMAIL|ID|NAME|PLACE|URL)-\d+\]")
REVIEW_ALL_CAPS = "all-caps: names could not be told by capital letters; read it in full"


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

    def spans(self, text: str, regions: tuple[str, ...]) -> tuple[list[Span], bool]:
        """`regions`: the person's region answers (origin, where living), for phone formats."""
        is_phone = PhoneTest(phone_regions(regions, self.phone_regions))
        found: list[Span] = []
        found += patterns.find_emails(text)
        found += patterns.find_urls(text)
        found += patterns.find_codes(text)
        found += patterns.find_numbers(text, is_phone)
        named, review = self.names.find(text)
        return merge(found + named, text), review

    def redact(self, question_id: str, text: str, regions: Iterable[str],
               numbering: Numbering) -> Redacted:
        # Text that already looks like a placeholder must not pass for one of ours.
        text = PLACEHOLDER.sub(lambda m: "(" + m.group()[1:-1] + ")", text)
        spans, review = self.spans(text, tuple(regions))
        out: list[str] = []
        notes: list[Note] = []
        cursor = 0
        length = 0
        for span in spans:
            out.append(text[cursor:span.start])
            length += span.start - cursor
            placeholder = numbering.placeholder(span.kind, span.key)
            notes.append(Note(question_id, placeholder, span.kind.value, span.rule, length))
            out.append(placeholder)
            length += len(placeholder)
            cursor = span.end
        out.append(text[cursor:])
        if review:
            notes.append(Note(question_id, "", "REVIEW", REVIEW_ALL_CAPS, 0))
        return Redacted("".join(out), tuple(notes))
