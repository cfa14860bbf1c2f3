"""A database written by schema 3 (question ids, languages, campaigns and times in clear text)
is upgraded when the bot starts: every row keeps opening, and no clear metadata is left."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from storage import db, payload
from storage.keys import KeyPair
from storage.maintenance import backup
from storage.reader import read_testimonies
from storage.sealing import seal
from storage.server_keys import ServerKeys
from storage.store import Store
from tests.test_store import raw_files

STORY = "Clear-metadata-era story: they took our phones"


def schema_3_database(path: Path, key: KeyPair, keys: ServerKeys) -> bytes:
    """What the previous version wrote for one person who finished, and one mid-way."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = db.connect_sync(path)
    conn.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, "
                 "name TEXT NOT NULL, applied_at TEXT NOT NULL) STRICT")
    for migration in db.migrations()[:3]:
        for statement in db._statements(migration.sql):
            conn.execute(statement)
        conn.execute("INSERT INTO schema_migrations VALUES (?, ?, '2026-11-01T10:00:00')",
                     (migration.number, migration.name))
    done, halfway = keys.pseudonym("telegram", "1001"), keys.pseudonym("telegram", "1002")
    conn.execute("INSERT INTO respondents VALUES (?, 'imrf-2022', '2026-11-01', '2026-11-02')",
                 (done,))
    conn.execute("INSERT INTO respondents VALUES (?, NULL, '2026-11-01', NULL)", (halfway,))
    for person, language in ((done, "ar"), (halfway, "en")):
        conn.execute("INSERT INTO consents VALUES (?, 'c-1', ?, '2026-11-01T09:31:02.123456')",
                     (person, language))
        conn.execute("INSERT INTO consent_items VALUES (?, 'take_part', 1)", (person,))
    for person, question, header in (
        (done, "sector", {"language": "ar", "kind": "choice", "value": ["care"]}),
        (done, "wages_story", {"language": "ar", "kind": "text", "value": STORY}),
        (halfway, "sector", {"language": "en", "kind": "choice", "value": ["farm"]}),
    ):
        blob = seal(payload.encode(header), (key.public,),
                    payload.answer_aad(person, question, "imrf-testimony", "1"))
        conn.execute("INSERT INTO answers VALUES (?, ?, 'imrf-testimony', '1', '2026-11-01', ?)",
                     (person, question, blob))
    conn.execute("INSERT INTO sessions VALUES (?, ?, '2026-11-01T09:40:00')",
                 (halfway, keys.seal_state(halfway, b'{"v":3}')))
    conn.execute("INSERT INTO counters VALUES ('imrf-2022', 'consented', 1)")
    conn.execute("INSERT INTO counters VALUES ('typed-by-someone', 'opened', 1)")
    conn.close()
    return halfway


async def test_a_schema_3_database_is_resealed_and_keeps_opening(
        tmp_path: Path, researcher: KeyPair, server_keys: ServerKeys) -> None:
    path = tmp_path / "data" / "testimonies.db"
    halfway = schema_3_database(path, researcher, server_keys)
    before = {t.respondent: t for t in read_testimonies(path, researcher)}

    # A snapshot taken after the new version is installed but before the bot restarted holds
    # the renamed tables: the researchers' reader opens it all the same.
    with sqlite3.connect(path) as conn:
        db.migrate(conn)
    conn.close()
    between = tmp_path / "between.db"
    backup(path, between)
    assert {t.respondent for t in read_testimonies(between, researcher)} == set(before)

    store = await Store.open(path, [researcher.public], server_keys)
    try:
        status = await store.status(halfway)
        assert status.state is not None  # the session in progress carries on
        assert (await store.status(server_keys.pseudonym("telegram", "1001"))).completed
        assert await store.counters() == {}  # neither code is a link: not kept
    finally:
        await store.close()

    after = {t.respondent: t for t in read_testimonies(path, researcher)}
    assert set(after) == set(before)
    for respondent, old in before.items():
        new = after[respondent]
        assert (new.started_on, new.completed_on, new.campaign) == (
            old.started_on, old.completed_on, old.campaign)
        assert new.consent == old.consent
        assert [(a.question_id, a.header, a.answered_on) for a in new.answers] == [
            (a.question_id, a.header, a.answered_on) for a in old.answers]
    files = raw_files(path)
    for clear in (b"wages_story", b"imrf-2022", b"typed-by-someone", b"09:31:02",
                  b"legacy_answers"):
        assert clear not in files, clear
    with sqlite3.connect(path) as conn:
        tables = {row[0] for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert not {t for t in tables if t.startswith("legacy_")}
        assert conn.execute("SELECT count(*) FROM records").fetchone() == (6,)
    conn.close()


def test_migrations_may_leave_a_gap_but_never_share_a_number(tmp_path: Path) -> None:
    """Two changes made side by side each take a number; one may be released first."""
    import pytest

    for name in ("0001_first.sql", "0002_second.sql", "0004_fourth.sql"):
        (tmp_path / name).write_text("SELECT 1;", encoding="utf-8")
    assert [m.number for m in db.migrations(tmp_path)] == [1, 2, 4]
    (tmp_path / "0004_other.sql").write_text("SELECT 1;", encoding="utf-8")
    with pytest.raises(db.DatabaseError, match="distinct numbers"):
        db.migrations(tmp_path)
