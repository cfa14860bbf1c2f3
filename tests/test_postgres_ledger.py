"""The channel ledger on PostgreSQL: shared by workers, nothing before consent, keyed tags."""

from __future__ import annotations

from pathlib import Path

from bot.orchestrator import Orchestrator
from storage.keys import KeyPair
from storage.pg.store import PostgresStore
from storage.server_keys import ServerKeys
from tests.conftest import Clock
from tests.store_backends import Backend
from tests.test_store import Person


async def test_ledgers_of_two_workers_share_marks_and_message_ids(
    postgres_url: str, db_path: Path, researcher: KeyPair, server_keys: ServerKeys,
    mini_script: object, translator: object, clock: Clock,
) -> None:
    backend = Backend("postgres", postgres_url, db_path)
    first = await PostgresStore.open(postgres_url, [researcher.public], server_keys)
    second = await PostgresStore.open(postgres_url, [researcher.public], server_keys)
    try:
        a, b = (first.ledger(server_keys, 0.01, parse=str),
                second.ledger(server_keys, 0.01, parse=str))
        await a.start(clock())
        await b.start(clock())
        person = Person(Orchestrator(mini_script, first, server_keys, translator, clock))  # type: ignore[arg-type]
        respondent = server_keys.pseudonym("test", person.user)
        a.track(respondent, [("11", clock())])  # before consent: memory only
        await a.flush()
        assert backend.count("channel_messages") == 0
        await person.consent()
        a.track(respondent, [("12", clock())])
        await a.flush()
        assert sorted(m for m, _ in await b.tracked(respondent, clock())) == ["11", "12"]
        for ledger in (a, b):  # the same update handled twice (a redelivery): one row
            tag = ledger.claim("4711", clock())
            assert tag is not None
            ledger.handled(tag, clock())
            await ledger.flush()
        rows = backend.rows("channel_updates")
        assert len(rows) == 1 and b"4711" not in rows[0][1]  # type: ignore[operator]
        third = first.ledger(server_keys, 0.01, parse=str)
        await third.start(clock())
        assert third.claim("4711", clock()) is None  # a worker started later knows it
        b.forget(respondent)
        await b.flush()
        assert backend.count("channel_messages") == 0
        for ledger in (a, b, third):
            await ledger.close()
    finally:
        await first.close()
        await second.close()
