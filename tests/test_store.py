"""The sealed store through the orchestrator: what lands on disk, erasure, idempotency."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bot import outbound as out
from bot.engine import ChoiceIn, CommandIn, Script, Start, TextIn
from bot.engine.actions import DONE_KEY, SKIP_KEY
from bot.orchestrator import Orchestrator
from storage.keys import KeyPair
from storage.reader import RecordFailure, read_testimonies
from storage.server_keys import ServerKeys
from storage.store import Store
from tests.conftest import Clock, OrchestratorFactory

USER = "987654321012"
STORY = "Zyxwvut-distinctive-story: the agency kept my passport for 14 months"


class Person:
    """A respondent talking to the orchestrator, pressing the buttons she is shown."""

    def __init__(self, orchestrator: Orchestrator, user: str = USER) -> None:
        self.orchestrator = orchestrator
        self.user = user
        self.prompt: out.Prompt | None = None
        self.replies: list[out.Outbound] = []
        self.counter = 0

    async def send(self, event: object, event_id: str | None = None) -> list[out.Outbound]:
        self.counter += 1
        replies = await self.orchestrator.handle(
            "test", self.user, event, event_id=event_id or f"m{self.counter}")  # type: ignore[arg-type]
        for reply in replies:
            if isinstance(reply, out.Prompt):
                self.prompt = reply
        self.replies.extend(replies)
        return replies

    async def press(self, key: str) -> list[out.Outbound]:
        assert self.prompt is not None
        return await self.send(ChoiceIn(self.prompt.token, key))

    async def consent(self) -> None:
        await self.send(Start(campaign="imrf-2022"))
        for _ in range(3):
            await self.press("yes")


def texts(replies: list[out.Outbound]) -> list[str]:
    return [r.text for r in replies if isinstance(r, out.Message | out.Prompt)]


async def walk_mini(person: Person) -> None:
    await person.consent()
    await person.press("care")
    await person.press("wages")
    await person.press(DONE_KEY)
    await person.send(TextIn("7"))
    await person.send(TextIn(STORY))
    await person.press(SKIP_KEY)


def raw_files(db_path: Path) -> bytes:
    data = b""
    for suffix in ("", "-wal", "-shm"):
        path = Path(str(db_path) + suffix)
        if path.exists():
            data += path.read_bytes()
    return data


async def test_raw_files_hold_neither_answers_nor_ids(
    mini_script: Script, orchestrator_for: OrchestratorFactory, db_path: Path,
    researcher: KeyPair,
) -> None:
    person = Person(orchestrator_for(mini_script))
    await walk_mini(person)
    raw = raw_files(db_path)
    assert raw, "the database files exist"
    for needle in (STORY, "Zyxwvut", "passport", USER, "care"):
        assert needle.encode() not in raw
        assert needle.encode("utf-16-le") not in raw
    answers = {t.label: {a.question_id: a.header["value"] for a in t.answers}
               for t in read_testimonies(db_path, researcher)}
    assert list(answers.values()) == [{"sector": ["care"], "themes": ["wages"],
                                       "months_unpaid": 7, "wages_story": STORY}]


async def test_consent_is_a_record(mini_script: Script, orchestrator_for: OrchestratorFactory,
                                   db_path: Path, researcher: KeyPair, store: Store,
                                   clock: Clock) -> None:
    link = await store.links.create(campaign="imrf-2022", partner="p", region="r", now=clock())
    person = Person(orchestrator_for(mini_script))
    await person.send(Start(campaign=link.code))
    await person.consent()
    await person.press("care")
    (testimony,) = list(read_testimonies(db_path, researcher))
    assert testimony.consent is not None
    assert (testimony.consent.version, testimony.consent.language) == ("c-7", "en")
    assert testimony.consent.agreed_at == "2026-11-02T09:30:00+00:00"
    assert testimony.consent.items == {"take_part": True, "adult": True, "quote": True}
    assert testimony.campaign == link.campaign


async def test_nothing_but_counters_before_consent(
    mini_script: Script, orchestrator_for: OrchestratorFactory, db_path: Path, store: Store,
    clock: Clock,
) -> None:
    link = await store.links.create(campaign="imrf-2022", partner="p", region="r", now=clock())
    person = Person(orchestrator_for(mini_script))
    await person.send(Start(campaign=link.code))
    await person.press("yes")
    await person.press("no")  # under 18
    with sqlite3.connect(db_path) as conn:
        for table in ("respondents", "records", "sessions", "erasures"):
            assert conn.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,)
    assert await store.counters() == {(link.code, "opened"): 1,
                                      (link.code, "language_chosen"): 1,
                                      (link.code, "under_age"): 1}


async def test_a_code_that_is_no_link_is_never_written(
    mini_script: Script, orchestrator_for: OrchestratorFactory, db_path: Path, store: Store,
) -> None:
    person = Person(orchestrator_for(mini_script))
    await person.send(Start(campaign="Zq-secret-99"))
    await person.send(TextIn("mycode42"))
    await person.press("yes")
    await person.press("no")
    assert await store.counters() == {("", "opened"): 1, ("", "language_chosen"): 1,
                                      ("", "under_age"): 1}
    assert b"Zq-secret-99" not in raw_files(db_path)
    assert b"mycode42" not in raw_files(db_path)


async def test_a_person_is_counted_once_however_often_they_start_again(
    mini_script: Script, orchestrator_for: OrchestratorFactory, store: Store, clock: Clock,
) -> None:
    link = await store.links.create(campaign="imrf-2022", partner="p", region="r", now=clock())
    person = Person(orchestrator_for(mini_script))
    for _ in range(5):  # one account trying to pad the "declined" cell up to 5
        await person.send(Start(campaign=link.code))
        await person.press("no")
    assert await store.counters() == {(link.code, "opened"): 1,
                                      (link.code, "language_chosen"): 1,
                                      (link.code, "declined"): 1}


async def test_delete_removes_every_row_and_the_content_from_the_files(
    mini_script: Script, orchestrator_for: OrchestratorFactory, db_path: Path,
    researcher: KeyPair, server_keys: ServerKeys,
) -> None:
    orchestrator = orchestrator_for(mini_script)
    other = Person(orchestrator, user="5550001")
    await other.consent()
    await other.press("farm")
    person = Person(orchestrator)
    await walk_mini(person)
    sealed_before = sqlite3.connect(db_path).execute(
        "SELECT sealed FROM records WHERE slot = ?",
        (server_keys.slot(server_keys.pseudonym("test", USER), "wages_story"),)).fetchone()[0]
    await person.send(CommandIn("delete"))
    replies = await person.press("yes")
    assert "Everything you told us has been deleted" in texts(replies)[0]
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT count(*) FROM respondents").fetchone() == (1,)
        assert conn.execute("SELECT count(*) FROM records").fetchone() == (2,)  # consent, sector
        assert conn.execute("SELECT count(*) FROM erasures").fetchone() == (0,)  # never purged
    assert sealed_before not in raw_files(db_path)
    assert [t.answers[0].question_id for t in read_testimonies(db_path, researcher)] == ["sector"]


async def test_the_same_message_twice_is_stored_once(
    mini_script: Script, orchestrator_for: OrchestratorFactory, db_path: Path,
    researcher: KeyPair,
) -> None:
    person = Person(orchestrator_for(mini_script))
    await person.consent()
    assert person.prompt is not None
    choice = ChoiceIn(person.prompt.token, "care")
    first = await person.send(choice, event_id="update-41")
    again = await person.send(choice, event_id="update-41")
    assert texts(first)[-1] == "Pick themes."
    assert texts(again) == ["Pick themes."]  # shown again in case it never arrived
    (testimony,) = list(read_testimonies(db_path, researcher))
    assert [a.question_id for a in testimony.answers] == ["sector"]


async def test_session_resumes_after_a_restart(
    mini_script: Script, db_path: Path, researcher: KeyPair, server_keys: ServerKeys,
    translator: object, clock: Clock,
) -> None:
    store = await Store.open(db_path, [researcher.public], server_keys)
    first = Orchestrator(mini_script, store, server_keys, translator, clock)  # type: ignore[arg-type]
    person = Person(first)
    await person.consent()
    await person.press("care")
    await store.close()
    store = await Store.open(db_path, [researcher.public], server_keys)
    try:
        second = Orchestrator(mini_script, store, server_keys, translator, clock)  # type: ignore[arg-type]
        person.orchestrator = second
        resumed = await person.send(TextIn("hello?"))
        assert texts(resumed)[-1] == "Pick themes."
        raw = sqlite3.connect(db_path).execute("SELECT state FROM sessions").fetchone()[0]
        assert b"themes" not in raw and b"care" not in raw  # working state is encrypted
    finally:
        await store.close()


async def test_finished_person_is_greeted_not_restarted(
    mini_script: Script, orchestrator_for: OrchestratorFactory, db_path: Path,
    researcher: KeyPair,
) -> None:
    orchestrator = orchestrator_for(mini_script)
    person = Person(orchestrator)
    await walk_mini(person)
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT count(*) FROM sessions").fetchone() == (0,)
    [testimony] = read_testimonies(db_path, researcher)
    assert testimony.completed_on == "2026-11-02"
    orchestrator._sessions.clear()  # as after a restart
    replies = await person.send(Start())
    assert texts(replies) == ["You have already finished. Thank you! If you want us to remove "
                              "your answers, send /delete."]


async def test_failed_write_keeps_everything_and_asks_to_resend(
    mini_script: Script, orchestrator_for: OrchestratorFactory, db_path: Path,
    researcher: KeyPair,
) -> None:
    person = Person(orchestrator_for(mini_script))
    await person.consent()
    await person.press("care")
    await person.press("wages")
    blocker = sqlite3.connect(db_path, timeout=0)
    # Another process holds the database: after the 5 s busy timeout our write fails.
    blocker.execute("BEGIN EXCLUSIVE")
    failed = await person.press(DONE_KEY)
    assert texts(failed) == ["We could not save this right now. Please send it again in a "
                             "little while. Your earlier answers are safe."]
    blocker.rollback()
    blocker.close()
    retried = await person.press(DONE_KEY)
    assert texts(retried)[-1] == "How many months were you not paid?"
    (testimony,) = list(read_testimonies(db_path, researcher))
    assert [a.question_id for a in testimony.answers] == ["sector", "themes"]


async def test_tampered_records_fail_by_name_and_the_rest_is_read(
    mini_script: Script, orchestrator_for: OrchestratorFactory, db_path: Path,
    researcher: KeyPair, server_keys: ServerKeys,
) -> None:
    orchestrator = orchestrator_for(mini_script)
    a, b = Person(orchestrator, "1001"), Person(orchestrator, "1002")
    for person in (a, b):
        await person.consent()
        await person.press("care")
        await person.press("wages")
        await person.press(DONE_KEY)
    ra, rb = (server_keys.pseudonym("test", user) for user in ("1001", "1002"))

    def slot(respondent: bytes, question: str) -> bytes:
        return server_keys.slot(respondent, question)

    with sqlite3.connect(db_path) as conn:
        def sealed(respondent: bytes, question: str) -> bytes:
            return bytes(conn.execute("SELECT sealed FROM records WHERE slot = ?",
                                      (slot(respondent, question),)).fetchone()[0])

        flipped, themes = bytearray(sealed(ra, "sector")), sealed(ra, "themes")
        flipped[-3] ^= 1
        conn.execute("UPDATE records SET sealed = ? WHERE slot = ?",
                     (bytes(flipped), slot(ra, "sector")))
        conn.execute("UPDATE records SET sealed = ? WHERE slot = ?",
                     (themes[:40], slot(ra, "themes")))
        conn.execute("UPDATE records SET sealed = ? WHERE slot = ?",  # copied to another person
                     (themes, slot(rb, "themes")))
    failures: list[RecordFailure] = []
    read = {t.label: [x.question_id for x in t.answers]
            for t in read_testimonies(db_path, researcher, failures)}
    assert read == {ra.hex()[:8]: [], rb.hex()[:8]: ["sector"]}
    described = sorted(str(f) for f in failures)
    assert sorted(d.split(": ", 1)[1] for d in described) == [
        "blob is truncated", "tampered, truncated or belonging to another record",
        "tampered, truncated or belonging to another record"]
    assert sorted(d.split(",")[0] for d in described) == sorted(
        [f"respondent {ra.hex()[:8]}"] * 2 + [f"respondent {rb.hex()[:8]}"])
