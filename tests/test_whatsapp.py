"""The WhatsApp channel end to end: real webhook server, bodies signed as Meta signs them,
the strict fake Graph API, the real store; the researcher's key opens the answers."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.engine import Script
from bot.engine.messages import DONE_BUTTON
from bot.engine.text import flow_text
from bot.i18n import Translator
from storage.keys import KeyPair
from storage.server_keys import ServerKeys
from storage.store import Store
from tests.conftest import Clock
from tests.fakes.graph_api import FakeGraphApi
from tests.telegram_support import make_orchestrator, opened_testimonies, script_with_languages
from tests.whatsapp_support import whatsapp_bot

FATIMA = "971501234567"  # a wa_id: the number, digits only
VOICE = b"OggS\x00\x02" + bytes(range(256)) * 30


@pytest.fixture
async def graph(clock: Clock) -> FakeGraphApi:
    from tests.whatsapp_support import fake_graph_api

    async with fake_graph_api(clock) as api:
        yield api  # type: ignore[misc]


async def test_from_a_wa_me_link_to_the_end_in_arabic_with_a_voice_note(
        graph: FakeGraphApi, default_script: Script, store: Store, server_keys: ServerKeys,
        translator: Translator, clock: Clock, db_path: Path, researcher: KeyPair,
        caplog: pytest.LogCaptureFixture) -> None:
    script = script_with_languages(default_script, ("en", "ar"))
    flow, consent = script.questionnaire, script.consent

    def local(item: str, source: str, flow_id: str = flow.id) -> str:
        return translator.render(flow_text(flow_id, item, source), "ar")

    link = await store.links.create(campaign="gulf-care", partner="Shelter", region="Dubai",
                                    language="ar", now=clock())
    orchestrator = make_orchestrator(script, store, server_keys, translator, clock)
    caplog.set_level(logging.DEBUG)
    async with whatsapp_bot(graph, orchestrator, db_path.parent, clock=clock) as bot:
        await bot.text(FATIMA, link.code)  # what wa.me/<number>?text=<code> typed in
        said = bot.texts(FATIMA)
        assert "WhatsApp" in said[0] and said[0] == translator.render(
            __import__("bot.channels.whatsapp.texts", fromlist=["x"]).CONSENT_NOTICE, "ar")
        await bot.choose(FATIMA, script.language_names["ar"])
        for item in consent.items:
            await bot.choose(FATIMA, local(f"{item.id}.yes", item.yes, consent.id))
        await bot.choose(FATIMA, local("gender.woman", "Woman"))
        for _ in ("age_band", "origin_region", "living_region", "sector"):
            await bot.text(FATIMA, "/skip")
        wages = flow.question("themes").choice("wages")  # type: ignore[union-attr]
        await bot.choose(FATIMA, local("themes.wages", wages.label))  # typed: number, Done
        for _ in ("wages_paid_less", "wages_contract"):
            await bot.text(FATIMA, "/skip")
        assert bot.texts(FATIMA)[-1].startswith(local("wages_story",
                                                      flow.question("wages_story").text))
        await bot.voice(FATIMA, VOICE)
        await bot.text(FATIMA, "/skip")
        assert local("closing", flow.closing) in bot.texts(FATIMA)
        english = {"Do you agree to take part?", flow.closing, translator.render(DONE_BUTTON,
                                                                                 "en")}
        assert not english & set(bot.texts(FATIMA))

    (testimony,) = opened_testimonies(db_path, researcher)
    assert testimony.campaign is not None and link.code in testimony.campaign
    assert testimony.consent is not None and testimony.consent.language == "ar"
    answers = {a.question_id: a for a in testimony.answers}
    assert answers["gender"].header["value"] == ["woman"]
    assert answers["themes"].header["value"] == ["wages"]
    assert answers["wages_story"].body == VOICE
    assert answers["wages_story"].header["media"] == "voice"
    logged = caplog.text
    assert FATIMA not in logged and graph.token not in logged
