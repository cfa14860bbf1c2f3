"""The benchmark suite (`make bench`): one table, every figure against the PTB baseline.

Rows: answers/s and p99 latency with 1, 100 and 10,000 respondents at once (webhook path,
in-process Bot API, sealing and durable commits on), peak RSS, database size per 1,000
completed testimonies, export answers/s, the WhatsApp channel's messages/s against a plain
webhook handler (`python -m bench.whatsapp`; its ratio is printed before the last line) and
start-up time. The last line is the ratio of the full pipeline's throughput to the plain
PTB baseline's, with 300 respondents at once, the best of five runs of each side (as in
`python -m bench.pipeline`; the other crowds are one run each). A single
respondent is bound by one durable commit per answer; grouping commits is what lets a crowd
go faster.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from bench import export, pipeline, startup, whatsapp

CROWDS = (1, 100, 300, 10_000)
RATIO_CROWD = 300  # the Telegram issue's benchmark: 300 people at once
TESTIMONIES = 1_000  # database size is measured for this many completed testimonies


def _crowd(respondents: int) -> tuple[pipeline.Figures, pipeline.Figures]:
    if respondents == RATIO_CROWD:  # the last line's figure: best of rounds, as bench.pipeline
        best = pipeline.best_of(respondents, pipeline.ROUNDS)
        return best["pipeline"], best["baseline"]
    with tempfile.TemporaryDirectory(prefix="bench-suite-") as folder:
        stream = Path(folder) / "updates.json"
        ours = pipeline.run_child("pipeline", respondents, stream)
        theirs = pipeline.run_child("baseline", respondents, stream)
    return ours, theirs


def _database_mib() -> float:
    """1,000 completed testimonies of 20 answers (6 of them free text), sealed."""
    from storage.keys import KeyPair

    with tempfile.TemporaryDirectory(prefix="bench-size-") as folder:
        database = Path(folder) / "testimonies.db"
        asyncio.run(export._fill(database, KeyPair.generate(),
                                 TESTIMONIES * export.PER_RESPONDENT))
        files = [database, database.with_name(database.name + "-wal")]
        return sum(f.stat().st_size for f in files if f.exists()) / 2**20


def _ratio(ours: float, theirs: float) -> str:
    return f"{ours / theirs:.2f}" if theirs else "-"


def main() -> int:
    rows: list[tuple[str, str, str, str]] = []
    ratio = 0.0
    for crowd in CROWDS:
        ours, theirs = _crowd(crowd)
        rows.append((f"updates/s, {crowd:,} at once", f"{ours.updates_per_second:,.0f}",
                     f"{theirs.updates_per_second:,.0f}",
                     _ratio(ours.updates_per_second, theirs.updates_per_second)))
        rows.append((f"answers stored/s, {crowd:,} at once", f"{ours.answers_per_second:,.0f}",
                     "-", "-"))
        rows.append((f"p99 latency ms, {crowd:,} at once", f"{ours.p99_ms:,.1f}",
                     f"{theirs.p99_ms:,.1f}", _ratio(ours.p99_ms, theirs.p99_ms)))
        if crowd == CROWDS[-1]:
            rows.append((f"peak RSS MB, {crowd:,} at once", f"{ours.peak_rss_mb:,.0f}",
                         f"{theirs.peak_rss_mb:,.0f}",
                         _ratio(ours.peak_rss_mb, theirs.peak_rss_mb)))
        if crowd == RATIO_CROWD:
            ratio = ours.updates_per_second / theirs.updates_per_second
    rows.append((f"database MiB per {TESTIMONIES:,} testimonies", f"{_database_mib():.1f}",
                 "-", "-"))
    with tempfile.TemporaryDirectory(prefix="bench-suite-export-") as folder:
        exported = export.measure(20_000, Path(folder))
    rows.append(("export answers/s (20,000 answers)",
                 f"{exported['parallel_per_second']:,.0f}", "-", "-"))
    rows.append(("export parallel/sequential ratio",
                 f"{exported['ratio']:.2f}", "-", "-"))
    best = whatsapp.measure(whatsapp.RESPONDENTS, rounds=1)
    wa_ours, wa_theirs = best["whatsapp"], best["baseline"]
    whatsapp_ratio = wa_ours.per_second / wa_theirs.per_second
    rows.append((f"WhatsApp messages/s, {whatsapp.RESPONDENTS:,} at once",
                 f"{wa_ours.per_second:,.0f}", f"{wa_theirs.per_second:,.0f}",
                 f"{whatsapp_ratio:.2f}"))
    ours_start, theirs_start = startup.measure("pipeline"), startup.measure("baseline")
    rows.append(("start-up s (fresh process)", f"{ours_start:.2f}", f"{theirs_start:.2f}",
                 _ratio(ours_start, theirs_start)))

    width = max(len(r[0]) for r in rows)
    print(f"{'':{width}}  {'pipeline':>10}  {'baseline':>10}  {'ratio':>6}")
    for name, ours_text, theirs_text, ratio_text in rows:
        print(f"{name:{width}}  {ours_text:>10}  {theirs_text:>10}  {ratio_text:>6}")
    print("pipeline: the real bot, every answer sealed and committed (synchronous=FULL) "
          "before its reply")
    print("baseline: a plain PTB Application answering every update with reply_text, "
          "storing nothing")
    print("WhatsApp rows: the real WhatsApp channel against a plain webhook handler that "
          "answers each message with one text (python -m bench.whatsapp)")
    print(f"whatsapp/baseline ratio: {whatsapp_ratio:.2f}")
    print(f"pipeline/baseline ratio: {ratio:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
