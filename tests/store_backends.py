"""The two store backends behind one test interface, for the conformance suite and the
multi-worker tests: open a store, snapshot it, purge, expire, and look at every stored byte."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from storage import maintenance
from storage.backend import StoreBackend, open_store
from storage.maintenance import SnapshotSummary
from storage.sealing import RecipientKey
from storage.server_keys import ServerKeys

# Every table a backend keeps, to look for clear text in each stored byte.
TABLES = ("respondents", "records", "sessions", "counters", "erasures", "maintenance",
          "links", "telegram_updates", "telegram_messages", "channel_updates",
          "channel_messages", "reminders")


@dataclass
class Backend:
    name: str
    url: str  # '' for SQLite
    db_path: Path

    async def open(self, recipients: Sequence[RecipientKey], keys: ServerKeys
                   ) -> StoreBackend:
        return await open_store(self.url, self.db_path, recipients, keys)

    def backup(self, target: Path) -> SnapshotSummary:
        if self.url:
            from storage.pg import maintenance as pg

            return pg.backup(self.url, target)
        return maintenance.backup(self.db_path, target)

    def purge_through(self, snapshot: Path, dry_run: bool = False) -> int:
        if self.url:
            from storage.pg import maintenance as pg

            return pg.purge_through(self.url, snapshot, dry_run)
        return maintenance.purge_through(self.db_path, snapshot, dry_run)

    def expire_sessions(self, before: datetime) -> int:
        if self.url:
            from storage.pg import maintenance as pg

            return pg.expire_sessions(self.url, before)
        return maintenance.expire_sessions(self.db_path, before)

    def count(self, table: str) -> int:
        return len(self.rows(table))

    def rows(self, table: str) -> list[tuple[object, ...]]:
        if table not in (*TABLES, "pending_sessions"):
            raise ValueError(table)
        query = {t: f"SELECT * FROM {t}" for t in (*TABLES, "pending_sessions")}[table]
        if self.url:
            import psycopg

            with psycopg.connect(self.url) as conn:
                return [tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)
                        for row in conn.execute(query.encode()).fetchall()]
        with sqlite3.connect(self.db_path) as conn:
            if table == "pending_sessions":
                return []  # a single SQLite worker keeps it in memory
            return list(conn.execute(query).fetchall())

    def tables(self) -> set[str]:
        if self.url:
            import psycopg

            with psycopg.connect(self.url) as conn:
                return {str(r[0]) for r in conn.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        with sqlite3.connect(self.db_path) as conn:
            return {str(r[0]) for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}

    def every_value(self) -> bytes:
        """All stored values, concatenated: nothing in clear may be among them."""
        out = bytearray()
        present = self.tables()
        for table in (t for t in (*TABLES, "pending_sessions") if t in present):
            for row in self.rows(table):
                for value in row:
                    out += value if isinstance(value, bytes) else str(value).encode()
                    out += b"\x00"
        return bytes(out)
