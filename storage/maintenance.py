"""Server-side maintenance without the private key: snapshots, purging what was collected, and
ending abandoned sessions.

- `backup` copies the live database with SQLite's online backup API (a consistent picture even
  while the bot writes), then removes from the copy everything that is not sealed to the
  researchers: the working state of sessions (encrypted only with the server's key, which a
  researcher does not hold and does not need). Counters are anonymous and stay.
- `purge_through` deletes from the live database the sealed answers that a snapshot holds
  byte for byte, so an answer changed after the snapshot (via /back) is kept.
- `expire_sessions` ends sessions untouched for a while: their working state is deleted.

Each deletion is followed by a WAL checkpoint, because with `secure_delete` the main file is
overwritten but old pages would otherwise linger in the `-wal` file.
"""

from __future__ import annotations

import os
import sqlite3
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
            copy.execute("DELETE FROM sessions")
            copy.execute("VACUUM")
            respondents = copy.execute("SELECT count(*) FROM respondents").fetchone()[0]
            answers = copy.execute("SELECT count(*) FROM answers").fetchone()[0]
        finally:
            copy.close()
    except (OSError, sqlite3.Error) as exc:
        partial.unlink(missing_ok=True)
        raise MaintenanceError(f"could not write the snapshot {target}: {exc}") from exc
    finally:
        live.close()
    os.replace(partial, target)
    return SnapshotSummary(int(respondents), int(answers), target.stat().st_size)


def _attach_snapshot(conn: sqlite3.Connection, snapshot: Path) -> None:
    if not snapshot.is_file():
        raise MaintenanceError(f"no snapshot at {snapshot}")
    try:
        conn.execute("ATTACH DATABASE ? AS snap", (f"{snapshot.resolve().as_uri()}?mode=ro",))
        conn.execute("SELECT count(*) FROM snap.answers").fetchone()
    except sqlite3.Error as exc:
        raise MaintenanceError(f"{snapshot} is not a testimony-bot snapshot ({exc})") from exc


# An answer is "held" by the snapshot when the same respondent, question and sealed bytes are
# there: an answer changed since (after /back) differs in its bytes and stays.
_HELD = (
    "FROM answers WHERE EXISTS (SELECT 1 FROM snap.answers s "
    "WHERE s.respondent_id = answers.respondent_id AND s.question_id = answers.question_id "
    "AND s.sealed = answers.sealed)"
)
COUNT_HELD = "SELECT count(*) " + _HELD
DELETE_HELD = "DELETE " + _HELD


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
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("DETACH DATABASE snap")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return int(deleted)
    except sqlite3.Error as exc:
        raise MaintenanceError(f"could not purge {database}: {exc}") from exc
    finally:
        conn.close()


def expire_sessions(database: Path, updated_before: datetime) -> int:
    """End sessions untouched since `updated_before`: their working state is deleted."""
    conn = _open_live(database)
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            ended = conn.execute("DELETE FROM sessions WHERE updated_at < ?",
                                 (updated_before.isoformat(),)).rowcount
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return int(ended)
    except sqlite3.Error as exc:
        raise MaintenanceError(f"could not end sessions in {database}: {exc}") from exc
    finally:
        conn.close()
