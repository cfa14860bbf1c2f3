"""Campaign links on PostgreSQL: the same records and codes as storage.links."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import date, datetime

from psycopg_pool import AsyncConnectionPool

from storage.links import (
    COUNTERS,
    INSERT_LINK,
    SELECT_LINKS,
    Link,
    LinkFigures,
    _link,
    link_figures,
    new_code,
)
from storage.pg import schema
from storage.pg.schema import Conn, Pool

# storage.links' statement; a taken code is skipped rather than failing the transaction.
_INSERT = INSERT_LINK.replace("?", "%s") + " ON CONFLICT (code) DO NOTHING"


class PgLinkBook:
    """On the pool, or on one connection inside a person's turn (no second connection is
    taken while the turn holds its lock, so a busy pool cannot deadlock on itself)."""

    def __init__(self, source: Pool | Conn, owns_pool: bool = False) -> None:
        self._source = source
        self._owns = owns_pool

    @classmethod
    async def open(cls, url: str) -> PgLinkBook:
        """A book with a small pool of its own (for the command line)."""
        await asyncio.to_thread(schema.migrate, url)
        pool: Pool = AsyncConnectionPool(url, min_size=1, max_size=1, open=False)
        await pool.open(wait=True, timeout=30)
        return cls(pool, owns_pool=True)

    async def create(self, *, campaign: str, partner: str, region: str, now: datetime,
                     language: str | None = None, label: str | None = None,
                     expires_on: date | None = None, created_by: bytes | None = None,
                     timezone: str | None = None) -> Link:
        for _ in range(5):  # a collision is astronomically rare; retry rather than fail
            code = new_code()
            async with schema.connection(self._source) as conn:
                cursor = await conn.execute(
                    _INSERT,
                    (code, campaign, partner, region, language, label,
                     expires_on.isoformat() if expires_on else None,
                     now.date().isoformat(), created_by, timezone))
                await conn.commit()
            if cursor.rowcount == 1:
                found = await self.find(code)
                assert found is not None
                return found
        raise RuntimeError("could not find a free link code")

    async def find(self, code: str) -> Link | None:
        async with schema.connection(self._source) as conn:
            cursor = await conn.execute(SELECT_LINKS + "WHERE code = %s", (code.lower(),))
            row = await cursor.fetchone()
        return _link(row) if row else None

    async def disable(self, code: str) -> bool:
        async with schema.connection(self._source) as conn:
            cursor = await conn.execute("UPDATE links SET active = 0 WHERE code = %s",
                                        (code.lower(),))
            await conn.commit()
        return cursor.rowcount == 1

    async def all(self, created_by: bytes | None = None) -> list[Link]:
        async with schema.connection(self._source) as conn:
            if created_by is None:
                cursor = await conn.execute(SELECT_LINKS + "ORDER BY created_at, code")
            else:
                cursor = await conn.execute(
                    SELECT_LINKS + "WHERE created_by = %s ORDER BY created_at, code", (created_by,))
            return [_link(row) for row in await cursor.fetchall()]

    async def figures(self, links: Sequence[Link]) -> list[LinkFigures]:
        async with schema.connection(self._source) as conn:
            cursor = await conn.execute(COUNTERS)
            return link_figures(links, await cursor.fetchall())

    async def close(self) -> None:
        """Closes the pool only if this book opened it (else it is the store's)."""
        if self._owns and isinstance(self._source, AsyncConnectionPool):
            await self._source.close()
