"""A channel's bookkeeping on PostgreSQL, for several workers: the same promises and the same
public methods as the SQLite ledger (storage.ledger_base keeps what both keep in memory), on
the store's pool.

- `claim` stays a memory check (no round trip per update): tags of updates this worker or,
  at its start, the whole cluster handled in the last day. A redelivery that reaches another
  worker is still caught where it matters - the event id is saved with the answer, under the
  person's lock (storage.pg.store), so it is stored once and the current question is asked
  again (which is what a person needs whose reply was lost with a worker).
- `handled` marks go to `channel_updates` in grouped writes, with its unique key
  (channel, tag): two workers marking one update keep one row.
- Message ids wait in memory until the person has a respondent row (nothing before consent),
  then go to `channel_messages`; `tracked` reads what any worker stored. Every flush looks
  up everyone still waiting: a person may consent at another worker.
- Pruning is idempotent, so it does not matter which worker does it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import psycopg

from storage.ledger_base import IdT, LedgerBase, day
from storage.pg.schema import Pool
from storage.server_keys import ServerKeys

__all__ = ["IdT", "PgChannelLedger"]  # IdT: the store names the ledger's type with it


class PgChannelLedger(LedgerBase[IdT]):
    LOOK_UP_ALL_WAITING = True
    DATABASE_ERRORS = (psycopg.Error,)

    def __init__(self, pool: Pool, keys: ServerKeys, flush_interval: float = 0.05, *,
                 channel: str = "telegram", parse: Callable[[str], IdT]) -> None:
        super().__init__(keys, flush_interval, channel=channel, parse=parse)
        self._pool = pool

    async def _handled_updates(self) -> list[tuple[bytes, str]]:
        async with self._pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT tag, seen_on FROM channel_updates WHERE channel = %s ORDER BY seen_on",
                (self._channel,))
            return [(bytes(tag), str(seen_on)) for tag, seen_on in await cursor.fetchall()]

    async def _stored_messages(self, respondent: bytes, since: str) -> list[tuple[str, str]]:
        async with self._pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT message_id, sent_on FROM channel_messages "
                "WHERE channel = %s AND respondent_id = %s AND sent_on >= %s "
                "ORDER BY length(message_id), message_id",
                (self._channel, respondent, since))
            return [(str(mid), str(on)) for mid, on in await cursor.fetchall()]

    async def _write(self, marks: list[tuple[bytes, str]], forgotten: set[bytes],
                     waiting: dict[bytes, list[tuple[IdT, datetime]]]) -> set[bytes]:
        saved: set[bytes] = set()
        async with self._pool.connection() as conn, conn.transaction():
            cursor = conn.cursor()
            if marks:
                await cursor.executemany(
                    "INSERT INTO channel_updates (channel, tag, seen_on) "
                    "VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                    [(self._channel, tag, on) for tag, on in marks])
            if forgotten:
                await cursor.executemany(
                    "DELETE FROM channel_messages WHERE channel = %s "
                    "AND respondent_id = %s", [(self._channel, r) for r in forgotten])
            if waiting:
                found = await conn.execute(
                    "SELECT id FROM respondents WHERE id = ANY(%s)", (list(waiting),))
                saved = {bytes(row[0]) for row in await found.fetchall()}
                rows = [(self._channel, r, str(mid), day(at)) for r in saved
                        for mid, at in waiting[r]]
                if rows:
                    await cursor.executemany(
                        "INSERT INTO channel_messages (channel, respondent_id, "
                        "message_id, sent_on) VALUES (%s, %s, %s, %s) "
                        "ON CONFLICT DO NOTHING", rows)
        return saved

    async def _delete_older(self, updates_before: str, messages_before: str) -> None:
        async with self._pool.connection() as conn, conn.transaction():
            await conn.execute("DELETE FROM channel_updates WHERE channel = %s "
                               "AND seen_on < %s", (self._channel, updates_before))
            await conn.execute("DELETE FROM channel_messages WHERE channel = %s "
                               "AND sent_on < %s", (self._channel, messages_before))
