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


def write_readme(out_dir: Path, files: Sequence[str], k: int, row_seed: int | None = None
                 ) -> None:
    listed = "\n".join(f"  - {name}" for name in sorted(files))
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

Quasi-identifiers were checked for k-anonymity with k = {k}: see disclosure_report.txt.
Dates are months. Export ids differ in every export unless --stable-ids was used.
{order}

Files:
{listed}
""", encoding="utf-8")
