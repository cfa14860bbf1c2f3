"""The one-page summary for report writers: `report.html` plus PNG charts.

Counts and shares of closed answers only, with small counts hidden by the rules of
`bot.export.summary`. The page is self-contained HTML (inline style, no scripts, nothing
fetched from the web). Each table travels with its heading and its note as one block, so
they stay together on a phone, on a wide screen and on paper.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from html import escape
from pathlib import Path

from babel import Locale
from babel.core import UnknownLocaleError

from bot.export.charts import alt_text, bar_chart, cell_text
from bot.export.summary import (
    LANGUAGE_TITLE,
    MONTH_TITLE,
    NO_ANSWER,
    THEMES_TITLE,
    Table,
    Tally,
    skipped_titles,
)
from bot.small_counts import publishable

HTML_FILE = "report.html"
# One chart per overview table: themes, both regions, languages, months.
CHARTS = {THEMES_TITLE: "themes.png", "Testimonies by region of origin": "origin_regions.png",
          "Testimonies by region where people live now": "living_regions.png",
          LANGUAGE_TITLE: "languages.png", MONTH_TITLE: "months.png"}
OUTPUTS = (HTML_FILE, *CHARTS.values())

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 62rem; margin: 1.5rem auto;
       padding: 0 1rem; color: #1e1e1e; line-height: 1.45; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.25rem; margin: 2rem 0 .8rem; break-after: avoid; }
.blocks { display: grid; gap: 1.6rem 2rem; align-items: start;
          grid-template-columns: repeat(auto-fill, minmax(min(100%, 24rem), 1fr)); }
.block { margin: 0; break-inside: avoid; page-break-inside: avoid; }
.block h3 { font-size: 1rem; margin: 0 0 .2rem; }
.block .note { color: #5a5a5a; font-size: .9rem; margin: 0 0 .4rem; }
table { border-collapse: collapse; width: 100%; }
td { padding: .2rem .6rem .2rem 0; border-bottom: 1px solid #e3e3e3; vertical-align: top; }
td.n { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
td.hidden { color: #5a5a5a; font-style: italic; }
figure.block img { display: block; width: 100%; max-width: 600px; height: auto; }
@media print {
  body { max-width: none; margin: 0; padding: 0; font-size: 10pt; }
  .blocks { display: block; }
  .block { margin: 0 0 1.2rem; }
  figure.block img { max-width: 13cm; }
}
"""


def language_label(code: str) -> str:
    try:
        return Locale.parse(code).get_display_name("en") or code
    except (UnknownLocaleError, ValueError, TypeError):
        return code or "unknown"


def with_language_names(tables: list[Table]) -> list[Table]:
    return [replace(t, cells=tuple(replace(c, label=language_label(c.key)) for c in t.cells))
            if t.title == LANGUAGE_TITLE else t for t in tables]


def _note(item: Table, k: int) -> str:
    if item.withheld:
        return f"Not shown: {item.withheld}."
    if any(cell.key == NO_ANSWER for cell in item.cells):
        several = " Several answers per person." if item.multi else ""
        return f"Of {item.base} people asked, with those who gave no answer.{several}"
    several = " (several answers per person, so shares add up to more than 100%)" \
        if item.multi else ""
    return f"Answered by {item.base}{several}."


def _table_html(item: Table, k: int) -> str:
    rows = []
    for cell in item.cells:
        shown = cell_text(cell, k)
        if cell.count is None:
            rows.append(f"<tr><td>{escape(cell.label)}</td>"
                        f"<td class='n hidden' colspan='2'>{shown}</td></tr>")
            continue
        share = f"{cell.share:.0%}" if cell.share is not None else ""
        rows.append(f"<tr><td>{escape(cell.label)}</td><td class='n'>{cell.count}</td>"
                    f"<td class='n'>{share}</td></tr>")
    table = f"<table>{''.join(rows)}</table>" if rows else ""
    return (f"<section class='block'><h3>{escape(item.title)}</h3>"
            f"<p class='note'>{escape(_note(item, k))}</p>{table}</section>")


def _blocks(items: list[Table], k: int) -> str:
    return "<div class='blocks'>" + "".join(_table_html(t, k) for t in items) + "</div>"


def write_report(out: Path, tally: Tally, groups: Mapping[str, list[Table]], k: int,
                 today: date) -> list[str]:
    overview = [t for t in with_language_names(list(groups["overview"])) if t.base]
    questions = [t for t in groups["questions"] if t.base]
    skipped = skipped_titles(groups)
    written = [HTML_FILE]
    figures = []
    enough = publishable(tally.testimonies, k)
    for item in overview:
        name = CHARTS.get(item.title)
        if name and enough and not item.withheld:
            bar_chart(item, out / name, k)
            written.append(name)
            figures.append(f"<figure class='block'><img src='{name}' "
                           f"alt='{escape(alt_text(item, k), quote=True)}'></figure>")
    body = ["<h1>Testimonies: summary</h1>"]
    if not enough:
        body.append(f"<p>Made on {today.isoformat()}.</p><p><strong>Fewer than {k} "
                    "testimonies match: nothing can be shown.</strong></p>")
    else:
        body.append(
            f"<p>{tally.testimonies} testimonies from people who agreed to take part. Made on "
            f"{today.isoformat()}. So that no one can be recognised, numbers below {k} (zero "
            f"included) are written \u201cfewer than {k}\u201d, and where they could be worked "
            "out from the others and the total, more numbers are hidden too, written "
            "\u201chidden\u201d (those are not small themselves).</p>")
        if figures:
            body.append("<h2>Charts</h2><div class='blocks'>" + "".join(figures) + "</div>")
        body.append("<h2>Who spoke</h2>" + _blocks(overview, k))
        if questions:
            body.append("<h2>Key questions</h2>" + _blocks(questions, k))
        if skipped:
            body.append("<p class='note'>Left out because everyone skipped the question: "
                        + escape("; ".join(skipped)) + ".</p>")
    page = ("<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>Testimonies: summary</title><style>{_STYLE}</style></head><body>"
            + "".join(body) + "</body></html>\n")
    (out / HTML_FILE).write_text(page, encoding="utf-8")
    return written
