"""Questions within WhatsApp's limits: buttons, lists and numbered text, short labels from
the catalogs or cut after a whole word, never in the middle of one."""

from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo

from bot import outbound as out
from bot.channels.common.text import shorten
from bot.channels.whatsapp.render import render_prompt
from bot.engine.actions import DONE_KEY
from bot.engine.text import Text, flow_text
from bot.i18n import Translator


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
