"""What every chat channel must do, run on Telegram and on WhatsApp alike (each against its
strict platform fake, through its real service): a whole conversation in two languages and an
imported form, redelivery and restarts, a failure between saving and sending, floods, stale
buttons, media, kind replies to what cannot be kept, typed and expired campaign codes,
/delete, field workers' commands, and logs free of content, names, ids and tokens."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path

import pytest

from bot.channels.common.flood import FloodLimits
from bot.channels.whatsapp.texts import CHAT_APP as WHATSAPP_CHAT_APP
from bot.engine import Script
from bot.engine import messages as msg
from bot.engine.messages import DONE_BUTTON
from bot.engine.text import Text, flow_text
from bot.i18n import Translator
from bot.orchestrator import Orchestrator
from bot.xlsform.output import write_import
from bot.xlsform.reader import read_form
from storage.keys import KeyPair
from storage.server_keys import ServerKeys
from storage.store import Store
from tests.channel_harness import (
    PHONE,
    PLACE,
    Harness,
    Recorder,
    debug_logging,  # noqa: F401 - a fixture, used by name
    harness,
    raw_files,
)
from tests.conftest import DEFAULT_FLOWS, Clock, make_script
from tests.telegram_support import (
    jpeg_with_metadata,
    make_orchestrator,
    opened_testimonies,
    script_with_languages,
)
from tests.xlsform_support import three_language_form

CHANNELS = pytest.mark.parametrize("channel", ["telegram", "whatsapp"])
VOICE = b"OggS\x00\x02" + bytes(range(256)) * 20
MARKER = "Marker-QX7 my employer took my passport"
PASSED = "This question has passed."
SECTOR = "Where do you work?"
NewOrchestrator = Callable[[], Orchestrator]


@pytest.fixture
def new_mini(mini_script: Script, store: Store, server_keys: ServerKeys,
             translator: Translator, clock: Clock) -> NewOrchestrator:
    """A fresh orchestrator on the same store: what a restarted process has."""
    return lambda: make_orchestrator(mini_script, store, server_keys, translator, clock)


@pytest.fixture
def mini(new_mini: NewOrchestrator) -> Orchestrator:
    return new_mini()


async def consent(bot: Harness, person: object, code: str | None = None) -> None:
    await bot.open(person, code)
    for _ in range(3):
        await bot.choose(person, "Yes")


@asynccontextmanager
async def consented(channel: str, orchestrator: Orchestrator, db_path: Path, clock: Clock,
                    number: int, *, flood: FloodLimits | None = None
                    ) -> AsyncIterator[tuple[Harness, object]]:
    """The channel running, and person `number` past consent, at the mini flow's first
    question."""
    async with harness(channel, orchestrator, db_path.parent, clock, flood=flood) as bot:
        person = bot.person(number)
        await consent(bot, person)
        yield bot, person


async def to_the_story(bot: Harness, person: object) -> None:
    """From the first question to the testimony question ("Tell us about your pay.")."""
    await bot.choose(person, "Care work")
    await bot.choose_several(person, ["Wages"], "Done")
    await bot.text(person, "7")


async def eventually(condition: Callable[[], object], within: float = 10) -> None:
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110 - the bot answers on its own time
            await asyncio.sleep(0.005)


def answers(db_path: Path, researcher: KeyPair) -> dict[str, object]:
    [testimony] = opened_testimonies(db_path, researcher)
    return {a.question_id: a.header["value"] for a in testimony.answers}


# -- a whole conversation -------------------------------------------------------------------
@CHANNELS
async def test_a_whole_conversation_in_two_languages(
        channel: str, default_script: Script, store: Store, server_keys: ServerKeys,
        translator: Translator, clock: Clock, db_path: Path, researcher: KeyPair) -> None:
    script = script_with_languages(default_script, ("en", "ar", "tl"))
    flow, consent_text = script.questionnaire, script.consent
    orchestrator = make_orchestrator(script, store, server_keys, translator, clock)
    link = await store.links.create(campaign="wimn26", partner="p", region="r", now=clock())
    stories = {"ar": "لم يدفعوا لي أجري لمدة ثلاثة أشهر",
               "tl": "Hindi ako binayaran nang tatlong buwan"}
    async with harness(channel, orchestrator, db_path.parent, clock) as bot:
        for number, language in enumerate(stories):
            def local(item: str, source: str, flow_id: str = flow.id,
                      language: str = language) -> str:
                return translator.render(flow_text(flow_id, item, source), language)

            person = bot.person(number)
            await bot.open(person, link.code)
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
            said = bot.texts(person)
            assert local("closing", flow.closing) in said
            chat_app = (translator.render(WHATSAPP_CHAT_APP, language) if bot.name == "whatsapp"
                        else local("chat_app", consent_text.chat_app or "", consent_text.id))
            for paragraph in (local("intro", consent_text.intro, consent_text.id), chat_app,
                              local("contact", consent_text.contact or "", consent_text.id)):
                assert paragraph in said
            for item in consent_text.items:
                assert any(t.startswith(local(item.id, item.text, consent_text.id))
                           for t in said)
            english = {"Do you agree to take part?", flow.closing, flow.question("gender").text}
            assert not [t for t in said if any(t.startswith(e) for e in english)]
    testimonies = {t.consent.language: t for t in opened_testimonies(db_path, researcher)
                   if t.consent is not None}
    assert set(testimonies) == set(stories)
    for language, testimony in testimonies.items():
        assert testimony.campaign == link.campaign
        answered = {a.question_id: a for a in testimony.answers}
        assert answered["themes"].header["value"] == ["wages"]
        assert answered["gender"].header["value"] == ["woman"]
        assert answered["wages_story"].body == VOICE
        assert answered["recommendation"].header["value"] == stories[language]
        assert {a.language for a in testimony.answers} == {language}


# -- delivery -------------------------------------------------------------------------------
@CHANNELS
async def test_a_redelivered_message_is_handled_once_even_after_a_restart(
        channel: str, mini: Orchestrator, new_mini: NewOrchestrator, db_path: Path,
        clock: Clock, researcher: KeyPair) -> None:
    async with consented(channel, mini, db_path, clock, 1) as (bot, person):
        press = await bot.choose(person, "Care work")
        said = len(bot.texts(person))
        await bot.redeliver(press)  # the platform did not get our answer in time
        assert len(bot.texts(person)) == said
        await bot.restart(new_mini())
        await bot.redeliver(press)  # the database remembers it, not the process
        assert len(bot.texts(person)) == said
        await bot.text(person, "/skip")  # the session carried on: themes skipped
        assert "What should governments change?" in bot.texts(person)[-1]
    assert answers(db_path, researcher) == {"sector": ["care"]}


@CHANNELS
async def test_a_failure_between_saving_and_sending_loses_and_doubles_nothing(
        channel: str, mini: Orchestrator, db_path: Path, clock: Clock,
        researcher: KeyPair) -> None:
    async with consented(channel, mini, db_path, clock, 2) as (bot, person):
        bot.fail_next_send()  # the answer is sealed; the next question does not go out
        await bot.choose(person, "Care work")
        assert "something went wrong on our side" in bot.texts(person)[-1]
        await bot.text(person, "hello?")  # any message brings the current question back
        assert "Pick themes." in bot.texts(person)[-1]
    assert answers(db_path, researcher) == {"sector": ["care"]}


@CHANNELS
async def test_a_flood_is_paced_others_are_not_kept_waiting_and_nothing_is_dropped_silently(
        channel: str, mini: Orchestrator, db_path: Path, clock: Clock,
        caplog: pytest.LogCaptureFixture) -> None:
    # A slow refill (a token every 250 ms): the queued messages find the bucket empty even
    # when a loaded machine takes a while over each message.
    limits = FloodLimits(burst=3, per_second=4, max_waiting=5)
    async with consented(channel, mini, db_path, clock, 3, flood=limits) as (bot, person):
        await asyncio.sleep(3 / limits.per_second)  # the bucket fills again after consent
        handled = bot.handled()
        await bot.burst(person, [f"message {n}" for n in range(30)])
        other = bot.person(13)
        await bot.open(other)  # someone else meanwhile is answered, not queued
        await eventually(lambda: [t for t in bot.texts(other) if "Please read" in t])
        assert bot.handled() < handled + 31  # while the flood still waits
        await bot.wait_all(others=1)
        texts = bot.texts(person)
        assert sum("sending messages very quickly" in t for t in texts) == 1
        assert sum("did not keep your last messages" in t for t in texts) == 1
        # Each message was answered, in order, or is one the person was asked to send again.
        answered = sum("Please choose one of the" in t for t in texts)
        refused = sum(r.message == "flood_refused" for r in caplog.records)
        assert answered >= limits.burst and refused >= 1 and answered + refused == 30


@CHANNELS
async def test_an_imported_form_in_arabic(
        channel: str, store: Store, server_keys: ServerKeys, clock: Clock, db_path: Path,
        researcher: KeyPair, tmp_path: Path) -> None:
    """An imported three-language XLSForm, from the first message to the sealed answers,
    which keep the form's own question and choice names."""
    imported = read_form(three_language_form(tmp_path / "domestic.xlsx"))
    written = write_import(imported, tmp_path / "form", "domestic.xlsx")
    translator = Translator(written.locales)
    assert translator.languages == ("en", "ar", "fr")
    script = make_script(translator, written.flow, DEFAULT_FLOWS / "consent.toml")
    consent_text = script.consent
    orchestrator = make_orchestrator(script, store, server_keys, translator, clock)

    def ar(text: Text) -> str:
        return translator.render(text, "ar")

    async with harness(channel, orchestrator, db_path.parent, clock) as bot:
        person = bot.person(18)

        def said(text: str) -> bool:
            return any(text in t for t in bot.texts(person))

        await bot.open(person)
        await bot.choose(person, "العربية")
        for item in consent_text.items:
            await bot.choose(person, ar(flow_text(consent_text.id, f"{item.id}.yes",
                                                  item.yes)))
        assert said("مرحبا. هذا الاستبيان عن عملك.")
        assert bot.texts(person)[-1] == "كم عمرك؟"
        await bot.text(person, "١٥")  # Arabic-Indic digits
        assert said("يجب أن يكون عمرك 18 عامًا أو أكثر.")
        await bot.text(person, "٣٤")
        await bot.choose(person, "لبنان")
        assert bot.choices(person)[:2] == ["بيروت", "طرابلس"]
        assert "الدوحة" not in bot.choices(person)  # the cascade: Qatar's cities are out
        await bot.choose(person, "بيروت")
        assert said("اختر كل ما ينطبق.")  # the hint
        assert "غير ذلك" in bot.choices(person)  # or_other's "Other", in Arabic
        await bot.choose_several(person, ["أجور غير مدفوعة"], ar(msg.DONE_BUTTON))
        assert said("الأجور")  # the wages group, relevant now
        await bot.text(person, "٣")
        assert said("هذا حوالي 13 أسبوعًا.")  # a calculation in a note
        await bot.text(person, "2024-02-03")
        await bot.text(person, "طبخ وتنظيف")
        await bot.choose_exactly(person, ar(msg.NO))  # no second employer
        await bot.choose_exactly(person, ar(msg.OK_BUTTON))
        await bot.text(person, "/skip")  # the voice note
        assert said("شكرًا لإجاباتك.")  # the form's closing, in Arabic
        english = ("How old are you?", "Where do you work?", "Thank you for your answers.")
        assert not [e for e in english if said(e)]

    (testimony,) = opened_testimonies(db_path, researcher)
    assert answers(db_path, researcher) == {
        "Age.Years": 34, "country": ["LB"], "city": ["beirut"], "problems": ["unpaid"],
        "months_unpaid": 3, "weeks_unpaid": "13", "arrived": "2024-02-03",
        "employer_sector": "طبخ وتنظيف", "employers_another": ["no"], "ready": ["OK"],
    }
    assert {a.language for a in testimony.answers} == {"ar"}


# -- buttons --------------------------------------------------------------------------------
@CHANNELS
async def test_a_button_of_a_passed_question(
        channel: str, mini: Orchestrator, db_path: Path, clock: Clock,
        researcher: KeyPair) -> None:
    async with consented(channel, mini, db_path, clock, 4) as (bot, person):
        await bot.choose(person, "Care work")
        said = len(bot.texts(person))
        stale = await bot.choose_earlier(person, SECTOR, "Farm work")  # an older copy
        assert bot.notice(stale) == PASSED
        assert len(bot.texts(person)) == said + bot.notes_in_chat  # nothing else is said
    assert answers(db_path, researcher) == {"sector": ["care"]}


@CHANNELS
async def test_a_button_of_an_earlier_session_has_passed(
        channel: str, mini: Orchestrator, db_path: Path, clock: Clock,
        researcher: KeyPair) -> None:
    async with harness(channel, mini, db_path.parent, clock) as bot:
        person = bot.person(8)
        await bot.open(person)
        await bot.choose(person, "No")  # declines: the session ends, nothing kept
        await bot.open(person)  # a new session, new buttons
        stale = await bot.choose_earlier(person, "Do you agree to take part?", "Yes")
        assert bot.notice(stale) == PASSED
    assert opened_testimonies(db_path, researcher) == []
    with sqlite3.connect(db_path) as conn:  # not even a row for the person
        assert conn.execute("SELECT count(*) FROM respondents").fetchone()[0] == 0


@CHANNELS
async def test_the_first_copy_of_a_question_asked_again_still_works(
        channel: str, mini: Orchestrator, db_path: Path, clock: Clock,
        researcher: KeyPair) -> None:
    async with consented(channel, mini, db_path, clock, 9) as (bot, person):
        await bot.text(person, "hello there")  # typed, not tapped: the question is asked again
        press = await bot.choose_earlier(person, SECTOR, "Care work", copy=0)
        assert PASSED not in bot.notice(press)
        assert "Pick themes." in bot.texts(person)[-1]
    assert answers(db_path, researcher) == {"sector": ["care"]}


@CHANNELS
async def test_a_button_from_before_a_restart_asks_the_question_again(
        channel: str, mini: Orchestrator, new_mini: NewOrchestrator, db_path: Path,
        clock: Clock, researcher: KeyPair) -> None:
    async with consented(channel, mini, db_path, clock, 10) as (bot, person):
        await bot.restart(new_mini())
        press = await bot.choose(person, "Farm work")
        if channel == "telegram":
            assert bot.notice(press) == ""  # answered without a toast: the chat says it
        assert "Welcome back" in " ".join(bot.texts(person)[-2:])
        await bot.choose(person, "Farm work")  # the question, asked again, takes the answer
    assert answers(db_path, researcher) == {"sector": ["farm"]}


# -- what people send -----------------------------------------------------------------------
@CHANNELS
@pytest.mark.parametrize("as_file", [False, True], ids=["photo", "image-file"])
async def test_media_is_sealed_and_photos_lose_their_metadata(
        channel: str, as_file: bool, mini: Orchestrator, db_path: Path, clock: Clock,
        researcher: KeyPair) -> None:
    photo = jpeg_with_metadata()
    async with consented(channel, mini, db_path, clock, 5) as (bot, person):
        await to_the_story(bot, person)
        await bot.photo(person, photo, as_file=as_file)  # as a file: every byte is kept
        assert "What should governments change?" in bot.texts(person)[-1]
    [testimony] = opened_testimonies(db_path, researcher)
    [sealed] = [a for a in testimony.answers if a.question_id == "wages_story"]
    assert sealed.header["media"] == "photo" and sealed.header["mime_type"] == "image/jpeg"
    assert sealed.body.startswith(b"\xff\xd8") and sealed.body != photo
    assert b"SecretPhoneMaker" not in sealed.body and b"bakery" not in sealed.body


@CHANNELS
async def test_over_long_and_empty_texts_get_kind_replies(
        channel: str, mini: Orchestrator, db_path: Path, clock: Clock,
        researcher: KeyPair) -> None:
    async with consented(channel, mini, db_path, clock, 11) as (bot, person):
        await to_the_story(bot, person)
        await bot.text(person, "x" * 4096)  # the longest text either delivers; over our 4000
        assert "longer than I can keep" in bot.texts(person)[-1]
        await bot.text(person, "\x00\x00 \x00")
        assert "did not receive any words" in bot.texts(person)[-1]
        await bot.text(person, "Paid half.\x00")
        await bot.text(person, "y" * 51)  # recommendation: max_length 50
        assert "(50 characters)" in bot.texts(person)[-1]
    assert answers(db_path, researcher) == {"sector": ["care"], "themes": ["wages"],
                                            "months_unpaid": 7, "wages_story": "Paid half."}


@CHANNELS
async def test_unsupported_messages_get_kind_replies_and_nothing_of_them_is_kept(
        channel: str, mini: Orchestrator, db_path: Path, clock: Clock,
        researcher: KeyPair) -> None:
    async with consented(channel, mini, db_path, clock, 12) as (bot, person):
        for kind in ("sticker", "location"):
            await bot.unsupported(person, kind)
            assert "cannot take this kind of message" in " ".join(bot.texts(person)[-2:])
        await bot.unsupported(person, "contact")
        assert "do not share contacts" in " ".join(bot.texts(person)[-2:])
        await bot.choose(person, "Care work")  # the question still takes its answer
    assert answers(db_path, researcher) == {"sector": ["care"]}
    raw = raw_files(db_path.parent)
    assert PHONE[3:].encode() not in raw and str(PLACE[0]).encode() not in raw


@CHANNELS
async def test_a_code_typed_after_consent_is_an_answer(
        channel: str, mini: Orchestrator, store: Store, db_path: Path, clock: Clock,
        researcher: KeyPair) -> None:
    link = await store.links.create(campaign="imrf", partner="p", region="r", now=clock())
    async with harness(channel, mini, db_path.parent, clock) as bot:
        person = bot.person(14)
        await consent(bot, person, link.code)
        await to_the_story(bot, person)
        await bot.text(person, link.code)  # the testimony question: an answer like any other
    [testimony] = opened_testimonies(db_path, researcher)
    assert testimony.campaign == "imrf"
    assert answers(db_path, researcher)["wages_story"] == link.code


@CHANNELS
async def test_delete_removes_everything(
        channel: str, mini: Orchestrator, db_path: Path, clock: Clock,
        researcher: KeyPair) -> None:
    async with consented(channel, mini, db_path, clock, 6) as (bot, person):
        await bot.choose(person, "Care work")
        await bot.text(person, "/delete")
        await bot.choose(person, "Yes, delete everything")
        assert "has been deleted" in " ".join(bot.texts(person)[-2:])
    assert opened_testimonies(db_path, researcher) == []


# -- logs -----------------------------------------------------------------------------------
@CHANNELS
async def test_logs_hold_no_content_names_ids_or_tokens(
        channel: str, mini: Orchestrator, db_path: Path, clock: Clock,
        debug_logging: Recorder, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    recommendation = "Contracts in Tagalog please"
    after_the_end = "They kept my passport at Sunrise Farm for eleven months"
    async with harness(channel, mini, db_path.parent, clock) as bot:
        person = bot.person(7)
        await consent(bot, person, "wimn26")  # not one of our links: never written anywhere
        await bot.unsupported(person, "contact")
        await to_the_story(bot, person)
        await bot.text(person, MARKER)
        await bot.text(person, recommendation)
        await bot.text(person, after_the_end)  # after the end: still not logged
        await bot.text(person, "/exit")
        secrets = (MARKER, "Marker-QX7", recommendation, "Sunrise", "wimn26", PHONE[3:],
                   *bot.person_secrets(person), *bot.secrets)
    logged = capsys.readouterr().err  # as `testimony-bot run` writes it, at DEBUG
    assert "event_handled" in logged and "answer_stored" in logged
    ours = [line for line in debug_logging.lines if not line.startswith("tests.")]
    for secret in secrets:
        assert secret not in logged, secret  # every line, the fakes' too, as printed
        assert not [line for line in ours if secret in line], secret
    assert MARKER.encode() not in raw_files(db_path.parent)


# -- campaign links and field workers -------------------------------------------------------
@CHANNELS
async def test_an_expired_link_still_starts_the_bot_and_is_counted_apart(
        channel: str, mini: Orchestrator, store: Store, db_path: Path, clock: Clock) -> None:
    link = await store.links.create(campaign="c", partner="p", region="r", now=clock(),
                                    expires_on=date(2026, 1, 1))
    async with harness(channel, mini, db_path.parent, clock) as bot:
        person = bot.person(15)
        await consent(bot, person, link.code)
        assert SECTOR in bot.texts(person)[-1]
    (item,) = await store.links.figures([link])
    assert item.live == {} and item.expired["consented"] == 1


@CHANNELS
async def test_only_field_workers_have_the_field_commands(
        channel: str, mini: Orchestrator, store: Store, db_path: Path, clock: Clock) -> None:
    async with harness(channel, mini, db_path.parent, clock, field_worker=16) as bot:
        worker, stranger = bot.person(16), bot.person(17)
        for command in ("/newlink", "/stats"):
            await bot.text(stranger, command)
            assert any(text.startswith("This is a safe, private conversation")
                       for text in bot.texts(stranger)[-3:])  # the ordinary help
            assert not any("link" in text for text in bot.texts(stranger))
        assert await store.links.all() == []
        await bot.text(worker, "/stats")
        assert "You have not made any links yet" in bot.texts(worker)[-1]
        await bot.text(worker, "/newlink")
        await bot.text(worker, "/cancel")
        assert bot.texts(worker)[-1] == "No link was made."
        assert await store.links.all() == []
