"""The PostgreSQL backend of the store: several workers on one database.

- A person's events are handled one at a time across the cluster: a turn takes a
  transaction-scoped advisory lock on the person's keyed id (the first 8 bytes of the HMAC,
  evenly spread), reads their state, and the write commits - and releases the lock - before
  any reply is sent. A second worker with the same person's next event waits for it.
- Nothing is sealed differently: the same records as SQLite (storage.store builds them), sealed
  here in this process, written with the same keys and unique constraints.
- Before consent nothing is written here, as with SQLite: the workers carry that conversation
  in the buttons they draw (bot.button_state), not in the database.
- Reminders people asked for are claimed once per cluster (storage/pg/reminders.py).
- Retention (ending abandoned sessions) runs in one worker of the cluster: the one holding a
  session-level advisory lock on a connection of its own; when it dies its lock goes with its
  connection and the next worker's round takes over.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Collection, Sequence
from datetime import datetime

import psycopg
from psycopg import pq
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from storage import store as shared_sql
from storage.db import DatabaseError
from storage.pg import schema
from storage.pg.ledger import IdT, PgChannelLedger
from storage.pg.links import PgLinkBook
from storage.pg.reminders import PgReminderBook, write_reminder
from storage.pg.schema import Conn, Pool
from storage.reminders import DueReminder
from storage.sealing import RecipientKey, SealError, recipient_ids
from storage.server_keys import ServerKeys
from storage.store import (
    COMPLETED_SLOT,
    SEALED_HEADS,
    STATUS_SQL,
    Changes,
    RespondentStatus,
    WriteFailed,
    _Sealed,
    decode_status,
    seal_changes,
)

log = logging.getLogger(__name__)

POOL_SIZE = 10
LOCK_TIMEOUT_MS = 30_000  # a turn waiting longer than this for a person's lock gives up


STATUS = STATUS_SQL.format("%(id)s")


def _pg(sql: str) -> str:
    """storage.store's SQL of a change, with PostgreSQL's placeholders."""
    return sql.replace("?", "%s")


ERASE_RESPONDENT, KEEP_ERASURE, SAVE_PROFILE, DROP_RECORD, END_SESSION, COUNT = map(_pg, (
    shared_sql.ERASE_RESPONDENT, shared_sql.KEEP_ERASURE, shared_sql.SAVE_PROFILE,
    shared_sql.DROP_RECORD, shared_sql.END_SESSION, shared_sql.COUNT))
SAVE_RECORD = (f"{shared_sql.RECORDS_INTO} VALUES (%s, %s, %s, %s) "
               f"{shared_sql.RECORDS_UPSERT}")
SAVE_SESSION = (f"{shared_sql.SESSIONS_INTO} VALUES (%s, %s, %s) "
                f"{shared_sql.SESSIONS_UPSERT}")


def person_lock(respondent: bytes) -> int:
    """The advisory lock key of a person: 64 bits of their (already keyed) id."""
    return int.from_bytes(respondent[:8], "big", signed=True)


class PostgresStore:
    shared = True

    def __init__(self, pool: Pool, url: str, recipients: Sequence[RecipientKey],
                 keys: ServerKeys) -> None:
        self._pool = pool
        self._url = url
        self._recipients = tuple(recipients)
        self._keys = keys
        self.links = PgLinkBook(pool)
        self.reminders = PgReminderBook(pool, keys)
        self.commits = 0
        self._leader: Conn | None = None  # holds the retention lock while this worker lives

    @classmethod
    async def open(cls, url: str, recipients: Sequence[RecipientKey], keys: ServerKeys,
                   *, pool_size: int = POOL_SIZE) -> PostgresStore:
        if not recipients:
            raise ValueError("the store needs at least one recipient public key")
        await asyncio.to_thread(schema.migrate, url)
        pool: Pool = AsyncConnectionPool(
            url, min_size=1, max_size=pool_size, open=False, name="testimony",
            kwargs={"options": f"-c lock_timeout={LOCK_TIMEOUT_MS}"})
        try:
            await pool.open(wait=True, timeout=30)
        except PoolTimeout as exc:
            await pool.close()
            raise DatabaseError("cannot connect to the PostgreSQL database") from exc
        return cls(pool, url, recipients, keys)

    def ledger(self, keys: ServerKeys, flush_interval: float = 0.05, *,
               channel: str = "telegram", parse: Callable[[str], IdT]
               ) -> PgChannelLedger[IdT]:
        """A channel's bookkeeping on this store's pool; `parse` turns a stored message id
        back into the channel's own type."""
        return PgChannelLedger(self._pool, keys, flush_interval, channel=channel, parse=parse)

    async def close(self) -> None:
        if self._leader is not None:
            with contextlib.suppress(psycopg.Error):
                await self._leader.close()
            self._leader = None
        await self._pool.close()

    async def limit_size(self, max_bytes: int | None) -> None:
        """DB_MAX_MB caps a SQLite file; PostgreSQL's size is the operator's (quotas)."""

    # -- reading ---------------------------------------------------------------------------
    async def status(self, respondent: bytes) -> RespondentStatus:
        async with self._pool.connection() as conn:
            return await self._status(conn, respondent)

    async def _status(self, conn: Conn, respondent: bytes) -> RespondentStatus:
        cursor = await conn.execute(STATUS, {"id": respondent})
        row = await cursor.fetchone()
        assert row is not None
        return decode_status(self._keys, respondent, row)

    async def counters(self) -> dict[tuple[str, str], int]:
        async with self._pool.connection() as conn:
            cursor = await conn.execute("SELECT link, metric, count FROM counters")
            return {(str(c), str(m)): int(n) for c, m, n in await cursor.fetchall()}

    supports_reminders = True

    async def reminder_waiting(self, respondent: bytes) -> bool:
        return await self.reminders.waiting(respondent)

    async def claim_due_reminders(self, now: datetime,
                                  channels: Collection[str]) -> list[DueReminder]:
        return await self.reminders.claim_due(now, channels)

    async def count(self, link: str | None, metric: str) -> None:
        async with self._pool.connection() as conn:
            await conn.execute(COUNT, (link or "", metric))

    async def sealed_to_other_keys(self) -> int:
        """Records no configured key can open, read from their clear headers (as in SQLite)."""
        async with self._pool.connection() as conn:
            cursor = await conn.execute(SEALED_HEADS)
            heads = await cursor.fetchall()
        ours = {key.id for key in self._recipients}
        return sum(1 for (head,) in heads if ours.isdisjoint(recipient_ids(bytes(head))))

    # -- writing ---------------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def turn(self, respondent: bytes) -> AsyncIterator[PgTurn]:
        """The person's lock, held from reading their state until `apply` commits.

        The lock and the first read go in one round trip (a pipeline): the read is a
        statement of its own, so under READ COMMITTED it sees what the lock waited for."""
        async with self._pool.connection() as conn:
            try:
                async with conn.pipeline():
                    await conn.execute("SELECT pg_advisory_xact_lock(%s)",
                                       (person_lock(respondent),))
                    cursor = await conn.execute(STATUS, {"id": respondent})
                row = await cursor.fetchone()
                assert row is not None
                yield PgTurn(self, conn, respondent, decode_status(self._keys, respondent, row))
            finally:
                if conn.info.transaction_status != pq.TransactionStatus.IDLE:
                    with contextlib.suppress(psycopg.Error):
                        await conn.rollback()

    async def apply(self, changes: Changes) -> None:
        """Outside a turn (tools, tests): the same write, locked and committed at once."""
        async with self.turn(changes.respondent) as turn:
            await turn.apply(changes)

    async def _commit(self, conn: Conn, changes: Changes) -> None:
        try:
            sealed = seal_changes(self._keys, self._recipients, changes)
        except (SealError, ValueError):
            await conn.rollback()
            raise
        try:
            async with conn.pipeline():  # the writes and the commit: one round trip
                await self._write(conn, sealed)
                await conn.commit()
        except psycopg.Error as exc:
            with contextlib.suppress(psycopg.Error):
                await conn.rollback()
            raise WriteFailed(f"could not save: {exc.__class__.__name__}") from exc
        self.commits += 1

    async def _write(self, conn: Conn, item: _Sealed) -> None:
        changes, person = item.changes, item.changes.respondent
        if changes.erase:
            await conn.execute(ERASE_RESPONDENT, (person,))
        if item.erasure is not None:  # kept only after a purge (KEEP_ERASURE)
            await conn.execute(KEEP_ERASURE, item.erasure)
        if item.profile_blob is not None:
            await conn.execute(SAVE_PROFILE, (person, item.profile_blob))
        if changes.consent and not changes.completed:
            await conn.execute(DROP_RECORD, (person, self._keys.slot(person, COMPLETED_SLOT)))
        for question in changes.dropped:
            await conn.execute(DROP_RECORD, (person, self._keys.slot(person, question)))
        if item.records:
            await conn.cursor().executemany(SAVE_RECORD, [
                (record.id, person, record.slot, blob) for record, blob in item.records])
        if changes.end_session:
            await conn.execute(END_SESSION, (person,))
        elif item.state_blob is not None:
            await conn.execute(SAVE_SESSION,
                               (person, item.state_blob, changes.today.isoformat()))
        await write_reminder(conn, person, item.reminder_row, cancel=changes.cancel_reminder,
                             session_ends=changes.end_session)
        for metric in changes.counters:
            await conn.execute(COUNT, (changes.campaign or "", metric))

    # -- maintenance -----------------------------------------------------------------------
    async def expire_sessions(self, updated_before: datetime) -> int:
        """End sessions left unfinished (working state deleted for good), in one worker of
        the cluster; the others return 0."""
        if not await self._lead_retention():
            return 0
        day = updated_before.date().isoformat()
        async with self._pool.connection() as conn, conn.transaction():
            ended = await conn.execute("DELETE FROM sessions WHERE updated_on < %s", (day,))
        return ended.rowcount

    async def _lead_retention(self) -> bool:
        if self._leader is not None:
            try:  # still connected, so still holding the lock (a restart would drop both)
                await self._leader.execute("SELECT 1")
                return True
            except psycopg.Error:
                with contextlib.suppress(psycopg.Error):
                    await self._leader.close()
                self._leader = None
        try:
            conn = await psycopg.AsyncConnection.connect(self._url, autocommit=True)
        except psycopg.Error:
            return False
        cursor = await conn.execute("SELECT pg_try_advisory_lock(%s)", (schema.RETENTION_LOCK,))
        row = await cursor.fetchone()
        if row and row[0]:
            self._leader = conn
            return True
        await conn.close()
        return False


class PgTurn:
    """One person's event inside their lock: read, then one durable write (which ends it)."""

    def __init__(self, store: PostgresStore, conn: Conn, respondent: bytes,
                 status: RespondentStatus) -> None:
        self._store = store
        self._conn = conn
        self._respondent = respondent
        self._status: RespondentStatus | None = status  # read with the lock
        self.links = PgLinkBook(conn)
        self._reminders = PgReminderBook(conn, store._keys)

    async def status(self, respondent: bytes) -> RespondentStatus:
        if respondent == self._respondent and self._status is not None:
            status, self._status = self._status, None
            return status
        return await self._store._status(self._conn, respondent)

    async def reminder_waiting(self, respondent: bytes) -> bool:
        return await self._reminders.waiting(respondent)

    async def apply(self, changes: Changes) -> None:
        await self._store._commit(self._conn, changes)
