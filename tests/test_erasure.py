"""/delete in every state: what is stored decides, never the phase of the conversation.

After /exit, after a block, after the session expired, after a purge moved the answers to a
researcher's snapshot (then a sealed erasure record reaches the snapshot), and with another
reader holding the database open while the erasure happens.
"""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import timedelta
from pathlib import Path

from bot.engine import CommandIn, Script, TextIn
from bot.orchestrator import Orchestrator
from bot.retention import retention_loop
from storage.keys import KeyPair
from storage.maintenance import backup, purge_through
from storage.reader import read_erasures, read_testimonies
from storage.server_keys import ServerKeys
from storage.store import Store
from tests.conftest import Clock, OrchestratorFactory
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.updates import TgUser
from tests.telegram_support import TelegramBot, consent
from tests.test_store import STORY, USER, Person, raw_files, texts, walk_mini
from tests.test_telegram_faults import bot  # noqa: F401 - the webhook bot, a fixture

AMINA = TgUser(8_100_200_300, "Amina", language_code="en")
DELETED = "Everything you told us has been deleted"


def people_stored(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        (count,) = conn.execute("SELECT count(*) FROM respondents").fetchone()
    conn.close()
    return int(count)


async def confirm_delete(person: Person) -> list[str]:
    asked = await person.send(CommandIn("delete"))
    assert "Do you want to delete everything" in texts(asked)[-1]
    return texts(await person.press("yes"))


async def test_delete_after_exit_erases_what_is_stored(
        mini_script: Script, orchestrator_for: OrchestratorFactory, db_path: Path) -> None:
    person = Person(orchestrator_for(mini_script))
    await person.consent()
    await person.press("care")
    await person.send(CommandIn("exit"))  # the session ends; the answer stays
    assert people_stored(db_path) == 1
    replies = await confirm_delete(person)
    assert DELETED in replies[0]
    assert people_stored(db_path) == 0


async def test_delete_after_the_session_expired(
        mini_script: Script, orchestrator_for: OrchestratorFactory, db_path: Path,
        clock: Clock) -> None:
    core = orchestrator_for(mini_script)
    person = Person(core)
    await person.consent()
    await person.press("care")
    clock.advance(hours=24 * 5)
    task = asyncio.create_task(retention_loop(core, timedelta(hours=48),
                                              every=timedelta(hours=1)))
    async with asyncio.timeout(30):
        while (await core.store.status(  # noqa: ASYNC110 - the retention task writes
                core.keys.pseudonym("test", USER))).state is not None:
            await asyncio.sleep(0.02)
    task.cancel()
    assert people_stored(db_path) == 1
    replies = await confirm_delete(person)
    assert DELETED in replies[0]
    assert people_stored(db_path) == 0


async def test_delete_after_a_finished_questionnaire_and_a_restart(
        mini_script: Script, orchestrator_for: OrchestratorFactory, db_path: Path) -> None:
    core = orchestrator_for(mini_script)
    person = Person(core)
    await walk_mini(person)
    core._sessions.clear()  # as after a restart
    assert DELETED in (await confirm_delete(person))[0]
    assert people_stored(db_path) == 0
    assert STORY.encode() not in raw_files(db_path)


async def test_nothing_stored_is_said_truthfully(
        mini_script: Script, orchestrator_for: OrchestratorFactory, db_path: Path) -> None:
    person = Person(orchestrator_for(mini_script))
    replies = texts(await person.send(CommandIn("delete")))
    assert replies[0].startswith("Nothing about you has been saved")
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT count(*) FROM erasures").fetchone() == (0,)


async def test_delete_after_a_block_erases_what_is_stored(
        bot: TelegramBot, api: FakeBotApi, db_path: Path) -> None:  # noqa: F811
    await consent(bot, AMINA)
    await bot.press(AMINA, "Care work")
    await bot.send(bot.updates.my_chat_member_private(AMINA, blocked=True))
    await bot.send(bot.updates.my_chat_member_private(AMINA, blocked=False))
    assert people_stored(db_path) == 1
    await bot.text(AMINA, "/delete")
    await bot.press(AMINA, "Yes, delete everything")
    assert DELETED in bot.texts(AMINA.id)[-1] or DELETED in bot.texts(AMINA.id)[-2]
    assert people_stored(db_path) == 0


async def test_delete_after_a_purge_leaves_a_sealed_erasure_record(
        mini_script: Script, orchestrator_for: OrchestratorFactory, db_path: Path,
        researcher: KeyPair, server_keys: ServerKeys, tmp_path: Path) -> None:
    core = orchestrator_for(mini_script)
    person, other = Person(core), Person(core, user="5550001")
    await walk_mini(person)
    await walk_mini(other)
    snapshot = tmp_path / "snapshot.db"
    await asyncio.to_thread(backup, db_path, snapshot)
    assert await asyncio.to_thread(purge_through, db_path, snapshot) > 0
    assert people_stored(db_path) == 0  # nothing of anyone is left on the server
    core._sessions.clear()

    replies = texts(await person.send(CommandIn("delete")))
    assert replies[0].startswith("Nothing about you is on our server now")
    assert "research team" in replies[0]
    later = tmp_path / "later.db"
    await asyncio.to_thread(backup, db_path, later)
    respondent = server_keys.pseudonym("test", USER)
    assert read_erasures(later, researcher) == {respondent}
    assert read_erasures(snapshot, researcher) == set()  # the older snapshot still holds her
    assert respondent in {t.respondent for t in read_testimonies(snapshot, researcher)}
    with sqlite3.connect(later) as conn:
        (sealed,) = conn.execute("SELECT sealed FROM erasures").fetchone()
    assert respondent not in sealed and respondent.hex().encode() not in sealed


async def test_delete_with_answers_here_and_in_a_snapshot_says_both(
        mini_script: Script, orchestrator_for: OrchestratorFactory, db_path: Path,
        researcher: KeyPair, server_keys: ServerKeys, tmp_path: Path) -> None:
    core = orchestrator_for(mini_script)
    person = Person(core)
    await person.consent()
    await person.press("care")
    snapshot = tmp_path / "snapshot.db"
    await asyncio.to_thread(backup, db_path, snapshot)
    await asyncio.to_thread(purge_through, db_path, snapshot)
    core._sessions.clear()
    await person.send(TextIn("hello"))  # the session goes on where it was
    await person.press("wages")
    replies = await confirm_delete(person)
    assert "copied to our research team's computer" in replies[0]
    assert people_stored(db_path) == 0
    assert read_erasures(db_path, researcher) == {server_keys.pseudonym("test", USER)}


async def test_a_concurrent_reader_cannot_keep_an_erasure_in_the_wal(
        mini_script: Script, orchestrator_for: OrchestratorFactory, db_path: Path,
        store: Store) -> None:
    core: Orchestrator = orchestrator_for(mini_script)
    person = Person(core)
    await walk_mini(person)
    reader = sqlite3.connect(db_path)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM records").fetchone()  # holds a read snapshot
    assert DELETED in (await confirm_delete(person))[0]
    assert store.checkpoint_failures >= 1  # the reader blocked the first checkpoint
    reader.rollback()
    reader.close()
    async with asyncio.timeout(30):  # the store retries until the WAL is clean
        while not await store.wal_clean():  # noqa: ASYNC110 - the store retries alone
            await asyncio.sleep(0.05)
    wal = Path(str(db_path) + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    assert STORY.encode() not in raw_files(db_path)
