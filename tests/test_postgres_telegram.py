"""Telegram on PostgreSQL: two webhook workers on one database, a person's updates reaching
them in turn, one delivered to both; buttons drawn by one worker pressed at the other; the
conversation completes, stored once; /exit at one worker clears what both sent; a reminder
asked for at one worker is sent once by the cluster and answered at the other."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import socket
from collections.abc import AsyncIterator
from pathlib import Path

from bot.channels.telegram.app import TelegramService
from bot.engine import Script
from bot.i18n import Translator
from bot.orchestrator import Orchestrator
from bot.reminders import send_due
from storage.keys import KeyPair
from storage.pg.maintenance import backup
from storage.pg.store import PostgresStore
from storage.reader import read_testimonies
from storage.server_keys import ServerKeys
from tests.conftest import Clock
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.updates import TgUser, UpdateFactory
from tests.telegram_support import TelegramBot, settings_for
from tests.test_reminders import OFFER, REMINDER

SALMA = TgUser(8_100_200_301, "Salma", language_code="en")


@contextlib.asynccontextmanager
async def webhook_workers(api: FakeBotApi, url: str, script: Script, keys: ServerKeys,
                          translator: Translator, clock: Clock, folder: Path,
                          researcher: KeyPair, count: int = 2
                          ) -> AsyncIterator[list[TelegramBot]]:
    """Telegram webhook workers, each with its own store on one PostgreSQL."""
    updates = UpdateFactory(api)
    async with contextlib.AsyncExitStack() as stack:
        bots = []
        for n in range(count):
            store = await PostgresStore.open(url, [researcher.public], keys)
            stack.push_async_callback(store.close)
            orchestrator = Orchestrator(script, store, keys, translator, clock)
            # Its own port, as a worker process of its own would have (one process shares
            # one webhook host between its channels).
            settings = dataclasses.replace(settings_for(api, folder / f"w{n}", webhook=True),
                                           webhook_port=_free_port())
            service = TelegramService(settings, orchestrator, clock=clock)
            clock.advance(seconds=2)  # the fake, like Telegram, allows a setWebhook a second
            await service.start()
            stack.push_async_callback(service.stop)
            bot = TelegramBot(api, service, updates)
            stack.push_async_callback(bot.close)
            bots.append(bot)
        yield bots


async def test_two_webhook_workers_share_one_person(
    api: FakeBotApi, postgres_url: str, mini_script: Script, server_keys: ServerKeys,
    translator: Translator, clock: Clock, tmp_path: Path, researcher: KeyPair,
) -> None:
    async with webhook_workers(api, postgres_url, mini_script, server_keys, translator, clock,
                               tmp_path, researcher) as bots:
        first, second = bots
        await first.text(SALMA, "/start")
        for n, label in enumerate(("Yes", "Yes", "Yes", "Care work", "Wages")):
            clock.advance(seconds=3)  # a person takes a moment (and the fake counts limits)
            await bots[n % 2].press(SALMA, label)
        done = first.updates.callback(SALMA, *first.button(SALMA.id, "Done"))
        await second.send(done)
        await first.send(done)  # the same update again, to the other worker: stored once
        await second.text(SALMA, "3")
        await first.text(SALMA, "Nobody paid me for three months.")
        assert any("What should governments change?" in text
                   for text in first.texts(SALMA.id)[-3:])
        shown = {m["message_id"] for m in api.messages(SALMA.id)}
        await first.service.ledger.flush()  # type: ignore[union-attr]
        await second.text(SALMA, "/exit")  # the other worker knows every id from the ledger
        deleted = {i for c in api.calls if c.method == "deleteMessages"
                   for i in c.params["message_ids"]}
        assert shown <= deleted
    snapshot = tmp_path / "snap.db"
    backup(postgres_url, snapshot)
    (testimony,) = read_testimonies(snapshot, researcher)
    assert [a.question_id for a in testimony.answers] == [
        "sector", "themes", "months_unpaid", "wages_story"]


async def test_a_reminder_asked_at_one_worker_is_sent_once_by_the_cluster(
    api: FakeBotApi, postgres_url: str, mini_script: Script, server_keys: ServerKeys,
    translator: Translator, clock: Clock, tmp_path: Path, researcher: KeyPair,
) -> None:
    async with webhook_workers(api, postgres_url, mini_script, server_keys, translator, clock,
                               tmp_path, researcher) as bots:
        first, second = bots
        await first.text(SALMA, "/start")
        for label in ("Yes", "Yes", "Yes"):
            clock.advance(seconds=3)
            await first.press(SALMA, label)
        await second.text(SALMA, "/stop")
        assert second.last_text(SALMA.id) == OFFER
        await first.press(SALMA, "Tomorrow")
        clock.advance(days=1)
        jobs = [send_due(bot.service.orchestrator, {"telegram": bot.service.reminding})
                for bot in bots]
        assert sorted(await asyncio.gather(*jobs)) == [0, 1]
        assert first.texts(SALMA.id).count(REMINDER) == 1
        await second.press(SALMA, "Care work")  # the paused question's button, on the other
        assert second.last_text(SALMA.id) == "Pick themes."
        counts = await second.service.orchestrator.store.counters()
        assert counts[("", "reminder_sent")] == 1
        assert counts[("", "reminder_continued")] == 1


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
