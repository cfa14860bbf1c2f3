"""Everything the engine needs to hold a conversation, loaded once at start-up."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.flow import ConsentText, Questionnaire


@dataclass(frozen=True)
class Script:
    consent: ConsentText
    questionnaire: Questionnaire
    languages: tuple[str, ...]  # supported language codes; the first is the default
    language_names: Mapping[str, str]  # each language's name in its own script

    def __post_init__(self) -> None:
        if not self.languages:
            raise ValueError("a script needs at least one language")

    @property
    def default_language(self) -> str:
        return self.languages[0]
