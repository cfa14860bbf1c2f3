"""Names and places: configurable lists in any script, plus a capitalisation heuristic for
Latin script.

Lists are matched word by word, ignoring case and accents ("jose" finds "José"), on up to
four words ("Addis Ababa"); Arabic words are also tried without an attached conjunction,
preposition or article ("بدبي" = "in Dubai"). An entry that is also an everyday word is
matched only when capitalised.

The heuristic: a capitalised Latin-script word is taken for a name (or a place, after "in",
"from", "sa", "di"...) unless it starts a sentence and is a common word, or is on the allowed
list (months, "I", titles...). Text written all in capitals cannot be read that way: the
heuristic is skipped and the answer is flagged for review.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise

from bot.export import wordlists
from bot.export.spans import HEURISTIC_RULE, Kind, Span, key_for

# Python's \w leaves out combining marks, which would cut "सीता" into "स" and "त": the letter
# class adds the marks of the scripts the bot is used in (Indic, Sinhala, Thai, Myanmar, Khmer,
# Arabic and Hebrew vowel signs, combining accents) and ZWNJ/ZWJ, but not their full stops.
_LETTER = (r"[\w\u0300-\u036f\u0591-\u05c7\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed"
           r"\u0900-\u0963\u0966-\u096f\u0971-\u0dff\u0e00-\u0eff\u1000-\u1049"
           r"\u104c-\u109f\u1780-\u17d3\u17d7-\u17ff\u200c\u200d]")
WORD = re.compile(rf"{_LETTER}+(?:['’]{_LETTER}+)?")
SENTENCE_END = frozenset(".!?…:;\n\"“”«»()[]*•-–—।॥။።؟") | {"¿", "¡"}
LOCATIVES = frozenset((  # words after which a capitalised word is taken for a place
    "in", "at", "from", "to", "near", "into", "inside", "outside", "en", "de", "desde", "a",
    "à", "au", "aux", "dans", "vers", "em", "para", "no", "na", "sa", "taga", "mula", "di",
    "ke", "dari", "menuju", "dekat", "ya", "kwa", "huko"))
_ARABIC_PREFIXES = ("وبال", "فبال", "وال", "بال", "فال", "كال", "لل", "ال", "و", "ب", "ل", "ف", "ك")
# Words after which a name usually follows ("my employer Lina", "Madam Rosa", "SIR AHMED").
TITLES = frozenset(("employer", "madam", "madame", "maam", "ma'am", "mam", "sir", "boss", "mr",
                    "mrs", "ms", "miss", "señora", "senora", "señor", "senor"))
TITLE_GAP = frozenset((" ", ", ", ": ", "\u00a0"))
ALL_CAPS_SHARE = 0.7
ALL_CAPS_MIN_LETTERS = 12


# Arabic-script spellings that differ between Arabic, Persian and Urdu writers of one name
# ("فاطمة" / "فاطمه", "علي" / "علی"), and hamza forms of alif, folded to one form.
_ARABIC_VARIANTS = str.maketrans({"ة": "ه", "ى": "ي", "ی": "ي", "ک": "ك", "أ": "ا", "إ": "ا",
                                  "آ": "ا", "’": "'"})


@lru_cache(maxsize=65536)  # words repeat a lot; NFKD is the costly part
def fold(word: str) -> str:
    """Lower case without accents or Arabic vowel marks: "José" -> "jose"."""
    decomposed = unicodedata.normalize("NFKD", word.translate(_ARABIC_VARIANTS))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


@lru_cache(maxsize=8192)
def _is_latin_letter(ch: str) -> bool:
    return ch.isalpha() and (ch.isascii() or "LATIN" in unicodedata.name(ch, ""))


def _is_arabic(word: str) -> bool:
    return "\u0600" <= word[0] <= "\u06ff"


@dataclass(frozen=True)
class _Word:
    start: int
    end: int
    text: str
    folded: str
    capitalised: bool
    sentence_start: bool


@lru_cache(maxsize=4)  # the same answer is read for names, then for a title's lower-case word
def _words(text: str) -> list[_Word]:
    found: list[_Word] = []
    previous_end = 0
    for m in WORD.finditer(text):
        word = m.group()
        between = text[previous_end:m.start()]
        sentence_start = not found or not SENTENCE_END.isdisjoint(between)
        found.append(_Word(m.start(), m.end(), word, fold(word), word[0].isupper(),
                           sentence_start))
        previous_end = m.end()
    return found


def all_caps(text: str) -> bool:
    upper = sum(map(str.isupper, text))
    cased = upper + sum(map(str.islower, text))
    return cased >= ALL_CAPS_MIN_LETTERS and upper / cased >= ALL_CAPS_SHARE


class NameFinder:
    def __init__(self, names: Iterable[str] = (), places: Iterable[str] = (),
                 allowed: Iterable[str] = (), use_defaults: bool = True) -> None:
        defaults = use_defaults  # False in tests that want only their own lists
        common = wordlists.entries("common") if defaults else frozenset()
        self.common = {fold(w) for w in common}
        self.allowed = {fold(w) for w in (*(wordlists.entries("allowed") if defaults else ()),
                                          *allowed)}
        ambiguous = self.common | self.allowed | {fold(w)
                                                  for w in wordlists.entries("ambiguous")}
        self.entries: dict[str, Kind] = {}
        self.capitalised_only: set[str] = set()
        self.longest: dict[str, int] = {}  # first word of an entry -> most words it spans
        for kind, entries in (
                (Kind.NAME, (*(wordlists.entries("names") if defaults else ()), *names)),
                (Kind.PLACE, (*(wordlists.entries("places") if defaults else ()), *places))):
            for entry in entries:
                key = " ".join(fold(w) for w in WORD.findall(entry))
                if not key:
                    continue
                self.entries.setdefault(key, kind)
                parts = key.split()
                self.longest[parts[0]] = max(self.longest.get(parts[0], 0), len(parts))
                if all(part in ambiguous for part in parts):
                    self.capitalised_only.add(key)

    def find(self, text: str) -> tuple[list[Span], bool]:
        """Spans of names and places, and whether the text needs a person's review."""
        words = _words(text)
        listed = list(self._listed(text, words))
        covered = {i for _, first, last in listed for i in range(first, last + 1)}
        spans = [span for span, _, _ in listed]
        shouting = all_caps(text)
        if shouting:  # capitals tell nothing; a word after a title is still a name
            spans += [span for index, span in self._after_titles(text, words)
                      if index not in covered and words[index].capitalised]
        else:
            spans += self._capitalised(words, covered)
        return spans, shouting

    def _after_titles(self, text: str, words: list[_Word]) -> Iterator[tuple[int, Span]]:
        """Words right after a title that are not everyday words: likely names."""
        for index, (title, word) in enumerate(pairwise(words), start=1):
            if title.folded not in TITLES or text[title.end:word.start] not in TITLE_GAP:
                continue
            if word.folded in self.common or word.folded in self.allowed \
                    or word.folded in TITLES or any(ch.isdigit() for ch in word.text):
                continue
            yield index, Span(word.start, word.end, Kind.NAME, "after-title",
                              key_for(Kind.NAME, word.text))

    def lower_case_after_title(self, text: str, spans: list[Span]) -> bool:
        """A lower-case word after a title ("my employer lina") that nothing replaced: it
        may be a name the lists do not know, for a person to decide."""
        hidden = [(s.start, s.end) for s in spans]
        for _, span in self._after_titles(text, _words(text)):
            if text[span.start].islower() and not any(a <= span.start < b for a, b in hidden):
                return True
        return False

    def _listed(self, text: str, words: list[_Word]) -> Iterator[tuple[Span, int, int]]:
        index = 0
        while index < len(words):
            match = self._match_at(text, words, index)
            if match is None:
                index += 1
                continue
            last, kind = match
            start, end = words[index].start, words[last].end
            rule = "names-list" if kind is Kind.NAME else "places-list"
            yield Span(start, end, kind, rule, key_for(kind, text[start:end])), index, last
            index = last + 1

    def _match_at(self, text: str, words: list[_Word], index: int) -> tuple[int, Kind] | None:
        for first in self._first_forms(words[index].folded):
            longest = self.longest.get(first)
            if not longest:  # the usual case: no entry starts with this word
                continue
            for size in range(min(longest, len(words) - index), 0, -1):
                group = words[index:index + size]
                if any(text[a.end:b.start] not in (" ", "-", "\u00a0")
                       for a, b in pairwise(group)):
                    continue
                key = " ".join((first, *(w.folded for w in group[1:])))
                kind = self.entries.get(key)
                if kind is None or not self._case_fits(key, group):
                    continue
                return index + size - 1, kind
        return None

    def _case_fits(self, key: str, group: list[_Word]) -> bool:
        if key not in self.capitalised_only:
            return True
        if not all(w.capitalised for w in group):
            return False
        # "Sana po..." (Tagalog: "I hope..."), "Lima taon..." ("five years") start sentences.
        return not (group[0].sentence_start and key in self.common)

    @staticmethod
    def _first_forms(folded: str) -> Iterator[str]:
        yield folded
        if _is_arabic(folded):  # "بدبي" = "in Dubai": try without the attached word
            for prefix in _ARABIC_PREFIXES:
                if folded.startswith(prefix) and len(folded) - len(prefix) >= 2:
                    yield folded[len(prefix):]

    def _capitalised(self, words: list[_Word], covered: set[int]) -> Iterator[Span]:
        for index, word in enumerate(words):
            if index in covered or not word.capitalised or not _is_latin_letter(word.text[0]):
                continue
            if any(ch.isdigit() for ch in word.text):
                continue  # codes are the ID rule's business
            stem = word.folded.split("'")[0]  # "Don't", "L'agence", "I'm"
            singular = word.folded[:-1] if word.folded.endswith("s") else word.folded
            if {word.folded, stem, singular} & self.allowed:  # "Sundays", "I'm"
                continue
            if word.sentence_start and (word.folded in self.common or stem in self.common):
                continue
            previous = words[index - 1].folded if index else ""
            kind = Kind.PLACE if previous in LOCATIVES else Kind.NAME
            yield Span(word.start, word.end, kind, HEURISTIC_RULE, key_for(kind, word.text))
