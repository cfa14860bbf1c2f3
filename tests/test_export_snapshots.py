"""Several snapshots, erasures that reach them, records sealed to another key, and the
parallel export giving the same files as one process.

A real Store and the real orchestrator write the live database; `backup` and `purge` make
snapshots as the README's workflow does; the export reads them with the real key.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot import outbound as out
from bot.config import Settings, load_settings
from bot.engine import ChoiceIn, CommandIn
from bot.export.pseudonyms import ExportPseudonyms
from bot.i18n import DEFAULT_LOCALES_DIR, Translator
from bot.orchestrator import Orchestrator
from bot.runtime import build, load_secrets
from storage import payload
from storage.keys import KeyPair, encode_public, wrap_private_key
from storage.maintenance import backup, purge_through
from storage.sealing import open_sealed, seal
from storage.server_keys import ServerKeys
from storage.store import AnswerIn, Changes, ConsentIn, Store
from tests.export_support import PASSPHRASE, Clock, Driver, Persona, build_script, population
from tests.test_export_acceptance import Run, run_cli

KEYS = ServerKeys.from_secret(b"snapshot-tests-" + b"s" * 32)
PEOPLE = 12


@dataclass
class Workflow:
    """Backup, purge, a /delete, more testimonies, backup again."""

    first: Path
    second: Path
    key_file: Path
    passphrase_file: Path
    key: KeyPair
    people: list[Persona]
    deleted: Persona  # completed before the first snapshot, used /delete after the purge
    later: Persona  # gave a testimony after the purge: only in the second snapshot


async def _delete(orchestrator: Orchestrator, user: str) -> None:
    """/delete (confirmed if the bot asks): after a purge it leaves an erasure record."""
    replies = await orchestrator.handle("telegram", user, CommandIn("delete"))
    prompt = next((r for r in reversed(replies) if isinstance(r, out.Prompt)), None)
    if prompt is not None:
        await orchestrator.handle("telegram", user, ChoiceIn(prompt.token, "yes"))


@pytest.fixture(scope="module")
def workflow(tmp_path_factory: pytest.TempPathFactory) -> Workflow:
    folder = tmp_path_factory.mktemp("snapshots")
    key = KeyPair.generate()
    key_file = folder / "researcher.key"
    key_file.write_text(wrap_private_key(key, PASSPHRASE, log2_n=14), encoding="utf-8")
    passphrase_file = folder / "passphrase.txt"
    passphrase_file.write_text(PASSPHRASE + "\n", encoding="utf-8")
    people = [p for p in population()[0] if not (p.declines or p.deletes)][:PEOPLE + 1]
    db = folder / "live" / "testimonies.db"

    async def run() -> None:
        translator = Translator(DEFAULT_LOCALES_DIR)
        script = build_script(translator)
        store = await Store.open(db, [key.public], KEYS)
        orchestrator = Orchestrator(script, store, KEYS, translator, Clock())
        driver = Driver(orchestrator, script, translator)
        try:
            await asyncio.gather(*(driver.run(p) for p in people[:PEOPLE]))
            await asyncio.to_thread(backup, db, folder / "first.db")
            await asyncio.to_thread(purge_through, db, folder / "first.db")
            await _delete(orchestrator, people[0].user_id)
            await driver.run(people[PEOPLE])
            await asyncio.to_thread(backup, db, folder / "second.db")
        finally:
            await store.close()

    asyncio.run(run())
    return Workflow(folder / "first.db", folder / "second.db", key_file, passphrase_file, key,
                    people, people[0], people[PEOPLE])


def _export(w: Workflow, out_dir: Path, *dbs: Path | str, extra: tuple[str, ...] = ()) -> Run:
    args: list[str | Path] = ["export", "--key", w.key_file, "--passphrase-file",
                              w.passphrase_file, "--out", out_dir, "--k", "1", "--format",
                              "jsonl", "--stable-ids", *extra]
    for db in dbs:
        args += ["--db", db]
    return run_cli(*args)


def _ids(out_dir: Path) -> set[str]:
    lines = (out_dir / "testimonies.jsonl").read_text(encoding="utf-8").splitlines()
    return {json.loads(line)["export_id"] for line in lines}


def _export_id(w: Workflow, persona: Persona) -> str:
    pseudonyms = ExportPseudonyms.stable(w.key.private.private_bytes_raw())
    return pseudonyms.of(KEYS.pseudonym("telegram", persona.user_id))


def test_several_snapshots_are_combined_and_an_erasure_reaches_every_one(
        workflow: Workflow, tmp_path: Path) -> None:
    w = workflow
    alone = _export(w, tmp_path / "first", w.first)
    assert alone.code == 0, alone.err
    assert _export_id(w, w.deleted) in _ids(tmp_path / "first")  # nothing says otherwise yet
    both = _export(w, tmp_path / "both", w.first, w.second)
    assert both.code == 0, both.err
    ids = _ids(tmp_path / "both")
    assert _export_id(w, w.deleted) not in ids  # the erasure in the second snapshot wins
    assert _export_id(w, w.later) in ids  # only in the second snapshot
    assert len(ids) == PEOPLE  # twelve, less the one who left, plus the one who came
    assert "left out after /delete (erasure records): 1" in both.out
    # A folder of snapshots reads the same as naming each one.
    folder = tmp_path / "snapshots"
    folder.mkdir()
    for snapshot in (w.first, w.second):
        shutil.copyfile(snapshot, folder / snapshot.name)
    (folder / "notes.txt").write_text("not a snapshot", encoding="utf-8")
    from_folder = _export(w, tmp_path / "folder", folder)
    assert from_folder.code == 0, from_folder.err
    assert _ids(tmp_path / "folder") == ids


def test_report_combines_snapshots_and_honours_their_erasures(workflow: Workflow,
                                                             tmp_path: Path) -> None:
    w = workflow
    report = run_cli("report", "--db", w.first, "--db", w.second, "--key", w.key_file,
                     "--passphrase-file", w.passphrase_file, "--out", tmp_path / "report",
                     "--k", "1")
    assert report.code == 0, report.err
    assert f"Summary of {PEOPLE} testimonies" in report.out  # one left, one came
    assert "left out after /delete (erasure records): 1" in report.out


def test_a_person_in_both_snapshots_is_one_row_with_the_latest_answers(
        workflow: Workflow, tmp_path: Path) -> None:
    w = workflow
    run = _export(w, tmp_path / "twice", w.first, w.first, w.second)
    assert run.code == 0, run.err
    lines = (tmp_path / "twice" / "testimonies.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == len({json.loads(line)["export_id"] for line in lines}) == PEOPLE


def test_snapshots_of_different_deployments_are_refused(workflow: Workflow,
                                                        tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    shutil.copyfile(workflow.second, other)
    with sqlite3.connect(other) as conn:
        conn.execute("UPDATE maintenance SET value = 'another-bot' WHERE fact = 'deployment'")
    conn.close()
    run = _export(workflow, tmp_path / "out", workflow.first, other)
    assert run.code == 2 and "different deployments" in run.err
    assert not (tmp_path / "out").exists()
    report = run_cli("report", "--db", workflow.first, "--db", other, "--key",
                     workflow.key_file, "--passphrase-file", workflow.passphrase_file,
                     "--out", tmp_path / "report")
    assert report.code == 2 and "different deployments" in report.err


def _reseal_to(snapshot: Path, respondent: bytes, owner: KeyPair, other: KeyPair) -> int:
    """What the quickstart leaves behind: one person's records sealed to a demo key."""
    with sqlite3.connect(snapshot) as conn:
        rows = conn.execute("SELECT id, sealed FROM records WHERE respondent_id = ?",
                            (respondent,)).fetchall()
        for record_id, sealed in rows:
            aad = payload.record_aad(bytes(record_id), respondent)
            plain = open_sealed(sealed, owner.private, aad)
            conn.execute("UPDATE records SET sealed = ? WHERE id = ?",
                         (seal(plain, (other.public,), aad), record_id))
    conn.close()
    return len(rows)


def test_records_sealed_to_another_key_give_no_row_and_exit_1(workflow: Workflow,
                                                              tmp_path: Path) -> None:
    w = workflow
    snapshot = tmp_path / "mixed.db"
    shutil.copyfile(w.first, snapshot)
    demo = w.people[3]
    respondent = KEYS.pseudonym("telegram", demo.user_id)
    assert _reseal_to(snapshot, respondent, w.key, KeyPair.generate()) > 3
    run = _export(w, tmp_path / "out", snapshot)
    assert run.code == 1
    assert "1 testimonies hold records sealed to another key" in run.err
    assert respondent.hex()[:8] in run.err
    assert "could not be opened" not in run.err  # not mistaken for damage
    ids = _ids(tmp_path / "out")
    assert _export_id(w, demo) not in ids and len(ids) == PEOPLE - 1
    disclosure = json.loads((tmp_path / "out" / "disclosure_report.json").read_text("utf-8"))
    assert disclosure["records"] == PEOPLE - 1  # not in any k-anonymity group
    report = run_cli("report", "--db", snapshot, "--key", w.key_file, "--passphrase-file",
                     w.passphrase_file, "--out", tmp_path / "report", "--k", "1")
    assert report.code == 1 and "sealed to another key" in report.err
    assert f"Summary of {PEOPLE - 1} testimonies" in report.out


def test_parallel_and_sequential_exports_write_the_same_rows(workflow: Workflow,
                                                             tmp_path: Path) -> None:
    w = workflow
    rows = {}
    for jobs in ("1", "2"):
        run = _export(w, tmp_path / jobs, w.first, w.second, extra=("--jobs", jobs))
        assert run.code == 0, run.err
        lines = (tmp_path / jobs / "testimonies.jsonl").read_text(encoding="utf-8")
        rows[jobs] = sorted(lines.splitlines())
    assert rows["1"] == rows["2"] and len(rows["1"]) == PEOPLE


async def test_the_bot_warns_at_start_about_answers_sealed_to_other_keys(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The quickstart's demo answers left in a real database: the bot says so at start,
    from the sealed headers alone (it cannot open anything)."""
    demo, real = KeyPair.generate(), KeyPair.generate()

    def settings(key: KeyPair) -> Settings:
        return load_settings({"DATA_DIR": str(tmp_path / "data"),
                              "RECIPIENT_PUBLIC_KEYS": encode_public(key.public),
                              "SERVER_SECRET": "ab" * 32}, dotenv=None)

    demo_settings = settings(demo)
    keys = load_secrets(demo_settings).server_keys
    store = await Store.open(demo_settings.database_path, [demo.public], keys)
    now = datetime(2026, 10, 1, tzinfo=UTC)
    try:
        await store.apply(Changes(
            respondent=keys.pseudonym("telegram", "demo"), today=now.date(), now=now,
            consent=ConsentIn("2026-11", "en", now, {"take_part": True, "adult": True}),
            answers=[AnswerIn("gender", "imrf-testimony", "1",
                              {"kind": "choice", "value": ["woman"]}, language="en", at=now)]))
    finally:
        await store.close()
    with caplog.at_level(logging.WARNING, logger="bot.runtime"):
        for key in (demo, real):
            orchestrator = await build(settings(key))
            await orchestrator.store.close()
            if key is demo:
                assert "records_sealed_to_other_keys" not in caplog.text
    warning = next(r for r in caplog.records if "records_sealed_to_other_keys" in r.message)
    assert warning.levelno == logging.WARNING and "count=" in warning.message
