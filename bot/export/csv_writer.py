"""CSV: one row per testimony (`testimonies.csv`) and one row per answer (`answers.csv`).

RFC 4180 (CRLF line ends, fields quoted when needed), UTF-8 with a byte-order mark so Excel
reads the encoding right, and every text cell guarded against formula injection.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TextIO

from bot.export.cells import cell
from bot.export.model import LONG_COLUMNS, ExportRecord, Layout

WIDE_FILE = "testimonies.csv"
LONG_FILE = "answers.csv"


def _open(path: Path) -> TextIO:
    return path.open("w", encoding="utf-8-sig", newline="")


class CsvWriter:
    def __init__(self, out_dir: Path, layout: Layout) -> None:
        self.layout = layout
        self._wide_file = _open(out_dir / WIDE_FILE)
        self._long_file = _open(out_dir / LONG_FILE)
        self._wide = csv.writer(self._wide_file, dialect="excel", lineterminator="\r\n")
        self._long = csv.writer(self._long_file, dialect="excel", lineterminator="\r\n")
        self._wide.writerow(layout.wide_columns)
        self._long.writerow(LONG_COLUMNS)

    def write(self, record: ExportRecord) -> None:
        self._wide.writerow([cell(v) for v in self.layout.wide_row(record)])
        self._long.writerows([[cell(v) for v in row] for row in self.layout.long_rows(record)])

    def close(self) -> None:
        self._wide_file.close()
        self._long_file.close()
