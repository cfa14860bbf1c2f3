"""The time zone step of /newlink (field workers, in the chat): UTC and the zones of links made
before as buttons, any IANA name typed, a kind reply to a name that is none; stored on the
link as `links create --timezone` stores it."""

from __future__ import annotations

from pathlib import Path

from bot.channels.common.staff import zone_named
from bot.engine import Script
from bot.i18n import Translator
from storage.server_keys import ServerKeys
from storage.store import Store
from tests.conftest import Clock
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.graph_api import FakeGraphApi
from tests.fakes.updates import TgUser
from tests.telegram_support import TelegramBot, make_orchestrator, telegram_bot
from tests.whatsapp_support import whatsapp_bot

WORKER = TgUser(7_000_333, "Field", language_code="en")


async def up_to_the_zone(bot: TelegramBot) -> None:
    await bot.text(WORKER, "/newlink")
    for answer in ("imrf-2026", "Kalayaan", "Manila"):
        await bot.text(WORKER, answer)
    assert bot.last_text(WORKER.id).startswith("Which time zone is that place in?")


async def test_the_zone_is_chosen_typed_or_refused_kindly(
        api: FakeBotApi, mini_script: Script, store: Store, server_keys: ServerKeys,
        translator: Translator, clock: Clock, db_path: Path) -> None:
    orchestrator = make_orchestrator(mini_script, store, server_keys, translator, clock)
    async with telegram_bot(api, orchestrator, db_path.parent, clock=clock,
                            field_workers=(WORKER.id,)) as bot:
        await up_to_the_zone(bot)
        assert bot.buttons(WORKER.id) == ["UTC"]  # nothing made here yet: UTC, or typed
        await bot.text(WORKER, "Manila time")
        assert bot.texts(WORKER.id)[-2].startswith("I do not know that time zone.")
        assert bot.buttons(WORKER.id) == ["UTC"]  # asked again, nothing lost
        await bot.text(WORKER, "Asia/Manila")
        await bot.text(WORKER, "no")
        (first,) = await store.links.all()
        assert (first.campaign, first.region, first.timezone) == (
            "imrf-2026", "Manila", "Asia/Manila")

        await up_to_the_zone(bot)
        assert bot.buttons(WORKER.id) == ["UTC", "Asia/Manila"]  # made here before
        await bot.press(WORKER, "Asia/Manila")
        assert "Which language" in bot.last_text(WORKER.id)
        await bot.text(WORKER, "en")
        await up_to_the_zone(bot)
        await bot.press(WORKER, "UTC")
        await bot.text(WORKER, "no")
        zones = sorted(link.timezone or "" for link in await store.links.all())
        assert zones == ["Asia/Manila", "Asia/Manila", "UTC"]


def test_zone_names_are_matched_as_iana_spells_them() -> None:
    assert zone_named(" asia/manila ") == "Asia/Manila"
    assert zone_named("America/Argentina/Buenos Aires") == "America/Argentina/Buenos_Aires"
    assert zone_named("utc") == "UTC"
    assert zone_named("Manila") is None and zone_named("../etc/passwd") is None


async def test_on_whatsapp_the_zone_is_a_button_too(
        graph: FakeGraphApi, mini_script: Script, store: Store, server_keys: ServerKeys,
        translator: Translator, clock: Clock, db_path: Path) -> None:
    worker = "4915112345679"
    orchestrator = make_orchestrator(mini_script, store, server_keys, translator, clock)
    async with whatsapp_bot(graph, orchestrator, db_path.parent, clock=clock,
                            field_workers=(f"+{worker}",)) as bot:
        await bot.text(worker, "/newlink")
        for answer in ("imrf-2026", "Kalayaan", "Manila"):
            await bot.text(worker, answer)
        asked = bot.last_with_options(worker)
        assert asked.text.startswith("Which time zone")
        assert [title for title, _ in asked.options()] == ["UTC"]
        await bot.choose(worker, "UTC")
        await bot.text(worker, "no")
    (link,) = await store.links.all()
    assert link.timezone == "UTC"
