"""Issue 5 acceptance: ~200 respondents seeded through the engine, exported in every format.

No planted identifier may reach any output file; every placeholder is in redactions.csv; the
k-anonymity report is right for the planted rare and unique combinations; spreadsheets are
safe from formula injection; the .qdpx validates against the published REFI-QDA schema.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
import tempfile
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

import openpyxl
import pytest
import xmlschema
from PIL import Image

from bot.cli import main
from bot.export.bidi import BIDI_CONTROLS
from bot.export.cells import FORMULA_STARTS
from tests.export_support import (
    BIDI_TEXT,
    FORMULA,
    UNIQUE,
    Seeded,
    seeded,
)

XSD = Path(__file__).resolve().parent / "data" / "refi-qda" / "Project.xsd"
QDA = "{urn:QDA-XML:project:1.0}"
PLACEHOLDER = re.compile(r"\[(PHONE|EMAIL|ID|NAME|PLACE|URL)-\d+\]")
LONG_DIGITS = re.compile(r"\d(?:[ .\-()/]{0,3}\d){5,}")


@dataclass
class Run:
    code: int
    out: str
    err: str


def run_cli(*args: str | Path) -> Run:
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main([str(a) for a in args])
    return Run(code, stdout.getvalue(), stderr.getvalue())


def export_args(data: Seeded, out: Path, *extra: str) -> list[str | Path]:
    return ["export", "--db", data.db, "--key", data.key_file, "--passphrase-file",
            data.passphrase_file, "--out", out, *extra]


@pytest.fixture(scope="session")
def data(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    return seeded(tmp_path_factory.getbasetemp() / "seeded-store")


@pytest.fixture(scope="session")
def export(data: Seeded, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Run]:
    out = tmp_path_factory.mktemp("export") / "out"
    return out, run_cli(*export_args(data, out))


@pytest.fixture(scope="session")
def out(export: tuple[Path, Run]) -> Path:
    return export[0]


@pytest.fixture(scope="session")
def out_k1(data: Seeded, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """With k = 1 nothing is generalised or suppressed: every label can be checked."""
    out = tmp_path_factory.mktemp("export-k1") / "out"
    run = run_cli(*export_args(data, out, "--k", "1", "--format", "csv,qdpx"))
    assert run.code == 0, run.err
    return out


@pytest.fixture(scope="session")
def records(out: Path) -> list[dict[str, object]]:
    lines = (out / "testimonies.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def output_texts(folder: Path) -> dict[str, str]:
    """Every file of the export as text; zip members (xlsx, qdpx) each on their own."""
    texts: dict[str, str] = {}
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        name = str(path.relative_to(folder))
        if path.suffix in (".xlsx", ".qdpx"):
            with zipfile.ZipFile(path) as archive:
                for member in archive.namelist():
                    texts[f"{name}:{member}"] = archive.read(member).decode("utf-8")
        elif path.suffix in (".csv", ".jsonl", ".txt", ".json"):
            texts[name] = path.read_text(encoding="utf-8-sig")
    return texts


def free_texts(records: list[dict[str, object]]) -> list[str]:
    texts = []
    for record in records:
        answers = record["answers"]
        assert isinstance(answers, dict)
        for answer in answers.values():
            if answer["kind"] in ("text", "testimony") and isinstance(answer.get("value"), str):
                texts.append(answer["value"])
    return texts


def test_export_succeeds_with_a_summary(export: tuple[Path, Run], data: Seeded) -> None:
    _, run = export
    assert run.code == 0, run.err
    assert f"Exported {len(data.exported)} testimonies" in run.out
    assert "Exporting [" not in run.err and "Reading [" not in run.err  # not on a terminal
    listed = {p.name for p in export[0].iterdir()}
    assert {"testimonies.csv", "answers.csv", "testimonies.jsonl", "testimonies.xlsx",
            "testimonies.qdpx", "redactions.csv", "disclosure_report.txt",
            "disclosure_report.json", "README.txt", "media", ".testimony-bot-files"} == listed
    assert not [p for p in export[0].rglob("*.partial")]  # spill files are gone


def test_no_planted_identifier_reaches_any_file(out: Path, data: Seeded,
                                                records: list[dict[str, object]]) -> None:
    texts = output_texts(out)
    assert len(texts) > 10
    for secret in data.planted.all():
        for name, text in texts.items():
            assert secret not in text, f"{secret!r} leaked into {name}"
    for path in (out / "media").iterdir():
        raw = path.read_bytes()
        for secret in data.planted.names:
            assert secret.encode() not in raw, path.name
    # Nothing that could be part of a phone, passport or account number survives in the text.
    for text in free_texts(records):
        assert not LONG_DIGITS.search(text), text
        assert "@" not in text, text


def test_identifiers_are_replaced_by_their_kind(records: list[dict[str, object]]) -> None:
    kinds = Counter(m.group(1) for text in free_texts(records) for m in
                    PLACEHOLDER.finditer(text))
    # One planted text per person (minus the media answers): phone, e-mail, passport, name.
    # A national number of a country outside the person's regions is not recognised as a
    # phone, so it becomes an [ID-n]: hidden all the same.
    assert kinds["PHONE"] >= 60
    assert kinds["PHONE"] + kinds["ID"] >= 2 * 190
    assert kinds["EMAIL"] >= 190
    assert kinds["NAME"] >= 190


def test_every_placeholder_is_counted_in_redactions_csv(out: Path,
                                                        records: list[dict[str, object]]
                                                        ) -> None:
    with (out / "redactions.csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows and set(rows[0]) == {"export_id", "question_id", "placeholder", "kind", "rule",
                                     "position"}
    logged = Counter((r["export_id"], r["question_id"], r["placeholder"]) for r in rows
                     if r["placeholder"])
    found: Counter[tuple[str, str, str]] = Counter()
    for record in records:
        answers = record["answers"]
        assert isinstance(answers, dict)
        for qid, answer in answers.items():
            value = answer.get("value")
            if isinstance(value, str):
                for match in PLACEHOLDER.finditer(value):
                    found[(str(record["export_id"]), qid, match.group())] += 1
    assert found == logged
    by_record = {str(r["export_id"]): r for r in records}
    for row in rows:  # the position points at the placeholder in the exported text
        if not row["placeholder"]:
            continue
        answers = by_record[row["export_id"]]["answers"]
        assert isinstance(answers, dict)
        text = answers[row["question_id"]]["value"]
        assert text[int(row["position"]):].startswith(row["placeholder"])


WIDE_QUASI = ("gender", "age_band", "origin_region", "living_region", "sector", "themes",
              "language", "complete", "started_month", "completed_month", "campaign",
              "may_quote", "consent_version")


def _written_quasi(out: Path) -> Counter[tuple[str, ...]]:
    """Every column released about a person, as written: the wide row's quasi-identifiers
    and the set of languages and months their answers are labelled with."""
    with (out / "testimonies.csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = {r["export_id"]: tuple(r[q] for q in WIDE_QUASI) for r in csv.DictReader(handle)}
    with (out / "answers.csv").open(encoding="utf-8-sig", newline="") as handle:
        answer_tags: dict[str, set[str]] = {}
        for r in csv.DictReader(handle):
            answer_tags.setdefault(r["export_id"], set()).update(
                (f"language={r['language']}", f"month={r['month']}"))
    return Counter((*row, *sorted(answer_tags.get(export_id, ())))
                   for export_id, row in rows.items())


def test_k_anonymity_holds_over_every_released_column(
        out: Path, export: tuple[Path, Run], data: Seeded) -> None:
    """Language at consent and per answer, months, completeness, consent version, may-quote
    and themes are checked with the profile: no combination of what the files say about a
    person is shared by fewer than k people, except those with nothing left to tell."""
    report = json.loads((out / "disclosure_report.json").read_text(encoding="utf-8"))
    assert report["k"] == 5
    assert report["records"] == len(data.exported)
    assert report["quasi_identifiers"] == [
        "gender", "age_band", "origin_region", "living_region", "sector", "themes", "language",
        "complete", "started_month", "completed_month", "campaign", "may_quote",
        "answer_languages", "consent_version"]
    assert "checked for k-anonymity" in export[1].out and "answer_languages" in export[1].out
    combos = _written_quasi(out)
    hidden_all = [combo for combo in combos if combo[:len(WIDE_QUASI)] ==
                  ("[suppressed]",) * len(WIDE_QUASI)]
    for combo, n in combos.items():
        assert n >= 5 or combo in hidden_all, combo
    shown = {value for combo in combos for value in combo}
    for hidden in ("Oceania / Pacific", "60 or older", "solo-2026", "North Africa", "Health care"):
        assert hidden not in shown, hidden
    assert UNIQUE[2] == "oceania"


def test_disclosure_report_follows_the_small_count_rule(out: Path) -> None:
    """The same rule as the report and /stats: a count of people below k, zero included,
    is not written (the JSON says "<5")."""
    report = json.loads((out / "disclosure_report.json").read_text(encoding="utf-8"))
    assert report["generalized"]["gender"] == "<5"  # zero: hidden like any small count
    counts = [report["records"], report["rare_before"], report["rare_after"],
              *report["generalized"].values(), *report["suppressed"].values()]
    assert all(n == "<5" or (isinstance(n, int) and n >= 5) for n in counts), counts
    text = (out / "disclosure_report.txt").read_text(encoding="utf-8")
    assert "fewer than 5" in text
    for line in text.splitlines()[1:]:
        for number in re.findall(r"(?<![\w-])\d+(?![\w-])", line.split("Groups after")[0]):
            assert int(number) >= 5, line


def test_a_suppressed_value_reads_the_same_whether_answered_or_skipped(out: Path) -> None:
    """The five who skipped every profile question: where their row is suppressed, the
    skipped fields read "[suppressed]" like everyone else's, in every file."""
    with (out / "testimonies.csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    profile = ("gender", "age_band", "origin_region", "living_region", "sector")
    for row in rows:
        written = {row[q] for q in profile}
        assert not ("" in written and "[suppressed]" in written), row
    silent = [r for r in rows if r["gender"] == "[suppressed]"]
    assert silent
    by_id = {json.loads(line)["export_id"]: json.loads(line) for line in
             (out / "testimonies.jsonl").read_text(encoding="utf-8").splitlines()}
    for row in silent:
        answers = by_id[row["export_id"]]["answers"]
        assert all(answers[q]["value"] == "[suppressed]" for q in profile
                   if row[q] == "[suppressed]")


def test_csv_is_rfc4180_utf8_with_bom(out: Path, data: Seeded) -> None:
    raw = (out / "testimonies.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    # Records end with CRLF; line breaks inside a quoted testimony are part of the field.
    assert raw.endswith(b"\r\n") and raw.split(b"\n", 1)[0].endswith(b"\r")
    with (out / "testimonies.csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert len(rows) == 1 + len(data.exported)
    assert {len(r) for r in rows} == {len(rows[0])}
    assert rows[0][:4] == ["export_id", "language", "campaign", "consent_version"]
    with (out / "answers.csv").open(encoding="utf-8-sig", newline="") as handle:
        long_rows = list(csv.DictReader(handle))
    assert len(long_rows) > 5 * len(data.exported)
    assert set(long_rows[0]) == {"export_id", "question_id", "question", "kind", "value",
                                 "codes", "language", "month"}


def test_dates_are_coarsened_to_months(out: Path, records: list[dict[str, object]]) -> None:
    # Months, made coarser (quarters, years) or suppressed where they were rare.
    assert {r["started_month"] for r in records} <= {"2026-09", "2026-10", "2026-11", "2026-Q3",
                                                     "2026-Q4", "2026", "[suppressed]"}
    for name, text in output_texts(out).items():
        if "project.qde" not in name:  # the QDA project carries the export's own time
            assert not re.search(r"\b20\d\d-\d\d-\d\d", text), name


def test_multi_choice_answers_are_joined_english_labels(out_k1: Path) -> None:
    with (out_k1 / "testimonies.csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    themes = [r["themes"] for r in rows if ";" in r["themes"]]
    assert themes and all("; " in t for t in themes)
    assert any("Work and pay, including wages not paid" in t for t in themes)
    assert {r["language"] for r in rows} == {"en", "fr", "es", "ar", "tl", "id"}


def _cells_of_csv(path: Path) -> list[str]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return [c for row in csv.reader(handle) for c in row]


def test_formula_injection_is_neutralized(out: Path) -> None:
    cells = _cells_of_csv(out / "testimonies.csv") + _cells_of_csv(out / "answers.csv")
    cells += _cells_of_csv(out / "redactions.csv")
    workbook = openpyxl.load_workbook(out / "testimonies.xlsx")
    for sheet in workbook.worksheets:
        cells += [c for row in sheet.iter_rows(values_only=True) for c in row
                  if isinstance(c, str)]
    assert cells
    assert not [c for c in cells if c.startswith(FORMULA_STARTS)]
    guarded = [c for c in cells if c.startswith("'=") and '"click")' in c]
    assert guarded  # the planted formula is there, as text (its URL redacted)
    assert FORMULA.startswith("=HYPERLINK(")


@pytest.mark.parametrize("k", [5, 1])
def test_qdpx_validates_and_reopens(out: Path, out_k1: Path, data: Seeded, k: int) -> None:
    folder = out if k == 5 else out_k1
    with zipfile.ZipFile(folder / "testimonies.qdpx") as archive:
        project = archive.read("project.qde")
        members = set(archive.namelist())
        sources = {name: archive.read(name).decode("utf-8") for name in members
                   if name.startswith("Sources/")}
    xmlschema.XMLSchema(XSD).validate(project.decode("utf-8"))
    root = ElementTree.fromstring(project)
    cases = root.findall(f"{QDA}Cases/{QDA}Case")
    texts = root.findall(f"{QDA}Sources/{QDA}TextSource")
    assert len(cases) == len(texts) == len(data.exported)
    assert len(sources) == len(data.exported)
    themes = root.findall(f"{QDA}CodeBook/{QDA}Codes/{QDA}Code[@name='Themes']/{QDA}Code")
    assert len(themes) == 9
    variables = {v.get("name") for v in root.findall(f"{QDA}Variables/{QDA}Variable")}
    assert {"gender", "age_band", "origin_region", "living_region", "sector"} <= variables
    for source in texts:
        path = source.get("plainTextPath", "")
        assert path.startswith("internal://")
        content = sources[f"Sources/{path.removeprefix('internal://')}"]
        for selection in source.findall(f"{QDA}PlainTextSelection"):
            start, end = int(selection.get("startPosition", -1)), int(
                selection.get("endPosition", -1))
            assert 0 <= start < end <= len(content)
            assert selection.find(f"{QDA}Coding/{QDA}CodeRef") is not None
    coded = [c for c in cases if c.find(f"{QDA}CodeRef") is not None]
    if k == 1:  # nothing suppressed: everyone chose at least one theme
        assert len(coded) == len(data.exported)


def test_xlsx_opens_and_matches_the_csv(out: Path) -> None:
    workbook = openpyxl.load_workbook(out / "testimonies.xlsx")
    assert workbook.sheetnames == ["Testimonies", "Answers"]
    sheet = workbook["Testimonies"]
    with (out / "testimonies.csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert sheet.max_row == len(rows)
    for xlsx_row, csv_row in zip(sheet.iter_rows(values_only=True), rows, strict=True):
        assert ["" if v is None else str(v) for v in xlsx_row][:len(csv_row)] == csv_row
    assert workbook["Answers"].max_row > sheet.max_row


def test_quotable_text_only_for_people_who_agreed(records: list[dict[str, object]],
                                                  data: Seeded) -> None:
    agreed = [r for r in records if r["may_quote"] is True]
    refused = [r for r in records if r["may_quote"] is not True]  # no, or suppressed
    assert 0 < len(agreed) <= sum(p.quote for p in data.exported)
    assert refused and all(r["quotable"] is None for r in refused)
    assert all(r["quotable"] for r in agreed if any(
        a["kind"] in ("text", "testimony") and "value" in a and not a["value"].startswith("[")
        for a in r["answers"].values()))  # type: ignore[attr-defined]


def test_bidi_controls_removed_and_zwnj_kept(out: Path, records: list[dict[str, object]]
                                             ) -> None:
    for name, text in output_texts(out).items():
        assert not set(text) & BIDI_CONTROLS, name
    texts = free_texts(records)
    assert any("Salary paid late." in t for t in texts)
    assert any("\u200c" in t for t in texts)  # Persian spelling intact
    assert "\u202e" in BIDI_TEXT


def test_media_are_exported_cleaned_and_named_by_pseudonym(
        out: Path, records: list[dict[str, object]]) -> None:
    files = sorted((out / "media").iterdir())
    assert [f.suffix for f in files] == [".ogg", ".jpg"] or sorted(
        f.suffix for f in files) == [".jpg", ".ogg"]
    ids = {str(r["export_id"]) for r in records}
    for path in files:
        assert path.name.split("_", 1)[0] in ids
    voice = next(f for f in files if f.suffix == ".ogg").read_bytes()
    assert b"ARTIST" not in voice and b"Dubai" not in voice and b"OpusTags" in voice
    photo = next(f for f in files if f.suffix == ".jpg")
    with Image.open(photo) as image:
        assert not image.getexif()
        assert "comment" not in image.info and "exif" not in image.info
        assert image.size == (48, 64)  # the EXIF orientation was applied, then dropped
    shown = [a["value"] for r in records for a in r["answers"].values()  # type: ignore[attr-defined]
             if str(a.get("value", "")).startswith("[audio not exported")]
    assert len(shown) == 1  # the m4a file: no cleaner for it, so it stays out


def test_nothing_is_written_outside_the_export_folder(
        data: Seeded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    elsewhere = tmp_path / "tmp"
    elsewhere.mkdir()
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(elsewhere))
    monkeypatch.setenv("TMPDIR", str(elsewhere))
    monkeypatch.chdir(cwd)
    run = run_cli(*export_args(data, tmp_path / "out"))
    assert run.code == 0, run.err
    assert not list(elsewhere.iterdir())
    assert not list(cwd.iterdir())
    modes = {p.stat().st_mode & 0o777 for p in (tmp_path / "out").rglob("*")}
    assert modes <= {0o600, 0o700}  # plaintext readable by its owner only


def test_both_readmes_describe_every_file_the_export_writes(out: Path) -> None:
    written = sorted(p.name + ("/" if p.is_dir() else "") for p in out.iterdir())
    inside = (out / "README.txt").read_text(encoding="utf-8")
    project = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    researchers = project.split("## For researchers", 1)[1].split("\n## ", 1)[0]
    for name in written:
        assert re.search(rf"^  - {re.escape(name)}: \S", inside, re.M), name
        assert f"`{name}`" in researchers, name
