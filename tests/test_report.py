"""`testimony-bot report`: one page of counts for report writers, small cells hidden."""

from __future__ import annotations

import itertools
import random
import re
from pathlib import Path

import pytest
from PIL import Image

from bot.export.charts import cell_text
from bot.export.summary import Hidden, suppress, table
from bot.flow import load_questionnaire
from tests.export_support import FLOWS, Seeded, seeded
from tests.test_export_acceptance import run_cli


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    return seeded(tmp_path_factory.getbasetemp() / "seeded-store")


def report_args(data: Seeded, out: Path, *extra: str) -> list[str | Path]:
    return ["report", "--db", data.db, "--key", data.key_file, "--passphrase-file",
            data.passphrase_file, "--out", out, *extra]


def test_cells_below_k_zero_included_are_hidden() -> None:
    assert suppress({"a": 10, "b": 3, "c": 0, "d": 7}, 5) == {
        "a": 10, "b": Hidden.SMALL, "c": Hidden.SMALL, "d": 7}


def test_a_single_hidden_cell_takes_the_next_smallest_with_it() -> None:
    # With the total shown, one hidden cell could be worked out by subtraction.
    assert suppress({"a": 10, "b": 2, "c": 6, "d": 8}, 5) == {
        "a": 10, "b": Hidden.SMALL, "c": Hidden.PROTECTS, "d": 8}
    assert suppress({"a": 10, "b": 6}, 5) == {"a": 10, "b": 6}


def test_a_cell_hidden_to_protect_others_is_called_hidden_not_small() -> None:
    """13 people, 9 in one cell: the 9 is hidden to protect the 4, and never called "fewer
    than 5", a bound it does not meet."""
    single = table("t", {"a": 4, "b": 9}, {}, 13, 5)
    assert {c.key: c.hidden for c in single.cells} == {"a": Hidden.SMALL,
                                                       "b": Hidden.PROTECTS}
    assert [cell_text(c, 5) for c in single.cells] == ["hidden", "fewer than 5"]


def test_multi_answer_questions_hide_only_their_small_cells() -> None:
    """Several answers per person do not add up to the base: nothing to work out, so no
    complementary suppression (13 people, 9 chose health: 9 is shown)."""
    multi = table("themes", {"health": 9, "wages": 3, "status": 13}, {}, 13, 5, multi=True)
    assert {c.key: (c.count, c.hidden) for c in multi.cells} == {
        "health": (9, None), "wages": (None, Hidden.SMALL), "status": (13, None)}


def _feasible(shown: dict[str, int | Hidden], k: int, total: int) -> list[dict[str, int]]:
    hidden = [key for key, v in shown.items() if isinstance(v, Hidden)]
    ranges = [range(0, k) if shown[key] is Hidden.SMALL else range(k, total + 1)
              for key in hidden]
    rest = total - sum(v for v in shown.values() if not isinstance(v, Hidden))
    return [dict(zip(hidden, values, strict=True)) for values in itertools.product(*ranges)
            if sum(values) == rest]


def test_no_hidden_cell_can_be_worked_out_from_the_others_and_the_base() -> None:
    """Brute force over many small tables: every hidden cell could still take at least two
    values, given the base, the visible cells and what its mark says ("fewer than k": 0 to
    k-1; "hidden": at least k). Two hidden cells summing to 2 were each exactly 1 before."""
    rng = random.Random(7)
    k = 5
    for _ in range(400):
        counts = {f"c{i}": rng.choice((0, 1, 1, 2, 3, 4, 5, 6, 9, 14))
                  for i in range(rng.randrange(2, 6))}
        shown = suppress(counts, k)
        total = sum(counts.values())
        if shown is None:  # withheld: nothing of the table is shown
            continue
        worlds = _feasible(shown, k, total)
        assert worlds, (counts, shown)
        for key, value in shown.items():
            if isinstance(value, Hidden):
                assert len({w[key] for w in worlds}) > 1, (counts, shown, key)
    assert suppress({"a": 20, "b": 1, "c": 1}, k) == {"a": 20, "b": Hidden.SMALL,
                                                      "c": Hidden.SMALL}


def test_a_table_everyone_answered_alike_is_withheld() -> None:
    """Five people, all chose "a": the hidden zeros add up to nothing, and "a" hidden too
    can only be 5, the base."""
    alike = table("t", {"a": 5, "b": 0, "c": 0}, {}, 5, 5)
    assert alike.withheld and alike.cells == ()
    assert not table("t", {"a": 12, "b": 0, "c": 0}, {}, 12, 5).withheld  # "a": 5 to 12


def test_a_table_with_fewer_than_k_answers_shows_nothing_not_even_its_base() -> None:
    small = table("t", {"a": 3, "b": 1}, {}, 4, 5)
    assert small.cells == () and "fewer than 5" in small.withheld
    shown = table("t", {"a": 30, "b": 10}, {"a": "A"}, 40, 5)
    assert [(c.label, c.count, c.share) for c in shown.cells] == [("A", 30, 0.75),
                                                                  ("b", 10, 0.25)]


CHARTS = ["languages.png", "living_regions.png", "months.png", "origin_regions.png",
          "themes.png"]


def test_report_page_and_charts(data: Seeded, tmp_path: Path) -> None:
    out = tmp_path / "report"
    run = run_cli(*report_args(data, out))
    assert run.code == 0, run.err
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [".testimony-bot-files", "report.html", *CHARTS])
    html = (out / "report.html").read_text(encoding="utf-8")
    assert f"{len(data.exported)} testimonies" in html
    assert "Testimonies by theme" in html and "Testimonies by language" in html
    assert "Have you been paid less than you were promised" in html
    assert "Testimonies by month" in html and "2026-09" in html
    # One person from Oceania: the cell is hidden, not shown as 1.
    oceania = re.search(r"Oceania / Pacific</td><td class='n hidden' colspan='2'>([^<]*)<", html)
    assert oceania and oceania.group(1) == "fewer than 5"
    assert "Filipino" in html and "Arabic" in html  # language names, not codes
    for secret in data.planted.all():
        assert secret not in html
    assert "<script" not in html and "http" not in html.replace("http-equiv", "")
    # Charts by theme, both regions, language and month, each with a text equivalent.
    images = re.findall(r"<img src='([^']+)' alt='([^']+)'>", html)
    assert sorted(name for name, _ in images) == CHARTS
    for name, alt in images:
        assert alt.startswith("Bar chart, Testimonies by") and ": " in alt, alt
        with Image.open(out / name) as image:
            assert image.format == "PNG" and image.size[0] == 600
    themes_alt = dict(images)["themes.png"]
    assert re.search(r"Work and pay[^:]*: \d+ \(\d+%\)", themes_alt)


def test_no_number_below_k_appears_on_the_page(data: Seeded, tmp_path: Path) -> None:
    """Neither a base ("Answered by 1") nor a cell: a number on the page is at least k, a
    share, a year or a month."""
    out = tmp_path / "report"
    assert run_cli(*report_args(data, out)).code == 0
    html = (out / "report.html").read_text(encoding="utf-8")
    text = re.sub(r"<style>.*?</style>|<[^>]+>", " ", html, flags=re.S)
    for number in re.findall(r"(?<![\d.-])\d+(?![\d%-])", text):
        assert int(number) >= 5, number
    for base in re.findall(r"(?:Answered by|Of) (\d+)", html):
        assert int(base) >= 5


def test_each_table_is_one_block_with_its_heading_and_note(data: Seeded,
                                                          tmp_path: Path) -> None:
    out = tmp_path / "report"
    assert run_cli(*report_args(data, out)).code == 0
    html = (out / "report.html").read_text(encoding="utf-8")
    blocks = re.findall(r"<section class='block'>(.*?)</section>", html)
    assert len(blocks) == html.count("<h3>") > 5
    for block in blocks:
        assert block.startswith("<h3>") and "<p class='note'>" in block
    assert "break-inside: avoid" in html


def test_questions_everyone_skipped_are_left_out_and_named(data: Seeded, tmp_path: Path
                                                           ) -> None:
    """The campaign of five people who skip every profile question: no region table, and a
    note says why."""
    out = tmp_path / "report"
    assert run_cli(*report_args(data, out, "--campaign", "imrf-silent")).code == 0
    html = (out / "report.html").read_text(encoding="utf-8")
    note = re.search(r"Left out because everyone skipped the question: ([^<]*)<", html)
    assert note and "Testimonies by region of origin" in note.group(1)
    assert "<h3>Testimonies by region of origin</h3>" not in html
    assert not (out / "origin_regions.png").exists()


def test_report_with_too_few_testimonies_says_so(data: Seeded, tmp_path: Path) -> None:
    out = tmp_path / "report"
    run = run_cli(*report_args(data, out, "--campaign", "solo-2026"))
    assert run.code == 0, run.err
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "nothing can be shown" in html
    assert not re.search(r"\b1 testimon", html)  # the count under k is not given either
    assert sorted(p.name for p in out.iterdir()) == [".testimony-bot-files", "report.html"]


def test_report_refuses_a_non_empty_folder_and_force_clears_earlier_output(
        data: Seeded, tmp_path: Path) -> None:
    out = tmp_path / "report"
    assert run_cli(*report_args(data, out)).code == 0
    (out / "notes.txt").write_text("my own notes", encoding="utf-8")
    refused = run_cli(*report_args(data, out, "--campaign", "solo-2026"))
    assert refused.code == 2 and "not empty" in refused.err
    forced = run_cli(*report_args(data, out, "--campaign", "solo-2026", "--force"))
    assert forced.code == 0, forced.err
    # No chart of the earlier run is left beside the new page; other files are kept.
    assert sorted(p.name for p in out.iterdir()) == [".testimony-bot-files", "notes.txt",
                                                     "report.html"]


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


def test_people_who_skipped_a_profile_question_are_a_cell_not_a_smaller_base(
        data: Seeded, tmp_path: Path) -> None:
    """"Answered by 192" of 197 would say that 5 skipped, whatever the table hides: the
    base is everyone and "No answer" is a cell under the same rules."""
    out = tmp_path / "report"
    assert run_cli(*report_args(data, out)).code == 0
    html = (out / "report.html").read_text(encoding="utf-8")
    block = re.search(r"<h3>Testimonies by region of origin</h3>(.*?)</section>", html)
    assert block and f"Of {len(data.exported)} people asked" in block.group(1)
    assert "No answer</td>" in block.group(1)


def test_a_key_question_counts_everyone_it_was_put_to(data: Seeded, tmp_path: Path) -> None:
    """Asked of those who chose the theme: its base is theirs and a skip is a "No answer"
    cell, so the themes table's count minus the base cannot reveal a few skips."""
    out = tmp_path / "report"
    assert run_cli(*report_args(data, out, "--k", "1")).code == 0
    html = (out / "report.html").read_text(encoding="utf-8")
    wages = re.search(r"Work and pay, including wages not paid</td><td class='n'>(\d+)<", html)
    block = re.search(r"<h3>Have you been paid less than you were promised[^<]*</h3>"
                      r"<p class='note'>Of (\d+) people asked", html)
    assert wages and block and block.group(1) == wages.group(1)
