"""Funnel figures as field workers see them: small counts masked, never identities.

A field worker who brought one person to a link must not learn what that person did, so
every count below the threshold — zero included — shows as "<5" (the rule in
`bot.small_counts`, which the report and the export's disclosure report follow too).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bot.small_counts import shown_short
from storage.links import FUNNEL, LinkFigures

MASK_BELOW = 5
COLUMN_TITLES = {
    "opened": "opened", "language_chosen": "language", "consented": "consented",
    "declined": "declined", "under_age": "under 18", "theme_answered": "answered a theme",
    "completed": "completed", "deleted": "deleted", "reminder_asked": "reminder asked",
    "reminder_sent": "reminder sent", "reminder_continued": "continued after a reminder",
}


def mask(count: int) -> str:
    return shown_short(count, MASK_BELOW)


def masked(counts: Mapping[str, int]) -> dict[str, str]:
    return {metric: mask(counts.get(metric, 0)) for metric in FUNNEL}


@dataclass(frozen=True)
class CampaignFigures:
    campaign: str
    links: int
    counts: dict[str, int]


def by_campaign(figures: Iterable[LinkFigures]) -> list[CampaignFigures]:
    totals: dict[str, CampaignFigures] = {}
    for item in figures:
        entry = totals.setdefault(item.link.campaign,
                                  CampaignFigures(item.link.campaign, 0, {}))
        counts = dict(entry.counts)
        for source in (item.live, item.expired):
            for metric, count in source.items():
                counts[metric] = counts.get(metric, 0) + count
        totals[item.link.campaign] = CampaignFigures(entry.campaign, entry.links + 1, counts)
    return sorted(totals.values(), key=lambda c: c.campaign)


def table(rows: list[list[str]]) -> str:
    """A plain-text table (for the terminal and for Telegram's monospace blocks)."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
                     .rstrip() for row in rows)
