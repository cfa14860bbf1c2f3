"""Opening the database: pragmas for durability and erasure, and numbered migrations.

The schema changes only through `storage/migrations/NNNN_name.sql`, applied in order inside a
transaction and recorded in `schema_migrations`, as sqlite-utils does.
"""

from __future__ import annotations

import contextlib
import itertools
import re
import sqlite3
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import cast

import aiosqlite

MIGRATION_NAME = re.compile(r"(\d{4})_([a-z0-9_]+)\.sql")
PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",  # an acknowledged answer survives power loss
    "PRAGMA foreign_keys=ON",
    "PRAGMA secure_delete=ON",  # erased content is overwritten, not left in free pages
    "PRAGMA busy_timeout=5000",
    # After a checkpoint the -wal file shrinks back to this size instead of keeping its
    # largest extent (and whatever old page images it held) on disk.
    "PRAGMA journal_size_limit=8388608",
)


class DatabaseError(Exception):
    """The database cannot be used (unwritable, from a newer version, damaged)."""


@dataclass(frozen=True)
class Migration:
    number: int
    name: str
    sql: str


def migrations(folder: Traversable | None = None) -> list[Migration]:
    """The numbered SQL files of `folder` (SQLite's by default; PostgreSQL has its own)."""
    found = []
    for entry in (folder or resources.files("storage.migrations")).iterdir():
        match = MIGRATION_NAME.fullmatch(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.number)
    numbers = [m.number for m in found]
    # A gap is allowed: two changes made side by side each take a number, and one may be
    # released before the other. Each migration is applied once, those not applied yet in
    # the order of their numbers, so a number filled in later is applied when it arrives
    # (such migrations must not depend on each other). Two files with one number are refused.
    if len(set(numbers)) != len(numbers) or (numbers and numbers[0] < 1):
        raise DatabaseError(f"migrations must have distinct numbers from 1, found {numbers}")
    return found


def migrate(conn: sqlite3.Connection) -> list[int]:
    """Apply pending migrations (synchronously: used by the async opener and by tools)."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL) STRICT"
    )
    done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
    known = migrations()
    if done - {m.number for m in known}:
        raise DatabaseError("this database was written by a newer version of testimony-bot")
    applied = []
    for migration in known:
        if migration.number in done:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _statements(migration.sql):
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (migration.number, migration.name, datetime.now(UTC).date().isoformat()),
            )
            conn.execute("COMMIT")
        except sqlite3.Error:
            conn.execute("ROLLBACK")
            raise
        applied.append(migration.number)
    if applied:
        vacuum_if_fragmented(conn)
    return applied


def vacuum_if_fragmented(conn: sqlite3.Connection) -> None:
    """Rebuild the file when dropped tables left free pages: nothing of them stays in it,
    and a size cap (DB_MAX_MB) then means what it says."""
    if conn.execute("PRAGMA freelist_count").fetchone()[0]:
        conn.execute("VACUUM")


def _statements(script: str) -> list[str]:
    """Split a migration into statements (sqlite3 runs one per execute inside a transaction).

    SQLite's own `complete_statement` decides where a statement ends, so semicolons inside
    comments or strings do not cut one in two.
    """
    statements, buffer = [], ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip() and not all(
        part.strip().startswith("--") or not part.strip() for part in buffer.splitlines()
    ):
        raise DatabaseError("a migration ends with an unfinished statement")
    return statements


def connect_sync(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in PRAGMAS:
        conn.execute(pragma)
    return conn


# One statement of a grouped write: SQL and its rows of parameters (run as executemany).
Statement = tuple[str, Sequence[tuple[object, ...]]]
# Rows a multi-row statement takes at most: chunks are powers of two up to this, so a handful
# of SQL texts stay in the connection's statement cache (4 columns x 256 rows is far below
# SQLite's 32,766 parameters).
ROWS_PER_STATEMENT = 256


def values_statements(head: str, columns: int, tail: str,
                      rows: Sequence[tuple[object, ...]]) -> list[Statement]:
    """`head VALUES (?, ...), (?, ...) tail` for all `rows`, a few statements in all.

    Why not executemany: it steps SQLite once per row, giving up and taking back the GIL
    each time, and while the event loop is busy each taking back can wait for Python's
    switch interval. One statement per chunk steps once."""
    statements: list[Statement] = []
    one = "(" + ", ".join("?" * columns) + ")"
    start = 0
    while start < len(rows):
        size = min(ROWS_PER_STATEMENT, 1 << ((len(rows) - start).bit_length() - 1))
        chunk = rows[start:start + size]
        flat = tuple(itertools.chain.from_iterable(chunk))
        statements.append((f"{head} VALUES {', '.join([one] * size)} {tail}", [flat]))
        start += size
    return statements


def _run_transaction(conn: sqlite3.Connection, statements: list[Statement]) -> list[int]:
    """In the connection's thread: BEGIN IMMEDIATE, every statement, COMMIT (or ROLLBACK)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        counts = [conn.executemany(sql, rows).rowcount for sql, rows in statements]
        conn.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        raise
    return counts


async def write_transaction(conn: aiosqlite.Connection,
                            statements: list[Statement]) -> list[int]:
    """One durable transaction in a single trip to the connection's thread; the rows each
    statement changed. A grouped commit made six trips before, each waiting for the event
    loop to come round. aiosqlite has no public way to run several statements in one trip:
    its `_execute` queues a function for its thread, as its own methods do."""
    counts = await conn._execute(_run_transaction, conn._connection,  # type: ignore[no-untyped-call]
                                 statements)
    return cast(list[int], counts)


@contextlib.asynccontextmanager
async def immediate(conn: aiosqlite.Connection) -> AsyncIterator[aiosqlite.Connection]:
    """One write transaction: BEGIN IMMEDIATE, COMMIT, or ROLLBACK on any error.

    The caller serializes transactions on a shared connection (the store's lock)."""
    await conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        await conn.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            await conn.execute("ROLLBACK")
        raise


async def connect(path: Path) -> aiosqlite.Connection:
    """Open (creating if needed) and migrate the bot's database."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with connect_sync(path) as conn:
            migrate(conn)
        conn.close()
        db = await aiosqlite.connect(path, isolation_level=None)
        for pragma in PRAGMAS:
            await db.execute(pragma)
    except (OSError, sqlite3.Error) as exc:
        raise DatabaseError(f"cannot open the database at {path}: {exc}") from exc
    return db


async def checkpoint(conn: aiosqlite.Connection) -> bool:
    """`wal_checkpoint(TRUNCATE)`, checked: True only when every frame went into the main
    file and the -wal file was emptied (a reader holding an old snapshot prevents that)."""
    async with conn.execute("PRAGMA wal_checkpoint(TRUNCATE)") as cursor:
        row = await cursor.fetchone()
    return row is not None and row[0] == 0 and row[1] == row[2]


def checkpoint_sync(conn: sqlite3.Connection) -> bool:
    """The same for the synchronous maintenance tools."""
    row = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    return row is not None and row[0] == 0 and row[1] == row[2]
