"""The one reminder offer after a quiet while, on Telegram and WhatsApp end to end (the fake
platform APIs, a real store: SQLite, and PostgreSQL, where no worker keeps a consented
session in memory) with a fake clock; the count of reminders kept across sessions; a
reminder that failed to go out is not counted. Several workers on one PostgreSQL: one offer
in all, and none to someone who wrote to another worker meanwhile."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot import outbound as out
from bot.engine import Script, TextIn
from bot.i18n import Translator
from bot.orchestrator import Orchestrator
from bot.reminder_offers import offer_allowed, offer_to_quiet
from bot.reminders import every_while_running, send_due
from storage.backend import StoreBackend
from storage.keys import KeyPair
from storage.server_keys import ServerKeys
from storage.store import PROFILE_PURPOSE, Changes, Profile, Store
from tests.conftest import Clock
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.graph_api import FakeGraphApi
from tests.fakes.updates import TgUser
from tests.store_backends import Backend
from tests.telegram_support import TelegramBot, consent, make_orchestrator, telegram_bot
from tests.test_store import texts
from tests.test_store_conformance import Reachable
from tests.whatsapp_support import WhatsAppBot, whatsapp_bot, whatsapp_settings

AMINA = TgUser(8_100_200_302, "Amina", language_code="en")
FATIMA = "971501234568"
OFFER = "Would you like one reminder to continue later?"
REMINDER = ("You asked us to remind you. Send any message to continue, or /delete to remove "
            "what you gave.")
QUIET = timedelta(hours=2)
UTC_ZONE = ZoneInfo("UTC")


@pytest.fixture(params=["sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, db_path: Path, researcher: KeyPair,
                server_keys: ServerKeys) -> AsyncIterator[StoreBackend]:
    """Each rule on both backends: on PostgreSQL the quiet time is checked against the
    person's saved state (no consented session is kept in memory there)."""
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else ""
    opened = await Backend(request.param, url, db_path).open([researcher.public], server_keys)
    yield opened
    await opened.close()


async def tick(orchestrator: Orchestrator, bot: TelegramBot,
               quiet_for: timedelta = QUIET) -> int:
    return await offer_to_quiet(orchestrator, {"telegram": bot.service.reminding}, quiet_for)


def offers(bot: TelegramBot) -> int:
    return bot.texts(AMINA.id).count(OFFER)


async def test_offered_once_after_the_quiet_time_and_a_choice_schedules_it(
        bot: TelegramBot, orchestrator: Orchestrator, clock: Clock, store: StoreBackend) -> None:
    await consent(bot, AMINA)
    clock.advance(hours=1, minutes=59)
    assert await tick(orchestrator, bot) == 0  # not before
    clock.advance(minutes=1)
    assert await tick(orchestrator, bot) == 1
    assert bot.last_text(AMINA.id) == OFFER
    assert bot.buttons(AMINA.id) == ["Tomorrow", "In 3 days", "No"]
    clock.advance(hours=3)
    assert await tick(orchestrator, bot) == 0  # not twice
    assert offers(bot) == 1

    await bot.press(AMINA, "Tomorrow")  # the offer works like the one made with /stop
    assert bot.last_text(AMINA.id).startswith("We will send you one short reminder.")
    clock.advance(days=1)
    assert await send_due(orchestrator, {"telegram": bot.service.reminding}) == 1
    assert bot.last_text(AMINA.id) == REMINDER
    await bot.press(AMINA, "Care work")  # the paused question's own button answers it
    counts = await store.counters()
    assert counts[("", "reminder_asked")] == counts[("", "reminder_continued")] == 1
    clock.advance(hours=5)
    assert await tick(orchestrator, bot) == 0  # once per session, however quiet again
    assert offers(bot) == 1


async def test_no_to_the_offer_brings_the_question_back(
        bot: TelegramBot, orchestrator: Orchestrator, clock: Clock, db_path: Path) -> None:
    await consent(bot, AMINA)
    clock.advance(hours=2)
    assert await tick(orchestrator, bot) == 1
    await bot.press(AMINA, "No")
    assert "Where do you work?" in bot.last_text(AMINA.id)
    await bot.press(AMINA, "Care work")  # answering goes on, no "welcome back"
    assert "Welcome back" not in " ".join(bot.texts(AMINA.id))
    clock.advance(hours=4)
    assert await tick(orchestrator, bot) == 0


async def test_writing_resets_the_quiet_time(bot: TelegramBot, orchestrator: Orchestrator,
                                            clock: Clock) -> None:
    await consent(bot, AMINA)
    clock.advance(hours=1, minutes=30)
    await bot.press(AMINA, "Care work")
    clock.advance(hours=1)
    assert await tick(orchestrator, bot) == 0
    clock.advance(hours=1)
    assert await tick(orchestrator, bot) == 1


async def test_not_in_quiet_hours_but_the_next_morning(
        bot: TelegramBot, orchestrator: Orchestrator, clock: Clock, store: StoreBackend) -> None:
    manila = ZoneInfo("Asia/Manila")
    clock.now = datetime(2026, 11, 2, 19, 30, tzinfo=manila).astimezone(UTC)
    link = await store.links.create(campaign="c", partner="p", region="r", now=clock(),
                                    timezone="Asia/Manila")
    await consent(bot, AMINA, f"/start {link.code}")
    clock.advance(hours=2)  # 21:30 in Manila (13:30 UTC: no quiet hours there)
    assert await tick(orchestrator, bot) == 0
    clock.now = datetime(2026, 11, 3, 7, 55, tzinfo=manila).astimezone(UTC)
    assert await tick(orchestrator, bot) == 0
    clock.now = datetime(2026, 11, 3, 8, 0, tzinfo=manila).astimezone(UTC)
    assert await tick(orchestrator, bot) == 1


async def test_not_a_day_after_the_last_message(bot: TelegramBot, orchestrator: Orchestrator,
                                                clock: Clock) -> None:
    await consent(bot, AMINA)
    clock.advance(hours=24)  # the bot was down, or the job late: the moment has passed
    assert await tick(orchestrator, bot) == 0


async def test_not_after_the_pause_offer_was_answered(
        bot: TelegramBot, orchestrator: Orchestrator, clock: Clock) -> None:
    await consent(bot, AMINA)
    await bot.text(AMINA, "/stop")
    assert bot.last_text(AMINA.id) == OFFER
    await bot.press(AMINA, "No")
    clock.advance(hours=3)
    assert await tick(orchestrator, bot) == 0
    await bot.text(AMINA, "back")  # they continue, then go quiet again: offered already
    clock.advance(hours=3)
    assert await tick(orchestrator, bot) == 0
    assert offers(bot) == 1


async def test_nobody_before_consent_or_after_the_end_and_not_when_off(
        bot: TelegramBot, orchestrator: Orchestrator, clock: Clock) -> None:
    await bot.text(AMINA, "/start")
    await bot.press(AMINA, "Yes")  # half way through consent: nothing is stored, nothing sent
    clock.advance(hours=3)
    assert await tick(orchestrator, bot) == 0
    other = TgUser(8_100_200_303, "Other", language_code="en")
    await bot.text(other, "/start")
    for _ in range(3):
        await bot.press(other, "Yes")
    await bot.text(other, "/exit")
    clock.advance(hours=3)
    assert await tick(orchestrator, bot) == 0
    assert OFFER not in bot.texts(other.id) + bot.texts(AMINA.id)


async def test_a_restart_forgets_who_went_quiet(
        api: FakeBotApi, mini_script: Script, db_path: Path, researcher: KeyPair,
        server_keys: ServerKeys, translator: Translator, clock: Clock) -> None:
    store = await Store.open(db_path, [researcher.public], server_keys)
    first = make_orchestrator(mini_script, store, server_keys, translator, clock)
    async with telegram_bot(api, first, db_path.parent, clock=clock) as bot:
        await consent(bot, AMINA)
        updates = bot.updates
    await store.close()
    clock.advance(hours=3)
    store = await Store.open(db_path, [researcher.public], server_keys)
    try:
        second = make_orchestrator(mini_script, store, server_keys, translator, clock)
        async with telegram_bot(api, second, db_path.parent, clock=clock,
                                updates=updates) as bot:
            assert await tick(second, bot) == 0  # the quiet timer lived in memory only
            await bot.press(AMINA, "Care work")
            clock.advance(hours=2)
            assert await tick(second, bot) == 1  # known again from their next message
    finally:
        await store.close()


async def test_a_blocked_person_is_not_offered_and_their_session_ends(
        bot: TelegramBot, api: FakeBotApi, orchestrator: Orchestrator, clock: Clock,
        store: StoreBackend, server_keys: ServerKeys) -> None:
    await consent(bot, AMINA)
    api.block_user(AMINA.id)
    clock.advance(hours=2)
    assert await tick(orchestrator, bot) == 0
    respondent = server_keys.pseudonym("telegram", str(AMINA.id))
    assert (await store.status(respondent)).state is None


def test_the_offer_rule_on_its_own() -> None:
    since = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
    day = timedelta(hours=24)
    assert offer_allowed(since + QUIET, since, UTC_ZONE, None)
    assert offer_allowed(since + QUIET, since, UTC_ZONE, day)
    assert not offer_allowed(since + timedelta(hours=11), since, UTC_ZONE, None)  # 21:00
    assert not offer_allowed(since + timedelta(hours=23, minutes=40), since, UTC_ZONE, day)
    assert offer_allowed(since + timedelta(hours=23, minutes=40), since,
                         ZoneInfo("Asia/Dubai"), None)  # 13:40 there, no window
    assert not offer_allowed(since + day, since, UTC_ZONE, None)


# -- WhatsApp: free-form only inside the 24-hour window --------------------------------------
@asynccontextmanager
async def consented_on_whatsapp(graph: FakeGraphApi, orchestrator: Orchestrator,
                                db_path: Path, clock: Clock, template: str = "",
                                user: str = FATIMA) -> AsyncIterator[WhatsAppBot]:
    settings = dataclasses.replace(whatsapp_settings(graph, db_path.parent),
                                   whatsapp_reminder_template=template)
    async with whatsapp_bot(graph, orchestrator, db_path.parent, clock=clock,
                            settings=settings) as bot:
        await bot.text(user, "hello")
        for _ in range(3):
            await bot.choose(user, "Yes")
        yield bot


async def test_whatsapp_offer_inside_the_window_only(
        graph: FakeGraphApi, orchestrator: Orchestrator, db_path: Path, clock: Clock) -> None:
    async with consented_on_whatsapp(graph, orchestrator, db_path, clock) as bot:
        channels = {"whatsapp": bot.service.reminding}
        sent = len(graph.sent)
        # A quiet time too long for the window: 23 h 40 min is inside a day, but within the
        # margin before WhatsApp's 24 hours close. Nothing is even tried.
        clock.advance(hours=23, minutes=40)
        assert await offer_to_quiet(orchestrator, channels, timedelta(hours=23)) == 0
        assert len(graph.sent) == sent
    other = "971501234569"
    async with consented_on_whatsapp(graph, orchestrator, db_path, clock, user=other) as bot:
        channels = {"whatsapp": bot.service.reminding}
        clock.advance(hours=2)
        assert await offer_to_quiet(orchestrator, channels, QUIET) == 1
        offer = bot.last_with_options(other)
        assert offer.text.startswith(OFFER)
        assert [title for title, _ in offer.options()] == ["Tomorrow", "No"]
        await bot.choose(other, "Tomorrow")
        assert "one short reminder" in graph.texts(other)[-1]


async def test_a_failed_whatsapp_reminder_is_neither_sent_nor_followed(
        graph: FakeGraphApi, orchestrator: Orchestrator, db_path: Path, clock: Clock,
        store: StoreBackend) -> None:
    async with consented_on_whatsapp(graph, orchestrator, db_path, clock,
                                     "reminder_v1") as bot:
        channels = {"whatsapp": bot.service.reminding}
        await bot.text(FATIMA, "/stop")
        await bot.choose(FATIMA, "In 3 days")
        clock.advance(days=3)
        graph.fail_next(132001)  # the template does not exist (or is not approved)
        assert await send_due(orchestrator, channels) == 0
        assert graph.to(FATIMA)[-1].kind != "template"
        await bot.text(FATIMA, "hello again")
        assert "Welcome back" in " ".join(graph.texts(FATIMA)[-3:])
        counts = await store.counters()
        assert counts[("", "reminder_asked")] == 1
        assert ("", "reminder_sent") not in counts
        assert ("", "reminder_continued") not in counts


# -- at most two per person, also across sessions -------------------------------------------
async def test_two_reminders_per_person_survive_the_session(
        bot: TelegramBot, orchestrator: Orchestrator, clock: Clock, store: StoreBackend,
        server_keys: ServerKeys) -> None:
    await consent(bot, AMINA)
    for label in ("Tomorrow", "In 3 days"):
        await bot.text(AMINA, "/stop")
        await bot.press(AMINA, label)
        await bot.text(AMINA, "back")
    clock.advance(days=3)
    assert await orchestrator.expire_idle(timedelta(days=1)) == 1  # the session is gone
    await consent(bot, AMINA)  # a new session: consent again
    await bot.text(AMINA, "/stop")
    assert bot.last_text(AMINA.id).startswith("Paused.")  # no third offer
    await bot.text(AMINA, "back")
    clock.advance(hours=2)
    assert await tick(orchestrator, bot) == 0
    respondent = server_keys.pseudonym("telegram", str(AMINA.id))
    assert (await store.status(respondent)).reminders_asked == 2


def test_a_first_form_profile_reads_as_no_reminders_chosen(server_keys: ServerKeys) -> None:
    respondent = b"r" * 32
    old = b'{"v":1,"language":"ar","done":false}'
    assert Profile.decode(server_keys.open_state(
        respondent, server_keys.seal_state(respondent, old, PROFILE_PURPOSE),
        PROFILE_PURPOSE)) == Profile("ar", False, 0)
    assert Profile.decode(Profile("en", True, 2).encode()) == Profile("en", True, 2)
    for bad in (b'{"v":2,"reminders":-1}', b'{"v":2,"reminders":true}', b"[]"):
        with pytest.raises(ValueError, match="profile"):
            Profile.decode(bad)


async def test_a_round_under_way_finishes_when_the_bot_stops() -> None:
    """A reminder leaves storage before it is sent: stopping must not cut a round short."""
    started, finished = asyncio.Event(), []

    async def one_round() -> None:
        started.set()
        await asyncio.sleep(0.05)
        finished.append(True)

    async with every_while_running(one_round, timedelta(minutes=5), "test"):
        await started.wait()
    assert finished == [True]


# -- several workers on one PostgreSQL ------------------------------------------------------
class Outreach:
    """A channel that can reach anyone at any time (no reply window), delivering what a
    worker decides in the person's turn, as the platform channels do; it keeps the offers."""

    channel = "test"
    reply_window: timedelta | None = None

    def __init__(self) -> None:
        self.offers: list[tuple[str, list[out.Outbound]]] = []

    async def remind(self, user_id: str, text: str, language: str,
                     asked_at: datetime) -> bool:
        return True

    async def reach_out(self, user_id: str,
                        decide: Callable[[], Awaitable[list[out.Outbound]]]) -> bool:
        replies = await decide()
        if replies:
            self.offers.append((user_id, replies))
        return bool(replies)


@pytest.fixture
async def two_workers(postgres_url: str, db_path: Path, mini_script: Script,
                      researcher: KeyPair, server_keys: ServerKeys, translator: Translator,
                      clock: Clock) -> AsyncIterator[tuple[Orchestrator, Orchestrator]]:
    backend = Backend("postgres", postgres_url, db_path)
    first, second = [await backend.open([researcher.public], server_keys) for _ in range(2)]
    yield (Orchestrator(mini_script, first, server_keys, translator, clock),
           Orchestrator(mini_script, second, server_keys, translator, clock))
    await first.close()
    await second.close()


async def everywhere(*workers: Orchestrator, outreach: Outreach) -> int:
    """The offer job's round on every worker at the same moment, as on several machines."""
    channels = {"test": outreach}
    return sum(await asyncio.gather(*(offer_to_quiet(worker, channels, QUIET)
                                      for worker in workers)))


async def test_across_two_workers_one_offer_in_all_from_the_one_that_heard_last_or_another(
        two_workers: tuple[Orchestrator, Orchestrator], clock: Clock) -> None:
    first, second = two_workers
    person = Reachable(first)
    await person.consent()
    clock.advance(minutes=30)
    person.orchestrator = second
    assert texts(await person.press("care"))[-1] == "Pick themes."
    outreach = Outreach()
    clock.advance(hours=1, minutes=45)  # quiet for the first worker, not since the second
    assert await everywhere(first, second, outreach=outreach) == 0
    clock.advance(minutes=15)
    # Both watch her from her last message now: their rounds meet in her turn, twice over.
    assert await everywhere(first, second, first, second, outreach=outreach) == 1
    [(user, replies)] = outreach.offers
    assert user == person.user and texts(replies) == [OFFER]
    person.prompt = next(r for r in replies if isinstance(r, out.Prompt))
    person.orchestrator = first  # the answer reaches the other worker: it works the same
    assert texts(await person.press("no"))[-1] == "Pick themes."
    clock.advance(hours=3)
    assert await everywhere(first, second, outreach=outreach) == 0  # once per session
    assert len(outreach.offers) == 1


async def test_none_while_the_person_wrote_to_the_other_worker_meanwhile(
        two_workers: tuple[Orchestrator, Orchestrator], clock: Clock) -> None:
    first, second = two_workers
    person = Reachable(first)
    await person.consent()
    clock.advance(hours=1, minutes=50)
    person.orchestrator = second
    await person.send(TextIn("hello?"))  # not an answer: it changes nothing but the time
    outreach = Outreach()
    clock.advance(minutes=20)
    assert await everywhere(first, second, outreach=outreach) == 0
    clock.advance(hours=1, minutes=39)
    assert await everywhere(first, second, outreach=outreach) == 0
    clock.advance(minutes=1)  # two hours after her last message, to whichever worker
    assert await everywhere(first, second, outreach=outreach) == 1


async def test_an_older_saved_state_says_nothing_of_when_so_no_offer(
        two_workers: tuple[Orchestrator, Orchestrator], clock: Clock,
        server_keys: ServerKeys) -> None:
    """As a worker still running the code before `heard_at` saves her state: whether it
    heard from her since is not known, so no worker offers anything until she writes."""
    first, second = two_workers
    person = Reachable(first)
    await person.consent()
    respondent = server_keys.pseudonym("test", person.user)
    saved = (await first.store.status(respondent)).state
    assert saved is not None
    older = json.loads(saved)
    del older["state"]["heard_at"]
    older["version"] = 5
    clock.advance(minutes=10)
    await first.store.apply(Changes(respondent=respondent, today=clock().date(), now=clock(),
                                    state=json.dumps(older).encode()))
    outreach = Outreach()
    clock.advance(hours=2)
    assert await everywhere(first, second, outreach=outreach) == 0
    person.orchestrator = second
    await person.press("care")  # she writes again: known from then on
    clock.advance(hours=2)
    assert await everywhere(first, second, outreach=outreach) == 1


async def test_the_time_of_the_last_message_is_never_stored_in_clear(
        two_workers: tuple[Orchestrator, Orchestrator], clock: Clock, postgres_url: str,
        db_path: Path) -> None:
    first, _ = two_workers
    clock.advance(minutes=17, seconds=23)
    await Reachable(first).consent()
    backend = Backend("postgres", postgres_url, db_path)
    [(_, _, updated_on)] = backend.rows("sessions")
    assert updated_on == clock().date().isoformat()  # the day only, as ever
    stored = backend.every_value()
    for needle in (clock().isoformat(), clock().strftime("%H:%M"), str(clock().timestamp())):
        assert needle.encode() not in stored, needle
