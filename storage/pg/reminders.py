"""Reminders on PostgreSQL: the rows SQLite keeps (storage/reminders.py), claimed once per
cluster.

Every worker runs the reminder job. A round locks the rows due by today that no other round
holds (`FOR UPDATE SKIP LOCKED`: a row another worker is claiming is left to it), deletes
those due by now, and commits before any is handed out; only what its own delete removed goes
to this worker. So each reminder is sent by one worker of the cluster, at most once: a worker
dying between the commit and the send loses that reminder rather than sending it twice.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from storage.pg import schema
from storage.pg.schema import Conn, Pool
from storage.reminders import CANCEL_REMINDER, SAVE_REMINDER, DueReminder, open_reminder
from storage.server_keys import ServerKeys

# SQLite's statements (storage.reminders), with PostgreSQL's placeholders.
_CANCEL = CANCEL_REMINDER.replace("?", "%s")
_SAVE = SAVE_REMINDER.replace("?", "%s")


class PgReminderBook:
    """On the pool (the job), or on one connection inside a person's turn."""

    def __init__(self, source: Pool | Conn, keys: ServerKeys) -> None:
        self._source = source
        self._keys = keys

    async def waiting(self, respondent: bytes) -> bool:
        """Whether a reminder this person asked for is still to be sent."""
        async with schema.connection(self._source) as conn:
            cursor = await conn.execute(
                "SELECT EXISTS (SELECT 1 FROM reminders WHERE respondent_id = %s)",
                (respondent,))
            row = await cursor.fetchone()
        return bool(row and row[0])

    async def claim_due(self, now: datetime, channels: Collection[str]) -> list[DueReminder]:
        """Delete and return the reminders due by `now` on one of `channels` that this worker
        took (committed before returning); unreadable ones are deleted and never handed out,
        and one for a channel this worker does not run stays for a worker that does."""
        async with schema.connection(self._source) as conn, conn.transaction():
            cursor = await conn.execute(
                "SELECT respondent_id, sealed FROM reminders WHERE due_on <= %s "
                "FOR UPDATE SKIP LOCKED", (now.date().isoformat(),))
            due: dict[bytes, DueReminder] = {}
            unreadable = []
            for raw_id, raw_blob in await cursor.fetchall():
                respondent = bytes(raw_id)
                reminder = open_reminder(self._keys, respondent, bytes(raw_blob))
                if reminder is None:
                    unreadable.append(respondent)
                elif reminder.due <= now and reminder.channel in channels:
                    due[respondent] = DueReminder(respondent, reminder)
            if not due and not unreadable:
                return []
            deleted = await conn.execute(
                "DELETE FROM reminders WHERE respondent_id = ANY(%s) RETURNING respondent_id",
                ([*due, *unreadable],))
            # The rows are locked by this transaction, so the delete takes each of them; only
            # what it took is handed out all the same.
            taken = {bytes(row[0]) for row in await deleted.fetchall()}
        return [item for respondent, item in due.items() if respondent in taken]


async def write_reminder(conn: Conn, respondent: bytes, row: tuple[str, bytes] | None, *,
                         cancel: bool, session_ends: bool) -> None:
    """A person's change to their reminder, in their turn's transaction: a new one replaces
    any pending (after their session row, which it belongs to), a cancellation deletes it.
    A session that ends takes its reminder with it (the foreign key)."""
    if cancel and row is None:
        await conn.execute(_CANCEL, (respondent,))
    if row is not None and not session_ends:
        await conn.execute(_SAVE, (respondent, *row))
