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
import json
import logging
import os
import sqlite3
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import aiosqlite

from storage import db, payload, upgrade
from storage.links import LinkBook
from storage.reminders import (
    CANCEL_REMINDER,
    SAVE_REMINDER,
    DueReminder,
    ReminderBook,
    ReminderIn,
    seal_reminder,
)
from storage.sealer import SealHelper
from storage.sealing import RecipientKey, SealError, recipient_ids, seal
from storage.server_keys import ServerKeys, StateError

log = logging.getLogger(__name__)


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on every platform
        return os.cpu_count() or 1


# Changes waiting for their commit before sealing moves to the helper process; never without
# a second core for it (the helper would only take turns with the bot).
SEAL_HELPER_AFTER: int | None = 16 if _cpus() >= 2 else None
SEAL_HELPER_PATIENCE = 30.0  # seconds a batch waits for the helper before it is given up
CHECKPOINT_FIRST_DELAY = 0.05  # seconds; doubled after each busy checkpoint...
CHECKPOINT_MAX_DELAY = 5.0  # ...up to this
CHECKPOINT_GROUPING = 2.0  # seconds: ended sessions leave the WAL together, this much later
PROFILE_PURPOSE = b"profile"


class WriteFailed(Exception):
    """The change could not be saved; nothing of it was kept."""


@dataclass(frozen=True)
class AnswerIn:
    question_id: str
    flow_id: str
    flow_version: str
    header: dict[str, object]  # kind and value; the store adds what the record is about
    body: bytes = b""
    language: str = ""
    at: datetime | None = None


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
    campaign: str | None = None  # a link's attribution key (storage.links), or None
    language: str | None = None  # the person's language now (kept in their profile)
    consent: ConsentIn | None = None
    answers: list[AnswerIn] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    counters: list[str] = field(default_factory=list)
    completed: bool = False
    erase: bool = False
    state: bytes | None = None  # new working state (plaintext; encrypted here)
    end_session: bool = False
    reminder: ReminderIn | None = None  # one the person asked for (replaces any pending)
    cancel_reminder: bool = False
    # Reminders this person has chosen in all (kept in their profile, which a consent, a
    # completion or a new reminder rewrites).
    reminders_asked: int = 0

    @property
    def empty(self) -> bool:
        return not (self.consent or self.answers or self.dropped or self.counters
                    or self.completed or self.erase or self.state is not None
                    or self.end_session
                    or self.reminder or self.cancel_reminder)


@dataclass(frozen=True)
class _Record:
    """One row of `records` before its blob is sealed."""

    id: bytes
    slot: bytes
    plaintext: bytes
    associated_data: bytes


@dataclass(frozen=True)
class _Sealed:
    """A Changes with its records sealed and its state encrypted: ready for SQL."""

    changes: Changes
    records: tuple[tuple[_Record, bytes], ...]
    state_blob: bytes | None
    profile_blob: bytes | None
    erasure: tuple[bytes, bytes] | None  # (id, sealed)
    reminder_row: tuple[str, bytes] | None = None  # (due day, sealed)


@dataclass(frozen=True)
class _Sealing:
    """A Changes whose records are sealed, or being sealed by the helper process."""

    changes: Changes
    records: tuple[tuple[_Record, bytes | asyncio.Future[bytes]], ...]
    state_blob: bytes | None
    profile_blob: bytes | None
    erasure: tuple[bytes, bytes] | None
    reminder_row: tuple[str, bytes] | None = None

    @property
    def pending(self) -> list[asyncio.Future[bytes]]:
        return [blob for _, blob in self.records
                if isinstance(blob, asyncio.Future) and not blob.done()]

    async def sealed(self) -> _Sealed:
        records = []
        for record, blob in self.records:
            records.append((record, blob if isinstance(blob, bytes) else await blob))
        return _Sealed(self.changes, tuple(records), self.state_blob, self.profile_blob,
                       self.erasure, self.reminder_row)


@dataclass(frozen=True)
class RespondentStatus:
    known: bool  # something of this person is stored (they consented at some point)
    completed: bool
    consent_language: str | None
    state: bytes | None
    copied: bool = False  # the database was purged before: copies may be in snapshots
    reminders_asked: int = 0  # reminders chosen in all, from the profile (survives sessions)


PROFILE_VERSION = 2


@dataclass(frozen=True)
class Profile:
    """What the bot keeps about a person between sessions, under the server's state key.

    Forms: 1 {"v", "language", "done"}; 2 adds "reminders", how many reminders the person
    chose in all (at most two per person, however often a session ends and begins again).
    A form-1 profile reads as none chosen."""

    language: str | None
    completed: bool
    reminders_asked: int = 0

    def encode(self) -> bytes:
        return json.dumps({"v": PROFILE_VERSION, "language": self.language,
                           "done": self.completed, "reminders": self.reminders_asked},
                          separators=(",", ":")).encode()

    @classmethod
    def decode(cls, raw: bytes) -> Profile:
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise ValueError("a profile is an object")
        reminders = data.get("reminders", 0)  # form 1 has none
        if not isinstance(reminders, int) or isinstance(reminders, bool) or reminders < 0:
            raise ValueError("a profile's reminder count is a count")
        return cls(data.get("language"), bool(data.get("done")), reminders)


# A person's status in one statement, on either backend ({} is the placeholder's spelling).
STATUS_SQL = (
    "SELECT r.id IS NOT NULL, r.profile, s.state, "
    "EXISTS (SELECT 1 FROM maintenance WHERE fact = 'purged') "
    "FROM (SELECT 1) AS one LEFT JOIN respondents r ON r.id = {} "
    "LEFT JOIN sessions s ON s.respondent_id = r.id")
_STATUS = STATUS_SQL.format("?")


def decode_status(keys: ServerKeys, respondent: bytes, row: Sequence[Any]) -> RespondentStatus:
    """The row STATUS_SQL read, opened with the server's state key (both backends)."""
    known, profile_blob, state_blob, copied = row
    if not known:
        return RespondentStatus(False, False, None, None, bool(copied))
    profile = Profile(None, False)
    if profile_blob is not None:
        try:
            profile = Profile.decode(
                keys.open_state(respondent, bytes(profile_blob), PROFILE_PURPOSE))
        except (StateError, ValueError):
            log.warning("profile_unreadable")
    state = keys.open_state(respondent, bytes(state_blob)) if state_blob is not None else None
    return RespondentStatus(True, profile.completed, profile.language, state, bool(copied),
                            profile.reminders_asked)


# The clear header of every record (both backends), to tell whose keys can open it: 34
# bytes and 56 per recipient, at most 16 of them.
SEALED_HEADS = "SELECT substr(sealed, 1, 930) FROM records"


# The SQL of a person's change, on both backends (storage.pg.store spells each ? as %s).
ERASE_RESPONDENT = "DELETE FROM respondents WHERE id = ?"
# Only once answers have left for a snapshot (a purge): the record tells the researchers'
# export to drop this person from it. Otherwise nothing is kept.
KEEP_ERASURE = ("INSERT INTO erasures (id, sealed) SELECT ?, ? WHERE EXISTS "
                "(SELECT 1 FROM maintenance WHERE fact = 'purged')")
SAVE_PROFILE = ("INSERT INTO respondents (id, profile) VALUES (?, ?) "
                "ON CONFLICT (id) DO UPDATE SET profile = excluded.profile")
DROP_RECORD = "DELETE FROM records WHERE respondent_id = ? AND slot = ?"
# Upserts in two parts, with VALUES between them (SQLite writes several rows in one).
RECORDS_INTO = "INSERT INTO records (id, respondent_id, slot, sealed)"
RECORDS_UPSERT = ("ON CONFLICT (respondent_id, slot) DO UPDATE SET id = excluded.id, "
                  "sealed = excluded.sealed")
SESSIONS_INTO = "INSERT INTO sessions (respondent_id, state, updated_on)"
SESSIONS_UPSERT = ("ON CONFLICT (respondent_id) DO UPDATE SET state = excluded.state, "
                   "updated_on = excluded.updated_on")
END_SESSION = "DELETE FROM sessions WHERE respondent_id = ?"
# One step of an anonymous counter (a person's change, or a reminder sent); PostgreSQL
# needs the column named with its table.
COUNT = ("INSERT INTO counters (link, metric, count) VALUES (?, ?, 1) "
         "ON CONFLICT (link, metric) DO UPDATE SET count = counters.count + 1")


CONSENT_SLOT, COMPLETED_SLOT = "~consent", "~completed"


def build_records(keys: ServerKeys, changes: Changes) -> list[_Record]:
    """The sealed rows one change writes: its answers, its consent, its completion.
    Whatever says what a row is about goes inside the seal."""
    respondent = changes.respondent

    def record(slot: str, header: dict[str, object], body: bytes = b"") -> _Record:
        record_id = os.urandom(16)
        return _Record(record_id, keys.slot(respondent, slot), payload.encode(header, body),
                       payload.record_aad(record_id, respondent))

    records = []
    consent = changes.consent
    if consent is not None:
        records.append(record(CONSENT_SLOT, {
            "type": payload.CONSENT, "version": consent.version,
            "language": consent.language, "agreed_at": consent.agreed_at.isoformat(),
            "items": dict(consent.items), "campaign": changes.campaign}))
    for answer in changes.answers:
        records.append(record(answer.question_id, {
            "type": payload.ANSWER, "question_id": answer.question_id,
            "flow_id": answer.flow_id, "flow_version": answer.flow_version,
            "language": answer.language,
            "at": (answer.at or changes.now).isoformat(), **answer.header,
        }, answer.body))
    if changes.completed:
        records.append(record(COMPLETED_SLOT, {"type": payload.COMPLETED,
                                               "at": changes.now.isoformat()}))
    return records


def server_blobs(keys: ServerKeys, recipients: tuple[RecipientKey, ...], changes: Changes
                 ) -> tuple[bytes | None, bytes | None, tuple[bytes, bytes] | None]:
    """The working state and profile, encrypted with the server's own key (they stay on the
    server), and the erasure record sealed to the researchers, if the change has them."""
    respondent = changes.respondent
    state_blob = (keys.seal_state(respondent, changes.state)
                  if changes.state is not None else None)
    profile_blob = None
    if changes.consent or changes.completed or changes.reminder is not None:
        language = changes.consent.language if changes.consent else changes.language
        profile = Profile(language, changes.completed, changes.reminders_asked)
        profile_blob = keys.seal_state(respondent, profile.encode(), PROFILE_PURPOSE)
    erasure = None
    if changes.erase:
        record_id = os.urandom(16)
        erasure = (record_id, seal(
            payload.encode({"type": payload.ERASURE, "respondent": respondent.hex()}),
            recipients, payload.erasure_aad(record_id)))
    return state_blob, profile_blob, erasure


def seal_changes(keys: ServerKeys, recipients: tuple[RecipientKey, ...], changes: Changes
                 ) -> _Sealed:
    """Everything of a change sealed here, in this process (a backend without a helper)."""
    records = tuple((record, seal(record.plaintext, recipients, record.associated_data))
                    for record in build_records(keys, changes))
    reminder_row = (seal_reminder(keys, changes.respondent, changes.reminder)
                    if changes.reminder is not None else None)
    return _Sealed(changes, records, *server_blobs(keys, recipients, changes), reminder_row)


class Store:
    """The SQLite backend: one worker, one file (storage.backend names the interface)."""

    shared = False  # one worker: its memory may hold working state between events

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
        self.reminders = ReminderBook(self.transaction, keys)
        self.commits = 0  # for benchmarks: how many transactions served how many changes
        self.checkpoint_failures = 0  # a metric: WAL checkpoints that had to be retried
        self._wal_dirty = False
        self._sessions_ended = False  # the last transaction deleted a saved session
        self._closed = False
        self._checkpoint_task: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, path: Path, recipients: Sequence[RecipientKey],
                   keys: ServerKeys, *, seal_helper_after: int | None = SEAL_HELPER_AFTER
                   ) -> Store:
        if not recipients:
            raise ValueError("the store needs at least one recipient public key")
        conn = await db.connect(path)
        try:
            await conn.execute("SELECT 1")  # nothing else runs on it yet
            legacy = await conn.execute(
                "SELECT count(*) FROM sqlite_master WHERE name = 'legacy_respondents'")
            row = await legacy.fetchone()
            if row and row[0]:
                await _upgrade(path, recipients, keys)
        except BaseException:
            await conn.close()
            raise
        return cls(conn, recipients, keys, seal_helper_after=seal_helper_after)

    async def sealed_to_other_keys(self) -> int:
        """Records no configured key can open (e.g. the quickstart's demo answers left in a
        real database): their sealed headers name other recipients only. Read from the
        clear header of each blob; nothing is decrypted."""
        ours = {key.id for key in self._recipients}
        foreign = 0
        async with self._conn.execute(SEALED_HEADS) as cursor:  # streamed: rows can be many
            async for (head,) in cursor:
                if ours.isdisjoint(recipient_ids(bytes(head))):
                    foreign += 1
        return foreign

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
            if self._checkpoint_task is not None:
                self._checkpoint_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._checkpoint_task
            if self._wal_dirty and not await db.checkpoint(self._conn):
                log.warning("wal_checkpoint_incomplete at=close")
        finally:
            self._closed = True
            await self._conn.close()

    # -- reading what the bot may read ----------------------------------------------------
    async def status(self, respondent: bytes) -> RespondentStatus:
        # One round trip that leaves no statement open: a crowd's first messages each ask
        # this at once, and thousands of open cursors on one connection made every further
        # statement slower (10,000 at once took 54 s this way, 0.4 s with execute_fetchall).
        rows = await self._conn.execute_fetchall(_STATUS, (respondent,))
        return decode_status(self._keys, respondent, next(iter(rows)))

    def turn(self, respondent: bytes) -> _OwnTurn:
        """One event of one person: the orchestrator's own lock already orders a single
        worker's events, and `apply` is the commit, so the store itself is the turn."""
        return _OwnTurn(self)

    async def reminder_waiting(self, respondent: bytes) -> bool:
        """Whether a reminder this person asked for is still to be sent (asked only for a
        state that says one was scheduled: the job takes the row when it sends it)."""
        rows = await self._conn.execute_fetchall(
            "SELECT 1 FROM reminders WHERE respondent_id = ?", (respondent,))
        return bool(list(rows))

    async def counters(self) -> dict[tuple[str, str], int]:
        async with self._conn.execute("SELECT link, metric, count FROM counters") as cursor:
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
        sealed = []
        for record in build_records(self._keys, changes):
            sealed.append((record, seal(record.plaintext, self._recipients,
                                        record.associated_data)
                           if helper is None else helper.seal(record.plaintext,
                                                              record.associated_data)))
        reminder_row = (seal_reminder(self._keys, changes.respondent, changes.reminder)
                        if changes.reminder is not None else None)
        return _Sealing(changes, tuple(sealed),
                        *server_blobs(self._keys, self._recipients, changes), reminder_row)

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
                # The lock first: other writers (storage/ledger.py) then wait for this
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
        waiting = [blob for sealing, _ in batch for blob in sealing.pending]
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
        statements, ended_at = self._statements(items)
        counts = await db.write_transaction(self._conn, statements)
        self.commits += 1
        self._sessions_ended = ended_at is not None and counts[ended_at] > 0
        if any(item.changes.erase for item in items):
            # In WAL mode erased pages linger in the -wal file until a checkpoint.
            await self._checkpoint_now()
        elif self._sessions_ended:
            # Most sessions end before consent, with nothing stored: no checkpoint for them.
            self._checkpoint_soon()

    def _statements(self, items: list[_Sealed]) -> tuple[list[db.Statement], int | None]:
        """The SQL of one grouped commit, in order, and which statement deletes ended
        sessions (its row count says whether a checkpoint is due)."""
        statements: list[db.Statement] = []
        erased = [(i.changes.respondent,) for i in items if i.changes.erase]
        if erased:
            statements.append((ERASE_RESPONDENT, erased))
        erasures = [i.erasure for i in items if i.erasure is not None]
        if erasures:  # kept only after a purge (KEEP_ERASURE)
            statements.append((KEEP_ERASURE, list(erasures)))
        profiles = [(i.changes.respondent, i.profile_blob) for i in items
                    if i.profile_blob is not None]
        if profiles:
            statements.append((SAVE_PROFILE, list(profiles)))
        restarted = [(i.changes.respondent, self._keys.slot(i.changes.respondent,
                                                             COMPLETED_SLOT))
                     for i in items if i.changes.consent and not i.changes.completed]
        if restarted:  # consenting again opens a new questionnaire: not finished any more
            statements.append((DROP_RECORD, list(restarted)))
        dropped = [(i.changes.respondent, self._keys.slot(i.changes.respondent, q))
                   for i in items for q in i.changes.dropped]
        if dropped:
            statements.append((DROP_RECORD, list(dropped)))
        records: list[tuple[object, ...]] = [
            (record.id, i.changes.respondent, record.slot, blob)
            for i in items for record, blob in i.records]
        statements += db.values_statements(RECORDS_INTO, 4, RECORDS_UPSERT, records)
        states: list[tuple[object, ...]] = [
            (i.changes.respondent, i.state_blob, i.changes.today.isoformat())
            for i in items if i.state_blob is not None and not i.changes.end_session]
        statements += db.values_statements(SESSIONS_INTO, 3, SESSIONS_UPSERT, states)
        cancelled = [(i.changes.respondent,) for i in items
                     if i.changes.cancel_reminder and i.reminder_row is None]
        if cancelled:
            statements.append((CANCEL_REMINDER, list(cancelled)))
        reminders = [(i.changes.respondent, *i.reminder_row) for i in items
                     if i.reminder_row is not None and not i.changes.end_session]
        if reminders:  # after the sessions they belong to
            statements.append((SAVE_REMINDER, list(reminders)))
        ended = [(i.changes.respondent,) for i in items if i.changes.end_session]
        ended_at = None
        if ended:
            ended_at = len(statements)
            statements.append((END_SESSION, list(ended)))
        counters = [(i.changes.campaign or "", metric)
                    for i in items for metric in i.changes.counters]
        if counters:
            statements.append((COUNT, list(counters)))
        return statements, ended_at

    # -- the write-ahead log --------------------------------------------------------------
    async def _checkpoint_now(self) -> bool:
        """Checkpoint and truncate the WAL, with the transaction lock held. Until it
        succeeds, old page images (an erased answer, an ended session's state) are still in
        the -wal file: a reader holding an old snapshot blocks it, so it is retried."""
        with contextlib.suppress(sqlite3.Error):  # busy beyond the timeout: retried below
            if await db.checkpoint(self._conn):
                self._wal_dirty = False
                return True
        self.checkpoint_failures += 1
        self._wal_dirty = True
        if self._checkpoint_task is None or self._checkpoint_task.done():
            log.warning("wal_checkpoint_incomplete retrying=1")
            self._checkpoint_task = asyncio.create_task(self._retry_checkpoint(),
                                                        name="wal-checkpoint")
        return False

    def _checkpoint_soon(self) -> None:
        """Sessions end all the time: their checkpoints are grouped, a little later (a
        checkpoint holds every writer up while it copies the WAL into the database)."""
        self._wal_dirty = True
        if self._checkpoint_task is None or self._checkpoint_task.done():
            self._checkpoint_task = asyncio.create_task(
                self._retry_checkpoint(CHECKPOINT_GROUPING), name="wal-checkpoint")

    async def _retry_checkpoint(self, delay: float = CHECKPOINT_FIRST_DELAY) -> None:
        while self._wal_dirty and not self._closed:
            await asyncio.sleep(delay)
            async with self._tx_lock:
                if self._closed or not self._wal_dirty:
                    return
                try:
                    if await db.checkpoint(self._conn):
                        self._wal_dirty = False
                        return
                except sqlite3.Error:  # busy beyond the timeout: try again later
                    pass
            self.checkpoint_failures += 1
            delay = min(delay * 2, CHECKPOINT_MAX_DELAY)

    async def wal_clean(self) -> bool:
        """Wait until every erasure and ended session has left the WAL (tests, shutdown)."""
        async with self._tx_lock:
            if not self._wal_dirty:
                return True
            return await self._checkpoint_now()

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """One durable transaction on the shared connection, for other storage modules
        (storage/ledger.py): serialized with the grouped commits, so no writer ever waits
        on SQLite's busy handler."""
        async with self._tx_lock, db.immediate(self._conn) as conn:
            yield conn

    supports_reminders = True

    async def claim_due_reminders(self, now: datetime,
                                  channels: Collection[str]) -> list[DueReminder]:
        return await self.reminders.claim_due(now, channels)

    async def count(self, link: str | None, metric: str) -> None:
        """One anonymous counter step outside a person's change (a reminder sent)."""
        async with self.transaction() as conn:
            await conn.execute(COUNT, (link or "", metric))

    # -- maintenance ----------------------------------------------------------------------
    async def expire_sessions(self, updated_before: datetime) -> int:
        """Close sessions left unfinished: their working state is deleted for good.

        The database keeps only the day a session was last saved, so a session expires on
        the first round after the whole day of `updated_before` has passed."""
        async with self._tx_lock:
            async with db.immediate(self._conn) as conn:
                cursor = await conn.execute(
                    "DELETE FROM sessions WHERE updated_on < ?",
                    (updated_before.date().isoformat(),))
            if cursor.rowcount:
                await self._checkpoint_now()
            return cursor.rowcount


async def _upgrade(path: Path, recipients: Sequence[RecipientKey], keys: ServerKeys) -> None:
    """Re-seal rows of an older schema (storage.upgrade) on a connection of its own."""
    def run() -> None:
        conn = db.connect_sync(path)
        try:
            upgrade.reseal_legacy(conn, recipients, keys)
        finally:
            conn.close()
    try:
        await asyncio.to_thread(run)
    except sqlite3.Error as exc:
        raise db.DatabaseError(f"could not upgrade the database at {path}: {exc}") from exc


class _OwnTurn:
    """`async with store.turn(...)` on SQLite: the store itself, entered once per update (a
    plain class: `asynccontextmanager` cost five times as much for nothing)."""

    __slots__ = ("_store",)

    def __init__(self, store: Store) -> None:
        self._store = store

    async def __aenter__(self) -> Store:
        return self._store

    async def __aexit__(self, *_: object) -> None:
        return None


def _resolve(future: asyncio.Future[None], error: BaseException | None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)
