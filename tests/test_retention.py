"""Unfinished sessions close after the configured time, wherever the bot runs (the terminal
chat, Telegram); their working state leaves the files."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.engine import Script, Start, TextIn
from bot.i18n import Translator
from bot.orchestrator import Orchestrator
from bot.retention import retention_loop
from storage.keys import KeyPair
from storage.server_keys import ServerKeys
from storage.store import Store
from tests.conftest import Clock, OrchestratorFactory
from tests.fakes.bot_api import FakeBotApi
from tests.telegram_support import run_env, run_until
from tests.test_store import Person, raw_files, texts


async def test_expired_session_state_is_gone_from_the_raw_files(
    mini_script: Script, orchestrator_for: OrchestratorFactory, db_path: Path, clock: Clock,
    server_keys: ServerKeys,
) -> None:
    orchestrator = orchestrator_for(mini_script)
    idle, active = Person(orchestrator, "1"), Person(orchestrator, "2")
    for person in (idle, active):
        await person.consent()
        await person.press("care")
    with sqlite3.connect(db_path) as conn:
        idle_blob = conn.execute("SELECT state FROM sessions WHERE respondent_id = ?",
                                 (server_keys.pseudonym("test", "1"),)).fetchone()[0]
    clock.advance(hours=30)
    await active.send(TextIn("still here"))  # touches only the active session
    # The database keeps the day a session was saved, not the time: it expires once the
    # whole day is past the time to live.
    clock.advance(hours=45)

    task = asyncio.create_task(retention_loop(orchestrator, timedelta(hours=48),
                                              every=timedelta(seconds=3600)))
    async with asyncio.timeout(30):  # one round runs at once; wait for it, however slow
        while sessions(db_path) != 1:  # noqa: ASYNC110 - polling a file another task writes
            await asyncio.sleep(0.05)
    task.cancel()

    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT count(*) FROM sessions").fetchone() == (1,)
        # Answers stay: consent and "care" for each of the two.
        assert conn.execute("SELECT count(*) FROM records").fetchone() == (4,)
    assert idle_blob not in raw_files(db_path)
    assert idle_blob[12:40] not in raw_files(db_path)
    # The idle person starts again from the beginning (consent is asked anew)…
    replies = await idle.send(Start())
    assert "Do you agree to take part?" in texts(replies)
    # …while the active one resumes where they were.
    assert texts(await active.send(TextIn("hi")))[-1] == "Pick themes."


def sessions(db_path: Path) -> int:
    with contextlib.closing(sqlite3.connect(db_path)) as conn:
        return int(conn.execute("SELECT count(*) FROM sessions").fetchone()[0])


async def test_retention_runs_under_the_real_telegram_service(
        api: FakeBotApi, mini_script: Script, translator: Translator, tmp_path: Path) -> None:
    """`testimony-bot run` (what `make run` starts) with a Telegram token: a session left
    unfinished for longer than SESSION_TTL_HOURS goes, without anyone writing to the bot."""
    pair, secret = KeyPair.generate(), "cd" * 32
    db = tmp_path / "data" / "testimonies.db"
    keys = ServerKeys.from_secret(bytes.fromhex(secret))
    store = await Store.open(db, [pair.public], keys)
    three_days_ago = Clock(datetime.now(UTC) - timedelta(days=3))
    person = Person(Orchestrator(mini_script, store, keys, translator, three_days_ago), "7")
    await person.consent()
    await store.close()
    assert sessions(db) == 1

    env = run_env(api, tmp_path / "data", pair, secret, SESSION_TTL_HOURS="24")

    async def expired() -> None:
        while not api.calls_to("getUpdates"):  # noqa: ASYNC110 - the fake is in this loop
            await asyncio.sleep(0.05)
        while sessions(db) != 0:  # noqa: ASYNC110 - polling a file another process writes
            await asyncio.sleep(0.05)

    returncode, out, err = await run_until(tmp_path, env, expired)
    assert returncode == 0, err.decode()[-2000:]
    assert b"running on Telegram (polling)" in out
    assert b"sessions_expired count=1" in err
