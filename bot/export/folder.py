"""The output folder of `export` and `report`: refused when not empty, emptied with --force.

Each run lists what it wrote in a small manifest. `--force` first deletes what an earlier run
listed there (and the files our commands are known to write, for folders made before the
manifest existed), so no chart or file of an earlier run stays beside the new ones and can be
taken for part of them. Anything else in the folder (a researcher's own notes) is left alone.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path

MANIFEST = ".testimony-bot-files"


class FolderError(Exception):
    """The folder cannot be used; nothing was written."""


def check(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise FolderError(f"{out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise FolderError(f"{out} is not empty; choose a new folder or use --force (which "
                          "first deletes what an earlier export or report wrote there)")


def _listed(out: Path) -> set[str]:
    try:
        text = (out / MANIFEST).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return set()
    return {line.strip().rstrip("/") for line in text.splitlines() if line.strip()}


def clear(out: Path, known: Iterable[str]) -> list[str]:
    """Delete an earlier run's output; the names of what was kept (not ours)."""
    if not out.is_dir():
        return []
    ours = _listed(out) | {name.rstrip("/") for name in known} | {MANIFEST}
    kept: list[str] = []
    for entry in sorted(out.iterdir()):
        if entry.name not in ours or "/" in entry.name or entry.name in ("", ".", ".."):
            kept.append(entry.name)
        elif entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    return kept


def prepare(out: Path, force: bool, known: Iterable[str]) -> list[str]:
    """Check the folder, empty it of earlier output when forced, create it (owner only)."""
    check(out, force)
    kept = clear(out, known) if force else []
    out.mkdir(mode=0o700, parents=True, exist_ok=True)
    return kept


def record(out: Path, written: Iterable[str]) -> None:
    (out / MANIFEST).write_text("".join(f"{name}\n" for name in sorted(written)),
                                encoding="utf-8")
