"""Flow format 2 in the engine: relevance, constraints, calculations, choice filters, notes,
defaults, decimal, date, media, acknowledge and repeats; and the format's upgrade path."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.engine import (
    ChoiceAnswer,
    MediaIn,
    MediaRef,
    NumberAnswer,
    Script,
    StoreAnswer,
    TextAnswer,
)
from bot.engine import messages as msg
from bot.engine.logic import DEFAULT_KEY, parse_date, parse_decimal
from bot.flow import FlowError, load_questionnaire
from bot.flow.loader import parse_questionnaire
from bot.i18n import Translator
from tests.conftest import DEFAULT_FLOWS, ROOT, make_script
from tests.conversation import Conversation, asked, said

FLOWS = ROOT / "tests" / "data" / "flows"


@pytest.fixture
def logic_script(translator: Translator) -> Script:
    return make_script(translator, FLOWS / "logic.toml", FLOWS / "consent.toml", ("en",))


def answers(convo: Conversation) -> dict[str, object]:
    found: dict[str, object] = {}
    for store in convo.stored():
        value = store.value
        match value:
            case ChoiceAnswer(choices):
                found[store.question_id] = choices
            case TextAnswer(text):
                found[store.question_id] = text
            case NumberAnswer(number):
                found[store.question_id] = number
            case _:
                found[store.question_id] = type(value).__name__
    return found


def test_a_whole_form_with_logic(logic_script: Script) -> None:
    convo = Conversation(logic_script)
    first = convo.agree_to_all()
    assert said(first)[-1] == "About you" and asked(first) == ["Age"]
    assert said(convo.command("skip"))[0] == "We need your age to go on."
    assert said(convo.text("16"))[0] == "Only adults, please."
    reply = convo.text("34")
    assert said(reply)[0] == "You are ${Age}."  # rendered with the answer, see test_i18n
    note = next(a for a in reply if hasattr(a, "text") and a.text.msgid == "You are ${Age}.")
    assert dict(note.text.params) == {"Age": "34"}  # type: ignore[attr-defined]
    ask = convo.last_ask
    assert ask.question_id == "country"
    assert [o.key for o in ask.options if o.selected] == ["QA"]  # the default
    convo.press("LB")
    assert [o.key for o in convo.last_ask.options] == ["beirut"]  # Doha filtered out
    assert convo.press("doha") == ()  # not offered: a forged press changes nothing
    convo.press("beirut")
    hint = said(convo.history[-1][1])
    assert "In US dollars." in hint
    assert said(convo.text("lots"))[0] == msg.NOT_A_NUMBER.msgid
    assert said(convo.text("6000"))[0] == msg.NUMBER_RANGE.msgid
    convo.text("450,5")
    assert convo.last_ask.question_id == "arrived"
    assert said(convo.text("2099-01-01"))[0] == msg.NOT_ACCEPTED.msgid  # after today
    assert said(convo.text("31.02.2024"))[0] == msg.NOT_A_DATE.msgid
    reply = convo.text("٠٣/٠٢/٢٠٢٤")  # Arabic-Indic digits, day first
    assert "Wages" in said(reply)  # 450.5 * 12 < 6000: the wages section is relevant
    assert convo.last_ask.options[0].key == DEFAULT_KEY
    reply = convo.press(DEFAULT_KEY)
    assert "Children" in said(reply)
    assert said(convo.text("40"))[0] == msg.NOT_ACCEPTED.msgid  # not younger than the parent
    convo.text("7")
    assert convo.last_ask.text == msg.ADD_ANOTHER
    assert [o.label for o in convo.last_ask.options] == [msg.YES, msg.NO]
    assert "Children" in said(convo.press("yes"))  # each instance has the heading
    assert convo.last_ask.question_id == "kid_age[2]"
    assert convo.last_ask.text.context == "logic:kid_age"  # the same translation
    convo.text("3")
    convo.press("no")
    assert convo.last_ask.question_id == "ok"
    assert [o.label for o in convo.last_ask.options] == [msg.OK_BUTTON]
    convo.press("OK")
    voice = MediaRef("voice", "v1", "audio/ogg")
    assert said(convo.send(MediaIn(voice)))[0] == msg.SEND_PHOTO.msgid
    assert said(convo.text("no photo"))[0] == msg.SEND_PHOTO.msgid
    convo.send(MediaIn(MediaRef("photo", "p1", "image/jpeg")))
    assert convo.state is None  # finished
    assert answers(convo) == {
        "Age": 34, "country": ("LB",), "city": ("beirut",), "pay": 450.5,
        "yearly": "5406", "arrived": "2024-02-03", "low_pay": "Nothing to add",
        "kid_age": 7, "kids_another": ("yes",), "kid_age[2]": 3,
        "kids_another[2]": ("no",), "ok": ("OK",), "photo": "MediaAnswer",
    }
    stored = [a for a in convo.stored() if a.question_id == "yearly"]
    assert isinstance(stored[0], StoreAnswer) and stored[0].flow_id == "logic"


def test_irrelevant_section_is_passed_by(logic_script: Script) -> None:
    convo = Conversation(logic_script)
    convo.agree_to_all()
    convo.text("30")
    convo.press("QA")
    convo.press("doha")
    convo.text("900")  # 10,800 a year: the wages section is not relevant
    reply = convo.text("2020-01-01")
    assert "Wages" not in said(reply) and convo.last_ask.question_id == "kid_age"


def test_back_through_a_calculation_recomputes_it(logic_script: Script) -> None:
    convo = Conversation(logic_script)
    convo.agree_to_all()
    convo.text("30")
    convo.press("QA")
    convo.press("doha")
    convo.text("900")
    convo.command("back")
    assert convo.last_ask.question_id == "pay"
    convo.text("100")
    yearly = [a.value for a in convo.stored() if a.question_id == "yearly"]
    assert yearly == [TextAnswer("10800"), TextAnswer("1200")]


@pytest.mark.parametrize(("raw", "expected"), [
    ("2,5", 2.5), ("١٢٫٥", 12.5), ("١٢", 12.0), (" 3.25 ", 3.25), ("nan", None), ("x", None),
])
def test_decimals(raw: str, expected: float | None) -> None:
    assert parse_decimal(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), [
    ("2024-02-03", "2024-02-03"), ("03.02.2024", "2024-02-03"), ("3/2/2024", "2024-02-03"),
    ("2024-02-30", None), ("yesterday", None), ("03-02-24", None),
])
def test_dates(raw: str, expected: str | None) -> None:
    assert parse_date(raw) == expected


def test_format_1_files_are_read_as_before() -> None:
    shipped = load_questionnaire(DEFAULT_FLOWS / "default.toml")
    assert shipped.format == 1
    doc = {"id": "x", "version": "1", "welcome": "w", "closing": "c", "safety_note": "s",
           "sections": [{"id": "s", "questions": [{"id": "q", "kind": "text", "text": "Q"}]}]}
    assert parse_questionnaire(doc, "old.toml").format == 1
    upgraded = parse_questionnaire({**doc, "format": 2}, "new.toml")
    assert upgraded.questions == parse_questionnaire(doc, "old.toml").questions


@pytest.mark.parametrize(("change", "problem"), [
    ({"format": 3}, "format 3 is newer than this program reads"),
    ({"format": "two"}, "'format' must be a whole number"),
    ({"format": None, "relevant": "1"}, "relevant need(s) 'format = 2'"),
    ({"format": None, "kind": "decimal"}, "kind decimal needs 'format = 2'"),
    ({"id": "Q.1", "format": None}, "'id' must be 1-32 characters of a-z"),
    ({"relevant": "${nowhere} = 1"}, "refers to unknown question(s): nowhere"),
    ({"relevant": "position(.) = 1"}, "'relevant': function not supported: 'position()'"),
    ({"kind": "calculate"}, "a calculate question needs 'calculation'"),
    ({"calculation": "1 + 1"}, "a calculate question needs 'calculation', and only it"),
    ({"choice_filter": "a = 1"}, "'choice_filter' belongs to choice questions"),
    ({"accepts": ["photo"]}, "'accepts' belongs to media questions"),
    ({"kind": "media", "accepts": ["video"]}, "'accepts' must list some of"),
    ({"text": "Hi ${who}"}, "refers to unknown question(s): who"),
    ({"id": "9lives"}, "starting with a letter or _"),
])
def test_format_2_refusals(change: dict[str, object], problem: str) -> None:
    question: dict[str, object] = {"id": "q", "kind": "text", "text": "Q"}
    top: dict[str, object] = {"format": 2}
    for key, value in change.items():
        (top if key == "format" else question)[key] = value
    if top["format"] is None:
        del top["format"]
    doc = {**top, "id": "x", "version": "1", "welcome": "w", "closing": "c",
           "safety_note": "s", "sections": [{"id": "s", "questions": [question]}]}
    with pytest.raises(FlowError) as refused:
        parse_questionnaire(doc, "form.toml")
    assert problem in str(refused.value)


def test_repeat_ids_may_not_collide(tmp_path: Path) -> None:
    doc = {"format": 2, "id": "x", "version": "1", "welcome": "w", "closing": "c",
           "safety_note": "s", "sections": [
               {"id": "kids", "repeat": {"max": 2},
                "questions": [{"id": "q", "kind": "text", "text": "Q"}]},
               {"id": "later", "questions": [{"id": "kids_another", "kind": "text",
                                              "text": "Q"}]}]}
    with pytest.raises(FlowError, match=r"duplicate id|repeat 'kids' needs this id"):
        parse_questionnaire(doc, "form.toml")
