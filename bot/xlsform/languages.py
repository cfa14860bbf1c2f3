"""XLSForm language names (`French (fr)`, `Arabic`) to the codes our catalogs use."""

from __future__ import annotations

import re
from functools import lru_cache

from babel import Locale

LANGUAGE = re.compile(r"\s*(?P<name>.*?)\s*\((?P<code>[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]+)*)\)\s*")


@lru_cache(maxsize=1)
def _english_names() -> dict[str, str]:
    return {name.casefold(): code for code, name in Locale("en").languages.items()
            if "_" not in code}


def language_code(name: str) -> str | None:
    """`French (fr)` -> `fr`; `Arabic` -> `ar` (by its English name); None if unknown."""
    match = LANGUAGE.fullmatch(name)
    if match:
        return match["code"].replace("-", "_")
    return _english_names().get(name.strip().casefold())


def language_label(code: str) -> str:
    """`fr` -> `French (fr)`, as XLSForm columns name a language."""
    english = Locale("en").languages.get(code)
    if english is None:
        try:
            english = Locale.parse(code).get_display_name("en") or code
        except (ValueError, LookupError):
            english = code
    return f"{english} ({code})"
