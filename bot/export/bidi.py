"""Removing invisible direction and formatting controls from exported text.

Bidirectional overrides (U+202A-U+202E, U+2066-U+2069, LRM/RLM/ALM) can make a spreadsheet
cell display something other than what it holds ("Trojan Source"), and zero-width characters
can hide inside a phone number or a name and split it so that redaction misses it. They are
removed *before* redaction. The zero-width non-joiner (U+200C) and joiner (U+200D) stay:
Persian, Kurdish and several Indic scripts spell words with them.
"""

from __future__ import annotations

BIDI_CONTROLS = frozenset(
    "\u061c"  # ARABIC LETTER MARK
    "\u200e\u200f"  # LEFT-TO-RIGHT / RIGHT-TO-LEFT MARK
    "\u202a\u202b\u202c\u202d\u202e"  # embeddings, pop, overrides
    "\u2066\u2067\u2068\u2069"  # isolates
)
HIDDEN = frozenset(
    "\u00ad"  # SOFT HYPHEN
    "\u200b"  # ZERO WIDTH SPACE
    "\u2060"  # WORD JOINER
    "\ufeff"  # ZERO WIDTH NO-BREAK SPACE (a stray byte-order mark)
)
KEPT = frozenset("\u200c\u200d")  # ZWNJ, ZWJ: part of the spelling in several scripts

_TABLE: dict[int, str | None] = {ord(ch): None for ch in BIDI_CONTROLS | HIDDEN}
_TABLE |= {0x2028: "\n", 0x2029: "\n"}  # line / paragraph separators become plain newlines


def clean(text: str) -> str:
    """`text` without direction controls or hidden characters; ZWNJ and ZWJ are kept."""
    return text.translate(_TABLE)
