"""The WhatsApp channel end to end: real webhook server, bodies signed as Meta signs them,
the strict fake Graph API, the real store; the researcher's key opens the answers."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import pytest

from bot.channels.whatsapp.app import WhatsAppService
from bot.channels.whatsapp.texts import CHAT_APP
from bot.config import ConfigError
from bot.engine import Script
from bot.engine.messages import DONE_BUTTON
from bot.engine.text import flow_text
from bot.i18n import Translator
from bot.orchestrator import Orchestrator
from storage.keys import KeyPair, wrap_private_key
from storage.server_keys import ServerKeys
from storage.store import Store
from tests.conftest import PASSPHRASE, Clock, cli
from tests.fakes.graph_api import FakeGraphApi
from tests.telegram_support import (
    jpeg_with_metadata,
    make_orchestrator,
    opened_testimonies,
    script_with_languages,
)
from tests.whatsapp_support import WhatsAppBot, whatsapp_bot, whatsapp_settings

FATIMA = "971501234567"  # a wa_id: the number, digits only
JSON = dict[str, Any]
VOICE = b"OggS\x00\x02" + bytes(range(256)) * 30


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
        await bot.choose(FATIMA, script.language_names["ar"])
        # The consent text's part about the chat app is WhatsApp's, not Telegram's.
        assert translator.render(CHAT_APP, "ar") in bot.texts(FATIMA)
        assert not [t for t in bot.texts(FATIMA) if "Telegram" in t or "تيليجرام" in t]
        for item in consent.items:
            await bot.choose(FATIMA, local(f"{item.id}.yes", item.yes, consent.id))
        await bot.choose(FATIMA, local("gender.woman", "Woman"))
        for skip in ("/skip", "تخطي", " تخطي ", "Skip"):  # the command, or the typed word
            await bot.text(FATIMA, skip)
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
    assert testimony.campaign is not None and "gulf-care" in testimony.campaign
    assert testimony.consent is not None and testimony.consent.language == "ar"
    answers = {a.question_id: a for a in testimony.answers}
    assert answers["gender"].header["value"] == ["woman"]
    assert answers["themes"].header["value"] == ["wages"]
    assert answers["wages_story"].body == VOICE
    assert answers["wages_story"].header["media"] == "voice"
    logged = caplog.text
    assert FATIMA not in logged and graph.token not in logged

    # Exported like Telegram's answers: the same command, the same columns.
    key_file = db_path.parent / "researcher.key"
    key_file.write_text(wrap_private_key(researcher, PASSPHRASE, log2_n=14), encoding="utf-8")
    exported = cli("export", "--db", str(db_path), "--key", str(key_file), "--out",
                   str(db_path.parent / "export"), "--k", "1", "--format", "jsonl",
                   env=os.environ | {"KEY_PASSPHRASE": PASSPHRASE}, cwd=db_path.parent)
    assert exported.returncode == 0, exported.stderr
    [row] = [json.loads(line) for line in (db_path.parent / "export" / "testimonies.jsonl")
             .read_text(encoding="utf-8").splitlines()]
    assert (row["language"], row["campaign"], row["complete"]) == ("ar", "gulf-care", True)
    assert row["answers"]["themes"]["codes"] == ["wages"]
    assert row["answers"]["wages_story"]["kind"] == "testimony"


# -- the mini flow, for the channel's own rules --------------------------------------------
AMAL = "966551234567"


@pytest.fixture
def mini(mini_script: Script, store: Store, server_keys: ServerKeys, translator: Translator,
         clock: Clock) -> Orchestrator:
    return make_orchestrator(mini_script, store, server_keys, translator, clock)


async def consent(bot: WhatsAppBot, user: str = AMAL) -> None:
    await bot.text(user, "hello")
    for _ in range(3):
        await bot.choose(user, "Yes")


async def test_unsupported_messages_are_refused_and_nothing_of_them_kept(
        graph: FakeGraphApi, mini: Orchestrator, db_path: Path, clock: Clock,
        researcher: KeyPair) -> None:
    async with whatsapp_bot(graph, mini, db_path.parent, clock=clock) as bot:
        await consent(bot)
        await bot.deliver(graph.message(AMAL, "sticker", {"id": "55", "mime_type": "image/webp"}))
        assert "cannot take this kind of message" in " ".join(bot.texts(AMAL)[-2:])
        await bot.deliver(graph.message(AMAL, "location", {"latitude": 25.2, "longitude": 55.3,
                                                           "name": "Secret Shelter"}))
        await bot.deliver(graph.message(AMAL, "contacts", [{"name": {"formatted_name": "X"},
                                                            "phones": [{"phone": "+97150"}]}]))
        assert "do not share contacts" in " ".join(bot.texts(AMAL)[-2:])
        await bot.deliver(graph.message(AMAL, "reaction", {"message_id": "wamid.x",
                                                           "emoji": "👍"}))
        await bot.choose(AMAL, "Care work")
    [testimony] = opened_testimonies(db_path, researcher)
    assert [a.question_id for a in testimony.answers] == ["sector"]
    raw = db_path.read_bytes() + (db_path.parent / "testimonies.db-wal").read_bytes() \
        if (db_path.parent / "testimonies.db-wal").exists() else db_path.read_bytes()
    assert b"Secret Shelter" not in raw and b"+97150" not in raw


async def test_exit_is_honest_and_typed_words_are_commands(
        graph: FakeGraphApi, mini: Orchestrator, db_path: Path, clock: Clock) -> None:
    async with whatsapp_bot(graph, mini, db_path.parent, clock=clock) as bot:
        await consent(bot)
        await bot.text(AMAL, "Help")  # a typed word, as well as /help
        assert "/skip" in bot.texts(AMAL)[-2] or "/skip" in bot.texts(AMAL)[-1]
        await bot.text(AMAL, "/exit")
        assert "Clear chat" in bot.texts(AMAL)[-1]
        assert "Chat cleared." not in bot.texts(AMAL)
        assert not [c for c in graph.calls if "delete" in c.path.lower()]


async def test_numbered_questions_and_several_answers_by_number(
        graph: FakeGraphApi, mini: Orchestrator, db_path: Path, clock: Clock,
        researcher: KeyPair) -> None:
    async with whatsapp_bot(graph, mini, db_path.parent, clock=clock) as bot:
        await consent(bot)
        await bot.choose(AMAL, "Care work")
        themes = bot.texts(AMAL)[-1]
        assert "1. Wages" in themes and "2. Health" in themes and "numbers" in themes
        await bot.text(AMAL, "1, 2")
        await bot.text(AMAL, "1")  # months unpaid: a number, not the first (only) option Skip
    [testimony] = opened_testimonies(db_path, researcher)
    answers = {a.question_id: a.header["value"] for a in testimony.answers}
    assert answers["themes"] == ["wages", "health"] and answers["months_unpaid"] == 1


async def test_rate_limits_are_retried_and_the_window_error_is_not(
        graph: FakeGraphApi, mini: Orchestrator, db_path: Path, clock: Clock,
        caplog: pytest.LogCaptureFixture) -> None:
    async with whatsapp_bot(graph, mini, db_path.parent, clock=clock) as bot:
        graph.fail_next(130429)
        graph.fail_next(131056)
        await bot.text(AMAL, "hello")
        assert bot.texts(AMAL)  # delivered after two pauses
        statuses = [c.status for c in graph.calls if c.path.endswith("/messages")]
        assert statuses[:3] == [429, 400, 200]
        graph.fail_next(131047)
        before = len([c for c in graph.calls if c.path.endswith("/messages")])
        await bot.choose(AMAL, "Yes")
        after = [c.status for c in graph.calls if c.path.endswith("/messages")][before:]
        assert after[0] == 400 and "whatsapp_outside_window code=131047" in caplog.text
        # A failed-send status is read by its code only.
        await bot.post(graph.body(statuses=[graph.failed_status(AMAL, 131047)]))
    assert AMAL not in caplog.text


async def test_a_rejected_token_stops_the_start_with_a_clear_message(
        graph: FakeGraphApi, mini: Orchestrator, db_path: Path) -> None:
    settings = whatsapp_settings(graph, db_path.parent, token="EAAG-revoked-token-42")
    service = WhatsAppService(settings, mini)
    with pytest.raises(ConfigError, match="rejected WHATSAPP_ACCESS_TOKEN") as error:
        await service.start()
    assert "revoked" not in str(error.value)


async def test_photos_lose_their_metadata_and_ids_without_a_number_work(
        graph: FakeGraphApi, mini: Orchestrator, db_path: Path, clock: Clock,
        researcher: KeyPair, server_keys: ServerKeys) -> None:
    bsuid = "AE.1502576394655843"  # a business-scoped user id, where no number is sent
    async with whatsapp_bot(graph, mini, db_path.parent, clock=clock) as bot:
        await bot.deliver(graph.text(bsuid, "hello", bsuid=True))
        for _ in range(3):
            sent = bot.last_with_options(bsuid)
            await bot.deliver(graph.message(bsuid, "interactive", {
                "type": "button_reply", "button_reply": {"id": sent.options()[0][1],
                                                         "title": sent.options()[0][0]}},
                bsuid=True))
        assert all("recipient" in s.payload and "to" not in s.payload for s in graph.to(bsuid))
        for label in ("Care work",):
            sent = bot.last_with_options(bsuid)
            [(title, option)] = [o for o in sent.options() if o[0] == label]
            await bot.deliver(graph.message(bsuid, "interactive", {
                "type": "list_reply" if sent.payload["interactive"]["type"] == "list"
                else "button_reply",
                ("list_reply" if sent.payload["interactive"]["type"] == "list"
                 else "button_reply"): {"id": option, "title": title}}, bsuid=True))
        await bot.deliver(graph.text(bsuid, "1", bsuid=True))  # Wages, done
        await bot.deliver(graph.text(bsuid, "/skip", bsuid=True))
        photo = jpeg_with_metadata()
        await bot.deliver(graph.image(bsuid, graph.add_media(photo, "image/jpeg"),
                                      caption="my address is 5 Hidden Street"))
    [testimony] = opened_testimonies(db_path, researcher)
    assert testimony.respondent == server_keys.pseudonym("whatsapp", bsuid)
    [sealed] = [a for a in testimony.answers if a.question_id == "wages_story"]
    assert sealed.body.startswith(b"\xff\xd8") and b"SecretPhoneMaker" not in sealed.body
    assert b"Hidden Street" not in db_path.read_bytes()


async def test_field_workers_make_wa_me_links_on_whatsapp(
        graph: FakeGraphApi, mini: Orchestrator, db_path: Path, clock: Clock) -> None:
    worker = "4915112345678"
    async with whatsapp_bot(graph, mini, db_path.parent, clock=clock,
                            field_workers=("+49 151 12345678",)) as bot:
        await bot.text(AMAL, "/newlink")  # not a field worker: the ordinary help
        assert "/newlink" not in bot.texts(AMAL)[-1]
        await bot.text(worker, "/newlink")
        for answer in ("imrf-2026", "Migrant Care Network", "Beirut", "Asia/Beirut", "ar"):
            await bot.text(worker, answer)
        ready = bot.texts(worker)[-2]
        assert "https://wa.me/15550001234?text=" in ready
        assert graph.to(worker)[-1].kind == "image"  # the QR code
        await bot.text(worker, "/stats")
        assert "imrf-2026" in bot.texts(worker)[-1]


async def test_the_fake_graph_api_is_as_strict_as_whatsapp(graph: FakeGraphApi,
                                                          clock: Clock) -> None:
    """The fake refuses what WhatsApp refuses, so a bot that passes here does not fail on a
    limit in production."""
    import httpx

    url = f"{graph.base_url}/{graph.phone_number_id}/messages"
    auth = {"Authorization": f"Bearer {graph.token}"}

    def buttons(*titles: str) -> JSON:
        return {"messaging_product": "whatsapp", "to": AMAL, "type": "interactive",
                "interactive": {"type": "button", "body": {"text": "Q?"}, "action": {
                    "buttons": [{"type": "reply", "reply": {"id": f"t.1:{n}", "title": t}}
                                for n, t in enumerate(titles)]}}}

    graph.body([graph.text(AMAL, "hi")])  # the person wrote: the window is open
    async with httpx.AsyncClient() as http:
        ok = await http.post(url, json=buttons("Yes", "No"), headers=auth)
        assert ok.status_code == 200 and ok.json()["messages"][0]["id"].startswith("wamid.")
        for refused in (buttons("A", "B", "C", "D"), buttons("x" * 21), buttons("A", "A")):
            answer = await http.post(url, json=refused, headers=auth)
            assert answer.status_code == 400 and answer.json()["error"]["code"] == 100
        rows = {"messaging_product": "whatsapp", "to": AMAL, "type": "interactive",
                "interactive": {"type": "list", "body": {"text": "Q?"}, "action": {
                    "button": "Choose", "sections": [{"rows": [
                        {"id": f"t.1:{n}", "title": f"Row {n}"} for n in range(11)]}]}}}
        assert (await http.post(url, json=rows, headers=auth)).status_code == 400
        sections = rows["interactive"]["action"]["sections"]
        sections[0]["rows"] = [{"id": "t.1:0", "title": "x" * 24}]
        assert (await http.post(url, json=rows, headers=auth)).status_code == 200
        sections[0]["rows"] = [{"id": "t.1:0", "title": "x" * 25}]
        assert (await http.post(url, json=rows, headers=auth)).status_code == 400
        for body, status in (("x" * 4096, 200), ("x" * 4097, 400)):
            text = {"messaging_product": "whatsapp", "to": AMAL, "type": "text",
                    "text": {"body": body}}
            assert (await http.post(url, json=text, headers=auth)).status_code == status
        wrong = await http.post(url, json=buttons("Yes"), headers={"Authorization": "Bearer x"})
        assert wrong.json()["error"]["code"] == 190
        media_id = graph.add_media(b"OggS-voice", "audio/ogg")
        lookup = (await http.get(f"{graph.base_url}/{media_id}", headers=auth)).json()
        assert (await http.get(lookup["url"])).status_code == 401  # the token is needed
        assert (await http.get(lookup["url"], headers=auth)).content == b"OggS-voice"
        clock.advance(minutes=6)  # media URLs live five minutes
        assert (await http.get(lookup["url"], headers=auth)).status_code == 404
        clock.advance(hours=24)  # and free-form messages only within 24 hours
        late = await http.post(url, json=buttons("Yes"), headers=auth)
        assert late.json()["error"]["code"] == 131047


async def test_one_post_with_several_people_and_several_messages(
        graph: FakeGraphApi, mini: Orchestrator, db_path: Path, clock: Clock,
        researcher: KeyPair) -> None:
    other = "966550000002"
    async with whatsapp_bot(graph, mini, db_path.parent, clock=clock) as bot:
        await consent(bot)
        await consent(bot, other)
        first = graph.reply(AMAL, bot.last_with_options(AMAL), "Care work")
        second = graph.reply(other, bot.last_with_options(other), "Farm work")
        await bot.deliver(first, second, graph.text(AMAL, "1"), graph.text(AMAL, "5"))
        assert bot.texts(other)[-1].startswith("Pick themes.")
        assert "What should governments change?" not in bot.texts(AMAL)[-1]
    answers = {t.respondent: {a.question_id: a.header["value"] for a in t.answers}
               for t in opened_testimonies(db_path, researcher)}
    assert sorted(map(sorted, (a.items() for a in answers.values()))) == sorted([
        sorted({"sector": ["care"], "themes": ["wages"], "months_unpaid": 5}.items()),
        sorted({"sector": ["farm"]}.items())])


def test_whatsapp_settings_are_checked_with_clear_messages() -> None:
    from bot.channels.whatsapp.app import check_settings
    from bot.config import load_settings

    half = load_settings({"WHATSAPP_ACCESS_TOKEN": "EAAG-x"}, dotenv=None)
    assert half.whatsapp_configured
    with pytest.raises(ConfigError, match="WHATSAPP_PHONE_NUMBER_ID, WHATSAPP_APP_SECRET"):
        check_settings(half)
    assert not load_settings({}, dotenv=None).whatsapp_configured  # then Telegram alone
    with pytest.raises(ConfigError, match="WHATSAPP_NUMBER must be phone numbers"):
        load_settings({"WHATSAPP_NUMBER": "call me"}, dotenv=None)
    workers = load_settings({"WHATSAPP_FIELD_WORKERS": "+49 151 1234567, +971-50-1234567"},
                            dotenv=None)
    assert workers.whatsapp_field_workers == ("491511234567", "971501234567")
    assert "EAAG-x" not in repr(half)
