"""Rendering engine texts in a person's language through gettext catalogs.

Catalogs live in `locales/<lang>/LC_MESSAGES/messages.mo` (compiled by `make`); fuzzy entries
are left out when compiling, so an English source that changed falls back to English until a
translator confirms the new translation.
"""

from __future__ import annotations

import gettext
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path

from babel import Locale, negotiate_locale
from babel.core import UnknownLocaleError
from babel.numbers import format_decimal

from bot.engine.text import Text
from bot.flow.model import PLACEHOLDER

DOMAIN = "messages"
SOURCE_LANGUAGE = "en"
DEFAULT_LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"


def available_languages(locales_dir: Path) -> tuple[str, ...]:
    """English first, then every language with a compiled catalog, sorted by code."""
    found = sorted(
        path.parent.parent.name
        for path in locales_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.mo")
        if path.parent.parent.name != SOURCE_LANGUAGE
    )
    return (SOURCE_LANGUAGE, *found)


# Where CLDR's own name is not what speakers call the language in a picker.
NAME_OVERRIDES = {
    "tl": "Tagalog",
    "fa": "فارسی / دری",  # Afghan Dari speakers read Persian
    "id": "Bahasa Indonesia",  # CLDR says "Indonesia", the country
}


def language_name(code: str) -> str:
    """A language's name in its own script ("العربية", "Tagalog"), for the picker."""
    if code in NAME_OVERRIDES:
        return NAME_OVERRIDES[code]
    try:
        locale = Locale.parse(code)
    except (UnknownLocaleError, ValueError):
        return code
    name = locale.get_display_name(locale) or code
    return name[:1].upper() + name[1:]


def negotiate(preferred: str | None, supported: Iterable[str]) -> str | None:
    """Map a platform language code (`pt-br`, `fil`) onto one we support, or None."""
    if not preferred:
        return None
    supported = tuple(supported)
    candidates = [preferred.replace("-", "_"), preferred.split("-")[0].split("_")[0]]
    aliases = {"fil": "tl", "tl": "fil"}
    candidates += [aliases[c] for c in candidates if c in aliases]
    return negotiate_locale(candidates, supported, sep="_")


class Translator:
    """Holds loaded catalogs; renders a Text into one language."""

    def __init__(self, locales_dir: Path = DEFAULT_LOCALES_DIR) -> None:
        self.locales_dir = locales_dir
        self.languages = available_languages(locales_dir)

    @lru_cache(maxsize=64)  # noqa: B019 - one Translator per process, catalogs are immutable
    def catalog(self, language: str) -> gettext.NullTranslations:
        catalog = gettext.translation(
            DOMAIN, localedir=self.locales_dir, languages=[language], fallback=True
        )
        if self.locales_dir.resolve() != DEFAULT_LOCALES_DIR:
            # An imported questionnaire's catalogs hold its own texts; the interface and the
            # shipped consent text come from the bot's catalogs.
            catalog.add_fallback(gettext.translation(
                DOMAIN, localedir=DEFAULT_LOCALES_DIR, languages=[language], fallback=True))
        return catalog

    def render(self, text: Text, language: str) -> str:
        if text.verbatim:
            return text.msgid
        catalog = self.catalog(language)
        if text.plural is not None and text.count is not None:
            if text.context:
                template = catalog.npgettext(text.context, text.msgid, text.plural, text.count)
            else:
                template = catalog.ngettext(text.msgid, text.plural, text.count)
        elif text.context:
            template = catalog.pgettext(text.context, text.msgid)
        else:
            template = catalog.gettext(text.msgid)
        return _fill(template, dict(text.params), language)

    def short(self, text: Text, language: str) -> str | None:
        """A label's short form (for platforms with tight button limits), if the catalog has
        one: the same msgid under the context `<context>|short`. None otherwise."""
        if text.verbatim or text.context is None:
            return None
        context = f"{text.context}|short"
        short = self.catalog(language).pgettext(context, text.msgid)
        return short if short and short != text.msgid else None

    def names(self) -> Mapping[str, str]:
        return {code: language_name(code) for code in self.languages}


def _fill(template: str, params: Mapping[str, str | int], language: str) -> str:
    if not params:
        return template
    shown = {k: _number(v, language) if isinstance(v, int) else v for k, v in params.items()}
    if "${" in template:  # a questionnaire text showing earlier answers: "You said ${age}."
        return PLACEHOLDER.sub(lambda m: str(shown.get(m[1], m[0])), template)
    try:
        return template.format_map(shown)
    except (KeyError, IndexError, ValueError, AttributeError):
        # A broken translation must never crash the bot: fall back to plain substitution.
        return template


def _number(value: int, language: str) -> str:
    """Numbers as the person's locale writes them (babel), plain digits if babel lacks it."""
    try:
        return format_decimal(value, locale=language)
    except (UnknownLocaleError, ValueError):
        return str(value)
