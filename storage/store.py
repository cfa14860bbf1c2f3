"""The bot's side of the database: it can write sealed answers but never read them back.

Changes from concurrent conversations are grouped: a single writer task commits whatever has
queued up in one durable transaction (`synchronous=FULL`), then releases every waiting reply.
Each answer is still durable before its reply, and a crowd costs a few commits, not thousands.
If a grouped transaction fails (disk full, I/O error) it is rolled back and each change is
retried alone, so one person's failure never takes another person's answer with it.

Answers are sealed as they arrive. Under load (many changes waiting for their commit) a
helper process seals them (`storage.sealer`), so the event loop goes on with other people's
messages meanwhile; a quiet bot never starts one, and without it sealing happens here.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import aiosqlite

from storage import db, payload
from storage.links import LinkBook
from storage.sealer import SealHelper
from storage.sealing import RecipientKey, SealError, seal
from storage.server_keys import ServerKeys


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on every platform
        return os.cpu_count() or 1


# Changes waiting for their commit before sealing moves to the helper process; never without
# a second core for it (the helper would only take turns with the bot).
SEAL_HELPER_AFTER: int | None = 16 if _cpus() >= 2 else None
SEAL_HELPER_PATIENCE = 30.0  # seconds a batch waits for the helper before it is given up


class WriteFailed(Exception):
    """The change could not be saved; nothing of it was kept."""


@dataclass(frozen=True)
class AnswerIn:
    question_id: str
    flow_id: str
    flow_version: str
    header: dict[str, object]
    body: bytes = b""


@dataclass(frozen=True)
class ConsentIn:
    version: str
    language: str
    agreed_at: datetime
    items: Mapping[str, bool]


@dataclass
class Changes:
    """Everything one inbound event changes, applied atomically."""

    respondent: bytes
    today: date
    now: datetime
    campaign: str | None = None
    consent: ConsentIn | None = None
    answers: list[AnswerIn] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    counters: list[str] = field(default_factory=list)
    completed: bool = False
    erase: bool = False
    state: bytes | None = None  # new working state (plaintext; encrypted here)
    end_session: bool = False

    @property
    def empty(self) -> bool:
        return not (self.consent or self.answers or self.dropped or self.counters
                    or self.completed or self.erase or self.state is not None
                    or self.end_session)


@dataclass(frozen=True)
class _Sealed:
    """A Changes with its answers sealed and state encrypted: ready for SQL."""

    changes: Changes
    answers: tuple[tuple[AnswerIn, bytes], ...]
    state_blob: bytes | None


@dataclass(frozen=True)
class _Sealing:
    """A Changes whose answers are sealed, or being sealed by the helper process."""

    changes: Changes
    answers: tuple[tuple[AnswerIn, bytes | asyncio.Future[bytes]], ...]
    state_blob: bytes | None

    async def sealed(self) -> _Sealed:
        answers = []
        for answer, blob in self.answers:
            answers.append((answer, blob if isinstance(blob, bytes) else await blob))
        return _Sealed(self.changes, tuple(answers), self.state_blob)


@dataclass(frozen=True)
class RespondentStatus:
    known: bool
    completed: bool
    consent_language: str | None
    state: bytes | None
    campaign: str | None = None


class Store:
    def __init__(self, conn: aiosqlite.Connection, recipients: Sequence[RecipientKey],
                 keys: ServerKeys, *, seal_helper_after: int | None = SEAL_HELPER_AFTER
                 ) -> None:
        self._conn = conn
        self._recipients = tuple(recipients)
        self._keys = keys
        self._queue: list[tuple[_Sealing, asyncio.Future[None]]] = []
        self._helper_after = seal_helper_after  # None: always seal here
        self._helper: SealHelper | None = None
        self._helper_start: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._closing = False
        self._tx_lock = asyncio.Lock()  # one transaction at a time on the shared connection
        self._writer = asyncio.create_task(self._write_loop(), name="store-writer")
        self.links = LinkBook(conn, self._tx_lock)
        self.commits = 0  # for benchmarks: how many transactions served how many changes

    @classmethod
    async def open(cls, path: Path, recipients: Sequence[RecipientKey],
                   keys: ServerKeys, *, seal_helper_after: int | None = SEAL_HELPER_AFTER
                   ) -> Store:
        if not recipients:
            raise ValueError("the store needs at least one recipient public key")
        return cls(await db.connect(path), recipients, keys,
                   seal_helper_after=seal_helper_after)

    async def limit_size(self, max_bytes: int | None) -> None:
        """Cap the database file (DB_MAX_MB), or lift the cap with None.

        At the cap SQLite refuses to grow the file: the write fails and rolls back like on a
        full disk, the person is asked to send again, and everyone else is still served.
        """
        async with self._conn.execute("PRAGMA page_size") as cursor:
            row = await cursor.fetchone()
        page_size = int(row[0]) if row else 4096
        pages = max_bytes // page_size if max_bytes else 4_294_967_294  # SQLite's maximum
        async with self._tx_lock:
            # PRAGMA takes no parameters; an int() cannot carry SQL.
            await self._conn.execute(f"PRAGMA max_page_count = {int(pages)}")

    async def close(self) -> None:
        self._closing = True
        self._wake.set()
        await self._writer
        try:
            if self._helper_start is not None:
                await self._helper_start
                if self._helper is not None:
                    await self._helper.stop()
        finally:
            await self._conn.close()

    # -- reading what the bot may read ----------------------------------------------------
    async def status(self, respondent: bytes) -> RespondentStatus:
        async with self._conn.execute(
            "SELECT r.completed_on, c.language, s.state, r.campaign FROM respondents r "
            "LEFT JOIN consents c ON c.respondent_id = r.id "
            "LEFT JOIN sessions s ON s.respondent_id = r.id WHERE r.id = ?",
            (respondent,),
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            return RespondentStatus(False, False, None, None)
        state = self._keys.open_state(respondent, row[2]) if row[2] is not None else None
        return RespondentStatus(True, row[0] is not None, row[1], state, row[3])

    async def counters(self) -> dict[tuple[str, str], int]:
        async with self._conn.execute("SELECT campaign, metric, count FROM counters") as cursor:
            return {(c, m): n async for c, m, n in cursor}

    # -- writing --------------------------------------------------------------------------
    async def apply(self, changes: Changes) -> None:
        """Seal now (under load: hand over to the helper process), commit with whatever
        else is waiting; return once it is durable."""
        if changes.empty:
            return
        if self._closing:
            raise WriteFailed("the store is closing")
        sealing = self._seal(changes)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((sealing, future))
        self._wake.set()
        self._start_helper_if_busy()
        await future

    def _seal(self, changes: Changes) -> _Sealing:
        helper = self._helper if self._helper and self._helper.ready and self._helper.alive \
            else None
        answers = []
        for answer in changes.answers:
            plaintext = payload.encode(dict(answer.header), answer.body)
            associated_data = payload.answer_aad(changes.respondent, answer.question_id,
                                                 answer.flow_id, answer.flow_version)
            answers.append((answer, seal(plaintext, self._recipients, associated_data)
                            if helper is None else helper.seal(plaintext, associated_data)))
        # The working state is encrypted with the server's own key: that stays here.
        state_blob = (self._keys.seal_state(changes.respondent, changes.state)
                      if changes.state is not None else None)
        return _Sealing(changes, tuple(answers), state_blob)

    def _start_helper_if_busy(self) -> None:
        """Start the seal helper once, when changes pile up (see the module docstring)."""
        if (self._helper_after is None or self._helper_start is not None or self._closing
                or len(self._queue) < self._helper_after):
            return
        self._helper_start = asyncio.create_task(self._start_helper(), name="seal-helper")

    async def _start_helper(self) -> None:
        self._helper = await SealHelper.start(self._recipients)

    @property
    def seal_helper(self) -> SealHelper | None:
        """The helper process sealing answers, once started (for tests and benchmarks)."""
        return self._helper

    async def seal_helper_ready(self) -> bool:
        """Wait for a helper being started; True if one is ready (tests, benchmarks)."""
        if self._helper_start is not None:
            await self._helper_start
        return self._helper is not None and await self._helper.wait_ready()

    async def _write_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            batch, self._queue = self._queue, []
            if batch:
                # The lock first: other writers (storage/telegram.py) then wait for this
                # commit rather than it for theirs, while the last answers are being sealed.
                async with self._tx_lock:
                    await self._helper_done(batch)
                    ready = await self._sealed(batch)
                    if ready:
                        await self._commit_batch(ready)
            if self._closing and not self._queue:
                return

    async def _helper_done(self, batch: list[tuple[_Sealing, asyncio.Future[None]]]) -> None:
        """Wait for the helper's blobs; a helper that hangs is stopped, and what it held is
        then sealed here (see SealHelper), so no one waits for ever."""
        waiting = [blob for sealing, _ in batch for _, blob in sealing.answers
                   if isinstance(blob, asyncio.Future) and not blob.done()]
        if not waiting:
            return
        _, late = await asyncio.wait(waiting, timeout=SEAL_HELPER_PATIENCE)
        if late and self._helper is not None:
            self._helper.abandon()

    @staticmethod
    async def _sealed(batch: list[tuple[_Sealing, asyncio.Future[None]]]
                      ) -> list[tuple[_Sealed, asyncio.Future[None]]]:
        """The batch with every answer sealed; a change whose answer could not be sealed
        fails alone, with the error sealing it here would have raised."""
        ready = []
        for sealing, future in batch:
            try:
                ready.append((await sealing.sealed(), future))
            except (SealError, ValueError) as exc:
                _resolve(future, exc)
        return ready

    async def _commit_batch(self, batch: list[tuple[_Sealed, asyncio.Future[None]]]) -> None:
        """With the transaction lock held."""
        try:
            await self._transaction([item for item, _ in batch])
        except sqlite3.Error as exc:
            if len(batch) == 1:
                _resolve(batch[0][1], WriteFailed(f"could not save: {exc.__class__.__name__}"))
                return
            # Find out whose change failed: retry each alone so the others still land.
            for item, future in batch:
                try:
                    await self._transaction([item])
                except sqlite3.Error as exc:
                    _resolve(future, WriteFailed(f"could not save: {exc.__class__.__name__}"))
                else:
                    _resolve(future, None)
            return
        for _, future in batch:
            _resolve(future, None)

    async def _transaction(self, items: list[_Sealed]) -> None:
        conn = self._conn
        async with db.immediate(conn):
            await self._write(items)
        self.commits += 1
        if any(item.changes.erase for item in items):
            # In WAL mode erased pages linger in the -wal file until a checkpoint.
            await conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    async def _write(self, items: list[_Sealed]) -> None:
        conn = self._conn
        erased = [(i.changes.respondent,) for i in items if i.changes.erase]
        if erased:
            await conn.executemany("DELETE FROM respondents WHERE id = ?", erased)
        consents = [i.changes for i in items if i.changes.consent]
        if consents:
            await conn.executemany(
                "INSERT INTO respondents (id, campaign, started_on) VALUES (?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET campaign = excluded.campaign, "
                "started_on = excluded.started_on, completed_on = NULL",
                [(c.respondent, c.campaign, c.today.isoformat()) for c in consents],
            )
            await conn.executemany(
                "INSERT OR REPLACE INTO consents (respondent_id, consent_version, language, "
                "agreed_at) VALUES (?, ?, ?, ?)",
                [(c.respondent, c.consent.version, c.consent.language,
                  c.consent.agreed_at.isoformat()) for c in consents if c.consent],
            )
            await conn.executemany(
                "INSERT OR REPLACE INTO consent_items (respondent_id, item_id, agreed) "
                "VALUES (?, ?, ?)",
                [(c.respondent, item, int(agreed)) for c in consents if c.consent
                 for item, agreed in c.consent.items.items()],
            )
        answers = [(i.changes.respondent, a.question_id, a.flow_id, a.flow_version,
                    i.changes.today.isoformat(), blob)
                   for i in items for a, blob in i.answers]
        if answers:
            await conn.executemany(
                "INSERT OR REPLACE INTO answers (respondent_id, question_id, flow_id, "
                "flow_version, answered_on, sealed) VALUES (?, ?, ?, ?, ?, ?)",
                answers,
            )
        dropped = [(i.changes.respondent, q) for i in items for q in i.changes.dropped]
        if dropped:
            await conn.executemany(
                "DELETE FROM answers WHERE respondent_id = ? AND question_id = ?", dropped)
        completed = [(i.changes.today.isoformat(), i.changes.respondent)
                     for i in items if i.changes.completed]
        if completed:
            await conn.executemany(
                "UPDATE respondents SET completed_on = ? WHERE id = ?", completed)
        states = [(i.changes.respondent, i.state_blob, i.changes.now.isoformat())
                  for i in items if i.state_blob is not None and not i.changes.end_session]
        if states:
            await conn.executemany(
                "INSERT INTO sessions (respondent_id, state, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT (respondent_id) DO UPDATE SET state = excluded.state, "
                "updated_at = excluded.updated_at",
                states,
            )
        ended = [(i.changes.respondent,) for i in items if i.changes.end_session]
        if ended:
            await conn.executemany("DELETE FROM sessions WHERE respondent_id = ?", ended)
        counters = [(i.changes.campaign or "", metric)
                    for i in items for metric in i.changes.counters]
        if counters:
            await conn.executemany(
                "INSERT INTO counters (campaign, metric, count) VALUES (?, ?, 1) "
                "ON CONFLICT (campaign, metric) DO UPDATE SET count = count + 1",
                counters,
            )

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """One durable transaction on the shared connection, for other storage modules
        (storage/telegram.py): serialized with the grouped commits, so no writer ever waits
        on SQLite's busy handler."""
        async with self._tx_lock, db.immediate(self._conn) as conn:
            yield conn

    # -- maintenance ----------------------------------------------------------------------
    async def expire_sessions(self, updated_before: datetime) -> int:
        """Close sessions left unfinished: their working state is deleted for good."""
        async with self._tx_lock:
            async with db.immediate(self._conn) as conn:
                cursor = await conn.execute(
                    "DELETE FROM sessions WHERE updated_at < ?", (updated_before.isoformat(),))
            if cursor.rowcount:
                await self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            return cursor.rowcount


def _resolve(future: asyncio.Future[None], error: BaseException | None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)
