"""Files for the people who check the export before anything is shared.

- `redactions.csv`: one row per placeholder put into the text (and per answer flagged for a
  full reading), saying where and by which rule, never what was there. Reviewers open the
  testimony at that spot and decide whether more, or less, should be hidden.
- `disclosure_report.txt` and `.json`: what k-anonymity did to the quasi-identifiers.
- `README.txt`: what each file is and how to handle it.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path

from bot.export.cells import cell
from bot.export.folder import MANIFEST
from bot.export.kanon import DisclosureReport
from bot.export.model import ExportRecord

REDACTIONS_FILE = "redactions.csv"
REDACTION_COLUMNS = ("export_id", "question_id", "placeholder", "kind", "rule", "position")
DISCLOSURE_TEXT = "disclosure_report.txt"
DISCLOSURE_JSON = "disclosure_report.json"
README = "README.txt"


class RedactionLog:
    def __init__(self, out_dir: Path) -> None:
        self._file = (out_dir / REDACTIONS_FILE).open("w", encoding="utf-8-sig", newline="")
        self._csv = csv.writer(self._file, dialect="excel", lineterminator="\r\n")
        self._csv.writerow(REDACTION_COLUMNS)
        self.placeholders = 0
        self.flagged = 0

    def write(self, record: ExportRecord) -> None:
        for note in record.notes:
            if note.placeholder:
                self.placeholders += 1
            else:
                self.flagged += 1
            self._csv.writerow([cell(v) for v in (record.export_id, note.question_id,
                                                  note.placeholder, note.kind, note.rule,
                                                  note.position)])

    def close(self) -> None:
        self._file.close()


def write_disclosure(out_dir: Path, report: DisclosureReport) -> None:
    (out_dir / DISCLOSURE_TEXT).write_text("\n".join(report.lines()) + "\n", encoding="utf-8")
    (out_dir / DISCLOSURE_JSON).write_text(json.dumps(report.published(), indent=2) + "\n",
                                           encoding="utf-8")


# What each file of an export is, for README.txt (the project README lists the same).
DESCRIPTIONS = {
    "testimonies.csv": "one row per person, one column per question (English labels)",
    "answers.csv": "one row per answer (question, kind, value, codes, language, month)",
    "testimonies.xlsx": "both tables above as a workbook (sheets Testimonies and Answers)",
    "testimonies.jsonl": "one JSON object per person, answers by question id, for programs",
    "testimonies.qdpx": "a REFI-QDA project (NVivo, ATLAS.ti, MAXQDA, QualCoder): each "
                        "testimony a source, profile answers as case variables, themes as codes",
    "media/": "voice notes and photos, metadata removed, named by export id and question",
    REDACTIONS_FILE: "one row per placeholder put into the text, and per answer flagged for a "
                     "full reading (by export id and question; never the value)",
    DISCLOSURE_TEXT: "what k-anonymity checked, generalised and suppressed",
    DISCLOSURE_JSON: "the same, for programs",
    README: "this file",
    MANIFEST: "the files this export wrote: --force deletes them before a new export",
}


def write_readme(out_dir: Path, files: Sequence[str], k: int, row_seed: int | None = None
                 ) -> None:
    listed = "\n".join(f"  - {name}: {DESCRIPTIONS.get(name, '')}".rstrip(": ")
                       for name in sorted({*files, MANIFEST}))
    order = (f"Rows are in a random order (seed {row_seed}, kept because --stable-ids was used)."
             if row_seed is not None else
             "Rows are in a new random order in every export (no seed is kept).")
    (out_dir / README).write_text(f"""Testimonies exported by testimony-bot

These files hold pseudonymized personal data of people in vulnerable situations.
Keep them on an encrypted disk, share them only with people who need them, and delete
them when the report is done.

Before any text is shared or quoted, a person must read it, using redactions.csv:
automatic redaction is conservative but cannot catch everything (names written in
lower case or in non-Latin scripts that are not on the lists, descriptions that point
to one person, voice notes). Quote only from the "quotable" column: it is empty for
people who did not agree to be quoted.

Everything the files say about a person (profile answers, themes, languages, months,
completeness, consent version, permission to quote, campaign) was checked for
k-anonymity with k = {k}: see disclosure_report.txt. "[suppressed]" reads the same
wherever a value was removed, whatever the person answered.
Dates are months. Export ids differ in every export unless --stable-ids was used.
{order}

Files:
{listed}
""", encoding="utf-8")
