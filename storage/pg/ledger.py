"""A channel's bookkeeping on PostgreSQL, for several workers: the same promises and the same
public methods as the SQLite ledger (storage.ledger), on the store's pool.

- `claim` stays a memory check (no round trip per update): tags of updates this worker or,
  at its start, the whole cluster handled in the last day. A redelivery that reaches another
  worker is still caught where it matters - the event id is saved with the answer, under the
  person's lock (storage.pg.store), so it is stored once and the current question is asked
  again (which is what a person needs whose reply was lost with a worker).
- `handled` marks go to `channel_updates` in grouped writes, with its unique key
  (channel, tag): two workers marking one update keep one row.
- Message ids wait in memory until the person has a respondent row (nothing before consent),
  then go to `channel_messages`; `tracked` reads what any worker stored.
- Pruning is idempotent, so it does not matter which worker does it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Generic, TypeVar

import psycopg

from storage.pg.schema import Pool
from storage.server_keys import ServerKeys

log = logging.getLogger(__name__)

UPDATE_MEMORY = timedelta(hours=25)  # Telegram keeps an unconfirmed update for 24 hours
DELETABLE_FOR = timedelta(hours=48)  # bots may delete private-chat messages for 48 hours
PRUNE_EVERY = timedelta(hours=1)

# A platform's message id as the channel uses it (an int on Telegram's Bot API, a string on
# WhatsApp's); stored as text.
IdT = TypeVar("IdT", int, str)


def _day(moment: datetime) -> str:
    """The database keeps days only: a time of day could be matched to network records."""
    return moment.date().isoformat()


class PgChannelLedger(Generic[IdT]):
    def __init__(self, pool: Pool, keys: ServerKeys, flush_interval: float = 0.05, *,
                 channel: str = "telegram", parse: Callable[[str], IdT]) -> None:
        self._pool = pool
        self._parse: Callable[[str], IdT] = parse
        self._channel = channel
        self._kind = f"{channel}-update"
        self._keys = keys
        self._flush_interval = flush_interval
        self._seen: dict[bytes, datetime] = {}
        self._marks: list[tuple[bytes, str]] = []
        self._pending: dict[bytes, list[tuple[IdT, datetime]]] = {}
        self._forgotten: set[bytes] = set()
        self._dirty = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        self._last_prune: datetime | None = None
        self._last_mark: datetime | None = None
        self._sent_at: dict[tuple[bytes, IdT], datetime] = {}
        self._flush_lock = asyncio.Lock()

    async def start(self, now: datetime) -> None:
        await self._prune(now)
        async with self._pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT tag, seen_on FROM channel_updates WHERE channel = %s ORDER BY seen_on",
                (self._channel,))
            for tag, seen_on in await cursor.fetchall():
                self._seen[bytes(tag)] = datetime.fromisoformat(str(seen_on)).replace(
                    tzinfo=now.tzinfo) + timedelta(days=1)
        self._task = asyncio.create_task(self._flush_loop(), name=f"{self._kind}-ledger")

    async def close(self) -> None:
        self._closing = True
        self._dirty.set()
        if self._task is not None:
            await self._task
        await self.flush()

    # -- updates ---------------------------------------------------------------------------
    def claim(self, update_id: int | str, now: datetime) -> bytes | None:
        tag = self._keys.tag(self._kind, str(update_id))
        if tag in self._seen:
            return None
        self._seen[tag] = now
        return tag

    def handled(self, tag: bytes, now: datetime) -> None:
        self._marks.append((tag, _day(now)))
        self._last_mark = now
        self._dirty.set()

    # -- message ids -----------------------------------------------------------------------
    def track(self, respondent: bytes, messages: Iterable[tuple[IdT, datetime]]) -> None:
        messages = list(messages)
        self._pending.setdefault(respondent, []).extend(messages)
        for message_id, sent_at in messages:
            self._sent_at[respondent, message_id] = sent_at
        self._dirty.set()

    def forget(self, respondent: bytes) -> None:
        self._pending.pop(respondent, None)
        self._forgotten.add(respondent)
        self._dirty.set()

    async def tracked(self, respondent: bytes, now: datetime
                      ) -> list[tuple[IdT, datetime]]:
        await self.flush()
        async with self._pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT message_id, sent_on FROM channel_messages "
                "WHERE channel = %s AND respondent_id = %s AND sent_on >= %s "
                "ORDER BY length(message_id), message_id",
                (self._channel, respondent, _day(now - DELETABLE_FOR)))
            stored = [(self._parse(str(mid)),
                       datetime.fromisoformat(str(on)).replace(tzinfo=now.tzinfo))
                      for mid, on in await cursor.fetchall()]
        cutoff = now - DELETABLE_FOR
        return [(mid, self._sent_at.get((respondent, mid), day)) for mid, day in stored
                if self._sent_at.get((respondent, mid), now) > cutoff]

    # -- writing ---------------------------------------------------------------------------
    async def _flush_loop(self) -> None:
        while not self._closing:
            await self._dirty.wait()
            if not self._closing:
                await asyncio.sleep(self._flush_interval)
            self._dirty.clear()
            try:
                await self.flush()
            except psycopg.Error as exc:
                log.warning("ledger_flush_failed error=%s", exc.__class__.__name__)

    async def flush(self) -> None:
        async with self._flush_lock:
            await self._flush()

    async def _flush(self) -> None:
        marks, self._marks = self._marks, []
        forgotten, self._forgotten = self._forgotten, set()
        snapshot = {r: (ids, list(ids)) for r, ids in self._pending.items() if ids}
        if not (marks or forgotten or snapshot):
            return
        saved: set[bytes] = set()
        try:
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
                if snapshot:
                    found = await conn.execute(
                        "SELECT id FROM respondents WHERE id = ANY(%s)", (list(snapshot),))
                    saved = {bytes(row[0]) for row in await found.fetchall()}
                    rows = [(self._channel, r, str(mid), _day(at)) for r in saved
                            for mid, at in snapshot[r][1]]
                    if rows:
                        await cursor.executemany(
                            "INSERT INTO channel_messages (channel, respondent_id, "
                            "message_id, sent_on) VALUES (%s, %s, %s, %s) "
                            "ON CONFLICT DO NOTHING", rows)
        except BaseException:
            self._marks[:0] = marks
            self._forgotten |= forgotten
            raise
        for respondent in saved:
            ids, written = snapshot[respondent]
            del ids[:len(written)]
            if not ids and self._pending.get(respondent) is ids:
                del self._pending[respondent]
        now = self._last_mark if marks else None
        if now is not None and (self._last_prune is None
                                or now - self._last_prune > PRUNE_EVERY):
            await self._prune(now)

    async def _prune(self, now: datetime) -> None:
        self._last_prune = now
        update_horizon, message_horizon = now - UPDATE_MEMORY, now - DELETABLE_FOR
        async with self._pool.connection() as conn, conn.transaction():
            await conn.execute("DELETE FROM channel_updates WHERE channel = %s "
                               "AND seen_on < %s", (self._channel, _day(update_horizon)))
            await conn.execute("DELETE FROM channel_messages WHERE channel = %s "
                               "AND sent_on < %s", (self._channel, _day(message_horizon)))
        for tag, seen_at in list(self._seen.items()):
            if seen_at >= update_horizon:
                break
            del self._seen[tag]
        self._sent_at = {key: at for key, at in self._sent_at.items()
                         if at > message_horizon - timedelta(days=2)}
        for respondent, ids in list(self._pending.items()):
            kept = [(mid, at) for mid, at in ids if at > message_horizon]
            if kept:
                self._pending[respondent] = kept
            else:
                del self._pending[respondent]
