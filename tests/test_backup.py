"""`backup` and `purge` on the server: consistent sealed-only snapshots, then forgetting.

The live database is written by a real Store (and the real orchestrator) while the snapshot
is taken; the snapshot is opened with the real reader and private key afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot import outbound as out
from bot.engine import ChoiceIn, Start
from bot.i18n import DEFAULT_LOCALES_DIR, Translator
from bot.orchestrator import Orchestrator
from storage import reader
from storage.keys import KeyPair
from storage.maintenance import MaintenanceError, backup, expire_sessions, purge_through
from storage.reader import RecordFailure, read_testimonies
from storage.server_keys import ServerKeys
from storage.store import AnswerIn, Changes, Store
from tests.export_support import Clock, Driver, build_script, population
from tests.test_export_acceptance import run_cli

KEYS = ServerKeys.from_secret(b"backup-tests-" + b"x" * 32)


@dataclass
class Live:
    db: Path
    store: Store
    orchestrator: Orchestrator
    driver: Driver
    key: KeyPair


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[Live]:
    key = KeyPair.generate()
    translator = Translator(DEFAULT_LOCALES_DIR)
    script = build_script(translator)
    db = tmp_path / "data" / "testimonies.db"
    store = await Store.open(db, [key.public], KEYS)
    orchestrator = Orchestrator(script, store, KEYS, translator, Clock())
    driver = Driver(orchestrator, script, translator)
    people, _ = population()
    await asyncio.gather(*(driver.run(p) for p in people[:12]))
    yield Live(db, store, orchestrator, driver, key)
    await store.close()


async def _half_way(live: Live, user: str) -> None:
    """Someone who consented and answered one question, then left: a session is stored."""
    replies = await live.orchestrator.handle("telegram", user, Start())
    for _ in range(5):  # language, three consent items, the first question
        prompt = next(r for r in reversed(replies) if isinstance(r, out.Prompt))
        key = "en" if any(b.key == "en" for b in prompt.buttons) else prompt.buttons[0].key
        replies = await live.orchestrator.handle("telegram", user, ChoiceIn(prompt.token, key))


def _count(db: Path, table: str) -> int:
    with sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True) as conn:
        (n,) = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    conn.close()
    return int(n)


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def _partials(folder: Path) -> list[Path]:
    return list(folder.glob("*.partial"))


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def _first(snapshot: Path, key: KeyPair) -> reader.Testimony:
    with contextlib.closing(read_testimonies(snapshot, key)) as testimonies:
        return next(testimonies)


async def test_snapshot_is_consistent_and_holds_only_sealed_data(live: Live,
                                                                 tmp_path: Path) -> None:
    await _half_way(live, "halfway-1")
    assert _count(live.db, "sessions") == 1
    snapshot = tmp_path / "snap.db"

    async def keep_writing() -> None:
        people, _ = population(seed=9)
        for person in people[20:30]:
            person.user_id = "later-" + person.user_id
            await live.driver.run(person)

    writer = asyncio.create_task(keep_writing())
    summary = await asyncio.to_thread(backup, live.db, snapshot)
    await writer
    assert summary.answers == _count(snapshot, "records") > 0
    for table in ("channel_updates", "channel_messages"):
        assert _count(snapshot, table) == 0  # the channel's bookkeeping stays on the server
    with sqlite3.connect(snapshot) as conn:
        assert conn.execute("SELECT count(*) FROM respondents WHERE profile IS NOT NULL"
                            ).fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM links WHERE created_by IS NOT NULL"
                            ).fetchone() == (0,)
    conn.close()
    assert _count(snapshot, "sessions") == 0  # working state never leaves the server
    assert _count(live.db, "sessions") == 1
    with sqlite3.connect(snapshot) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    conn.close()
    assert _mode(snapshot) == 0o600
    failures: list[RecordFailure] = []
    opened = list(read_testimonies(snapshot, live.key, failures))
    assert not failures and len(opened) == summary.respondents
    assert not _partials(tmp_path)


async def test_purge_deletes_only_what_the_snapshot_holds(live: Live, tmp_path: Path) -> None:
    snapshot = tmp_path / "snap.db"
    held = backup(live.db, snapshot).answers
    first = _first(snapshot, live.key)
    now = datetime(2026, 10, 20, tzinfo=UTC)
    changed = AnswerIn("recommendation", "imrf-testimony", "1",
                       {"language": "en", "kind": "text", "value": "A new answer"})
    await live.store.apply(Changes(first.respondent, now.date(), now, answers=[changed]))
    assert purge_through(live.db, snapshot, dry_run=True) == held - 1
    assert purge_through(live.db, snapshot) == held - 1
    assert _count(live.db, "records") == 1  # the answer changed since the snapshot stays
    assert _count(live.db, "respondents") == 1  # everyone else has nothing left here
    with sqlite3.connect(live.db) as conn:
        assert conn.execute("SELECT value FROM maintenance WHERE fact = 'purged'"
                            ).fetchone() == ("1",)
    conn.close()
    assert _size(live.db.with_name(live.db.name + "-wal")) == 0  # erased pages do not linger
    assert purge_through(live.db, snapshot) == 0


async def test_purge_ends_only_abandoned_sessions(live: Live) -> None:
    await _half_way(live, "halfway-old")
    await _half_way(live, "halfway-new")
    old = KEYS.pseudonym("telegram", "halfway-old")
    long_ago = datetime(2026, 1, 1, tzinfo=UTC)
    await live.store.apply(Changes(old, long_ago.date(), long_ago, state=b'{"kept": 1}'))
    ended = expire_sessions(live.db, datetime(2026, 6, 1, tzinfo=UTC))
    assert ended == 1
    assert _count(live.db, "sessions") == 1


async def test_cli_backup_and_purge(live: Live, tmp_path: Path) -> None:
    snapshot = tmp_path / "out.db"
    run = await asyncio.to_thread(run_cli, "backup", snapshot, "--db", live.db)
    assert run.code == 0, run.err
    assert "sealed records" in run.out and "only sealed data" in run.out
    again = await asyncio.to_thread(run_cli, "backup", snapshot, "--db", live.db)
    assert again.code == 2 and "exists already" in again.err
    same = await asyncio.to_thread(run_cli, "backup", live.db, "--db", live.db, "--force")
    assert same.code == 2
    dry = await asyncio.to_thread(run_cli, "purge", "--through", snapshot, "--db", live.db,
                                  "--dry-run")
    assert dry.code == 0 and "would be deleted" in dry.out
    assert _count(live.db, "records") == _count(snapshot, "records")
    done = await asyncio.to_thread(run_cli, "purge", "--through", snapshot, "--older-than", "30",
                                   "--db", live.db)
    assert done.code == 0, done.err
    assert "deleted" in done.out and "sessions untouched for 30 days ended" in done.out
    assert _count(live.db, "records") == 0
    nothing = await asyncio.to_thread(run_cli, "purge", "--db", live.db)
    assert nothing.code == 2 and "say what to purge" in nothing.err
    missing = await asyncio.to_thread(run_cli, "purge", "--through", tmp_path / "nope.db",
                                      "--db", live.db)
    assert missing.code == 2 and "no snapshot" in missing.err


def test_backup_of_a_missing_database_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(MaintenanceError, match="no database"):
        backup(tmp_path / "missing.db", tmp_path / "snap.db")
    assert not (tmp_path / "snap.db").exists()
