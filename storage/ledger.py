"""A channel's bookkeeping: updates already handled, and message ids /exit may delete.

- Processed updates (Telegram's update ids, WhatsApp's message ids) are kept as keyed tags
  (`ServerKeys.tag`), never as raw ids, for a day: Telegram redelivers an unacknowledged
  update for at most 24 hours, and Meta retries a webhook for less. They are loaded into
  memory at start-up, so checking an update costs no database round trip.
- Message ids are mirrored here only for people who consented: the foreign key to
  `respondents` makes an earlier insert impossible, so nothing is stored before consent; ids
  given before consent wait in memory until the respondent row exists. They are deleted when
  the session ends, erased with the respondent (ON DELETE CASCADE) and pruned after 48 hours,
  when Telegram no longer lets a bot delete them anyway. Ids are strings on every platform.

Writes are grouped: a background task commits whatever queued up every `flush_interval`
seconds in one transaction on the store's connection (so it never competes with the store's
own commits for SQLite's write lock). These rows are conveniences, not testimony: losing the
last few milliseconds of them in a crash costs at most a redelivered update that the
orchestrator's own event-id check (saved atomically with the answer) still recognises.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Iterable
from datetime import datetime, timedelta

import aiosqlite

from storage.server_keys import ServerKeys
from storage.store import Store

log = logging.getLogger(__name__)

UPDATE_MEMORY = timedelta(hours=25)  # Telegram keeps an unconfirmed update for 24 hours
DELETABLE_FOR = timedelta(hours=48)  # bots may delete private-chat messages for 48 hours
PRUNE_EVERY = timedelta(hours=1)

TrackedId = tuple[str, datetime]


def _day(moment: datetime) -> str:
    """The database keeps days only: a time of day could be matched to network records."""
    return moment.date().isoformat()


class ChannelLedger:
    def __init__(self, store: Store, keys: ServerKeys, flush_interval: float = 0.05, *,
                 channel: str = "telegram") -> None:
        self._store = store
        self._channel = channel
        self._kind = f"{channel}-update"
        self._keys = keys
        self._flush_interval = flush_interval
        self._seen: dict[bytes, datetime] = {}  # tag -> when first seen (insertion ordered)
        self._marks: list[tuple[bytes, str]] = []
        self._pending: dict[bytes, list[TrackedId]] = {}
        # People with ids tracked since the last flush: only they can have consented since
        # (the bot answers a consent, and that answer is tracked), so only they are looked up.
        # Looking up everyone still waiting each time made a crowd before consent quadratic.
        self._fresh: set[bytes] = set()
        self._forgotten: set[bytes] = set()
        self._dirty = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        self._last_prune: datetime | None = None
        self._last_mark: datetime | None = None
        self._sent_at: dict[tuple[bytes, str], datetime] = {}
        self._flush_lock = asyncio.Lock()

    async def start(self, now: datetime) -> None:
        """Prune what has aged out and load the updates handled in the last day."""
        await self._prune(now)
        async with self._store.transaction() as conn, conn.execute(
            "SELECT tag, seen_on FROM channel_updates WHERE channel = ? ORDER BY seen_on",
            (self._channel,),
        ) as cursor:
            async for tag, seen_on in cursor:
                # As if seen at the end of that day: kept at least as long as needed.
                self._seen[bytes(tag)] = datetime.fromisoformat(seen_on).replace(
                    tzinfo=now.tzinfo) + timedelta(days=1)
        self._task = asyncio.create_task(self._flush_loop(), name=f"{self._kind}-ledger")

    async def close(self) -> None:
        self._closing = True
        self._dirty.set()
        if self._task is not None:
            await self._task
        await self.flush()

    # -- updates ---------------------------------------------------------------------------
    def claim(self, update_id: str, now: datetime) -> bytes | None:
        """The update's tag the first time it is seen (from then on it counts as seen, also
        while in flight); None for an update seen before."""
        tag = self._keys.tag(self._kind, update_id)
        if tag in self._seen:
            return None
        self._seen[tag] = now
        return tag

    def handled(self, tag: bytes, now: datetime) -> None:
        """Record durably (with the next grouped commit) that an update was handled."""
        self._marks.append((tag, _day(now)))
        self._last_mark = now
        self._dirty.set()

    # -- message ids -----------------------------------------------------------------------
    def track(self, respondent: bytes, messages: Iterable[TrackedId]) -> None:
        messages = list(messages)
        self._pending.setdefault(respondent, []).extend(messages)
        self._fresh.add(respondent)
        for message_id, sent_at in messages:  # exact times stay in memory only
            self._sent_at[respondent, message_id] = sent_at
        self._dirty.set()

    def forget(self, respondent: bytes) -> None:
        """The session is over: its message ids leave the database."""
        self._pending.pop(respondent, None)
        self._forgotten.add(respondent)
        self._dirty.set()

    async def tracked(self, respondent: bytes, now: datetime) -> list[TrackedId]:
        """Message ids kept for this person that are still young enough to delete."""
        await self.flush()
        horizon = _day(now - DELETABLE_FOR)
        async with self._store.transaction() as conn, conn.execute(
            "SELECT message_id, sent_on FROM channel_messages "
            "WHERE channel = ? AND respondent_id = ? AND sent_on >= ? "
            "ORDER BY length(message_id), message_id",
            (self._channel, respondent, horizon),
        ) as cursor:
            stored = [(str(mid), datetime.fromisoformat(on).replace(tzinfo=now.tzinfo))
                      async for mid, on in cursor]
        # The database knows the day only; this process remembers the exact time of what
        # it sent. After a restart an id may be a little older than 48 hours, and Telegram
        # then declines to delete it, which costs nothing.
        cutoff = now - DELETABLE_FOR
        return [(mid, self._sent_at.get((respondent, mid), day)) for mid, day in stored
                if self._sent_at.get((respondent, mid), now) > cutoff]

    # -- writing ---------------------------------------------------------------------------
    async def _flush_loop(self) -> None:
        while not self._closing:
            await self._dirty.wait()
            if not self._closing:
                await asyncio.sleep(self._flush_interval)  # let a group build up
            self._dirty.clear()
            try:
                await self.flush()
            except sqlite3.Error as exc:
                log.warning("ledger_flush_failed error=%s", exc.__class__.__name__)

    async def flush(self) -> None:
        async with self._flush_lock:
            await self._flush()

    async def _flush(self) -> None:
        marks, self._marks = self._marks, []
        forgotten, self._forgotten = self._forgotten, set()
        # The lists themselves (track() only appends to them; forget() drops them), and a
        # copy of what they hold now: that much is written and then taken off them.
        fresh, self._fresh = self._fresh, set()
        snapshot = {r: (ids, list(ids)) for r in fresh if (ids := self._pending.get(r))}
        if not (marks or forgotten or snapshot):
            return
        saved: set[bytes] = set()
        try:
            async with self._store.transaction() as conn:
                if marks:
                    await conn.executemany(
                        "INSERT OR IGNORE INTO channel_updates (channel, tag, seen_on) "
                        "VALUES (?, ?, ?)", [(self._channel, tag, on) for tag, on in marks])
                if forgotten:
                    await conn.executemany(
                        "DELETE FROM channel_messages WHERE channel = ? AND respondent_id = ?",
                        [(self._channel, r) for r in forgotten])
                if snapshot:
                    saved = await self._consented(conn, list(snapshot))
                    await conn.executemany(
                        "INSERT OR IGNORE INTO channel_messages (channel, respondent_id, "
                        "message_id, sent_on) VALUES (?, ?, ?, ?)",
                        [(self._channel, r, mid, _day(at)) for r in saved
                         for mid, at in snapshot[r][1]])
        except BaseException:
            self._marks[:0] = marks
            self._forgotten |= forgotten
            self._fresh |= fresh
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

    async def _prune(self, now: datetime) -> None:
        self._last_prune = now
        update_horizon, message_horizon = now - UPDATE_MEMORY, now - DELETABLE_FOR
        async with self._store.transaction() as conn:
            # Days, not times: a row goes the day after its horizon has passed entirely.
            await conn.execute("DELETE FROM channel_updates WHERE channel = ? AND seen_on < ?",
                               (self._channel, _day(update_horizon)))
            await conn.execute("DELETE FROM channel_messages WHERE channel = ? AND sent_on < ?",
                               (self._channel, _day(message_horizon)))
        for tag, seen_at in list(self._seen.items()):
            if seen_at >= update_horizon:
                break  # insertion order is time order
            del self._seen[tag]
        # Exact times outlive their rows' days, so a row kept for its day is still known
        # to be too old to delete.
        self._sent_at = {key: at for key, at in self._sent_at.items()
                         if at > message_horizon - timedelta(days=2)}
        for respondent, ids in list(self._pending.items()):
            kept = [(mid, at) for mid, at in ids if at > message_horizon]
            if kept:
                self._pending[respondent] = kept
            else:
                del self._pending[respondent]

