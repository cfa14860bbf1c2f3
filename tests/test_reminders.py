"""Reminders people ask for, and only those: on Telegram end to end (the fake Bot API, a real
store), with a fake clock; the quiet-hours rule on its own; exactly-once claiming."""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot import outbound as out
from bot.engine import ChoiceIn, CommandIn, Event, Script, Start
from bot.engine import messages as msg
from bot.i18n import Translator
from bot.orchestrator import Orchestrator
from bot.reminders import Reach, due_time, send_due
from storage.db import migrate
from storage.keys import KeyPair
from storage.links import LinkBook
from storage.maintenance import backup
from storage.server_keys import ServerKeys
from storage.store import Store
from tests.conftest import (
    DEFAULT_FLOWS,
    TEST_FLOWS,
    Clock,
    OrchestratorFactory,
    make_script,
    schema_at,
)
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.graph_api import FakeGraphApi
from tests.fakes.updates import TgUser
from tests.telegram_support import (
    TelegramBot,
    consent,
    make_orchestrator,
    run_env,
    run_until,
    telegram_bot,
)
from tests.test_seizure import TIME_OF_DAY
from tests.test_store_conformance import Inbox, Reachable
from tests.whatsapp_support import WhatsAppBot, whatsapp_bot, whatsapp_settings

AMINA = TgUser(8_100_200_301, "Amina", language_code="en")
REMINDER = ("You asked us to remind you. Send any message to continue, or /delete to remove "
            "what you gave.")
OFFER = "Would you like one reminder to continue later?"


async def ask_for_reminder(bot: TelegramBot, label: str = "Tomorrow") -> None:
    await consent(bot, AMINA)
    await bot.text(AMINA, "/stop")
    assert bot.texts(AMINA.id)[-2].startswith("Paused.")
    assert bot.last_text(AMINA.id) == OFFER
    assert bot.buttons(AMINA.id) == ["Tomorrow", "In 3 days", "No"]
    await bot.press(AMINA, label)


async def deliver(orchestrator: Orchestrator, bot: TelegramBot) -> int:
    return await send_due(orchestrator, {"telegram": bot.service.reminding})


def rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return list(conn.execute(sql))


async def test_asked_for_tomorrow_sent_once_then_the_person_continues(
        bot: TelegramBot, orchestrator: Orchestrator, clock: Clock, db_path: Path,
        store: Store) -> None:
    link = await store.links.create(campaign="c", partner="p", region="r", now=clock())
    await ask_for_reminder(bot)
    assert bot.last_text(AMINA.id).startswith("We will send you one short reminder.")
    # On disk: the day only; the time, the address and the language are sealed.
    [(due_on,)] = rows(db_path, "SELECT due_on FROM reminders")
    assert due_on == (clock() + timedelta(days=1)).date().isoformat()
    for path in db_path.parent.glob("testimonies.db*"):  # the whole disk, WAL included
        content = path.read_bytes()
        assert str(AMINA.id).encode() not in content, path
        assert not TIME_OF_DAY.search(content), path

    clock.advance(hours=22)
    assert await deliver(orchestrator, bot) == 0  # not yet due
    clock.advance(hours=1, minutes=1)
    assert await deliver(orchestrator, bot) == 1
    assert bot.last_text(AMINA.id) == REMINDER
    assert rows(db_path, "SELECT * FROM reminders") == []  # deleted once sent
    clock.advance(days=5)
    assert await deliver(orchestrator, bot) == 0  # exactly once
    assert bot.texts(AMINA.id).count(REMINDER) == 1

    await bot.text(AMINA, "hello")
    assert "Welcome back" in bot.texts(AMINA.id)[-2]
    del link


async def test_the_funnel_counts_asked_sent_and_continued(
        bot: TelegramBot, orchestrator: Orchestrator, clock: Clock, store: Store) -> None:
    link = await store.links.create(campaign="c", partner="p", region="r", now=clock())
    await consent(bot, AMINA, f"/start {link.code}")
    await bot.text(AMINA, "/stop")
    await bot.press(AMINA, "In 3 days")
    clock.advance(days=3)
    assert await deliver(orchestrator, bot) == 1
    await bot.press(AMINA, "Care work")  # the paused question's own button answers it
    counts = await store.counters()
    assert {m: counts.get((link.code, m)) for m in
            ("reminder_asked", "reminder_sent", "reminder_continued")} == {
        "reminder_asked": 1, "reminder_sent": 1, "reminder_continued": 1}


async def test_no_means_nothing_is_ever_sent(bot: TelegramBot, orchestrator: Orchestrator,
                                             clock: Clock, db_path: Path) -> None:
    await ask_for_reminder(bot, "No")
    assert rows(db_path, "SELECT * FROM reminders") == []
    clock.advance(days=10)
    assert await deliver(orchestrator, bot) == 0
    assert REMINDER not in bot.texts(AMINA.id)


async def test_writing_again_cancels_and_at_most_two_are_offered(
        bot: TelegramBot, orchestrator: Orchestrator, clock: Clock, db_path: Path) -> None:
    await ask_for_reminder(bot)
    await bot.text(AMINA, "I am back")  # any message: the reminder is not needed any more
    assert rows(db_path, "SELECT * FROM reminders") == []
    await bot.text(AMINA, "/stop")
    await bot.press(AMINA, "In 3 days")
    await bot.text(AMINA, "/stop")  # writing cancels the second one too...
    assert bot.last_text(AMINA.id).startswith("Paused.")  # ...and no third is offered
    clock.advance(days=5)
    assert await deliver(orchestrator, bot) == 0


@pytest.mark.parametrize("how", ["exit", "delete", "complete", "block"])
async def test_a_pending_reminder_is_cancelled(
        bot: TelegramBot, api: FakeBotApi, orchestrator: Orchestrator, clock: Clock,
        db_path: Path, how: str) -> None:
    await ask_for_reminder(bot, "In 3 days")
    assert len(rows(db_path, "SELECT * FROM reminders")) == 1
    if how == "exit":
        await bot.text(AMINA, "/exit")
    elif how == "delete":
        await bot.text(AMINA, "/delete")
        await bot.press(AMINA, "Yes, delete")
    elif how == "complete":
        await bot.press(AMINA, "Care work")
        await bot.press(AMINA, "Wages")
        await bot.press(AMINA, "Done")
        await bot.text(AMINA, "3")
        await bot.text(AMINA, "/skip")
        await bot.text(AMINA, "Pay on time.")
        assert "Thank you" in "".join(bot.texts(AMINA.id)[-3:])
    else:
        await bot.send(bot.updates.my_chat_member_private(AMINA, blocked=True))
    assert rows(db_path, "SELECT * FROM reminders") == []
    clock.advance(days=4)
    assert await deliver(orchestrator, bot) == 0
    assert REMINDER not in bot.texts(AMINA.id)


async def test_retention_closing_the_session_takes_the_reminder_with_it(
        bot: TelegramBot, orchestrator: Orchestrator, clock: Clock, db_path: Path) -> None:
    await ask_for_reminder(bot, "In 3 days")
    clock.advance(days=2)
    assert await orchestrator.expire_idle(timedelta(hours=1)) == 1
    assert rows(db_path, "SELECT * FROM reminders") == []
    clock.advance(days=2)
    assert await deliver(orchestrator, bot) == 0


async def test_a_snapshot_carries_no_reminder(bot: TelegramBot, db_path: Path,
                                              tmp_path: Path) -> None:
    await ask_for_reminder(bot)
    snapshot = tmp_path / "snap.db"
    backup(db_path, snapshot)
    assert rows(snapshot, "SELECT * FROM reminders") == []
    assert len(rows(db_path, "SELECT * FROM reminders")) == 1


async def test_blocked_by_the_time_it_is_due(
        bot: TelegramBot, api: FakeBotApi, orchestrator: Orchestrator, clock: Clock,
        store: Store, server_keys: ServerKeys) -> None:
    await ask_for_reminder(bot)
    api.block_user(AMINA.id)
    clock.advance(days=2)
    assert await deliver(orchestrator, bot) == 0
    respondent = server_keys.pseudonym("telegram", str(AMINA.id))
    assert (await store.status(respondent)).state is None  # the session ended quietly


async def test_a_restart_between_asking_and_sending(
        api: FakeBotApi, mini_script: Script, db_path: Path, researcher: KeyPair,
        server_keys: ServerKeys, translator: Translator, clock: Clock) -> None:
    store = await Store.open(db_path, [researcher.public], server_keys)
    first = make_orchestrator(mini_script, store, server_keys, translator, clock)
    async with telegram_bot(api, first, db_path.parent, clock=clock) as bot:
        await ask_for_reminder(bot)
        updates = bot.updates
    await store.close()

    clock.advance(days=1)
    store = await Store.open(db_path, [researcher.public], server_keys)
    try:
        second = make_orchestrator(mini_script, store, server_keys, translator, clock)
        async with telegram_bot(api, second, db_path.parent, clock=clock,
                                updates=updates) as bot:
            assert await deliver(second, bot) == 1
            assert bot.last_text(AMINA.id) == REMINDER
            await bot.press(AMINA, "Care work")
            counts = await store.counters()
            assert counts[("", "reminder_continued")] == 1
    finally:
        await store.close()


async def test_two_bots_on_one_database_claim_a_reminder_once(
        bot: TelegramBot, orchestrator: Orchestrator, mini_script: Script, db_path: Path,
        researcher: KeyPair, server_keys: ServerKeys, translator: Translator,
        clock: Clock) -> None:
    await ask_for_reminder(bot)
    clock.advance(days=2)
    other_store = await Store.open(db_path, [researcher.public], server_keys)
    try:
        other = make_orchestrator(mini_script, other_store, server_keys, translator, clock)
        claimed = await asyncio.gather(orchestrator.due_reminders(["telegram"]),
                                       other.due_reminders(["telegram"]))
    finally:
        await other_store.close()
    assert sorted(len(c) for c in claimed) == [0, 1]


# -- when a reminder falls due -------------------------------------------------------------
MANILA = ZoneInfo("Asia/Manila")  # UTC+8, no daylight saving


def at_manila(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=MANILA)


async def test_the_reminder_is_in_the_persons_language(
        orchestrator_for: OrchestratorFactory, translator: Translator, clock: Clock) -> None:
    script = make_script(translator, TEST_FLOWS / "mini.toml", DEFAULT_FLOWS / "consent.toml",
                         ("en", "ar"))
    worker = orchestrator_for(script)
    person = Reachable(worker)
    await person.send(Start())
    for key in ("ar", "yes", "yes", "yes"):
        await person.press(key)
    await person.send(CommandIn("stop"))
    await person.press("1")
    clock.advance(days=2)
    inbox = Inbox()
    assert await send_due(worker, {"test": inbox}) == 1
    [(_, text)] = inbox.sent
    assert text == translator.render(msg.REMINDER, "ar") != REMINDER


def test_a_reminder_outside_quiet_hours_comes_an_hour_early() -> None:
    asked = at_manila(2, 15)
    assert due_time(asked, 1, MANILA) == at_manila(3, 14).astimezone(UTC)
    assert due_time(asked, 3, MANILA) == at_manila(5, 14).astimezone(UTC)


@pytest.mark.parametrize(("asked_hour", "due_at"), [
    (22, (20, 30)), (23, (20, 30)),  # late evening: earlier that evening
    (2, (8, 0)), (7, (8, 0)),  # the small hours: 08:00
])
def test_quiet_hours_keep_the_day_and_the_night_free(
        asked_hour: int, due_at: tuple[int, int]) -> None:
    asked = at_manila(2, asked_hour)
    due = due_time(asked, 1, MANILA).astimezone(MANILA)
    assert (due.date(), (due.hour, due.minute)) == (asked.date() + timedelta(days=1), due_at)


def test_a_reply_window_moves_a_small_hours_reminder_back_to_the_evening() -> None:
    asked = at_manila(2, 2)  # 08:00 tomorrow would be 30 hours later: past the window
    reach = Reach(timedelta(hours=24))
    due = due_time(asked, 1, MANILA, reach.latest(asked)).astimezone(MANILA)
    assert (due.day, due.hour, due.minute) == (2, 20, 30)
    assert due_time(asked, 1, MANILA).astimezone(MANILA) == at_manila(3, 8)  # no window
    assert reach.options == ("1",)  # three days cannot be reached within a day
    assert Reach(None).options == ("1", "3")


async def test_the_link_time_zone_sets_the_quiet_hours(
        bot: TelegramBot, orchestrator: Orchestrator, clock: Clock, store: Store) -> None:
    clock.now = at_manila(2, 3).astimezone(UTC)  # 19:00 UTC: no quiet hours in UTC
    link = await store.links.create(campaign="c", partner="p", region="r", now=clock(),
                                    timezone="Asia/Manila")
    await consent(bot, AMINA, f"/start {link.code}")
    await bot.text(AMINA, "/stop")
    await bot.press(AMINA, "Tomorrow")
    clock.now = at_manila(3, 2, 30).astimezone(UTC)  # a day later, less the hour: quiet
    assert await deliver(orchestrator, bot) == 0
    clock.now = at_manila(3, 8).astimezone(UTC)
    assert await deliver(orchestrator, bot) == 1


# -- WhatsApp: a 24-hour window, and an approved template beyond it ------------------------
FATIMA = "971501234567"


@asynccontextmanager
async def on_whatsapp(graph: FakeGraphApi, orchestrator: Orchestrator, db_path: Path,
                      clock: Clock, template: str = "") -> AsyncIterator[WhatsAppBot]:
    settings = dataclasses.replace(whatsapp_settings(graph, db_path.parent),
                                   whatsapp_reminder_template=template)
    async with whatsapp_bot(graph, orchestrator, db_path.parent, clock=clock,
                            settings=settings) as bot:
        await bot.text(FATIMA, "hello")
        for _ in range(3):
            await bot.choose(FATIMA, "Yes")
        await bot.text(FATIMA, "/stop")
        yield bot


async def test_whatsapp_without_a_template_offers_tomorrow_within_the_window(
        graph: FakeGraphApi, orchestrator: Orchestrator, db_path: Path, clock: Clock) -> None:
    async with on_whatsapp(graph, orchestrator, db_path, clock) as bot:
        offer = bot.last_with_options(FATIMA)
        assert offer.text.startswith(OFFER)
        assert [title for title, _ in offer.options()] == ["Tomorrow", "No"]
        await bot.choose(FATIMA, "Tomorrow")
        clock.advance(hours=23)
        assert await send_due(orchestrator, {"whatsapp": bot.service.reminding}) == 1
        last = graph.to(FATIMA)[-1]
        assert (last.kind, last.text) == ("text", REMINDER)


async def test_whatsapp_without_a_template_sends_nothing_outside_the_window(
        graph: FakeGraphApi, orchestrator: Orchestrator, db_path: Path, clock: Clock) -> None:
    async with on_whatsapp(graph, orchestrator, db_path, clock) as bot:
        await bot.choose(FATIMA, "Tomorrow")
        sent = len(graph.sent)
        clock.advance(hours=25)  # the bot was down when it fell due: the window has closed
        assert await send_due(orchestrator, {"whatsapp": bot.service.reminding}) == 0
        assert len(graph.sent) == sent  # not even tried
        assert await send_due(orchestrator, {"whatsapp": bot.service.reminding}) == 0


async def test_whatsapp_uses_the_template_outside_the_window(
        graph: FakeGraphApi, orchestrator: Orchestrator, db_path: Path, clock: Clock) -> None:
    async with on_whatsapp(graph, orchestrator, db_path, clock, "reminder_v1") as bot:
        offer = bot.last_with_options(FATIMA)
        assert [title for title, _ in offer.options()] == ["Tomorrow", "In 3 days", "No"]
        await bot.choose(FATIMA, "In 3 days")
        clock.advance(days=3)
        assert await send_due(orchestrator, {"whatsapp": bot.service.reminding}) == 1
        last = graph.to(FATIMA)[-1]
        assert last.kind == "template"
        assert last.payload["template"] == {"name": "reminder_v1", "language": {"code": "en"}}
        await bot.text(FATIMA, "hello again")  # the person writes: the window is open again
        assert "Welcome back" in "".join(graph.texts(FATIMA)[-3:])


async def test_a_database_before_reminders_upgrades_and_its_links_keep_working(
        tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path, isolation_level=None) as conn:
        schema_at(conn, 5)
        conn.execute("INSERT INTO links (code, campaign, partner, region, created_at) "
                     "VALUES ('abcdefgh', 'c', 'p', 'r', '2026-11-01')")
        assert migrate(conn) == [6]
    conn.close()
    book = await LinkBook.open(path)
    try:
        link = await book.find("abcdefgh")
    finally:
        await book.close()
    assert link is not None and link.timezone is None  # quiet hours in UTC


async def test_the_running_bot_sends_a_due_reminder_on_its_own(
        api: FakeBotApi, mini_script: Script, translator: Translator, tmp_path: Path) -> None:
    """`testimony-bot run` with a Telegram token: a reminder asked for two days ago (before a
    restart) goes out from the job beside retention, without anyone writing to the bot."""
    pair, secret = KeyPair.generate(), "cd" * 32
    db = tmp_path / "data" / "testimonies.db"
    keys = ServerKeys.from_secret(bytes.fromhex(secret))
    store = await Store.open(db, [pair.public], keys)
    user = str(AMINA.id)
    orchestrator = Orchestrator(mini_script, store, keys, translator,
                                Clock(datetime.now(UTC) - timedelta(days=2)))

    async def say(event: Event) -> out.Prompt:
        replies = await orchestrator.handle("telegram", user, event, reach=Reach(None))
        return [r for r in replies if isinstance(r, out.Prompt)][-1]

    prompt = await say(Start())
    for _ in range(3):
        prompt = await say(ChoiceIn(prompt.token, "yes"))
    offer = await say(CommandIn("stop"))
    assert offer.text == OFFER
    await orchestrator.handle("telegram", user, ChoiceIn(offer.token, "1"), reach=Reach(None))
    await store.close()
    assert len(rows(db, "SELECT * FROM reminders")) == 1
    api.add_chat({"id": AMINA.id, "type": "private", "first_name": "Amina"})

    async def reminded() -> None:
        while REMINDER not in api.sent_texts(AMINA.id):  # noqa: ASYNC110 - the fake
            await asyncio.sleep(0.05)

    returncode, _, err = await run_until(tmp_path, run_env(api, tmp_path / "data", pair, secret),
                                         reminded)
    assert returncode == 0, err.decode()[-2000:]
    assert b"reminders_sent count=1" in err
    assert rows(db, "SELECT * FROM reminders") == []
