"""Maintenance of a PostgreSQL deployment, without the private key: snapshots in the SQLite
format researchers already read, purging what a snapshot holds, ending abandoned sessions,
and bringing a SQLite deployment's data over (`migrate`).

A snapshot is the same file `storage.maintenance.backup` writes from SQLite: a SQLite database
at the current schema holding the sealed records, respondents without profiles, anonymous
counters, erasure records, links without their creators, and the maintenance facts (the
deployment id among them). It is read in one REPEATABLE READ transaction, one point in time.
After a purge the deleted rows are vacuumed at once: until VACUUM they are dead tuples on disk.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path

import psycopg

from storage import db, upgrade
from storage.maintenance import MaintenanceError, SnapshotSummary
from storage.pg import schema

# What a snapshot carries, in the order written: PostgreSQL's rows as SQLite's. Profiles and
# link creators stay behind (only the server uses them, and a snapshot travels).
SNAPSHOT_COPIES: tuple[tuple[bytes, str], ...] = (
    (b"SELECT id FROM respondents", "INSERT INTO respondents (id) VALUES (?)"),
    (b"SELECT id, respondent_id, slot, sealed FROM records ORDER BY seq",
     "INSERT INTO records (id, respondent_id, slot, sealed) VALUES (?, ?, ?, ?)"),
    (b"SELECT link, metric, count FROM counters",
     "INSERT INTO counters (link, metric, count) VALUES (?, ?, ?)"),
    (b"SELECT id, sealed FROM erasures", "INSERT INTO erasures (id, sealed) VALUES (?, ?)"),
    (b"SELECT fact, value FROM maintenance",
     "INSERT INTO maintenance (fact, value) VALUES (?, ?)"),
    (b"SELECT code, campaign, partner, region, language, label, expires_on, active, "
     b"created_at FROM links",
     "INSERT INTO links (code, campaign, partner, region, language, label, expires_on, "
     "active, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"),
)
# What `migrate` carries from SQLite: everything the bot keeps, so conversations carry on.
MIGRATE_COPIES: tuple[tuple[str, str, bytes], ...] = (
    ("respondents", "SELECT id, profile FROM respondents",
     b"COPY respondents (id, profile) FROM STDIN"),
    ("records", "SELECT id, respondent_id, slot, sealed FROM records ORDER BY rowid",
     b"COPY records (id, respondent_id, slot, sealed) FROM STDIN"),
    ("sessions", "SELECT respondent_id, state, updated_on FROM sessions",
     b"COPY sessions (respondent_id, state, updated_on) FROM STDIN"),
    ("reminders", "SELECT respondent_id, due_on, sealed FROM reminders",  # after sessions
     b"COPY reminders (respondent_id, due_on, sealed) FROM STDIN"),
    ("counters", "SELECT link, metric, count FROM counters",
     b"COPY counters (link, metric, count) FROM STDIN"),
    ("erasures", "SELECT id, sealed FROM erasures", b"COPY erasures (id, sealed) FROM STDIN"),
    ("maintenance", "SELECT fact, value FROM maintenance",
     b"COPY maintenance (fact, value) FROM STDIN"),
    ("links", "SELECT code, campaign, partner, region, language, label, expires_on, active, "
     "created_by, created_at FROM links",
     b"COPY links (code, campaign, partner, region, language, label, expires_on, active, "
     b"created_by, created_at) FROM STDIN"),
)
# The channels' bookkeeping (message ids /exit may delete, updates already handled), under
# its channel-neutral names or, in an older SQLite schema, Telegram's own.
LEDGER_COPIES: tuple[tuple[str, str, bytes], ...] = (
    ("channel_messages", "SELECT channel, respondent_id, message_id, sent_on "
     "FROM channel_messages",
     b"COPY channel_messages (channel, respondent_id, message_id, sent_on) FROM STDIN"),
    ("channel_updates", "SELECT channel, tag, seen_on FROM channel_updates",
     b"COPY channel_updates (channel, tag, seen_on) FROM STDIN"),
    ("telegram_messages", "SELECT 'telegram', respondent_id, CAST(message_id AS TEXT), "
     "sent_on FROM telegram_messages",
     b"COPY channel_messages (channel, respondent_id, message_id, sent_on) FROM STDIN"),
    ("telegram_updates", "SELECT 'telegram', tag, seen_on FROM telegram_updates",
     b"COPY channel_updates (channel, tag, seen_on) FROM STDIN"),
)
VACUUMS = {"records": b"VACUUM records", "respondents": b"VACUUM respondents",
           "sessions": b"VACUUM sessions", "reminders": b"VACUUM reminders"}
# The tables that hold something of a person. VACUUM FULL writes each into a new file and
# drops the old one: plain VACUUM only marks a deleted row's space free, and its bytes stay in
# the page until a new row happens to overwrite them.
REWRITES = (b"VACUUM FULL records", b"VACUUM FULL respondents", b"VACUUM FULL sessions",
            b"VACUUM FULL pending_sessions", b"VACUUM FULL channel_messages",
            b"VACUUM FULL erasures", b"VACUUM FULL reminders")


def _connect(url: str) -> psycopg.Connection[tuple[object, ...]]:
    schema.migrate(url)
    try:
        return psycopg.connect(url)
    except psycopg.Error as exc:
        raise MaintenanceError(f"cannot open the PostgreSQL database: {exc.__class__.__name__}"
                               ) from exc


def _fresh_sqlite(path: Path) -> sqlite3.Connection:
    """A new SQLite file at the current schema, empty (the migrations' legacy tables gone)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    conn = db.connect_sync(path)
    db.migrate(conn)
    conn.execute("BEGIN IMMEDIATE")
    for statement in upgrade._FORGET_LEGACY:
        conn.execute(statement)
    conn.execute("DELETE FROM maintenance")  # the deployment id comes from PostgreSQL
    conn.execute("COMMIT")
    return conn


def backup(url: str, target: Path) -> SnapshotSummary:
    """Write a consistent, sealed-only snapshot of the PostgreSQL database to `target`."""
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    live = _connect(url)
    try:
        copy = _fresh_sqlite(partial)
        try:
            with live.transaction():
                live.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                copy.execute("BEGIN IMMEDIATE")
                for select, insert in SNAPSHOT_COPIES:
                    cursor = live.execute(select)
                    while rows := cursor.fetchmany(1000):
                        copy.executemany(insert, [_sqlite_row(row) for row in rows])
                copy.execute("COMMIT")
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            copy.execute("VACUUM")
            respondents = copy.execute("SELECT count(*) FROM respondents").fetchone()[0]
            records = copy.execute("SELECT count(*) FROM records").fetchone()[0]
        finally:
            copy.close()
    except (OSError, sqlite3.Error, psycopg.Error) as exc:
        partial.unlink(missing_ok=True)
        raise MaintenanceError(f"could not write the snapshot {target}: "
                               f"{exc.__class__.__name__}") from exc
    finally:
        live.close()
    for suffix in ("-wal", "-shm"):
        partial.with_name(partial.name + suffix).unlink(missing_ok=True)
    os.replace(partial, target)
    return SnapshotSummary(int(respondents), int(records), target.stat().st_size)


def _sqlite_row(row: Sequence[object]) -> tuple[object, ...]:
    return tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)


def purge_through(url: str, snapshot: Path, dry_run: bool = False) -> int:
    """Delete the sealed records that `snapshot` holds byte for byte; people left with
    nothing go too, the database notes it was purged, and the tables are vacuumed."""
    held = _snapshot_records(snapshot)
    conn = _connect(url)
    try:
        with conn.transaction():
            conn.execute("CREATE TEMP TABLE held (id BYTEA PRIMARY KEY, sealed BYTEA NOT NULL) "
                         "ON COMMIT DROP")
            with conn.cursor().copy("COPY held (id, sealed) FROM STDIN") as copy:
                for row in held:
                    copy.write_row(row)
            if dry_run:
                found = conn.execute("SELECT count(*) FROM records r JOIN held h "
                                     "ON h.id = r.id AND h.sealed = r.sealed").fetchone()
                return int(str(found[0])) if found else 0
            deleted = conn.execute("DELETE FROM records r USING held h "
                                   "WHERE h.id = r.id AND h.sealed = r.sealed").rowcount
            if deleted:
                conn.execute(
                    "DELETE FROM respondents p WHERE NOT EXISTS (SELECT 1 FROM records r "
                    "WHERE r.respondent_id = p.id) AND NOT EXISTS (SELECT 1 FROM sessions s "
                    "WHERE s.respondent_id = p.id)")
                conn.execute("INSERT INTO maintenance (fact, value) VALUES ('purged', '1') "
                             "ON CONFLICT (fact) DO UPDATE SET value = excluded.value")
        if deleted:
            vacuum(conn, ("records", "respondents"))
        return int(deleted)
    except psycopg.Error as exc:
        raise MaintenanceError(f"could not purge: {exc.__class__.__name__}") from exc
    finally:
        conn.close()


def _snapshot_records(snapshot: Path) -> list[tuple[bytes, bytes]]:
    if not snapshot.is_file():
        raise MaintenanceError(f"no snapshot at {snapshot}")
    try:
        conn = sqlite3.connect(f"{snapshot.resolve().as_uri()}?mode=ro", uri=True)
        try:
            return [(bytes(i), bytes(s)) for i, s in conn.execute(
                "SELECT id, sealed FROM records")]
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise MaintenanceError(f"{snapshot} is not a testimony-bot snapshot ({exc})") from exc


def vacuum(conn: psycopg.Connection[tuple[object, ...]], tables: Iterable[str]) -> None:
    """Reclaim deleted rows now (dead tuples until then). VACUUM cannot run in a
    transaction, hence autocommit for the moment."""
    conn.autocommit = True
    try:
        for table in tables:
            conn.execute(VACUUMS[table])
    finally:
        conn.autocommit = False


def expire_sessions(url: str, updated_before: datetime) -> int:
    """End sessions untouched since `updated_before`: their working state is deleted."""
    day = updated_before.date().isoformat()
    conn = _connect(url)
    try:
        with conn.transaction():
            ended = conn.execute("DELETE FROM sessions WHERE updated_on < %s", (day,)).rowcount
            conn.execute("DELETE FROM pending_sessions WHERE updated_on < %s", (day,))
        if ended:  # a session's reminder goes with it
            vacuum(conn, ("sessions", "reminders"))
        return int(ended)
    except psycopg.Error as exc:
        raise MaintenanceError(f"could not end sessions: {exc.__class__.__name__}") from exc
    finally:
        conn.close()


def migrate_from_sqlite(source: Path, url: str) -> dict[str, int]:
    """Copy a SQLite deployment's data into an empty PostgreSQL database, in one
    transaction: everything the bot keeps, sealed or not, so conversations carry on.
    Returns the rows copied per table. Stop the bot first."""
    if not source.is_file():
        raise MaintenanceError(f"no database at {source}")
    try:
        lite = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise MaintenanceError(f"cannot open {source}: {exc}") from exc
    try:
        done = {row[0] for row in lite.execute("SELECT version FROM schema_migrations")}
        if done != {m.number for m in db.migrations()} or upgrade.pending(lite):
            raise MaintenanceError(
                f"{source} is from an older version: start this version of the bot on it "
                "once (with SQLite), stop it, then migrate")
        conn = _connect(url)
        try:
            with conn.transaction():
                found = conn.execute("SELECT (SELECT count(*) FROM respondents) + "
                                     "(SELECT count(*) FROM links)").fetchone()
                if found and int(str(found[0])):
                    raise MaintenanceError("the PostgreSQL database holds data already: "
                                           "migrate only into a new, empty one")
                conn.execute("DELETE FROM maintenance")  # the deployment id comes along
                copied = {table: _copy_into_postgres(lite, conn, select, into)
                          for table, select, into in MIGRATE_COPIES}
                tables = {str(row[0]) for row in lite.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table'")}
                for table, select, into in LEDGER_COPIES:
                    if table in tables:  # the ledger's tables under either schema's names
                        copied[table] = _copy_into_postgres(lite, conn, select, into)
            return copied
        finally:
            conn.close()
    except (sqlite3.Error, psycopg.Error) as exc:
        raise MaintenanceError(f"could not migrate: {exc.__class__.__name__}") from exc
    finally:
        lite.close()


def _copy_into_postgres(lite: sqlite3.Connection, conn: psycopg.Connection[tuple[object, ...]],
                        select: str, into: bytes) -> int:
    count = 0
    cursor = lite.execute(select)
    with conn.cursor().copy(into) as copy:
        while rows := cursor.fetchmany(1000):
            for row in rows:
                copy.write_row(row)
            count += len(rows)
    return count


def rewrite_person_tables(url: str) -> None:
    """VACUUM FULL the tables that hold people's data, then a checkpoint (so the WAL that
    still holds erased rows can be recycled sooner). Each table is locked for the moment it
    is copied: workers wait that long (small tables: well under a second per 10 MB)."""
    conn = _connect(url)
    try:
        conn.autocommit = True
        for statement in REWRITES:
            conn.execute(statement)
        # Needs superuser or pg_checkpoint; without, the next timed checkpoint does it.
        with contextlib.suppress(psycopg.errors.InsufficientPrivilege):
            conn.execute("CHECKPOINT")
    except psycopg.Error as exc:
        raise MaintenanceError(f"could not rewrite the tables: {exc.__class__.__name__}"
                               ) from exc
    finally:
        conn.close()
