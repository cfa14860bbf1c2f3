"""Several workers on one PostgreSQL: each person's events in order across workers, duplicates
stored once, conversations before consent carried in their buttons (nothing stored), retention
in one worker, each reminder sent by one worker, and `migrate`."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot import button_state
from bot import outbound as out
from bot.engine import ChoiceIn, CommandIn, Phase, Script, SessionState, Start, TextIn
from bot.engine.actions import DONE_KEY
from bot.i18n import Translator
from bot.orchestrator import Orchestrator
from bot.reminders import send_due
from storage.backend import StoreBackend
from storage.keys import KeyPair
from storage.pg import maintenance as pg
from storage.reader import read_testimonies
from storage.server_keys import ServerKeys
from tests.conftest import TEST_FLOWS, Clock, make_script
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
    assert cluster_backend.count("sessions") == 0


async def test_a_conversation_before_consent_is_shared_and_leaves_nothing_durable(
    workers: list[Orchestrator], cluster_backend: Backend,
) -> None:
    person = Person(workers[0])
    await person.send(Start(campaign=None))
    person.orchestrator = workers[1]
    await person.press("yes")
    assert cluster_backend.count("respondents") == 0
    person.orchestrator = workers[2]
    await person.press("yes")
    person.orchestrator = workers[0]
    replies = await person.press("yes")
    assert texts(replies)[-1] == "Where do you work?"
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


@pytest.fixture
async def polyglot_workers(cluster_backend: Backend, translator: Translator,
                           researcher: KeyPair, server_keys: ServerKeys, clock: Clock
                           ) -> AsyncIterator[list[Orchestrator]]:
    """Three workers of a bot in three languages: a language is chosen before consent."""
    script = make_script(translator, TEST_FLOWS / "mini.toml", TEST_FLOWS / "consent.toml",
                         ("en", "fr", "es"))
    stores = [await cluster_backend.open([researcher.public], server_keys) for _ in range(3)]
    yield [Orchestrator(script, store, server_keys, translator, clock) for store in stores]
    for store in stores:
        await store.close()


def _prompt(replies: list[out.Outbound]) -> out.Prompt:
    return next(r for r in reversed(replies) if isinstance(r, out.Prompt))


async def test_a_press_before_consent_reaching_any_worker_goes_on_from_the_button(
    polyglot_workers: list[Orchestrator], cluster_backend: Backend, server_keys: ServerKeys,
    clock: Clock,
) -> None:
    first, second, third = polyglot_workers
    link = await first.store.links.create(campaign="imrf-2022", partner="p", region="r",
                                          now=clock())
    picker = _prompt(await first.handle("test", "501", Start(campaign=link.code)))
    assert button_state.is_carried(picker.token)
    # The second worker has never seen her: the button says where she is.
    item = _prompt(await second.handle("test", "501", ChoiceIn(picker.token, "fr"),
                                       event_id="2"))
    assert item.language == "fr" and button_state.is_carried(item.token)
    carried = button_state.carried(item.token, second.script,
                                   server_keys.pseudonym("test", "501"), server_keys)
    assert carried is not None and carried.campaign == link.code
    adult = _prompt(await third.handle("test", "501", ChoiceIn(item.token, "yes"),
                                       event_id="3"))
    # The first worker remembers an older point (the language choice): the button is newer.
    last = _prompt(await first.handle("test", "501", ChoiceIn(adult.token, "yes"),
                                      event_id="4"))
    assert last.text == "May we quote you?"
    assert cluster_backend.count("respondents") == 0
    replies = await third.handle("test", "501", ChoiceIn(last.token, "yes"), event_id="5")
    assert not button_state.is_carried(_prompt(replies).token)  # consented: the database
    assert cluster_backend.count("respondents") == 1
    assert await first.store.counters() == {
        (link.code, "opened"): 1, (link.code, "language_chosen"): 1,
        (link.code, "consented"): 1}
    # An older button pressed at the worker that remembers her: this question has passed.
    stale = await first.handle("test", "501", ChoiceIn(item.token, "no"), event_id="6")
    assert [type(r) for r in stale] == [out.Toast]
    assert cluster_backend.count("respondents") == 1


async def test_an_altered_forged_or_someone_elses_button_before_consent_is_refused_kindly(
    polyglot_workers: list[Orchestrator], server_keys: ServerKeys, clock: Clock,
) -> None:
    first, second, third = polyglot_workers
    link = await first.store.links.create(campaign="imrf-2022", partner="p", region="r",
                                          now=clock())
    picker = _prompt(await first.handle("test", "601", Start(campaign=link.code)))
    item = _prompt(await first.handle("test", "601", ChoiceIn(picker.token, "es")))
    greeting = "Hello! Which language would you like to use?"

    def carried_for(user: str, prompt: out.Prompt) -> SessionState | None:
        return button_state.carried(prompt.token, first.script,
                                    server_keys.pseudonym("test", user), server_keys)

    # Someone else's button: a worker that does not know this person greets her, with
    # nothing of the other person's conversation (not her link, not her language).
    theirs = await second.handle("test", "602", ChoiceIn(item.token, "yes"))
    assert texts(theirs) == [greeting]
    begun = carried_for("602", _prompt(theirs))
    assert begun is not None and begun.campaign is None and begun.phase is Phase.LANGUAGE
    # Altered (the consent step moved on): greeted again, kindly, where nothing is known ...
    at = len(item.token) // 2
    altered = item.token[:at] + ("A" if item.token[at] != "A" else "B") + item.token[at + 1:]
    again = await third.handle("test", "601", ChoiceIn(altered, "yes"))
    assert texts(again) == [greeting]
    # ... and "this question has passed" where her conversation is remembered.
    passed = await first.handle("test", "601", ChoiceIn(altered, "yes"))
    assert passed == [out.Toast("Esta pregunta ya quedó atrás.")]
    # Forged from nothing: the same greeting.
    forged = "~" + "A" * 40
    assert texts(await second.handle("test", "603", ChoiceIn(forged, "yes"))) == [greeting]
    # Her own button still works, at any worker.
    goes_on = await second.handle("test", "601", ChoiceIn(item.token, "yes"))
    state = carried_for("601", _prompt(goes_on))
    assert state is not None and state.consent_step == 1 and state.campaign == link.code
    assert state.language == "es"


async def test_before_consent_no_row_of_the_database_holds_anything_of_the_person(
    polyglot_workers: list[Orchestrator], cluster_backend: Backend, server_keys: ServerKeys,
    clock: Clock,
) -> None:
    """As a seizure would find it: every table read, in the middle of the consent items."""
    import psycopg

    first, second, third = polyglot_workers
    link = await first.store.links.create(campaign="imrf-2022", partner="p", region="r",
                                          now=clock())
    user = "7700123456"
    picker = _prompt(await first.handle("test", user, Start(campaign=link.code)))
    item = _prompt(await second.handle("test", user, ChoiceIn(picker.token, "fr")))
    item = _prompt(await third.handle("test", user, ChoiceIn(item.token, "yes")))
    await first.handle("test", user, TextIn("bonjour"))  # typed, at a worker behind
    await second.handle("test", user, CommandIn("stop"))
    item = _prompt(await third.handle("test", user, ChoiceIn(item.token, "yes")))
    assert item.text == "May we quote you?"  # the last consent item: not given yet
    person = server_keys.pseudonym("test", user)
    sid = button_state.carried(item.token, first.script, person, server_keys)
    assert sid is not None
    marks = [person, person.hex().encode(), user.encode(), sid.sid.encode()]

    def every_row() -> dict[str, list[tuple[object, ...]]]:
        with psycopg.connect(cluster_backend.url) as conn:
            tables = [str(r[0]) for r in conn.execute(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN "
                "('pg_catalog', 'information_schema', 'pg_toast')")]
            return {t: conn.execute(f"SELECT * FROM {t}".encode()).fetchall() for t in tables}

    rows = every_row()
    assert "pending_sessions" not in rows
    holding = {table for table, found in rows.items() if found}
    assert holding <= {"links", "maintenance", "schema_migrations", "counters"}, holding
    assert sorted(rows["counters"]) == [  # counts per link, of no one in particular
        (link.code, "language_chosen", 1), (link.code, "opened", 1)]
    stored = b"\x00".join(bytes(v) if isinstance(v, bytes | memoryview) else str(v).encode()
                          for found in rows.values() for row in found for v in row)
    for mark in marks:
        assert mark not in stored
    # The same reading finds her once she has agreed.
    await first.handle("test", user, ChoiceIn(item.token, "yes"))
    assert [row[0] for row in every_row()["respondents"]] == [person]


def test_migration_0004_drops_the_table_of_conversations_before_consent(
    postgres_url: str,
) -> None:
    import psycopg

    from storage.pg import schema

    with psycopg.connect(postgres_url) as conn:  # a database written before it
        conn.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, "
                     "name TEXT NOT NULL, applied_at TEXT NOT NULL)")
        for migration in schema.migrations()[:2]:
            conn.execute(migration.sql.encode())
            conn.execute("INSERT INTO schema_migrations VALUES (%s, %s, '2026-12-01')",
                         (migration.number, migration.name))
        conn.execute("INSERT INTO pending_sessions VALUES ('\\x01', '\\x02', '2026-12-01')")
    assert 4 in schema.migrate(postgres_url)
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT to_regclass('pending_sessions')").fetchone() == (None,)
        assert conn.execute("SELECT count(*) FROM pg_class WHERE relpersistence = 'u'"
                            ).fetchone() == (0,)


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
