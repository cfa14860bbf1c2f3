"""`testimony-bot report`: one page of counts for report writers, small cells hidden."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PIL import Image

from bot.export.summary import suppress, table
from bot.flow import load_questionnaire
from tests.export_support import FLOWS, Seeded, seeded
from tests.test_export_acceptance import run_cli


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    return seeded(tmp_path_factory.getbasetemp() / "seeded-store")


def report_args(data: Seeded, out: Path, *extra: str) -> list[str | Path]:
    return ["report", "--db", data.db, "--key", data.key_file, "--passphrase-file",
            data.passphrase_file, "--out", out, *extra]


def test_cells_below_k_are_hidden() -> None:
    assert suppress({"a": 10, "b": 3, "c": 0, "d": 7}, 5) == {"a": 10, "b": None, "c": 0,
                                                              "d": None}


def test_a_single_hidden_cell_takes_the_next_smallest_with_it() -> None:
    # With the total shown, one hidden cell could be worked out by subtraction.
    assert suppress({"a": 10, "b": 2, "c": 6, "d": 8}, 5) == {"a": 10, "b": None, "c": None,
                                                             "d": 8}
    assert suppress({"a": 10, "b": 6}, 5) == {"a": 10, "b": 6}


def test_a_table_with_fewer_than_k_answers_shows_nothing() -> None:
    small = table("t", {"a": 3, "b": 1}, {}, 4, 5)
    assert all(c.count is None for c in small.cells)
    shown = table("t", {"a": 30, "b": 10}, {"a": "A"}, 40, 5)
    assert [(c.label, c.count, c.share) for c in shown.cells] == [("A", 30, 0.75),
                                                                  ("b", 10, 0.25)]


def test_report_page_and_charts(data: Seeded, tmp_path: Path) -> None:
    out = tmp_path / "report"
    run = run_cli(*report_args(data, out))
    assert run.code == 0, run.err
    assert sorted(p.name for p in out.iterdir()) == ["months.png", "report.html", "themes.png"]
    html = (out / "report.html").read_text(encoding="utf-8")
    assert f"{len(data.exported)} testimonies" in html
    assert "Testimonies by theme" in html and "Testimonies by language" in html
    assert "Have you been paid less than you were promised" in html
    assert "Testimonies by month" in html and "2026-09" in html
    # One person from Oceania: the cell is hidden, not shown as 1.
    oceania = re.search(r"Oceania / Pacific</td><td class='n'>([^<]*)<", html)
    assert oceania and oceania.group(1) == "fewer than 5"
    assert "Filipino" in html and "Arabic" in html  # language names, not codes
    for secret in data.planted.all():
        assert secret not in html
    assert "<script" not in html and "http" not in html.replace("http-equiv", "")
    for chart in ("themes.png", "months.png"):
        with Image.open(out / chart) as image:
            assert image.format == "PNG" and image.size[0] == 900


def test_report_with_too_few_testimonies_says_so(data: Seeded, tmp_path: Path) -> None:
    out = tmp_path / "report"
    run = run_cli(*report_args(data, out, "--campaign", "solo-2026"))
    assert run.code == 0, run.err
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "nothing can be shown" in html
    assert sorted(p.name for p in out.iterdir()) == ["report.html"]


def test_report_never_passes_free_text_on(data: Seeded, tmp_path: Path) -> None:
    """Question ids are sealed with the answers, so the report opens every record; what it
    writes must still hold no free text at all."""
    from storage.reader import read_testimonies

    texts = {q.id for q in load_questionnaire(FLOWS / "default.toml").questions
             if not q.kind.has_choices}
    free = {str(a.header.get("value")) for t in read_testimonies(data.db, data.key)
            for a in t.answers if a.question_id in texts and a.header.get("kind") == "text"}
    free = {text for text in free if len(text) >= 12}
    assert len(free) > 50
    args = report_args(data, tmp_path / "r")
    run = run_cli(*args)
    assert run.code == 0, run.err
    written = "".join(p.read_text(encoding="utf-8", errors="replace")
                      for p in (tmp_path / "r").rglob("*") if p.is_file())
    assert not [text for text in free if text in written]
