"""What both channel ledgers (SQLite's storage.ledger, PostgreSQL's storage.pg.ledger) keep in
memory and when they write it: the backends differ only in their SQL.

- Processed updates (Telegram's update ids, WhatsApp's message ids) are kept as keyed tags
  (`ServerKeys.tag`), never as raw ids, for a day: Telegram redelivers an unacknowledged
  update for at most 24 hours, and Meta retries a webhook for less. They are loaded into
  memory at start-up, so checking an update costs no database round trip.
- Message ids are stored only for people who consented: the foreign key to `respondents`
  makes an earlier insert impossible, so nothing is stored before consent; ids given before
  consent wait in memory until the respondent row exists. They are deleted when the session
  ends, erased with the respondent (ON DELETE CASCADE) and pruned after 48 hours, when
  Telegram no longer lets a bot delete them anyway. The database keeps days only; the exact
  time of what this process sent stays in its memory.

Writes are grouped: a background task writes whatever queued up every `flush_interval`
seconds in one transaction. These rows are conveniences, not testimony: losing the last few
milliseconds of them in a crash costs at most a redelivered update that the orchestrator's
own event-id check (saved atomically with the answer) still recognises.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import ClassVar, Generic, TypeVar

from storage.server_keys import ServerKeys

log = logging.getLogger(__name__)

UPDATE_MEMORY = timedelta(hours=25)  # Telegram keeps an unconfirmed update for 24 hours
DELETABLE_FOR = timedelta(hours=48)  # bots may delete private-chat messages for 48 hours
PRUNE_EVERY = timedelta(hours=1)

# A platform's message id as the channel uses it (an int on Telegram's Bot API, a string on
# WhatsApp's); stored as text.
IdT = TypeVar("IdT", bound=int | str)


def day(moment: datetime) -> str:
    """The database keeps days only: a time of day could be matched to network records."""
    return moment.date().isoformat()


class LedgerBase(ABC, Generic[IdT]):
    # Whom a flush looks up for consent among the people whose ids wait in memory: only those
    # with ids tracked since the last flush (one worker: only they can have consented since,
    # as the bot answers a consent and that answer is tracked; looking up everyone waiting
    # each time made a crowd before consent quadratic), or everyone waiting (several workers:
    # a person may consent at another worker).
    LOOK_UP_ALL_WAITING: ClassVar[bool] = False
    # What a failed grouped write raises (logged; the next flush tries again).
    DATABASE_ERRORS: ClassVar[tuple[type[Exception], ...]] = ()

    def __init__(self, keys: ServerKeys, flush_interval: float, *, channel: str,
                 parse: Callable[[str], IdT]) -> None:
        self._keys = keys
        self._parse: Callable[[str], IdT] = parse
        self._channel = channel
        self._kind = f"{channel}-update"
        self._flush_interval = flush_interval
        self._seen: dict[bytes, datetime] = {}  # tag -> when first seen (insertion ordered)
        self._marks: list[tuple[bytes, str]] = []
        self._pending: dict[bytes, list[tuple[IdT, datetime]]] = {}
        self._fresh: set[bytes] = set()  # people with ids tracked since the last flush
        self._forgotten: set[bytes] = set()
        self._dirty = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        self._last_prune: datetime | None = None
        self._last_mark: datetime | None = None
        self._sent_at: dict[tuple[bytes, IdT], datetime] = {}
        self._flush_lock = asyncio.Lock()

    # -- the backend's SQL -----------------------------------------------------------------
    @abstractmethod
    async def _handled_updates(self) -> list[tuple[bytes, str]]:
        """This channel's stored update tags and their days, oldest first."""

    @abstractmethod
    async def _stored_messages(self, respondent: bytes, since: str) -> list[tuple[str, str]]:
        """This person's stored message ids and their days, from the day `since` on."""

    @abstractmethod
    async def _write(self, marks: list[tuple[bytes, str]], forgotten: set[bytes],
                     waiting: dict[bytes, list[tuple[IdT, datetime]]]) -> set[bytes]:
        """In one transaction: the handled marks, the forgotten people's ids deleted, and
        the waiting ids of those who have a respondent row; returns who those are."""

    @abstractmethod
    async def _delete_older(self, updates_before: str, messages_before: str) -> None:
        """Delete this channel's rows of days before these."""

    # -- starting and stopping -------------------------------------------------------------
    async def start(self, now: datetime) -> None:
        """Prune what has aged out and load the updates handled in the last day."""
        await self._prune(now)
        for tag, seen_on in await self._handled_updates():
            # As if seen at the end of that day: kept at least as long as needed.
            self._seen[tag] = datetime.fromisoformat(seen_on).replace(
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
        """The update's tag the first time it is seen (from then on it counts as seen, also
        while in flight); None for an update seen before."""
        tag = self._keys.tag(self._kind, str(update_id))
        if tag in self._seen:
            return None
        self._seen[tag] = now
        return tag

    def handled(self, tag: bytes, now: datetime) -> None:
        """Record durably (with the next grouped write) that an update was handled."""
        self._marks.append((tag, day(now)))
        self._last_mark = now
        self._dirty.set()

    # -- message ids -----------------------------------------------------------------------
    def track(self, respondent: bytes, messages: Iterable[tuple[IdT, datetime]]) -> None:
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

    async def tracked(self, respondent: bytes, now: datetime) -> list[tuple[IdT, datetime]]:
        """Message ids kept for this person that are still young enough to delete."""
        await self.flush()
        stored = [(self._parse(mid), datetime.fromisoformat(on).replace(tzinfo=now.tzinfo))
                  for mid, on in await self._stored_messages(respondent,
                                                             day(now - DELETABLE_FOR))]
        # The database knows the day only; this process remembers the exact time of what
        # it sent. After a restart an id may be a little older than 48 hours, and Telegram
        # then declines to delete it, which costs nothing.
        cutoff = now - DELETABLE_FOR
        return [(mid, self._sent_at.get((respondent, mid), sent_on)) for mid, sent_on in stored
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
            except self.DATABASE_ERRORS as exc:
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
        candidates = list(self._pending) if self.LOOK_UP_ALL_WAITING else fresh
        snapshot = {r: (ids, list(ids)) for r in candidates if (ids := self._pending.get(r))}
        if not (marks or forgotten or snapshot):
            return
        try:
            saved = await self._write(marks, forgotten,
                                      {r: written for r, (_, written) in snapshot.items()})
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

    async def _prune(self, now: datetime) -> None:
        self._last_prune = now
        update_horizon, message_horizon = now - UPDATE_MEMORY, now - DELETABLE_FOR
        # Days, not times: a row goes the day after its horizon has passed entirely.
        await self._delete_older(day(update_horizon), day(message_horizon))
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

