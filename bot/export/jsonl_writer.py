"""JSON Lines: one object per testimony, for programs (`testimonies.jsonl`).

Choice answers keep their ids next to the English labels; free text is already redacted.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bot.export.model import ExportAnswer, ExportRecord

FILE = "testimonies.jsonl"


def answer_object(answer: ExportAnswer) -> dict[str, Any]:
    shown: dict[str, Any] = {"kind": answer.kind, "language": answer.language,
                             "month": answer.month}
    if answer.codes:
        shown |= {"codes": list(answer.codes), "labels": answer.value}
    elif answer.number is not None:
        shown["value"] = answer.number
    else:
        shown["value"] = answer.value
    if answer.media_file:
        shown["media_file"] = answer.media_file
    return shown


def _flag(value: str) -> bool | str:
    """true/false, or the suppressed label as in every other file."""
    return {"yes": True, "no": False}.get(value, value)


def record_object(record: ExportRecord) -> dict[str, Any]:
    return {
        "export_id": record.export_id,
        "language": record.language,
        "campaign": record.campaign,
        "consent_version": record.consent_version,
        "started_month": record.started_month,
        "completed_month": record.completed_month or None,
        "complete": _flag(record.complete),
        "may_quote": _flag(record.may_quote),
        "answers": {a.question_id: answer_object(a) for a in record.answers},
        "quotable": record.quotable or None,
    }


class JsonlWriter:
    def __init__(self, out_dir: Path) -> None:
        self._file = (out_dir / FILE).open("w", encoding="utf-8", newline="\n")

    def write(self, record: ExportRecord) -> None:
        self._file.write(json.dumps(record_object(record), ensure_ascii=False) + "\n")

    def close(self) -> None:
        self._file.close()
