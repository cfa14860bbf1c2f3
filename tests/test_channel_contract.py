"""What every chat channel must do, run on Telegram and on WhatsApp alike (each against its
strict platform fake, through its real service): a whole conversation in two languages,
redelivery, a failure between saving and sending, floods, stale buttons, media, /delete,
and logs free of content, ids and tokens."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.channels.common.flood import FloodLimits
from bot.engine import Script
from bot.engine.messages import DONE_BUTTON
from bot.engine.text import flow_text
from bot.i18n import Translator
from bot.orchestrator import Orchestrator
from storage.keys import KeyPair
from storage.server_keys import ServerKeys
from storage.store import Store
from tests.channel_harness import Harness, harness, raw_files
from tests.conftest import Clock
from tests.telegram_support import (
    jpeg_with_metadata,
    make_orchestrator,
    opened_testimonies,
    script_with_languages,
)
from tests.test_telegram_logs import debug_logging  # noqa: F401 - a fixture, used by name

CHANNELS = pytest.mark.parametrize("channel", ["telegram", "whatsapp"])
VOICE = b"OggS\x00\x02" + bytes(range(256)) * 20
MARKER = "Marker-QX7 my employer took my passport"


@pytest.fixture
def mini(mini_script: Script, store: Store, server_keys: ServerKeys, translator: Translator,
         clock: Clock) -> Orchestrator:
    return make_orchestrator(mini_script, store, server_keys, translator, clock)


async def consent(bot: Harness, person: object) -> None:
    await bot.open(person)
    for _ in range(3):
        await bot.choose(person, "Yes")


@CHANNELS
async def test_a_whole_conversation_in_two_languages(
        channel: str, default_script: Script, store: Store, server_keys: ServerKeys,
        translator: Translator, clock: Clock, db_path: Path, researcher: KeyPair) -> None:
    script = script_with_languages(default_script, ("en", "ar"))
    flow, consent_text = script.questionnaire, script.consent
    orchestrator = make_orchestrator(script, store, server_keys, translator, clock)
    stories = {"ar": "لم يدفعوا لي أجري لمدة ثلاثة أشهر", "en": "They kept my wages."}
    async with harness(channel, orchestrator, db_path.parent, clock) as bot:
        for number, language in enumerate(("ar", "en")):
            def local(item: str, source: str, flow_id: str = flow.id,
                      language: str = language) -> str:
                return translator.render(flow_text(flow_id, item, source), language)

            person = bot.person(number)
            await bot.open(person)
            await bot.choose(person, script.language_names[language])
            for item in consent_text.items:
                await bot.choose(person, local(f"{item.id}.yes", item.yes, consent_text.id))
            await bot.choose(person, local("gender.woman", "Woman"))
            for _ in ("age_band", "origin_region", "living_region", "sector"):
                await bot.text(person, "/skip")
            wages = flow.question("themes").choice("wages")  # type: ignore[union-attr]
            await bot.choose_several(person, [local("themes.wages", wages.label)],
                                     translator.render(DONE_BUTTON, language))
            for _ in ("wages_paid_less", "wages_contract"):
                await bot.text(person, "/skip")
            await bot.voice(person, VOICE)
            await bot.text(person, stories[language])
            assert local("closing", flow.closing) in bot.texts(person)
    testimonies = {t.consent.language: t for t in opened_testimonies(db_path, researcher)
                   if t.consent is not None}
    assert set(testimonies) == {"ar", "en"}
    for language, testimony in testimonies.items():
        answers = {a.question_id: a for a in testimony.answers}
        assert answers["themes"].header["value"] == ["wages"]
        assert answers["wages_story"].body == VOICE
        assert answers["recommendation"].header["value"] == stories[language]


@CHANNELS
async def test_a_redelivered_message_is_handled_once(
        channel: str, mini: Orchestrator, db_path: Path, clock: Clock,
        researcher: KeyPair) -> None:
    async with harness(channel, mini, db_path.parent, clock) as bot:
        person = bot.person(1)
        await consent(bot, person)
        press = await bot.choose(person, "Care work")
        said = len(bot.texts(person))
        await bot.redeliver(press)
        assert len(bot.texts(person)) == said
    [testimony] = opened_testimonies(db_path, researcher)
    assert [a.question_id for a in testimony.answers] == ["sector"]


@CHANNELS
async def test_a_failure_between_saving_and_sending_loses_and_doubles_nothing(
        channel: str, mini: Orchestrator, db_path: Path, clock: Clock,
        researcher: KeyPair) -> None:
    async with harness(channel, mini, db_path.parent, clock) as bot:
        person = bot.person(2)
        await consent(bot, person)
        bot.fail_next_send()  # the answer is sealed; the next question does not go out
        await bot.choose(person, "Care work")
        assert "something went wrong on our side" in bot.texts(person)[-1]
        await bot.text(person, "hello?")  # any message brings the current question back
        assert "Pick themes." in bot.texts(person)[-1]
    [testimony] = opened_testimonies(db_path, researcher)
    assert [a.question_id for a in testimony.answers] == ["sector"]


@CHANNELS
async def test_a_flood_is_paced_and_nothing_is_dropped_silently(
        channel: str, mini: Orchestrator, db_path: Path, clock: Clock,
        caplog: pytest.LogCaptureFixture) -> None:
    limits = FloodLimits(burst=3, per_second=50, max_waiting=5)
    async with harness(channel, mini, db_path.parent, clock, flood=limits) as bot:
        person = bot.person(3)
        await consent(bot, person)
        await bot.burst(person, [f"message {n}" for n in range(20)])
        await bot.wait_all()
        texts = bot.texts(person)
        answered = sum("Please choose one of the" in t for t in texts)
        refused = sum(r.message == "flood_refused" for r in caplog.records)
        assert answered + refused == 20 and refused >= 1
        assert sum("did not keep your last messages" in t for t in texts) == 1


@CHANNELS
async def test_a_button_of_a_passed_question(
        channel: str, mini: Orchestrator, db_path: Path, clock: Clock,
        researcher: KeyPair) -> None:
    async with harness(channel, mini, db_path.parent, clock) as bot:
        person = bot.person(4)
        await consent(bot, person)
        first = await bot.choose(person, "Care work")
        stale = dict(first)
        if channel == "telegram":
            from tests.telegram_support import TelegramBot

            telegram: TelegramBot = bot.bot  # type: ignore[attr-defined]
            data = first["callback_query"]["data"].rsplit(":", 1)[0] + ":1"
            stale = telegram.updates.callback(bot.person(4), first["callback_query"][
                "message"]["message_id"], data)
            await telegram.send(stale)
        else:
            api = bot.api  # type: ignore[attr-defined]
            question = [s for s in api.to(person) if "Where do you work" in s.text][-1]
            stale = api.reply(person, question, "Farm work")
            await bot.redeliver(stale)
        assert bot.notice(stale) == "This question has passed."
    [testimony] = opened_testimonies(db_path, researcher)
    assert {a.question_id: a.header["value"] for a in testimony.answers} == {
        "sector": ["care"]}


@CHANNELS
async def test_media_is_sealed_and_photos_lose_their_metadata(
        channel: str, mini: Orchestrator, db_path: Path, clock: Clock,
        researcher: KeyPair) -> None:
    photo = jpeg_with_metadata()
    async with harness(channel, mini, db_path.parent, clock) as bot:
        person = bot.person(5)
        await consent(bot, person)
        await bot.choose(person, "Care work")
        await bot.choose_several(person, ["Wages"], "Done")
        await bot.text(person, "3")
        await bot.photo(person, photo)
        assert "What should governments change?" in bot.texts(person)[-1]
    [testimony] = opened_testimonies(db_path, researcher)
    [sealed] = [a for a in testimony.answers if a.question_id == "wages_story"]
    assert sealed.body.startswith(b"\xff\xd8") and b"SecretPhoneMaker" not in sealed.body


@CHANNELS
async def test_delete_removes_everything(
        channel: str, mini: Orchestrator, db_path: Path, clock: Clock,
        researcher: KeyPair) -> None:
    async with harness(channel, mini, db_path.parent, clock) as bot:
        person = bot.person(6)
        await consent(bot, person)
        await bot.choose(person, "Care work")
        await bot.text(person, "/delete")
        await bot.choose(person, "Yes, delete everything")
        assert "has been deleted" in " ".join(bot.texts(person)[-2:])
    assert opened_testimonies(db_path, researcher) == []


@CHANNELS
@pytest.mark.usefixtures("debug_logging")
async def test_logs_hold_no_content_ids_or_tokens(
        channel: str, mini: Orchestrator, db_path: Path, clock: Clock,
        capsys: pytest.CaptureFixture[str]) -> None:
    async with harness(channel, mini, db_path.parent, clock) as bot:
        person = bot.person(7)
        await consent(bot, person)
        await bot.choose(person, "Care work")
        await bot.choose_several(person, ["Wages"], "Done")
        await bot.text(person, "3")
        await bot.text(person, MARKER)
        await bot.text(person, "/exit")
        secrets = (MARKER, "Marker-QX7", bot.person_id(person), *bot.secrets)
    logged = capsys.readouterr().err  # as `testimony-bot run` writes it, at DEBUG
    assert "event_handled" in logged
    assert not [s for s in secrets if s in logged]
    assert MARKER.encode() not in raw_files(db_path.parent)

