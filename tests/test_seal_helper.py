"""Sealing in a helper process under load (storage/sealer.py): the blobs open with the
researcher's key like any other, nothing is lost when the helper dies or cannot start, it
inherits none of the bot's secrets, and what sealing refuses is refused the same way."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

import storage.store
from bot.engine import Script, TextIn
from bot.engine.actions import DONE_KEY, SKIP_KEY
from bot.i18n import Translator
from bot.orchestrator import Orchestrator
from storage.keys import KeyPair
from storage.reader import read_testimonies
from storage.sealer import SealHelper
from storage.sealing import RecipientKey, SealError, open_sealed
from storage.server_keys import ServerKeys
from storage.store import Store
from tests.conftest import Clock
from tests.test_store import STORY, Person

PEOPLE = 12
EXPECTED = [("sector", ["care"]), ("themes", ["wages"]), ("months_unpaid", 7),
            ("wages_story", STORY)]


async def ready(helper: SealHelper) -> None:
    assert await asyncio.wait_for(helper.wait_ready(), 20)


async def answer_all(person: Person) -> None:
    await person.press("care")
    await person.press("wages")
    await person.press(DONE_KEY)
    await person.send(TextIn("7"))
    await person.send(TextIn(STORY))
    await person.press(SKIP_KEY)


async def crowd(store: Store, script: Script, keys: ServerKeys, translator: Translator,
                clock: Clock) -> list[Person]:
    """Many people at once: their changes queue up for the same commit."""
    orchestrator = Orchestrator(script, store, keys, translator, clock)
    people = [Person(orchestrator, f"70{n:04d}") for n in range(PEOPLE)]
    await asyncio.gather(*(person.consent() for person in people))
    return people


def stored_answers(db_path: Path, researcher: KeyPair) -> list[list[tuple[str, object]]]:
    return [[(a.question_id, a.header["value"]) for a in t.answers]
            for t in read_testimonies(db_path, researcher)]


async def test_under_load_the_helper_seals_and_the_answers_open_as_ever(
    db_path: Path, researcher: KeyPair, server_keys: ServerKeys, mini_script: Script,
    translator: Translator, clock: Clock,
) -> None:
    store = await Store.open(db_path, [researcher.public], server_keys, seal_helper_after=2)
    try:
        people = await crowd(store, mini_script, server_keys, translator, clock)
        assert await asyncio.wait_for(store.seal_helper_ready(), 20)
        await asyncio.gather(*(answer_all(person) for person in people))
        helper = store.seal_helper
        # Every answer and every consent record
        assert helper is not None and helper.sealed == PEOPLE * (len(EXPECTED) + 1)
    finally:
        await store.close()
    assert not helper.alive and helper.returncode == 0  # stopped with the store, cleanly
    assert stored_answers(db_path, researcher) == [EXPECTED] * PEOPLE


async def test_a_quiet_bot_starts_no_helper(
    db_path: Path, researcher: KeyPair, server_keys: ServerKeys, mini_script: Script,
    translator: Translator, clock: Clock,
) -> None:
    store = await Store.open(db_path, [researcher.public], server_keys)
    try:
        person = Person(Orchestrator(mini_script, store, server_keys, translator, clock))
        await person.consent()
        await answer_all(person)
        assert store.seal_helper is None
    finally:
        await store.close()
    assert stored_answers(db_path, researcher) == [EXPECTED]


async def test_answers_waiting_when_the_helper_dies_are_sealed_here(researcher: KeyPair
                                                                    ) -> None:
    helper = await SealHelper.start((researcher.public,))
    assert helper is not None
    try:
        await ready(helper)
        waiting = [helper.seal(b"answer %d" % n, b"record %d" % n) for n in range(200)]
        os.kill(helper.pid, signal.SIGKILL)
        blobs = await asyncio.wait_for(asyncio.gather(*waiting), 20)
        later = await asyncio.wait_for(helper.seal(b"later", b"record later"), 20)
    finally:
        await helper.stop()
    assert not helper.alive
    for n, blob in enumerate(blobs):
        assert open_sealed(blob, researcher.private, b"record %d" % n) == b"answer %d" % n
    assert open_sealed(later, researcher.private, b"record later") == b"later"


async def test_a_helper_that_hangs_is_given_up_and_nothing_is_lost(
    db_path: Path, researcher: KeyPair, server_keys: ServerKeys, mini_script: Script,
    translator: Translator, clock: Clock, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(storage.store, "SEAL_HELPER_PATIENCE", 0.5)
    store = await Store.open(db_path, [researcher.public], server_keys, seal_helper_after=2)
    try:
        people = await crowd(store, mini_script, server_keys, translator, clock)
        assert await asyncio.wait_for(store.seal_helper_ready(), 20)
        helper = store.seal_helper
        assert helper is not None
        os.kill(helper.pid, signal.SIGSTOP)  # alive, but answering nothing
        await asyncio.wait_for(asyncio.gather(*(answer_all(p) for p in people)), 60)
        assert not helper.alive
    finally:
        await store.close()
    assert stored_answers(db_path, researcher) == [EXPECTED] * PEOPLE


async def test_when_no_helper_can_start_answers_are_sealed_here(
    db_path: Path, researcher: KeyPair, server_keys: ServerKeys, mini_script: Script,
    translator: Translator, clock: Clock, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "executable", str(db_path.parent / "no-such-python"))
    store = await Store.open(db_path, [researcher.public], server_keys, seal_helper_after=2)
    try:
        people = await crowd(store, mini_script, server_keys, translator, clock)
        await asyncio.gather(*(answer_all(person) for person in people))
        assert store.seal_helper is None
    finally:
        await store.close()
    assert stored_answers(db_path, researcher) == [EXPECTED] * PEOPLE


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux /proc")
async def test_the_helper_inherits_none_of_the_bots_secrets(
    researcher: KeyPair, monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret, token = "5e" * 32, "123456789:AAF" + "x" * 32
    monkeypatch.setenv("SERVER_SECRET", secret)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", token)
    helper = await SealHelper.start((researcher.public,))
    assert helper is not None
    try:
        await ready(helper)
        environment = Path(f"/proc/{helper.pid}/environ").read_bytes()
    finally:
        await helper.stop()
    for leaked in (b"SERVER_SECRET", b"TELEGRAM_BOT_TOKEN", secret.encode(), token.encode()):
        assert leaked not in environment


async def test_what_sealing_refuses_the_helper_refuses_alike() -> None:
    low_order = RecipientKey((1).to_bytes(32, "little"))  # every shared secret is all zeros
    helper = await SealHelper.start((low_order,))
    assert helper is not None
    try:
        await ready(helper)
        with pytest.raises(SealError):
            await asyncio.wait_for(helper.seal(b"answer", b"record"), 20)
        assert helper.alive  # one refusal does not end the helper
    finally:
        await helper.stop()
