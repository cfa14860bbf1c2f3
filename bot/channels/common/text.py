"""Texts within a platform's limits: long texts split at paragraphs, lines or spaces, and
labels shortened at a word boundary (never in the middle of a word)."""

from __future__ import annotations

from collections.abc import Callable

Measure = Callable[[str], int]
ELLIPSIS = "…"


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int, measure: Measure = len) -> list[str]:
    """Parts of at most `limit` (as `measure` counts), cut at a paragraph, line or space if
    possible."""
    text = text.strip() or ELLIPSIS
    parts: list[str] = []
    while measure(text) > limit:
        cut = _cut_point(text, limit, measure)
        parts.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    parts.append(text)
    return [p for p in parts if p]


def _cut_point(text: str, limit: int, measure: Measure) -> int:
    end = min(len(text), limit)
    while measure(text[:end]) > limit:  # UTF-16 counts astral characters twice
        end -= 1
    window = text[:end]
    for separator in ("\n\n", "\n", " "):
        at = window.rfind(separator)
        if at > end // 2:
            return at + len(separator)
    return end


def shorten(label: str, limit: int) -> str | None:
    """`label` within `limit` characters, cut after a whole word with an ellipsis; None when
    not even its first word fits (the caller then shows the options another way)."""
    label = " ".join(label.split())
    if len(label) <= limit:
        return label
    room = limit - len(ELLIPSIS)
    cut = label.rfind(" ", 0, room + 1)  # a space at `room` still leaves the word whole
    if cut <= 0:
        return None
    kept = label[:cut].rstrip(" ,;:-–(")
    return kept + ELLIPSIS if kept else None
