"""Opening PostgreSQL: numbered plain-SQL migrations from `storage/migrations/postgres/`.

Migrations run in one transaction under a cluster-wide advisory lock, so several workers
starting at once apply each exactly once (DDL is transactional in PostgreSQL).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from importlib import resources

import psycopg
from psycopg.rows import TupleRow
from psycopg_pool import AsyncConnectionPool

from storage import db
from storage.db import DatabaseError, Migration

# Advisory lock keys (bigint): fixed, and far from the respondent keys' random 64-bit values.
MIGRATION_LOCK = 0x7465_7374_0001
RETENTION_LOCK = 0x7465_7374_0002


def migrations() -> list[Migration]:
    return db.migrations(resources.files("storage.migrations").joinpath("postgres"))


def migrate(url: str) -> list[int]:
    """Apply pending migrations; returns their numbers."""
    try:
        with psycopg.connect(url) as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
                "name TEXT NOT NULL, applied_at TEXT NOT NULL)")
            done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
            known = migrations()
            if done - {m.number for m in known}:
                raise DatabaseError(
                    "this database was written by a newer version of testimony-bot")
            applied = []
            for migration in known:
                if migration.number in done:
                    continue
                conn.execute(migration.sql.encode())  # several statements, no parameters
                conn.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) "
                    "VALUES (%s, %s, %s)",
                    (migration.number, migration.name, datetime.now(UTC).date().isoformat()))
                applied.append(migration.number)
            return applied
    except psycopg.Error as exc:
        raise DatabaseError(f"cannot open the PostgreSQL database: {_reason(exc)}") from exc


def _reason(exc: psycopg.Error) -> str:
    """What went wrong, without the connection string (it may hold a password)."""
    state = getattr(exc, "sqlstate", None)
    lines = str(exc).strip().splitlines()  # the first line is PostgreSQL's primary message;
    first = lines[0] if lines else ""       # values, if any, come in a DETAIL line after it
    return f"{exc.__class__.__name__}{f' ({state})' if state else ''}: {first}"


Conn = psycopg.AsyncConnection[TupleRow]
Pool = AsyncConnectionPool[psycopg.AsyncConnection[TupleRow]]


@contextlib.asynccontextmanager
async def connection(source: Pool | Conn) -> AsyncIterator[Conn]:
    """A connection from the pool, or the one given (a person's turn holds one already:
    taking a second from a busy pool could wait on itself)."""
    if isinstance(source, AsyncConnectionPool):
        async with source.connection() as conn:
            yield conn
    else:
        yield source
