"""The store's interface, and the choice of backend: SQLite in DATA_DIR (the default, one
worker) or PostgreSQL when DATABASE_URL is set (several workers on one database).

Both backends seal the same records the same way; only where the rows go differs. The
conformance suite (tests/test_store_conformance.py) runs the same tests against both.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import date, datetime
from pathlib import Path
from typing import Protocol

from storage.ledger import ChannelLedger
from storage.ledger_base import LedgerBase
from storage.links import Link, LinkFigures
from storage.reminders import DueReminder
from storage.sealing import RecipientKey
from storage.server_keys import ServerKeys
from storage.store import Changes, RespondentStatus, Store

# PostgreSQL's modules (and psycopg) are imported only when DATABASE_URL asks for them: a
# SQLite deployment starts without them.


# A channel's bookkeeping (handled updates, message ids /exit may delete): SQLite's
# storage.ledger.ChannelLedger or PostgreSQL's storage.pg.ledger.PgChannelLedger, one base.
Ledger = LedgerBase[str]

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def is_postgres(url: str) -> bool:
    return url.startswith(POSTGRES_SCHEMES)


class LinkStore(Protocol):
    async def create(self, *, campaign: str, partner: str, region: str, now: datetime,
                     language: str | None = None, label: str | None = None,
                     expires_on: date | None = None, created_by: bytes | None = None,
                     timezone: str | None = None) -> Link: ...

    async def find(self, code: str) -> Link | None: ...

    async def disable(self, code: str) -> bool: ...

    async def all(self, created_by: bytes | None = None) -> list[Link]: ...

    async def figures(self, links: Sequence[Link]) -> list[LinkFigures]: ...


class Turn(Protocol):
    """One person's event, from reading their state to the durable write."""

    @property
    def links(self) -> LinkStore: ...

    async def status(self, respondent: bytes) -> RespondentStatus: ...

    async def reminder_waiting(self, respondent: bytes) -> bool: ...

    async def apply(self, changes: Changes) -> None: ...


class StoreBackend(Protocol):
    # True when several workers may share the database: no working state may be kept in a
    # worker's memory between events, and a turn locks the person across the cluster.
    shared: bool

    @property
    def links(self) -> LinkStore: ...

    def turn(self, respondent: bytes) -> AbstractAsyncContextManager[Turn]: ...

    async def status(self, respondent: bytes) -> RespondentStatus: ...

    async def apply(self, changes: Changes) -> None: ...

    async def counters(self) -> dict[tuple[str, str], int]: ...

    async def sealed_to_other_keys(self) -> int: ...

    # Reminders a person asked for: kept sealed until due, claimed at most once (on
    # PostgreSQL, by one worker of the cluster).
    supports_reminders: bool

    async def reminder_waiting(self, respondent: bytes) -> bool: ...

    async def claim_due_reminders(self, now: datetime,
                                  channels: Collection[str]) -> list[DueReminder]: ...

    async def count(self, link: str | None, metric: str) -> None: ...

    async def expire_sessions(self, updated_before: datetime) -> int: ...

    async def limit_size(self, max_bytes: int | None) -> None: ...

    async def close(self) -> None: ...


async def open_store(database_url: str, database_path: Path,
                     recipients: Sequence[RecipientKey], keys: ServerKeys) -> StoreBackend:
    """PostgreSQL when a URL is given, else the SQLite file."""
    if database_url:
        if not is_postgres(database_url):
            raise ValueError("DATABASE_URL must start with postgresql://")
        from storage.pg.store import PostgresStore

        return await PostgresStore.open(database_url, recipients, keys)
    return await Store.open(database_path, recipients, keys)


def open_ledger(store: StoreBackend, keys: ServerKeys, flush_interval: float = 0.05, *,
                channel: str = "telegram") -> Ledger:
    """The channel's ledger where the store keeps its rows."""
    if isinstance(store, Store):
        return ChannelLedger(store, keys, flush_interval, channel=channel)
    from storage.pg.store import PostgresStore

    if isinstance(store, PostgresStore):
        return store.ledger(keys, flush_interval, channel=channel, parse=str)
    raise TypeError(f"no channel ledger for {type(store).__name__}")
