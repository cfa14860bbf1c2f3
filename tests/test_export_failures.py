"""Wrong key, wrong passphrase, tampered or moved records; pseudonyms across exports.

A failure names the record (respondent label and question), nothing is written for that
record, everything else is exported, and the exit status is not zero.
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from pathlib import Path

import pytest

from storage.keys import KeyPair, wrap_private_key
from tests.export_support import FORMULA, PASSPHRASE, Seeded, record_slot, seeded
from tests.test_export_acceptance import export_args, run_cli


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    return seeded(tmp_path_factory.getbasetemp() / "seeded-store")


def _ids(folder: Path) -> list[str]:
    lines = (folder / "testimonies.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["export_id"] for line in lines]


def _copy(data: Seeded, folder: Path) -> Path:
    copy = folder / "snapshot.db"
    shutil.copyfile(data.db, copy)
    return copy


def _label_and_question(db: Path, text_marker: str, data: Seeded) -> tuple[bytes, str]:
    """Find (by opening it) the answer holding `text_marker`: its respondent and question."""
    from storage.reader import read_testimonies

    for testimony in read_testimonies(db, data.key):
        for answer in testimony.answers:
            if text_marker in str(answer.header.get("value")):
                return testimony.respondent, answer.question_id
    raise AssertionError("marker not found")


def test_wrong_passphrase_writes_nothing(data: Seeded, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.txt"
    wrong.write_text("not the passphrase\n", encoding="utf-8")
    args = export_args(data, tmp_path / "out")
    args[args.index("--passphrase-file") + 1] = wrong
    run = run_cli(*args)
    assert run.code == 2
    assert "wrong passphrase" in run.err
    assert not (tmp_path / "out").exists()


def test_wrong_key_names_records_and_writes_nothing(data: Seeded, tmp_path: Path) -> None:
    other = tmp_path / "other.key"
    other.write_text(wrap_private_key(KeyPair.generate(), PASSPHRASE, log2_n=14),
                     encoding="utf-8")
    args = export_args(data, tmp_path / "out")
    args[args.index("--key") + 1] = other
    run = run_cli(*args)
    assert run.code == 2
    assert "opens none of the" in run.err and "Nothing was written" in run.err
    assert "respondent " in run.err and ": not sealed to this key" in run.err
    assert "... and " in run.err  # the list is cut, with a count of the rest
    assert not (tmp_path / "out").exists()


def test_tampered_record_is_named_left_out_and_the_rest_exported(data: Seeded,
                                                                 tmp_path: Path) -> None:
    db = _copy(data, tmp_path)
    respondent, question = _label_and_question(db, FORMULA, data)
    slot = record_slot(respondent, question)
    with sqlite3.connect(db) as conn:  # the attacker's edit: one byte of one sealed answer
        (record_id, blob) = conn.execute("SELECT id, sealed FROM records WHERE slot = ?",
                                         (slot,)).fetchone()
        flipped = blob[:-1] + bytes([blob[-1] ^ 1])
        conn.execute("UPDATE records SET sealed = ? WHERE slot = ?", (flipped, slot))
    conn.close()
    args = export_args(data, tmp_path / "out")
    args[args.index("--db") + 1] = db
    run = run_cli(*args)
    assert run.code == 1
    label = respondent.hex()[:8]
    assert f"respondent {label}, record {record_id.hex()[:8]}: tampered" in run.err
    assert "1 answer(s) could not be opened" in run.err
    assert len(_ids(tmp_path / "out")) == len(data.exported)  # the rest is all there
    exported = (tmp_path / "out" / "testimonies.jsonl").read_text(encoding="utf-8")
    assert "HYPERLINK" not in exported and "click" not in exported


def test_answer_moved_to_another_record_fails_to_open(data: Seeded, tmp_path: Path) -> None:
    db = _copy(data, tmp_path)
    with sqlite3.connect(db) as conn:
        first, second = (bytes(r[0]) for r in conn.execute(
            "SELECT id FROM respondents ORDER BY id LIMIT 2"))
        (second_blob,) = conn.execute("SELECT sealed FROM records WHERE slot = ?",
                                      (record_slot(second, "gender"),)).fetchone()
        conn.execute("UPDATE records SET sealed = ? WHERE slot = ?",
                     (second_blob, record_slot(first, "gender")))
    conn.close()
    args = export_args(data, tmp_path / "out")
    args[args.index("--db") + 1] = db
    run = run_cli(*args)
    assert run.code == 1
    assert f"respondent {first.hex()[:8]}, record " in run.err and ": tampered" in run.err
    assert second.hex()[:8] not in run.err


def test_exports_are_unlinkable_unless_stable_ids(data: Seeded, tmp_path: Path) -> None:
    runs = {}
    for name, extra in (("a", ()), ("b", ()), ("s1", ("--stable-ids",)),
                        ("s2", ("--stable-ids",))):
        run = run_cli(*export_args(data, tmp_path / name, "--format", "jsonl", *extra))
        assert run.code == 0, run.err
        runs[name] = _ids(tmp_path / name)
    assert not set(runs["a"]) & set(runs["b"])
    assert not set(runs["a"]) & set(runs["s1"])
    assert sorted(runs["s1"]) == sorted(runs["s2"])
    assert len(set(runs["a"])) == len(runs["a"])


def test_rows_come_out_in_a_new_order_every_export(data: Seeded, tmp_path: Path) -> None:
    """New ids every export are worth nothing if row 17 is the same person every time: the
    order is shuffled per export; a seed is written only with --stable-ids."""
    def profile_order(folder: Path) -> list[str]:
        return [json.dumps([r["language"], r["started_month"], r["answers"].get("gender")])
                for line in (folder / "testimonies.jsonl").read_text(encoding="utf-8")
                .splitlines() for r in [json.loads(line)]]

    orders = {}
    for name, extra in (("a", ()), ("b", ()), ("s1", ("--stable-ids",)),
                        ("s2", ("--stable-ids",))):
        assert run_cli(*export_args(data, tmp_path / name, "--format", "jsonl", *extra)).code == 0
        orders[name] = profile_order(tmp_path / name)
    assert sorted(orders["a"]) == sorted(orders["b"]) and orders["a"] != orders["b"]
    assert _ids(tmp_path / "s1") != _ids(tmp_path / "s2")  # same ids, new order
    readme = (tmp_path / "a" / "README.txt").read_text(encoding="utf-8")
    assert "no seed is kept" in readme and "seed " not in readme.replace("no seed is", "")
    stable = (tmp_path / "s1" / "README.txt").read_text(encoding="utf-8")
    assert re.search(r"random order \(seed \d+,", stable)


def test_a_non_empty_folder_is_refused_before_any_work(data: Seeded, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    run = run_cli(*export_args(data, out))
    assert run.code == 2 and "not empty" in run.err
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    forced = run_cli(*export_args(data, out, "--force", "--format", "csv"))
    assert forced.code == 0, forced.err
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine"


def test_force_first_deletes_what_an_earlier_export_wrote(data: Seeded, tmp_path: Path) -> None:
    """A full export, then a CSV-only one with --force: no .xlsx, .qdpx, JSON Lines or media
    file of the first run is left beside the second, to be taken for part of it."""
    out = tmp_path / "out"
    assert run_cli(*export_args(data, out)).code == 0
    assert (out / "testimonies.qdpx").exists() and (out / "media").is_dir()
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    forced = run_cli(*export_args(data, out, "--force", "--format", "csv", "--no-media"))
    assert forced.code == 0, forced.err
    assert sorted(p.name for p in out.iterdir()) == [
        ".testimony-bot-files", "README.txt", "answers.csv", "disclosure_report.json",
        "disclosure_report.txt", "notes.txt", "redactions.csv", "testimonies.csv"]


def test_unknown_format_and_missing_snapshot_are_clear(data: Seeded, tmp_path: Path) -> None:
    run = run_cli(*export_args(data, tmp_path / "out", "--format", "csv,pdf"))
    assert run.code == 2 and "unknown format pdf" in run.err
    args = export_args(data, tmp_path / "out")
    args[args.index("--db") + 1] = tmp_path / "missing.db"
    run = run_cli(*args)
    assert run.code == 2 and "does not exist" in run.err


def test_filters_select_testimonies(data: Seeded, tmp_path: Path) -> None:
    run = run_cli(*export_args(data, tmp_path / "fr", "--format", "jsonl", "--language", "fr",
                               "--campaign", "imrf-gulf", "--theme", "wages"))
    assert run.code == 0, run.err
    lines = (tmp_path / "fr" / "testimonies.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    expected = [p for p in data.exported if p.language == "fr" and p.campaign == "imrf-gulf"
                and "wages" in p.themes]
    assert len(records) == len(expected) > 0
    assert "left out outside the filters" in run.out
    run = run_cli(*export_args(data, tmp_path / "late", "--format", "jsonl", "--since",
                               "2026-10-01"))
    assert run.code == 0, run.err
    months = {json.loads(line)["started_month"] for line in
              (tmp_path / "late" / "testimonies.jsonl").read_text(encoding="utf-8").splitlines()}
    # The seeding ran from late September into October (rare months are suppressed).
    assert "2026-10" in months and months <= {"2026-10", "[suppressed]"}
