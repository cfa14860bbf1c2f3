"""One suite, both backends: SQLite in DATA_DIR and PostgreSQL (DATABASE_URL) must keep the
same promises - sealing, pseudonyms, exactly-once, erasure, retention, links and their funnel,
snapshots in one format, purging. The PostgreSQL runs fail in CI if it cannot start."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot import outbound as out
from bot.engine import ChoiceIn, CommandIn, Script, Start, TextIn
from bot.engine.actions import DONE_KEY
from bot.i18n import Translator
from bot.orchestrator import Orchestrator
from bot.reminders import Reach, send_due
from storage.backend import StoreBackend
from storage.keys import KeyPair
from storage.reader import read_erasures, read_testimonies
from storage.server_keys import ServerKeys
from tests.conftest import Clock
from tests.store_backends import Backend
from tests.test_store import STORY, USER, Person, texts, walk_mini

OFFER = "Would you like one reminder to continue later?"
REMINDER = ("You asked us to remind you. Send any message to continue, or /delete to remove "
            "what you gave.")


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, db_path: Path) -> Backend:
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_url")
        return Backend("postgres", url, db_path)
    return Backend("sqlite", "", db_path)


@pytest.fixture
async def shared_store(backend: Backend, researcher: KeyPair, server_keys: ServerKeys
                       ) -> AsyncIterator[StoreBackend]:
    store = await backend.open([researcher.public], server_keys)
    yield store
    await store.close()


@pytest.fixture
def bot(mini_script: Script, shared_store: StoreBackend, server_keys: ServerKeys,
        translator: Translator, clock: Clock) -> Orchestrator:
    return Orchestrator(mini_script, shared_store, server_keys, translator, clock)


def snapshot_of(backend: Backend, tmp_path: Path, name: str = "snap.db") -> Path:
    target = tmp_path / name
    backend.backup(target)
    return target


async def test_answers_are_sealed_and_only_pseudonyms_are_kept(
    backend: Backend, bot: Orchestrator, tmp_path: Path, researcher: KeyPair,
    server_keys: ServerKeys,
) -> None:
    await walk_mini(Person(bot))
    stored = backend.every_value()
    for needle in (STORY, "Zyxwvut", USER, "care", "wages_story", "imrf-2022"):
        assert needle.encode() not in stored
    assert backend.rows("respondents")[0][0] == server_keys.pseudonym("test", USER)
    snapshot = snapshot_of(backend, tmp_path)
    (testimony,) = read_testimonies(snapshot, researcher)
    assert {a.question_id: a.header["value"] for a in testimony.answers} == {
        "sector": ["care"], "themes": ["wages"], "months_unpaid": 7, "wages_story": STORY}
    assert testimony.completed_on == "2026-11-02"
    assert testimony.consent is not None and testimony.consent.version == "c-7"


async def test_the_same_event_twice_is_stored_once_and_re_asks(
    backend: Backend, bot: Orchestrator, tmp_path: Path, researcher: KeyPair,
) -> None:
    person = Person(bot)
    await person.consent()
    assert person.prompt is not None
    choice = ChoiceIn(person.prompt.token, "care")
    first = await person.send(choice, event_id="update-41")
    again = await person.send(choice, event_id="update-41")
    assert texts(first)[-1] == "Pick themes."
    assert texts(again) == ["Pick themes."]
    (testimony,) = read_testimonies(snapshot_of(backend, tmp_path), researcher)
    assert [a.question_id for a in testimony.answers] == ["sector"]


async def test_nothing_but_counters_before_consent_and_a_link_funnel(
    backend: Backend, bot: Orchestrator, shared_store: StoreBackend, clock: Clock,
) -> None:
    link = await shared_store.links.create(campaign="imrf-2022", partner="p", region="r",
                                           now=clock())
    person = Person(bot)
    await person.send(Start(campaign=link.code))
    await person.press("yes")
    await person.press("no")  # under 18
    for table in ("respondents", "records", "sessions", "erasures"):
        assert backend.count(table) == 0, table
    assert await shared_store.counters() == {(link.code, "opened"): 1,
                                             (link.code, "language_chosen"): 1,
                                             (link.code, "under_age"): 1}
    (figures,) = await shared_store.links.figures([link])
    assert figures.live == {"opened": 1, "language_chosen": 1, "under_age": 1}
    assert await shared_store.links.disable(link.code)
    found = await shared_store.links.find(link.code)
    assert found is not None and not found.active
    assert [x.code for x in await shared_store.links.all()] == [link.code]


async def test_delete_erases_the_person_in_one_go(
    backend: Backend, bot: Orchestrator, tmp_path: Path, researcher: KeyPair,
) -> None:
    other = Person(bot, user="5550001")
    await other.consent()
    await other.press("farm")
    person = Person(bot)
    await walk_mini(person)
    await person.send(CommandIn("delete"))
    replies = await person.press("yes")
    assert "Everything you told us has been deleted" in texts(replies)[0]
    assert backend.count("respondents") == 1
    assert backend.count("records") == 2  # the other person's consent and answer
    assert backend.count("erasures") == 0  # never purged: nothing to tell older snapshots
    assert STORY.encode() not in backend.every_value()
    (testimony,) = read_testimonies(snapshot_of(backend, tmp_path), researcher)
    assert [a.question_id for a in testimony.answers] == ["sector"]


async def test_snapshots_have_one_format_and_purge_leaves_an_erasure_record(
    backend: Backend, bot: Orchestrator, tmp_path: Path, researcher: KeyPair,
    server_keys: ServerKeys,
) -> None:
    person = Person(bot)
    await walk_mini(person)
    later = Person(bot, user="5550002")
    await later.consent()
    snapshot = snapshot_of(backend, tmp_path)
    with sqlite3.connect(snapshot) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master "
                                             "WHERE type = 'table'")}
        assert {"respondents", "records", "counters", "erasures", "links",
                "maintenance"} <= tables
        assert not any(t.startswith("legacy_") for t in tables)
        assert conn.execute("SELECT count(*) FROM sessions").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM respondents WHERE profile IS NOT NULL"
                            ).fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM maintenance WHERE fact = 'deployment'"
                            ).fetchone() == (1,)
    # Four answers, a consent and a completion, and the later person's consent.
    assert backend.purge_through(snapshot, dry_run=True) == 7
    assert backend.purge_through(snapshot) == 7
    assert backend.count("records") == 0
    assert backend.count("respondents") == 1  # the later person, still in a session
    await person.send(CommandIn("delete"))
    await person.press("yes")
    second = snapshot_of(backend, tmp_path, "second.db")
    assert read_erasures(second, researcher) == {server_keys.pseudonym("test", USER)}


async def test_retention_ends_abandoned_sessions(
    backend: Backend, bot: Orchestrator, shared_store: StoreBackend, clock: Clock,
) -> None:
    person = Person(bot)
    await person.consent()
    await person.press("care")
    assert backend.count("sessions") == 1
    assert await shared_store.expire_sessions(clock() - timedelta(days=1)) == 0
    clock.advance(days=3)
    assert await shared_store.expire_sessions(clock() - timedelta(days=1)) == 1
    assert backend.count("sessions") == 0
    assert backend.count("records") == 2  # consent and the answer stay


async def test_a_session_resumes_in_another_worker(
    backend: Backend, mini_script: Script, researcher: KeyPair, server_keys: ServerKeys,
    translator: Translator, clock: Clock,
) -> None:
    first = await backend.open([researcher.public], server_keys)
    person = Person(Orchestrator(mini_script, first, server_keys, translator, clock))
    await person.consent()
    await person.press("care")
    await first.close()
    second = await backend.open([researcher.public], server_keys)
    try:
        person.orchestrator = Orchestrator(mini_script, second, server_keys, translator, clock)
        resumed = await person.send(TextIn("hello?"))
        assert texts(resumed)[-1] == "Pick themes."
    finally:
        await second.close()


async def test_field_workers_links_are_theirs_and_leave_with_no_snapshot(
    backend: Backend, shared_store: StoreBackend, clock: Clock, tmp_path: Path,
) -> None:
    worker = b"\x01" * 32
    mine = await shared_store.links.create(campaign="c", partner="p", region="r",
                                           now=clock(), created_by=worker, language="en",
                                           label="flyer")
    await shared_store.links.create(campaign="c", partner="p", region="r", now=clock())
    assert [link.code for link in await shared_store.links.all(created_by=worker)] == [
        mine.code]
    assert (mine.language, mine.label, mine.active) == ("en", "flyer", True)
    snapshot = snapshot_of(backend, tmp_path)
    with sqlite3.connect(snapshot) as conn:
        assert conn.execute("SELECT count(*) FROM links").fetchone() == (2,)
        assert conn.execute("SELECT count(*) FROM links WHERE created_by IS NOT NULL"
                            ).fetchone() == (0,)


async def test_a_redelivered_last_message_brings_no_session_back(
    backend: Backend, bot: Orchestrator,
) -> None:
    person = Person(bot)
    await walk_mini(person)
    assert person.prompt is not None
    last = ChoiceIn(person.prompt.token, "~skip")
    await person.send(last, event_id=f"m{person.counter}")  # Telegram sends it again
    assert backend.count("sessions") == 0


# -- reminders people asked for ------------------------------------------------------------
class Inbox:
    """A channel that can remind anyone at any time, keeping what it sent."""

    channel = "test"

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    async def remind(self, user_id: str, text: str, language: str,
                     asked_at: datetime) -> bool:
        self.sent.append((user_id, text))
        return True


class Reachable(Person):
    """A person on a channel that can remind her (so a pause offers a reminder)."""

    async def send(self, event: object, event_id: str | None = None) -> list[out.Outbound]:
        self.counter += 1
        replies = await self.orchestrator.handle(
            "test", self.user, event, event_id=event_id or f"m{self.counter}",  # type: ignore[arg-type]
            reach=Reach(None))
        for reply in replies:
            if isinstance(reply, out.Prompt):
                self.prompt = reply
        self.replies.extend(replies)
        return replies

    async def ask_for_reminder(self, days: str = "1") -> out.Prompt:
        """Consent, answer nothing, pause and choose a time; returns the question left open."""
        await self.consent()
        question = self.prompt
        assert question is not None
        replies = await self.send(CommandIn("stop"))
        assert texts(replies)[-1] == OFFER
        await self.press(days)
        self.prompt = question  # its buttons still answer it
        return question


async def deliver(*workers: Orchestrator, inbox: Inbox | None = None) -> int:
    """One round of the reminder job on every worker at once; how many went out."""
    channels = {"test": inbox or Inbox()}
    return sum(await asyncio.gather(*(send_due(worker, channels) for worker in workers)))


async def test_a_reminder_shows_only_its_day_goes_out_once_and_then_is_gone(
    backend: Backend, bot: Orchestrator, clock: Clock,
) -> None:
    person = Reachable(bot)
    asked_at = clock()
    await person.ask_for_reminder("1")
    [(_, due_on, _)] = backend.rows("reminders")
    assert due_on == (asked_at + timedelta(days=1)).date().isoformat()  # only the day
    stored = backend.every_value()
    due = asked_at + timedelta(days=1, hours=-1)
    for needle in (USER, due.isoformat(), due.strftime("%H:%M")):
        assert needle.encode() not in stored, needle

    inbox = Inbox()
    clock.advance(hours=22)
    assert await deliver(bot, inbox=inbox) == 0  # not yet due
    clock.advance(hours=1, minutes=1)
    assert await deliver(bot, inbox=inbox) == 1
    assert inbox.sent == [(USER, REMINDER)]
    assert backend.count("reminders") == 0  # deleted once sent
    clock.advance(days=5)
    assert await deliver(bot, inbox=inbox) == 0  # exactly once
    replies = await person.send(TextIn("hello"))
    assert "Welcome back" in " ".join(texts(replies))


async def test_a_reminder_waits_for_its_channel_to_run(
    backend: Backend, bot: Orchestrator, clock: Clock,
) -> None:
    """A bot started with another channel only (Telegram alone, say) leaves the reminders of
    people on this one in storage, rather than taking them and dropping them."""
    await Reachable(bot).ask_for_reminder("1")
    clock.advance(days=2)
    assert await send_due(bot, {"other": Inbox()}) == 0
    assert backend.count("reminders") == 1
    inbox = Inbox()
    assert await deliver(bot, inbox=inbox) == 1
    assert inbox.sent == [(USER, REMINDER)]


async def test_the_reminders_a_person_asked_for_are_counted_beyond_the_session(
    bot: Orchestrator, shared_store: StoreBackend, server_keys: ServerKeys,
) -> None:
    """At most two per person in all: the count lives in the sealed profile, which outlives
    the working state, on both backends."""
    await Reachable(bot).ask_for_reminder("1")
    status = await shared_store.status(server_keys.pseudonym("test", USER))
    assert status.known and status.reminders_asked == 1


@pytest.mark.parametrize("how", ["exit", "delete", "complete", "write"])
async def test_a_pending_reminder_is_cancelled(
    backend: Backend, bot: Orchestrator, clock: Clock, how: str,
) -> None:
    other = Reachable(bot, user="5550003")
    await other.ask_for_reminder("3")
    person = Reachable(bot)
    await person.ask_for_reminder("3")
    assert backend.count("reminders") == 2
    if how == "exit":
        await person.send(CommandIn("exit"))
    elif how == "delete":  # erased with the rest of the person, in the same transaction
        await person.send(CommandIn("delete"))
        await person.press("yes")
        assert backend.count("respondents") == 1
    elif how == "complete":
        await person.press("care")
        await person.press("wages")
        await person.press(DONE_KEY)
        await person.send(TextIn("7"))
        await person.send(TextIn(STORY))
        replies = await person.press("~skip")
        assert "Thank you" in " ".join(texts(replies))
    else:
        await person.send(TextIn("I am back"))
    assert [row[0] for row in backend.rows("reminders")] == [
        bot.keys.pseudonym("test", other.user)]
    clock.advance(days=4)
    inbox = Inbox()
    assert await deliver(bot, inbox=inbox) == 1
    assert inbox.sent == [(other.user, REMINDER)]


async def test_retention_closing_the_session_takes_the_reminder_with_it(
    backend: Backend, bot: Orchestrator, shared_store: StoreBackend, clock: Clock,
) -> None:
    await Reachable(bot).ask_for_reminder("3")
    clock.advance(days=2)
    assert await shared_store.expire_sessions(clock() - timedelta(hours=1)) == 1
    assert backend.count("reminders") == 0
    clock.advance(days=2)
    assert await deliver(bot) == 0


async def test_a_snapshot_carries_no_reminder(
    backend: Backend, bot: Orchestrator, tmp_path: Path,
) -> None:
    await Reachable(bot).ask_for_reminder()
    snapshot = snapshot_of(backend, tmp_path)
    with sqlite3.connect(snapshot) as conn:
        assert conn.execute("SELECT count(*) FROM reminders").fetchone() == (0,)
    assert backend.count("reminders") == 1


async def test_a_reminder_survives_a_restart_and_two_workers_send_it_once(
    backend: Backend, mini_script: Script, researcher: KeyPair, server_keys: ServerKeys,
    translator: Translator, clock: Clock,
) -> None:
    first = await backend.open([researcher.public], server_keys)
    await Reachable(Orchestrator(mini_script, first, server_keys, translator, clock)
                    ).ask_for_reminder()
    await first.close()
    clock.advance(days=1)
    stores = [await backend.open([researcher.public], server_keys) for _ in range(2)]
    try:
        workers = [Orchestrator(mini_script, store, server_keys, translator, clock)
                   for store in stores]
        inbox = Inbox()
        assert await deliver(*workers, inbox=inbox) == 1
        assert await deliver(*workers, inbox=inbox) == 0
        assert inbox.sent == [(USER, REMINDER)]
    finally:
        for store in stores:
            await store.close()
