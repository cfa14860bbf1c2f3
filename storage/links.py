"""Campaign links: create, find, disable, and their funnel figures (never identities).

A link's code is what the person's `/start` payload (or typed code) carries. Attribution keys
used in counters and respondent records:
- `CODE` for a live link,
- `expired:CODE` for a link that is expired or disabled (the person is still welcomed; the
  field worker sees that people keep arriving through an old link),
- any other well-formed code is kept as given (a campaign code from outside this table).
"""

from __future__ import annotations

import asyncio
import secrets
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import aiosqlite

from storage import db

# Lower-case letters and digits without look-alikes (0/o, 1/l/i): people type these codes.
CODE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
CODE_LENGTH = 8  # 31^8 ≈ 8.5e11 codes: not guessable, short enough to type
EXPIRED_PREFIX = "expired:"
FUNNEL = ("opened", "language_chosen", "consented", "declined", "under_age", "theme_answered",
          "completed", "deleted", "reminder_asked", "reminder_sent", "reminder_continued")


@dataclass(frozen=True)
class Link:
    code: str
    campaign: str
    partner: str
    region: str
    language: str | None
    label: str | None
    expires_on: date | None
    active: bool
    created_at: datetime
    timezone: str | None = None  # zoneinfo name for reminders' quiet hours; None: UTC

    def live_on(self, day: date) -> bool:
        return self.active and (self.expires_on is None or day <= self.expires_on)

    @staticmethod
    def code_of(attribution: str) -> str:
        """The link code an attribution key names."""
        return attribution.removeprefix(EXPIRED_PREFIX)

    def attribution(self, day: date) -> str:
        return self.code if self.live_on(day) else EXPIRED_PREFIX + self.code


@dataclass(frozen=True)
class LinkFigures:
    link: Link
    live: dict[str, int]  # funnel counts while the link was live
    expired: dict[str, int]  # counts of people who arrived after it expired or was disabled


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def _link(row: Sequence[object]) -> Link:
    code, campaign, partner, region, language, label, expires, active, created, zone = row
    return Link(str(code), str(campaign), str(partner), str(region),
                str(language) if language else None, str(label) if label else None,
                date.fromisoformat(str(expires)) if expires else None, bool(active),
                datetime.fromisoformat(str(created)), str(zone) if zone else None)


INSERT_LINK = ("INSERT INTO links (code, campaign, partner, region, language, label, "
               "expires_on, active, created_at, created_by, timezone) "
               "VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)")
COUNTERS = "SELECT link, metric, count FROM counters"


def link_figures(links: Sequence[Link], counters: Iterable[Sequence[Any]]
                 ) -> list[LinkFigures]:
    """Each link's counters (rows of COUNTERS), live and after it expired (both backends)."""
    counts: dict[str, dict[str, int]] = {}
    for key, metric, count in counters:
        counts.setdefault(str(key), {})[str(metric)] = int(count)
    return [LinkFigures(link, counts.get(link.code, {}),
                        counts.get(EXPIRED_PREFIX + link.code, {})) for link in links]


SELECT_LINKS = ("SELECT code, campaign, partner, region, language, label, expires_on, active, "
                "created_at, timezone FROM links ")


class LinkBook:
    """Link records on a connection shared with the store (or its own, for the CLI)."""

    def __init__(self, conn: aiosqlite.Connection, lock: asyncio.Lock | None = None,
                 owns_connection: bool = False) -> None:
        self._conn = conn
        self._lock = lock or asyncio.Lock()
        self._owns = owns_connection

    @classmethod
    async def open(cls, path: Path) -> LinkBook:
        return cls(await db.connect(path), owns_connection=True)

    async def close(self) -> None:
        if self._owns:
            await self._conn.close()

    async def _write(self, sql: str, params: Sequence[object]) -> int:
        async with self._lock, db.immediate(self._conn) as conn:
            cursor = await conn.execute(sql, params)
        return cursor.rowcount

    async def create(self, *, campaign: str, partner: str, region: str, now: datetime,
                     language: str | None = None, label: str | None = None,
                     expires_on: date | None = None, created_by: bytes | None = None,
                     timezone: str | None = None) -> Link:
        for _ in range(5):  # a collision is astronomically rare; retry rather than fail
            code = new_code()
            try:
                await self._write(
                    INSERT_LINK,
                    (code, campaign, partner, region, language, label,
                     expires_on.isoformat() if expires_on else None,
                     now.date().isoformat(), created_by, timezone))
            except sqlite3.IntegrityError:
                continue
            found = await self.find(code)
            assert found is not None
            return found
        raise RuntimeError("could not find a free link code")

    async def find(self, code: str) -> Link | None:
        rows = list(await self._conn.execute_fetchall(SELECT_LINKS + "WHERE code = ?",
                                                      (code.lower(),)))
        return _link(rows[0]) if rows else None

    async def disable(self, code: str) -> bool:
        return await self._write("UPDATE links SET active = 0 WHERE code = ?",
                                 (code.lower(),)) == 1

    async def all(self, created_by: bytes | None = None) -> list[Link]:
        params: tuple[object, ...] = ()
        if created_by is None:
            query = SELECT_LINKS + "ORDER BY created_at, code"
        else:
            query = SELECT_LINKS + "WHERE created_by = ? ORDER BY created_at, code"
            params = (created_by,)
        async with self._conn.execute(query, params) as cursor:
            return [_link(row) async for row in cursor]

    async def figures(self, links: Sequence[Link]) -> list[LinkFigures]:
        return link_figures(links, await self._conn.execute_fetchall(COUNTERS))
