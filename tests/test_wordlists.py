"""The default redaction word lists: plain text files per list and language, shipped as
package data, in the format researchers use for --names/--places/--allow."""

from __future__ import annotations

import fnmatch
import tomllib
import unicodedata
from pathlib import Path

import pytest

from bot.export import wordlists
from bot.export.names import fold

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT / "bot" / "export" / "wordlists"


def _files() -> list[Path]:
    return sorted(FOLDER.glob("*/*.txt"))


def test_every_list_has_files_per_language() -> None:
    assert sorted(p.name for p in FOLDER.iterdir() if p.is_dir()) == sorted(wordlists.LISTS)
    assert set(wordlists.files("common")) == {"en", "es", "fr", "pt", "tl", "id", "sw"}
    assert {"latn", "arab", "deva"} <= set(wordlists.files("names"))
    assert len(wordlists.entries("names")) > 350 and len(wordlists.entries("places")) > 350
    assert not list(FOLDER.parent.glob("wordlists.py"))  # no word list left in Python


@pytest.mark.parametrize("path", _files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_a_list_file_has_no_repeats_and_normalised_entries(path: Path) -> None:
    entries = wordlists.parse(path.read_text(encoding="utf-8"))
    assert entries
    folded = [" ".join(fold(w) for w in entry.split()) for entry in entries]
    repeats = sorted({e for e in folded if folded.count(e) > 1})
    assert not repeats, f"repeated in {path.name}: {repeats}"
    for entry in entries:
        assert entry == unicodedata.normalize("NFC", entry), entry
        assert entry == " ".join(entry.split()) and "#" not in entry, entry


def test_lists_ship_as_package_data() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["bot"]
    for path in _files():
        relative = str(path.relative_to(ROOT / "bot"))
        assert any(fnmatch.fnmatch(relative, pattern) for pattern in patterns), relative


def test_a_shipped_file_works_as_a_researchers_list(tmp_path: Path) -> None:
    """The same format: a shipped file passed with --names is read entry for entry."""
    from bot.cli.export import _lines

    shipped = FOLDER / "names" / "arab.txt"
    assert _lines([shipped]) == wordlists.files("names")["arab"]
