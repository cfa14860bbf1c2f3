"""A full disk (SQLite's page cap as the stand-in): the write rolls back, the person is asked to
send again, the session does not advance, earlier answers stay, others are still served, and
everything recovers when space returns."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from bot.engine import Script, TextIn
from bot.engine.actions import DONE_KEY
from storage.keys import KeyPair
from storage.reader import read_testimonies
from storage.store import Store
from tests.conftest import OrchestratorFactory
from tests.test_store import Person, texts

SAVE_FAILED = ("We could not save this right now. Please send it again in a little while. "
               "Your earlier answers are safe.")


async def test_full_database_asks_to_resend_and_recovers(
    mini_script: Script, orchestrator_for: OrchestratorFactory, store: Store, db_path: Path,
    researcher: KeyPair,
) -> None:
    orchestrator = orchestrator_for(mini_script)
    amina, other = Person(orchestrator, "71"), Person(orchestrator, "72")
    for person in (amina, other):
        await person.consent()
        await person.press("care")
    await amina.press("wages")
    await amina.press(DONE_KEY)
    await amina.send(TextIn("3"))

    await store.limit_size(os.path.getsize(db_path))  # the disk is full now
    big_story = "a long story " * 300  # about 4 KB sealed: needs new pages
    failed = await amina.send(TextIn(big_story))
    assert texts(failed) == [SAVE_FAILED]
    again = await amina.send(TextIn(big_story))
    assert texts(again) == [SAVE_FAILED]
    # The bot keeps serving: a small change that fits in existing pages still goes through,
    # and a person whose write fails gets the same kind reply, never a crash.
    served = await other.press("health")
    assert texts(served) in (["Pick themes."], [SAVE_FAILED])

    await store.limit_size(None)  # space is back
    saved = await amina.send(TextIn(big_story))
    assert texts(saved)[-1] == "What should governments change?"

    (stored,) = [t for t in read_testimonies(db_path, researcher)
                 if [a.question_id for a in t.answers][:2] == ["sector", "themes"]
                 and len(t.answers) == 4]
    assert [(a.question_id, a.header["value"]) for a in stored.answers] == [
        ("sector", ["care"]), ("themes", ["wages"]), ("months_unpaid", 3),
        ("wages_story", big_story.strip())]
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
