"""The form of a text that redaction matches against, and the way back to the original.

People write phone numbers with no-break or narrow spaces, en dashes, non-breaking hyphens
or Arabic commas between the groups, and e-mails with full-width at signs: patterns written
for plain spaces, hyphens and "@" would miss them. Matching therefore runs on the NFKC form
with every dash and space variant folded to "-" and " ", character by character so each
character of the matched form points back to the one it came from. The answer is written
as it was, except what is replaced by a placeholder.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

# Dashes and minus signs that NFKC leaves alone (U+2010..U+2015, minus, small forms...).
_DASHES = frozenset("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2043\ufe58\ufe63\u058a\u05be")
_ARABIC_COMMA = "\u060c"
_SPECIAL = re.compile(r"[^\x00-\x7f]")


@lru_cache(maxsize=4096)
def _fold(ch: str) -> str:
    if ch in _DASHES:
        return "-"
    folded = unicodedata.normalize("NFKC", ch)
    return " " if folded.isspace() and folded not in "\n\r\t" else folded


@dataclass(frozen=True)
class Normalised:
    text: str
    origin: tuple[int, ...] | None  # index in the original of each character; None: same

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original stretch that the matched stretch [start, end) came from."""
        if self.origin is None:
            return start, end
        return self.origin[start], self.origin[end - 1] + 1


def normalise(text: str) -> Normalised:
    if not _SPECIAL.search(text):
        return Normalised(text, None)  # plain ASCII: nothing to fold
    chars: list[str] = []
    origin: list[int] = []
    last = len(text) - 1
    for index, ch in enumerate(text):
        if ch == _ARABIC_COMMA and 0 < index < last and text[index - 1].isdigit() \
                and text[index + 1].isdigit():
            folded = " "  # "٠٥٠،١٢٣" groups digits, like a space
        else:
            folded = _fold(ch)
        chars.append(folded)
        origin.extend([index] * len(folded))
    joined = "".join(chars)
    if joined == text:
        return Normalised(text, None)
    return Normalised(joined, tuple(origin))
