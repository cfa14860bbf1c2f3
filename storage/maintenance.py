"""Server-side maintenance without the private key: snapshots, purging what was collected, and
ending abandoned sessions.

- `backup` copies the live database with SQLite's online backup API (a consistent picture even
  while the bot writes), then removes from the copy everything that is not sealed to the
  researchers: working state and profiles (encrypted only with the server's key, which a
  researcher does not hold and does not need), the channels' bookkeeping (update tags,
  message ids) and field workers' pseudonyms. Counters are anonymous and stay.
- `purge_through` deletes from the live database the sealed records that a snapshot holds
  byte for byte, so an answer changed after the snapshot (via /back) is kept; people left
  with nothing stored go too, and the database notes that it was purged (so /delete leaves
  an erasure record for the copies).
- `expire_sessions` ends sessions untouched for a while: their working state is deleted.

Each deletion is followed by a WAL checkpoint, because with `secure_delete` the main file is
overwritten but old pages would otherwise linger in the `-wal` file.
"""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from storage import db


class MaintenanceError(Exception):
    """The operation could not be done; the message says why (never any content)."""


@dataclass(frozen=True)
class SnapshotSummary:
    respondents: int
    answers: int
    bytes: int


def _open_live(path: Path) -> sqlite3.Connection:
    if not path.is_file():
        raise MaintenanceError(f"no database at {path}")
    try:
        conn = db.connect_sync(path)
        db.migrate(conn)
    except (sqlite3.Error, db.DatabaseError) as exc:
        raise MaintenanceError(f"cannot open the database at {path}: {exc}") from exc
    return conn


def backup(source: Path, target: Path) -> SnapshotSummary:
    """Write a consistent, sealed-only snapshot of `source` to `target` (replaced atomically)."""
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    live = _open_live(source)
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        copy = sqlite3.connect(partial, isolation_level=None)
        try:
            # pages=-1: one step under one read transaction, so the copy is one point in time.
            live.backup(copy, pages=-1)
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            copy.execute("PRAGMA secure_delete=ON")
            tables = {row[0] for row in copy.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
            for table, statement in SERVER_ONLY:
                if table in tables:
                    copy.execute(statement)
            copy.execute("VACUUM")
            respondents = copy.execute("SELECT count(*) FROM respondents").fetchone()[0]
            answers = copy.execute(
                "SELECT count(*) FROM records" if "records" in tables
                else "SELECT count(*) FROM answers").fetchone()[0]
        finally:
            copy.close()
    except (OSError, sqlite3.Error) as exc:
        partial.unlink(missing_ok=True)
        raise MaintenanceError(f"could not write the snapshot {target}: {exc}") from exc
    finally:
        live.close()
    os.replace(partial, target)
    return SnapshotSummary(int(respondents), int(answers), target.stat().st_size)


# What a snapshot must not carry: only the server uses it, and a snapshot travels.
SERVER_ONLY = (
    ("reminders", "DELETE FROM reminders"),  # where to reach a person, under the state key
    ("sessions", "DELETE FROM sessions"),
    ("respondents", "UPDATE respondents SET profile = NULL"),
    ("channel_updates", "DELETE FROM channel_updates"),
    ("channel_messages", "DELETE FROM channel_messages"),
    ("links", "UPDATE links SET created_by = NULL"),
)


def _attach_snapshot(conn: sqlite3.Connection, snapshot: Path) -> None:
    if not snapshot.is_file():
        raise MaintenanceError(f"no snapshot at {snapshot}")
    try:
        conn.execute("ATTACH DATABASE ? AS snap", (f"{snapshot.resolve().as_uri()}?mode=ro",))
        conn.execute("SELECT count(*) FROM snap.records").fetchone()
    except sqlite3.Error as exc:
        raise MaintenanceError(f"{snapshot} is not a testimony-bot snapshot ({exc})") from exc


# A record is "held" by the snapshot when the same row (id and sealed bytes) is there: an
# answer changed since (after /back) is a new row and stays.
_HELD = (
    "FROM records WHERE EXISTS (SELECT 1 FROM snap.records s "
    "WHERE s.id = records.id AND s.sealed = records.sealed)"
)
COUNT_HELD = "SELECT count(*) " + _HELD
DELETE_HELD = "DELETE " + _HELD
# People with nothing left: no record and no session in progress.
DELETE_EMPTY = (
    "DELETE FROM respondents WHERE NOT EXISTS (SELECT 1 FROM records r "
    "WHERE r.respondent_id = respondents.id) AND NOT EXISTS (SELECT 1 FROM sessions s "
    "WHERE s.respondent_id = respondents.id)"
)
NOTE_PURGED = "INSERT OR REPLACE INTO maintenance (fact, value) VALUES ('purged', '1')"


def purge_through(database: Path, snapshot: Path, dry_run: bool = False) -> int:
    """Delete the answers that `snapshot` holds unchanged; return how many (would) go."""
    _open_live(database).close()  # exists, and migrated like the bot would
    try:
        # ATTACH with a read-only URI needs a connection opened in URI mode.
        conn = sqlite3.connect(database.resolve().as_uri(), uri=True, isolation_level=None)
    except sqlite3.Error as exc:
        raise MaintenanceError(f"cannot open the database at {database}: {exc}") from exc
    try:
        for pragma in db.PRAGMAS:
            conn.execute(pragma)
        _attach_snapshot(conn, snapshot)
        if dry_run:
            return int(conn.execute(COUNT_HELD).fetchone()[0])
        conn.execute("BEGIN IMMEDIATE")
        try:
            deleted = conn.execute(DELETE_HELD).rowcount
            if deleted:
                conn.execute(DELETE_EMPTY)
                conn.execute(NOTE_PURGED)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("DETACH DATABASE snap")
        _checkpoint_until_done(conn)
        return int(deleted)
    except sqlite3.Error as exc:
        raise MaintenanceError(f"could not purge {database}: {exc}") from exc
    finally:
        conn.close()


CHECKPOINT_ATTEMPTS = 50


def _checkpoint_until_done(conn: sqlite3.Connection) -> None:
    """Erased pages stay in the -wal file until a checkpoint completes; a running bot or
    another reader can hold it up for a moment, so try again for a while, then say so."""
    delay = 0.02
    for _ in range(CHECKPOINT_ATTEMPTS):
        if db.checkpoint_sync(conn):
            return
        time.sleep(delay)
        delay = min(delay * 2, 1.0)
    raise MaintenanceError(
        "the deletion is committed, but another process keeps the database's write-ahead log "
        "open, so erased pages may remain in its -wal file; the bot finishes the checkpoint "
        "itself when it can - or stop it and run this again")


def expire_sessions(database: Path, updated_before: datetime) -> int:
    """End sessions untouched since `updated_before`: their working state is deleted."""
    conn = _open_live(database)
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            ended = conn.execute("DELETE FROM sessions WHERE updated_on < ?",
                                 (updated_before.date().isoformat(),)).rowcount
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        _checkpoint_until_done(conn)
        return int(ended)
    except sqlite3.Error as exc:
        raise MaintenanceError(f"could not end sessions in {database}: {exc}") from exc
    finally:
        conn.close()
