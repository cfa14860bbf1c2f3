"""Reminders people asked for: kept until due, claimed once, then gone (SQLite here; the
PostgreSQL backend claims the same rows in storage/pg/reminders.py).

On disk a reminder is a row keyed by the person's pseudonym, with only the day it falls due
(UTC) in clear; where to send it (channel and platform id), the exact time, the language and
the campaign link are encrypted with the server's state key, like the working state (without
the key, which is not on the disk, nothing of it opens). The row refers to the person's
session, so whatever ends the session deletes the reminder with it.

Sending is at most once: a due reminder is deleted in its own committed transaction before
it is handed out, and only by the delete that actually removed the row, so a second process
or a second round never sends it again. If the bot
stops between that commit and the send, that reminder is lost rather than sent twice (a
second unasked message is the worse failure for someone whose phone is read by others).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Collection
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from storage.server_keys import ServerKeys, StateError

log = logging.getLogger(__name__)

REMINDER_PURPOSE = b"reminder"
PAYLOAD_VERSION = 1


# A person's change to their reminder, on both backends (PostgreSQL spells ? as %s).
CANCEL_REMINDER = "DELETE FROM reminders WHERE respondent_id = ?"
SAVE_REMINDER = ("INSERT INTO reminders (respondent_id, due_on, sealed) VALUES (?, ?, ?) "
                 "ON CONFLICT (respondent_id) DO UPDATE SET due_on = excluded.due_on, "
                 "sealed = excluded.sealed")


@dataclass(frozen=True)
class ReminderIn:
    """A reminder to keep: sent to `user_id` on `channel` at `due`."""

    channel: str
    user_id: str
    due: datetime
    asked_at: datetime  # when the person asked (a channel's reply window counts from it)
    language: str
    campaign: str | None  # the link's attribution key, for the funnel

    def encode(self) -> bytes:
        return json.dumps({"v": PAYLOAD_VERSION, "channel": self.channel, "user": self.user_id,
                           "due": self.due.isoformat(), "asked": self.asked_at.isoformat(),
                           "language": self.language, "campaign": self.campaign},
                          separators=(",", ":")).encode()

    @classmethod
    def decode(cls, raw: bytes) -> ReminderIn:
        data = json.loads(raw)
        return cls(str(data["channel"]), str(data["user"]), datetime.fromisoformat(data["due"]),
                   datetime.fromisoformat(data["asked"]), str(data["language"]),
                   data.get("campaign"))


@dataclass(frozen=True)
class DueReminder:
    respondent: bytes
    reminder: ReminderIn


Transaction = Callable[[], AbstractAsyncContextManager[aiosqlite.Connection]]


def seal_reminder(keys: ServerKeys, respondent: bytes, reminder: ReminderIn
                  ) -> tuple[str, bytes]:
    """The row's clear day and its sealed blob (the same on both backends)."""
    return (reminder.due.date().isoformat(),
            keys.seal_state(respondent, reminder.encode(), REMINDER_PURPOSE))


def open_reminder(keys: ServerKeys, respondent: bytes, blob: bytes) -> ReminderIn | None:
    """A stored reminder, or None when it can never be sent (another SERVER_SECRET, or
    damage): the caller drops it."""
    try:
        return ReminderIn.decode(keys.open_state(respondent, blob, REMINDER_PURPOSE))
    except (StateError, ValueError, KeyError, TypeError):
        log.warning("reminder_unreadable")
        return None


class ReminderBook:
    """Claims due reminders on the store's connection, inside its serialized transactions."""

    def __init__(self, transaction: Transaction, keys: ServerKeys) -> None:
        self._transaction = transaction
        self._keys = keys

    async def claim_due(self, now: datetime, channels: Collection[str]) -> list[DueReminder]:
        """Delete and return every reminder due by `now` on one of `channels` (committed
        before returning); one for a channel not running now stays for when it runs."""
        due: list[DueReminder] = []
        async with self._transaction() as conn:
            rows = await conn.execute_fetchall(
                "SELECT respondent_id, sealed FROM reminders WHERE due_on <= ?",
                (now.date().isoformat(),))
            for respondent, blob in rows:
                reminder = open_reminder(self._keys, respondent, blob)
                if reminder is None:
                    await conn.execute("DELETE FROM reminders WHERE respondent_id = ?",
                                       (respondent,))
                    continue
                if reminder.due <= now and reminder.channel in channels:
                    cursor = await conn.execute(
                        "DELETE FROM reminders WHERE respondent_id = ? AND sealed = ?",
                        (respondent, blob))
                    # Only the process whose delete took the row sends it (under any
                    # isolation: a row another one took, or replaced, is not ours).
                    if cursor.rowcount == 1:
                        due.append(DueReminder(respondent, reminder))
        return due

