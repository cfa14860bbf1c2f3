"""Questions within WhatsApp's limits: buttons, lists and numbered text, short labels from
the catalogs or cut after a whole word, never in the middle of one."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot import outbound as out
from bot.channels.common.text import shorten
from bot.channels.whatsapp.render import MAX_BUTTON_TITLE, MAX_ROWS, render_prompt
from bot.engine.actions import DONE_KEY
from bot.engine.messages import SKIP_BUTTON
from bot.engine.text import Text, flow_text
from bot.flow import load_questionnaire
from bot.flow.model import QuestionKind
from bot.i18n import Translator
from tests.conftest import DEFAULT_FLOWS, ROOT


def english(text: Text) -> str:
    return text.msgid


def prompt(*labels: str, multi: bool = False, skip: bool = False,
           shorts: tuple[str | None, ...] = ()) -> out.Prompt:
    buttons = tuple(out.Button(f"k{n}", label, short=shorts[n] if n < len(shorts) else None)
                    for n, label in enumerate(labels))
    if multi:
        buttons += (out.Button(DONE_KEY, "Done"),)
    return out.Prompt("abc.1", "Which?", buttons, multi=multi,
                      skip_label="Skip" if skip else None)


def test_up_to_three_short_answers_are_buttons() -> None:
    rendered = render_prompt(prompt("Yes", "No", skip=True), english)
    interactive = rendered.payload["interactive"]
    assert interactive["type"] == "button"
    assert [b["reply"]["title"] for b in interactive["action"]["buttons"]] == [
        "Yes", "No", "Skip"]
    assert rendered.keys == ("k0", "k1", "~skip")


def test_longer_labels_become_a_list_with_the_whole_label_described() -> None:
    rendered = render_prompt(prompt("Care and domestic work", "Farming and agriculture",
                                    "Hotels, restaurants, cleaning", "Other"), english)
    rows = rendered.payload["interactive"]["action"]["sections"][0]["rows"]
    assert [r["title"] for r in rows] == ["Care and domestic work", "Farming and agriculture",
                                          "Hotels, restaurants…", "Other"]
    assert rows[2]["description"] == "Hotels, restaurants, cleaning"
    assert all(len(r["title"]) <= 24 for r in rows)


def test_many_answers_and_several_answers_are_numbered() -> None:
    many = render_prompt(prompt(*(f"Region {n}" for n in range(12))), english)
    assert many.payload["type"] == "text"
    assert "12. Region 11" in many.payload["text"]["body"]
    several = render_prompt(prompt("Wages", "Health", multi=True), english)
    body = several.payload["text"]["body"]
    assert "1. Wages\n2. Health" in body and "Done" not in body  # the numbers end it
    assert several.keys == ("k0", "k1")


def test_labels_are_cut_after_a_whole_word_or_not_at_all() -> None:
    assert shorten("Work and pay, including wages not paid", 20) == "Work and pay…"
    assert shorten("Discrimination", 20) == "Discrimination"
    assert shorten("Antidisestablishmentarianism", 20) is None
    unbreakable = render_prompt(prompt("Antidisestablishmentarianism-long", "Other"), english)
    assert unbreakable.payload["type"] == "text"  # numbered: nothing cut in half


def test_short_forms_come_from_the_catalog(tmp_path: Path) -> None:
    text = flow_text("default", "sector.care_domestic", "Care and domestic work")
    catalog = Catalog(locale="sw")
    catalog.add("Care and domestic work", "Kazi za nyumbani", context=f"{text.context}|short")
    target = tmp_path / "sw" / "LC_MESSAGES" / "messages.mo"
    target.parent.mkdir(parents=True)
    with target.open("wb") as handle:
        write_mo(handle, catalog)
    translator = Translator(tmp_path)
    assert translator.short(text, "sw") == "Kazi za nyumbani"
    assert translator.short(text, "en") is None  # no short form: cut after a word instead
    rendered = render_prompt(prompt("Care and domestic work", "Farming", shorts=(
        translator.short(text, "sw"),)), english)
    assert [b["reply"]["title"] for b in rendered.payload["interactive"]["action"][
        "buttons"]] == ["Kazi za nyumbani", "Farming"]


def test_long_answer_labels_get_an_optional_short_form_slot_in_the_catalogs() -> None:
    from bot.flow.extract import SHORT_FORM_OVER, extract_flow

    flows = Path(__file__).resolve().parent.parent / "bot" / "flows"
    with (flows / "default.toml").open("rb") as handle:
        extracted = {context: text for _, _, (context, text), _ in
                     extract_flow(handle, None, None, None)}
    short = {c: t for c, t in extracted.items() if c.endswith("|short")}
    assert "imrf-testimony:sector.care_domestic|short" not in short  # 22: fits a list row
    assert short["imrf-testimony:themes.wages|short"] == "Work and pay, including wages not paid"
    assert all(len(text) > SHORT_FORM_OVER for text in short.values())
    pot = (flows.parent.parent / "locales" / "messages.pot").read_text(encoding="utf-8")
    assert all(f'msgctxt "{context}"' in pot for context in short)


SHORT_CONTEXT = "|short"


def shipped_catalogs() -> list[Path]:
    return sorted((ROOT / "locales").glob("*/LC_MESSAGES/messages.po"))


@pytest.mark.parametrize("po_path", shipped_catalogs(), ids=lambda p: p.parent.parent.name)
def test_every_catalog_has_every_short_form_within_a_button_title(po_path: Path) -> None:
    """Translators are told "at most 20 characters": the button title limit, the tighter of
    WhatsApp's two, so one short form serves a button and a list row alike. Measured as the
    renderer measures (characters, not bytes)."""
    with po_path.open("rb") as handle:
        catalog = read_po(handle, locale=po_path.parent.parent.name)
    shorts = {m.context: m.string for m in catalog
              if m.id and m.context and m.context.endswith(SHORT_CONTEXT)}
    assert len(shorts) == len(short_form_contexts())
    problems = [f"{context}: empty" for context, short in shorts.items() if not short]
    problems += [f"{context}: {short!r} is {len(short)} characters"
                 for context, short in shorts.items() if len(short) > MAX_BUTTON_TITLE]
    assert not problems, "\n".join(problems)


def short_form_contexts() -> set[str]:
    with (ROOT / "locales" / "messages.pot").open("rb") as handle:
        return {m.context for m in read_po(handle)
                if m.id and m.context and m.context.endswith(SHORT_CONTEXT)}


@pytest.mark.parametrize("language", ["en", *(p.parent.parent.name for p in shipped_catalogs())])
def test_every_single_answer_question_of_ten_or_fewer_is_tappable_in_every_language(
        language: str) -> None:
    """With the catalogs' short forms (and the cut after a word for the rest), no question
    that WhatsApp could show as buttons or a list falls back to typing numbers."""
    flow = load_questionnaire(DEFAULT_FLOWS / "default.toml")
    translator = Translator()
    checked = 0
    for question in flow.questions:
        if question.kind is not QuestionKind.SINGLE or not question.choices:
            continue
        labels = [flow_text(flow.id, f"{question.context_id}.{c.id}", c.label)
                  for c in question.choices]
        buttons = tuple(out.Button(c.id, translator.render(label, language),
                                   short=translator.short(label, language))
                        for c, label in zip(question.choices, labels, strict=True))
        skip = translator.render(SKIP_BUTTON, language) if question.optional else None
        if len(buttons) + (skip is not None) > MAX_ROWS:
            continue
        rendered = render_prompt(out.Prompt("abc.1", "?", buttons, skip_label=skip),
                                 lambda text: translator.render(text, language))
        assert rendered.payload["type"] == "interactive", (language, question.id)
        checked += 1
    assert checked > 10
