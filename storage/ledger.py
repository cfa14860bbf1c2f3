"""A channel's bookkeeping on SQLite (updates already handled, message ids /exit may delete):
storage.ledger_base keeps it and says what it promises; this is its SQL.

The grouped writes go in one transaction on the store's connection (so they never compete
with the store's own commits for SQLite's write lock).
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

import aiosqlite

from storage.ledger_base import LedgerBase, day
from storage.server_keys import ServerKeys
from storage.store import Store

TrackedId = tuple[str, datetime]


class ChannelLedger(LedgerBase[str]):
    DATABASE_ERRORS = (sqlite3.Error,)

    def __init__(self, store: Store, keys: ServerKeys, flush_interval: float = 0.05, *,
                 channel: str = "telegram") -> None:
        super().__init__(keys, flush_interval, channel=channel, parse=str)
        self._store = store

    async def _handled_updates(self) -> list[tuple[bytes, str]]:
        async with self._store.transaction() as conn, conn.execute(
            "SELECT tag, seen_on FROM channel_updates WHERE channel = ? ORDER BY seen_on",
            (self._channel,),
        ) as cursor:
            return [(bytes(tag), str(seen_on)) async for tag, seen_on in cursor]

    async def _stored_messages(self, respondent: bytes, since: str) -> list[tuple[str, str]]:
        async with self._store.transaction() as conn, conn.execute(
            "SELECT message_id, sent_on FROM channel_messages "
            "WHERE channel = ? AND respondent_id = ? AND sent_on >= ? "
            "ORDER BY length(message_id), message_id",
            (self._channel, respondent, since),
        ) as cursor:
            return [(str(mid), str(on)) async for mid, on in cursor]

    async def _write(self, marks: list[tuple[bytes, str]], forgotten: set[bytes],
                     waiting: dict[bytes, list[TrackedId]]) -> set[bytes]:
        saved: set[bytes] = set()
        async with self._store.transaction() as conn:
            if marks:
                await conn.executemany(
                    "INSERT OR IGNORE INTO channel_updates (channel, tag, seen_on) "
                    "VALUES (?, ?, ?)", [(self._channel, tag, on) for tag, on in marks])
            if forgotten:
                await conn.executemany(
                    "DELETE FROM channel_messages WHERE channel = ? AND respondent_id = ?",
                    [(self._channel, r) for r in forgotten])
            if waiting:
                saved = await self._consented(conn, list(waiting))
                await conn.executemany(
                    "INSERT OR IGNORE INTO channel_messages (channel, respondent_id, "
                    "message_id, sent_on) VALUES (?, ?, ?, ?)",
                    [(self._channel, r, mid, day(at)) for r in saved
                     for mid, at in waiting[r]])
        return saved

    @staticmethod
    async def _consented(conn: aiosqlite.Connection, respondents: list[bytes]) -> set[bytes]:
        """Which of these people have a respondent row (consented): one indexed join through
        a connection-local scratch table, with the SQL fixed and the ids as parameters."""
        await conn.execute(
            "CREATE TEMP TABLE IF NOT EXISTS ledger_pending (id BLOB PRIMARY KEY) WITHOUT ROWID")
        await conn.executemany("INSERT OR IGNORE INTO temp.ledger_pending (id) VALUES (?)",
                               [(r,) for r in respondents])
        async with conn.execute(
            "SELECT p.id FROM temp.ledger_pending p JOIN respondents r ON r.id = p.id"
        ) as cursor:
            found = {bytes(row[0]) async for row in cursor}
        await conn.execute("DELETE FROM temp.ledger_pending")
        return found

    async def _delete_older(self, updates_before: str, messages_before: str) -> None:
        async with self._store.transaction() as conn:
            await conn.execute("DELETE FROM channel_updates WHERE channel = ? AND seen_on < ?",
                               (self._channel, updates_before))
            await conn.execute("DELETE FROM channel_messages WHERE channel = ? AND sent_on < ?",
                               (self._channel, messages_before))
