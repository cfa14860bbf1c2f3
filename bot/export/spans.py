"""A stretch of text that redaction will replace, and how overlapping finds are combined."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    """Placeholder kinds, in the order they win when finds overlap."""

    EMAIL = "EMAIL"
    URL = "URL"
    PHONE = "PHONE"
    ID = "ID"
    PLACE = "PLACE"
    NAME = "NAME"


_RANK = {kind: rank for rank, kind in enumerate(Kind)}
HEURISTIC_RULE = "capitalised"


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    kind: Kind
    rule: str  # which detector found it, for the reviewer (never the value itself)
    key: str  # the value normalized, so the same phone or name gets the same number

    def __post_init__(self) -> None:
        if not 0 <= self.start < self.end:
            raise ValueError("a span covers at least one character")


def merge(spans: list[Span], text: str) -> list[Span]:
    """Non-overlapping spans in order. Overlaps are unioned, never dropped: dropping the
    shorter of two overlapping finds could leave part of an identifier in the text.
    Names and places separated only by a space or hyphen become one ("Maria Santos")."""
    merged: list[Span] = []
    for span in sorted(spans, key=lambda s: (s.start, -s.end, _RANK[s.kind])):
        if merged:
            last = merged[-1]
            gap = text[last.end:span.start]
            joins_words = (last.kind in (Kind.NAME, Kind.PLACE)
                           and span.kind in (Kind.NAME, Kind.PLACE)
                           and span.start >= last.end and gap in (" ", "-", "\u00a0"))
            if span.start < last.end or joins_words:
                kind = min(last.kind, span.kind, key=lambda k: _RANK[k])
                if {last.kind, span.kind} == {Kind.NAME, Kind.PLACE} and joins_words:
                    # A word found in a list knows better than the capitalisation guess.
                    kind = span.kind if (last.rule == HEURISTIC_RULE
                                         and span.rule != HEURISTIC_RULE) else last.kind
                end = max(last.end, span.end)
                rule = "+".join(sorted({*last.rule.split("+"), *span.rule.split("+")}))
                merged[-1] = Span(last.start, end, kind, rule,
                                  key_for(kind, text[last.start:end]))
                continue
        merged.append(span)
    return merged


def key_for(kind: Kind, value: str) -> str:
    """The same phone written two ways, or a name in two cases, gets one placeholder."""
    if kind is Kind.PHONE:
        digits = "".join(ch for ch in value if ch.isdigit())
        return digits[-9:]
    return " ".join(value.casefold().split())
