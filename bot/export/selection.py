"""The researcher's filters: campaign, theme, language, dates, complete only."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

from storage.reader import Testimony

THEMES_QUESTION = "themes"


@dataclass(frozen=True)
class Selection:
    campaigns: frozenset[str] = frozenset()
    themes: frozenset[str] = frozenset()
    languages: frozenset[str] = frozenset()
    since: date | None = None  # on the day the person started, inclusive
    until: date | None = None
    complete_only: bool = False

    def admits(self, testimony: Testimony, themes: Collection[str]) -> bool:
        if self.campaigns and (testimony.campaign or "") not in self.campaigns:
            return False
        if self.themes and self.themes.isdisjoint(themes):
            return False
        language = testimony.consent.language if testimony.consent else None
        if self.languages and language not in self.languages:
            return False
        started = date.fromisoformat(testimony.started_on)
        if self.since and started < self.since:
            return False
        if self.until and started > self.until:
            return False
        return not (self.complete_only and testimony.completed_on is None)
