"""The one-page summary for report writers: `report.html` plus two PNG charts.

Counts and shares of closed answers only; every cell below k is shown as "fewer than k".
The page is self-contained HTML (inline style, no scripts, nothing fetched from the web).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from html import escape
from pathlib import Path

from babel import Locale
from babel.core import UnknownLocaleError

from bot.export.charts import bar_chart
from bot.export.summary import Table, Tally

HTML_FILE = "report.html"
THEMES_CHART = "themes.png"
MONTHS_CHART = "months.png"

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; color: #1e1e1e;
       line-height: 1.4; padding: 0 1rem; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.2rem; margin-top: 2rem; }
h3 { font-size: 1rem; margin: 1.2rem 0 .3rem; }
table { border-collapse: collapse; margin-bottom: .8rem; }
td, th { padding: .15rem .8rem .15rem 0; text-align: left; vertical-align: top; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.muted { color: #6e6e6e; } img { max-width: 100%; }
.columns { display: grid; grid-template-columns: repeat(auto-fit, minmax(18rem, 1fr));
           gap: 0 2rem; }
"""


def language_label(code: str) -> str:
    try:
        return Locale.parse(code).get_display_name("en") or code
    except (UnknownLocaleError, ValueError, TypeError):
        return code or "unknown"


def with_language_names(tables: list[Table]) -> list[Table]:
    return [replace(t, cells=tuple(replace(c, label=language_label(c.key)) for c in t.cells))
            if t.title == "Testimonies by language" else t for t in tables]


def _table_html(item: Table, k: int) -> str:
    rows = []
    for cell in item.cells:
        if cell.count is None:
            shown, share = f"fewer than {k}", ""
        else:
            shown = str(cell.count)
            share = f"{cell.share:.0%}" if cell.share is not None else ""
        rows.append(f"<tr><td>{escape(cell.label)}</td><td class='n'>{shown}</td>"
                    f"<td class='n'>{share}</td></tr>")
    note = " (several answers per person)" if item.multi else ""
    return (f"<h3>{escape(item.title)}</h3><p class='muted'>Answered by {item.base}{note}.</p>"
            f"<table>{''.join(rows)}</table>")


def write_report(out: Path, tally: Tally, groups: Mapping[str, list[Table]], k: int,
                 today: date) -> list[str]:
    overview = with_language_names(list(groups["overview"]))
    written = [HTML_FILE]
    charts = {"Testimonies by theme": THEMES_CHART, "Testimonies by month": MONTHS_CHART}
    images = []
    for item in overview:
        name = charts.get(item.title)
        if name and tally.testimonies >= k:
            bar_chart(item, out / name, k)
            written.append(name)
            images.append(f"<img src='{name}' alt='{escape(item.title)}'>")
    body = [
        "<h1>Testimonies: summary</h1>",
        f"<p>{tally.testimonies} testimonies from people who agreed to take part. Made on "
        f"{today.isoformat()}. Numbers below {k} are not shown, so that no one can be "
        "recognised; where hiding one number would not be enough, another is hidden too.</p>",
    ]
    if tally.testimonies < k:
        body.append(f"<p><strong>Fewer than {k} testimonies match: nothing can be shown."
                    "</strong></p>")
    else:
        body += images
        body.append("<h2>Who spoke</h2><div class='columns'>")
        body += [_table_html(t, k) for t in overview]
        body.append("</div><h2>Key questions</h2><div class='columns'>")
        body += [_table_html(t, k) for t in groups["questions"]]
        body.append("</div>")
    page = ("<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>Testimonies: summary</title><style>{_STYLE}</style></head><body>"
            + "".join(body) + "</body></html>\n")
    (out / HTML_FILE).write_text(page, encoding="utf-8")
    return written
