"""An imported three-language XLSForm on Telegram, in Arabic from the first message to the
sealed answers, which keep the form's own question and choice names."""

from __future__ import annotations

from pathlib import Path

from bot.engine import messages as msg
from bot.engine.text import Text, flow_text
from bot.i18n import Translator
from bot.xlsform.output import write_import
from bot.xlsform.reader import read_form
from storage.keys import KeyPair
from storage.server_keys import ServerKeys
from storage.store import Store
from tests.conftest import DEFAULT_FLOWS, Clock, make_script
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.updates import TgUser
from tests.telegram_support import (
    make_orchestrator,
    opened_testimonies,
    press_exactly,
    telegram_bot,
)
from tests.xlsform_support import three_language_form


async def test_an_imported_form_in_arabic_on_telegram(
        api: FakeBotApi, store: Store, server_keys: ServerKeys, clock: Clock, db_path: Path,
        researcher: KeyPair, tmp_path: Path) -> None:
    imported = read_form(three_language_form(tmp_path / "domestic.xlsx"))
    written = write_import(imported, tmp_path / "form", "domestic.xlsx")
    translator = Translator(written.locales)
    assert translator.languages == ("en", "ar", "fr")
    script = make_script(translator, written.flow, DEFAULT_FLOWS / "consent.toml")
    flow, consent = script.questionnaire, script.consent

    def ar(item: str, source: str, flow_id: str = flow.id) -> str:
        return translator.render(flow_text(flow_id, item, source), "ar")

    def interface(text: Text) -> str:
        return translator.render(text, "ar")

    person = TgUser(8_500_000_001, "Maryam", language_code="ar")
    orchestrator = make_orchestrator(script, store, server_keys, translator, clock)
    async with telegram_bot(api, orchestrator, db_path.parent, webhook=True,
                            clock=clock) as bot:
        await bot.text(person, "/start")
        assert "✓ العربية" in bot.buttons(person.id)
        await bot.press(person, "العربية")
        for item in consent.items:
            await bot.press(person, ar(f"{item.id}.yes", item.yes, consent.id))
        assert "مرحبا. هذا الاستبيان عن عملك." in bot.texts(person.id)
        assert bot.last_text(person.id) == "كم عمرك؟"
        await bot.text(person, "١٥")
        assert "يجب أن يكون عمرك 18 عامًا أو أكثر." in bot.texts(person.id)
        await bot.text(person, "٣٤")
        await bot.press(person, "لبنان")
        assert bot.buttons(person.id)[:2] == ["بيروت", "طرابلس"]
        assert "الدوحة" not in bot.buttons(person.id)  # the cascade: Qatar's cities are out
        await bot.press(person, "بيروت")
        assert "اختر كل ما ينطبق." in bot.texts(person.id)  # the hint
        assert "غير ذلك" in bot.buttons(person.id)  # or_other's "Other", in Arabic
        await bot.press(person, "أجور غير مدفوعة")
        await press_exactly(bot, person, interface(msg.DONE_BUTTON))
        assert "الأجور" in bot.texts(person.id)  # the wages group, relevant now
        await bot.text(person, "٣")
        assert "هذا حوالي 13 أسبوعًا." in bot.texts(person.id)  # a calculation in a note
        await bot.text(person, "2024-02-03")
        await bot.text(person, "طبخ وتنظيف")
        await press_exactly(bot, person, interface(msg.NO))  # no second employer
        await press_exactly(bot, person, interface(msg.OK_BUTTON))
        await bot.text(person, "/skip")  # the voice note
        assert "شكرًا لإجاباتك." in bot.texts(person.id)  # the form's closing, in Arabic
        english = {"How old are you?", "Where do you work?", "Thank you for your answers."}
        assert not english & set(bot.texts(person.id))

    (testimony,) = opened_testimonies(db_path, researcher)
    answers = {a.question_id: a.header["value"] for a in testimony.answers}
    assert answers == {
        "Age.Years": 34, "country": ["LB"], "city": ["beirut"], "problems": ["unpaid"],
        "months_unpaid": 3, "weeks_unpaid": "13", "arrived": "2024-02-03",
        "employer_sector": "طبخ وتنظيف", "employers_another": ["no"], "ready": ["OK"],
    }
    assert {a.language for a in testimony.answers} == {"ar"}
