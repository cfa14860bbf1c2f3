"""Export throughput and peak memory: 25,000, 50,000 and 100,000 sealed answers, on one
process and on every core.

A snapshot is filled through the real Store (sealed answers, about 20 per respondent, a
third of them free text hiding phones, e-mails and names), then `testimony-bot export`
writes every format in a child process, once with `--jobs 1` and once with a job per core;
the child reports the peak resident memory of the largest of its processes (the writer or a
worker), so each run is measured alone. Streaming means the peak stays
flat as answers grow. The last line is the parallel/sequential ratio of the same run.

    python -m bench.export            # all three sizes
    python -m bench.export 100000     # one size
"""

from __future__ import annotations

import asyncio
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.export.parallel import default_jobs
from storage.keys import KeyPair, wrap_private_key
from storage.server_keys import ServerKeys
from storage.store import AnswerIn, Changes, ConsentIn, Store

SIZES = (25_000, 50_000, 100_000)
PER_RESPONDENT = 20
PASSPHRASE = "benchmark passphrase"
FLOW = ("imrf-testimony", "1")
PROFILE = {
    "gender": ("woman", "woman", "man", "non_binary"),
    "age_band": ("18_24", "25_34", "35_44", "45_54"),
    "origin_region": ("asia_southeast", "asia_south", "africa_east", "latin_america_caribbean"),
    "living_region": ("asia_central_west", "europe", "north_america"),
    "sector": ("care_domestic", "agriculture", "hospitality"),
}
CLOSED = ("wages_paid_less", "wages_contract", "health_refused", "health_vaccine",
          "status_path", "status_fear", "detention_held", "climate_left", "discrim_reported",
          "covid_income", "journey_danger", "covid_work")
TEXTS = ("wages_story", "health_story", "status_story", "journey_story", "climate_story",
         "recommendation")
STORY = ("My employer {name} kept my passport P{passport} and never paid the overtime we were "
         "promised. When I complained the agency told me to be quiet. Call me on +63 917 "
         "{phone} or write to {name_lower}@example-mail.com. We worked from six in the "
         "morning until midnight, seven days a week, with no day off for months.")


def _answers(rng: random.Random, index: int) -> list[AnswerIn]:
    answers = [AnswerIn(q, *FLOW, {"language": "en", "kind": "choice",
                                   "value": [rng.choice(values)]})
               for q, values in PROFILE.items()]
    answers.append(AnswerIn("themes", *FLOW, {"language": "en", "kind": "choice",
                                              "value": ["wages", "health", "covid"]}))
    for question in CLOSED[:PER_RESPONDENT - len(answers) - len(TEXTS)]:
        answers.append(AnswerIn(question, *FLOW, {"language": "en", "kind": "choice",
                                                  "value": ["yes"]}))
    name = rng.choice(("Maricel", "Fatima", "Siti", "Amina", "Rosario"))
    for question in TEXTS:
        text = STORY.format(name=name, name_lower=name.lower(), passport=index,
                            phone=f"{rng.randrange(100, 999)} {rng.randrange(1000, 9999)}")
        answers.append(AnswerIn(question, *FLOW, {"language": "en", "kind": "text",
                                                  "value": text}))
    return answers


async def _fill(database: Path, key: KeyPair, answers: int) -> None:
    keys = ServerKeys.from_secret(b"bench-export-" + b"b" * 32)
    store = await Store.open(database, [key.public], keys)
    rng = random.Random(1)
    start = datetime(2026, 10, 1, tzinfo=UTC)
    try:
        respondents = answers // PER_RESPONDENT
        for first in range(0, respondents, 100):
            batch = []
            for index in range(first, min(first + 100, respondents)):
                now = start + timedelta(minutes=index)
                changes = Changes(
                    respondent=keys.pseudonym("telegram", str(index)), today=now.date(),
                    now=now, campaign="bench",
                    consent=ConsentIn("2026-11", "en", now,
                                      {"take_part": True, "adult": True, "quote": True}),
                    answers=_answers(rng, index), completed=True)
                batch.append(store.apply(changes))
            await asyncio.gather(*batch)
    finally:
        await store.close()


def _child(database: Path, key_file: Path, passphrase_file: Path, out: Path, jobs: str) -> None:
    """Runs in a fresh process: the export as a researcher would run it."""
    from bot.cli import main as cli

    started = time.perf_counter()
    code = cli(["export", "--db", str(database), "--key", str(key_file), "--passphrase-file",
                str(passphrase_file), "--out", str(out), "--k", "5", "--jobs", jobs])
    elapsed = time.perf_counter() - started
    peak_kib = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                   resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)  # the largest worker
    print(json.dumps({"code": code, "seconds": elapsed, "peak_mib": peak_kib / 1024}))


def measure(answers: int, folder: Path) -> dict[str, float]:
    key = KeyPair.generate()
    key_file = folder / "researcher.key"
    key_file.write_text(wrap_private_key(key, PASSPHRASE, log2_n=14), encoding="utf-8")
    passphrase_file = folder / "passphrase"
    passphrase_file.write_text(PASSPHRASE, encoding="utf-8")
    database = folder / "snapshot.db"
    filled = time.perf_counter()
    asyncio.run(_fill(database, key, answers))
    fill_seconds = time.perf_counter() - filled
    row: dict[str, float] = {"answers": answers, "fill_seconds": fill_seconds,
                             "jobs": default_jobs()}
    for name, jobs in (("sequential", 1), ("parallel", default_jobs())):
        out = folder / f"out-{name}"
        child = subprocess.run(
            [sys.executable, "-m", "bench.export", "--child", str(database), str(key_file),
             str(passphrase_file), str(out), str(jobs)],
            capture_output=True, text=True, check=True)
        result = json.loads(child.stdout.strip().splitlines()[-1])
        if result["code"] != 0:
            raise RuntimeError(f"export failed: {child.stderr[-2000:]}")
        row[f"{name}_seconds"] = result["seconds"]
        row[f"{name}_per_second"] = answers / result["seconds"]
        row[f"{name}_peak_mib"] = result["peak_mib"]
        row["output_mib"] = sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) / 2**20
    row["ratio"] = row["sequential_seconds"] / row["parallel_seconds"]
    return row


def main(sizes: tuple[int, ...] = SIZES) -> None:
    print("export benchmark: every format, 20 answers per respondent, 6 of them free text")
    print(f"{'answers':>8} {'1 job/s':>9} {'N jobs/s':>9} {'jobs':>5} {'ratio':>6} "
          f"{'peak MiB 1':>11} {'peak MiB N':>11} {'output MiB':>11} {'(fill s)':>9}")
    ratios = []
    for answers in sizes:
        with tempfile.TemporaryDirectory(prefix="bench-export-") as folder:
            row = measure(answers, Path(folder))
        ratios.append(row["ratio"])
        print(f"{row['answers']:>8,.0f} {row['sequential_per_second']:>9,.0f} "
              f"{row['parallel_per_second']:>9,.0f} {row['jobs']:>5.0f} {row['ratio']:>6.2f} "
              f"{row['sequential_peak_mib']:>11.1f} {row['parallel_peak_mib']:>11.1f} "
              f"{row['output_mib']:>11.1f} {row['fill_seconds']:>9.1f}", flush=True)
    print(f"parallel/sequential ratio: {min(ratios):.2f} (target: at least 1.7 on two cores)")


if __name__ == "__main__":
    if len(sys.argv) == 7 and sys.argv[1] == "--child":
        _child(*(Path(a) for a in sys.argv[2:6]), sys.argv[6])
    elif len(sys.argv) == 2:
        main((int(sys.argv[1]),))
    else:
        main()
