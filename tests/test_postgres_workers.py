"""Several workers on one PostgreSQL: each person's events in order across workers, duplicates
stored once, conversations before consent shared, retention in one worker, each reminder sent
by one worker, and `migrate`."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot import outbound as out
from bot.engine import CommandIn, Script, Start, TextIn
from bot.engine.actions import DONE_KEY
from bot.i18n import Translator
from bot.orchestrator import Orchestrator
from bot.reminders import send_due
from storage.backend import StoreBackend
from storage.keys import KeyPair
from storage.pg import maintenance as pg
from storage.reader import read_testimonies
from storage.server_keys import ServerKeys
from tests.conftest import Clock
from tests.store_backends import Backend
from tests.test_store import STORY, USER, Person, texts, walk_mini
from tests.test_store_conformance import REMINDER, Inbox, Reachable, deliver


@pytest.fixture
def cluster_backend(postgres_url: str, db_path: Path) -> Backend:
    return Backend("postgres", postgres_url, db_path)


@pytest.fixture
async def workers(cluster_backend: Backend, mini_script: Script, researcher: KeyPair,
                  server_keys: ServerKeys, translator: Translator, clock: Clock
                  ) -> AsyncIterator[list[Orchestrator]]:
    stores: list[StoreBackend] = [await cluster_backend.open([researcher.public], server_keys)
                                  for _ in range(3)]
    yield [Orchestrator(mini_script, store, server_keys, translator, clock) for store in stores]
    for store in stores:
        await store.close()


class Roaming(Person):
    """A person whose every message reaches a random worker, some of them twice at once."""

    def __init__(self, workers: list[Orchestrator], user: str, rng: random.Random) -> None:
        super().__init__(workers[0], user)
        self.workers, self.rng = workers, rng

    async def send(self, event: object, event_id: str | None = None) -> list[out.Outbound]:
        self.counter += 1
        event_id = event_id or f"m{self.counter}"
        twice = self.rng.random() < 0.3
        chosen = self.rng.sample(self.workers, 2) if twice else [self.rng.choice(self.workers)]
        results = await asyncio.gather(*(
            worker.handle("test", self.user, event, event_id=event_id)  # type: ignore[arg-type]
            for worker in chosen))
        # The person sees both replies; the duplicate's re-ask repeats the same question.
        replies = [reply for result in results for reply in result]
        for reply in replies:
            if isinstance(reply, out.Prompt):
                self.prompt = reply
        self.replies.extend(replies)
        return replies


async def test_people_roaming_across_workers_with_duplicates_complete_once(
    workers: list[Orchestrator], cluster_backend: Backend, tmp_path: Path, researcher: KeyPair,
) -> None:
    rng = random.Random(7)
    people = [Roaming(workers, f"77{n:04d}", rng) for n in range(20)]
    await asyncio.gather(*(walk_mini(person) for person in people))
    snapshot = tmp_path / "snap.db"
    cluster_backend.backup(snapshot)
    testimonies = list(read_testimonies(snapshot, researcher))
    assert len(testimonies) == 20
    for testimony in testimonies:
        assert [a.question_id for a in testimony.answers] == [
            "sector", "themes", "months_unpaid", "wages_story"]
        assert testimony.answers[-1].header["value"] == STORY
        assert testimony.completed_on is not None
    assert cluster_backend.count("pending_sessions") == 0
    assert cluster_backend.count("sessions") == 0


async def test_a_conversation_before_consent_is_shared_and_leaves_nothing_durable(
    workers: list[Orchestrator], cluster_backend: Backend,
) -> None:
    person = Person(workers[0])
    await person.send(Start(campaign=None))
    person.orchestrator = workers[1]
    await person.press("yes")
    assert cluster_backend.count("pending_sessions") == 1
    assert cluster_backend.count("respondents") == 0
    person.orchestrator = workers[2]
    await person.press("yes")
    person.orchestrator = workers[0]
    replies = await person.press("yes")
    assert texts(replies)[-1] == "Where do you work?"
    assert cluster_backend.count("pending_sessions") == 0
    assert cluster_backend.count("respondents") == 1


async def test_retention_runs_in_one_worker_of_the_cluster(
    workers: list[Orchestrator], cluster_backend: Backend, clock: Clock,
) -> None:
    for n, worker in enumerate(workers):
        person = Person(worker, user=f"66{n}")
        await person.consent()
    clock.advance(days=3)
    rounds = [await worker.expire_idle(timedelta(days=1)) for worker in workers]
    assert sorted(rounds) == [0, 0, 3]
    assert cluster_backend.count("sessions") == 0
    # The leading worker goes away: its lock goes with its connection, another one leads.
    leader = workers.pop(rounds.index(3))
    await leader.store.close()
    await Person(workers[0], user="late").consent()
    clock.advance(days=3)
    assert sorted([await worker.expire_idle(timedelta(days=1)) for worker in workers]) == [0, 1]


async def test_migrate_brings_a_sqlite_deployment_over_and_conversations_carry_on(
    postgres_url: str, db_path: Path, mini_script: Script, researcher: KeyPair,
    server_keys: ServerKeys, translator: Translator, clock: Clock, tmp_path: Path,
) -> None:
    sqlite = Backend("sqlite", "", db_path)
    store = await sqlite.open([researcher.public], server_keys)
    link = await store.links.create(campaign="imrf-2022", partner="p", region="r", now=clock())
    finished = Person(Orchestrator(mini_script, store, server_keys, translator, clock), "1")
    await finished.send(Start(campaign=link.code))
    await walk_mini(finished)
    halfway = Person(Orchestrator(mini_script, store, server_keys, translator, clock), "2")
    await halfway.consent()
    await halfway.press("care")
    await store.close()
    sqlite.backup(tmp_path / "before.db")
    import sqlite3

    person_id = server_keys.pseudonym("test", "2")
    with sqlite3.connect(db_path) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        if "channel_messages" in tables:
            conn.execute("INSERT INTO channel_messages VALUES ('telegram', ?, '77', ?)",
                         (person_id, clock().date().isoformat()))
        else:
            conn.execute("INSERT INTO telegram_messages VALUES (?, 77, ?)",
                         (person_id, clock().date().isoformat()))

    copied = pg.migrate_from_sqlite(db_path, postgres_url)
    assert copied["respondents"] == 2 and copied["sessions"] == 1 and copied["links"] == 1
    assert Backend("postgres", postgres_url, db_path).rows("channel_messages") == [
        ("telegram", person_id, "77", clock().date().isoformat())]

    target = Backend("postgres", postgres_url, db_path)
    moved = await target.open([researcher.public], server_keys)
    try:
        halfway.orchestrator = Orchestrator(mini_script, moved, server_keys, translator, clock)
        assert texts(await halfway.send(TextIn("hello?")))[-1] == "Pick themes."
        await halfway.press("wages")
        await halfway.press(DONE_KEY)
        assert await moved.counters() == (await _counters(tmp_path / "before.db"))
    finally:
        await moved.close()
    target.backup(tmp_path / "after.db")
    before = {t.label: len(t.answers) for t in read_testimonies(tmp_path / "before.db",
                                                                 researcher)}
    after = {t.label: len(t.answers) for t in read_testimonies(tmp_path / "after.db",
                                                                researcher)}
    assert after == {label: count + (1 if count == 1 else 0)
                     for label, count in before.items()}
    with pytest.raises(pg.MaintenanceError, match="holds data already"):
        pg.migrate_from_sqlite(db_path, postgres_url)


async def _counters(snapshot: Path) -> dict[tuple[str, str], int]:
    import sqlite3

    with sqlite3.connect(snapshot) as conn:
        return {(str(a), str(b)): int(c) for a, b, c in
                conn.execute("SELECT link, metric, count FROM counters")}


def test_backup_purge_and_migrate_commands_follow_database_url(
    deployment: tuple[dict[str, str], Path], postgres_url: str,
) -> None:
    from tests.conftest import cli

    env, folder = deployment
    missing = cli("migrate", env={**env, "DATABASE_URL": postgres_url}, cwd=folder)
    assert missing.returncode == 2 and "there is no database" in missing.stderr
    env = {**env, "DATABASE_URL": postgres_url, "BOT_USERNAME": "testimony_test_bot"}
    made = cli("links", "create", "--campaign", "c", "--partner", "p", "--region", "r",
               "--out-dir", str(folder / "qr"), env=env, cwd=folder)
    assert made.returncode == 0, made.stderr
    snap = cli("backup", str(folder / "snap.db"), env=env, cwd=folder)
    assert snap.returncode == 0, snap.stderr
    assert "0 respondents" in snap.stdout
    assert postgres_url not in snap.stdout + snap.stderr
    listed = cli("links", "list", env=env, cwd=folder)
    assert listed.returncode == 0 and "c" in listed.stdout
    purged = cli("purge", "--through", str(folder / "snap.db"), "--older-than", "30",
                 env=env, cwd=folder)
    assert purged.returncode == 0, purged.stderr
    assert "from the PostgreSQL database" in purged.stdout


async def test_after_delete_and_compact_the_erased_bytes_are_in_no_table_file(
    workers: list[Orchestrator], cluster_backend: Backend, server_keys: ServerKeys,
) -> None:
    from urllib.parse import parse_qs, urlsplit

    import psycopg

    stays = Person(workers[1], user="4242")
    await walk_mini(stays)
    person = Person(workers[0])
    await walk_mini(person)
    slot = server_keys.slot(server_keys.pseudonym("test", person.user), "wages_story")
    sealed = next(bytes(row[3]) for row in cluster_backend.rows("records")  # type: ignore[arg-type]
                  if row[2] == slot)
    await person.send(CommandIn("delete"))
    await person.press("yes")
    data_dir = Path(parse_qs(urlsplit(cluster_backend.url).query)["host"][0])

    def table_files() -> bytes:
        with psycopg.connect(cluster_backend.url, autocommit=True) as conn:
            conn.execute("CHECKPOINT")  # what is in shared buffers goes to the files
            files = [str(row[0]) for row in conn.execute(
                "SELECT pg_relation_filepath(c.oid) FROM pg_class c "
                "WHERE c.relname IN ('records', 'respondents', 'sessions') "
                "OR c.oid IN (SELECT reltoastrelid FROM pg_class WHERE relname = 'records')")]
        return b"".join((data_dir / f).read_bytes() for f in files if (data_dir / f).exists())

    with psycopg.connect(cluster_backend.url, autocommit=True) as conn:
        conn.execute("VACUUM records")
    # Plain VACUUM frees the space but leaves the bytes: why `compact` exists.
    assert sealed[-64:] in table_files()
    pg.rewrite_person_tables(cluster_backend.url)
    stored = table_files()
    kept = next(bytes(row[3]) for row in cluster_backend.rows("records"))  # type: ignore[arg-type]
    assert kept[-64:] in stored, "the table files were read"
    assert sealed[-64:] not in stored


async def test_a_failed_write_keeps_nothing_and_the_worker_goes_on(
    cluster_backend: Backend, researcher: KeyPair, server_keys: ServerKeys, clock: Clock,
) -> None:
    from storage.store import AnswerIn, Changes, WriteFailed

    store = await cluster_backend.open([researcher.public], server_keys)
    try:
        stranger = server_keys.pseudonym("test", "no-consent")
        broken = Changes(respondent=stranger, today=clock().date(), now=clock(),
                         answers=[AnswerIn("sector", "mini", "3", {"kind": "text",
                                                                   "value": "x"})])
        for _ in range(3):  # no respondent row: the foreign key refuses the record
            with pytest.raises(WriteFailed):
                await store.apply(broken)
        assert cluster_backend.count("records") == 0
        assert await store.counters() == {}
    finally:
        await store.close()


async def test_three_workers_send_each_due_reminder_exactly_once(
    workers: list[Orchestrator], cluster_backend: Backend, clock: Clock,
) -> None:
    people = [Reachable(workers[n % 3], user=f"55{n:03d}") for n in range(30)]
    await asyncio.gather(*(person.ask_for_reminder("1") for person in people))
    assert cluster_backend.count("reminders") == 30
    clock.advance(days=1)
    inbox = Inbox()
    # Every worker's job runs at once, a few rounds each, as on three machines.
    rounds = [send_due(worker, {"test": inbox}) for worker in workers for _ in range(3)]
    sent = await asyncio.gather(*rounds)
    assert sum(sent) == 30
    assert sorted(user for user, _ in inbox.sent) == sorted(p.user for p in people)
    assert cluster_backend.count("reminders") == 0
    assert await deliver(*workers, inbox=inbox) == 0
    # Each person learns it was sent, whichever worker they write to next.
    person = people[0]
    person.orchestrator = workers[1]  # it asked on the first
    replies = await person.send(TextIn("hello"))
    assert "Welcome back" in " ".join(texts(replies))


async def test_migrate_brings_a_pending_reminder_along(
    postgres_url: str, db_path: Path, mini_script: Script, researcher: KeyPair,
    server_keys: ServerKeys, translator: Translator, clock: Clock,
) -> None:
    sqlite = Backend("sqlite", "", db_path)
    store = await sqlite.open([researcher.public], server_keys)
    await Reachable(Orchestrator(mini_script, store, server_keys, translator, clock)
                    ).ask_for_reminder("3")
    await store.close()
    assert pg.migrate_from_sqlite(db_path, postgres_url)["reminders"] == 1
    moved = await Backend("postgres", postgres_url, db_path).open([researcher.public],
                                                                  server_keys)
    try:
        worker = Orchestrator(mini_script, moved, server_keys, translator, clock)
        clock.advance(days=3)
        inbox = Inbox()
        assert await deliver(worker, inbox=inbox) == 1
        assert inbox.sent == [(USER, REMINDER)]
    finally:
        await moved.close()
