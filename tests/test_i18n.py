"""Translation catalogs: complete, faithful to placeholders, covering every flow text; and a
changed English source falls back to English until a translator confirms it."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

from bot.engine.text import Text
from bot.flow import load_consent, load_questionnaire
from bot.flow.extract import flow_messages
from bot.i18n import Translator, language_name, negotiate
from tests.conftest import DEFAULT_FLOWS, ROOT, TEST_FLOWS

LOCALES = ROOT / "locales"
REQUIRED = {"en", "es", "fr", "ar", "pt", "tl", "id", "ne", "hi", "bn", "am", "sw"}
PLACEHOLDER = re.compile(r"\{(\w*)\}")
COMMANDS = re.compile(r"/(start|stop|skip|back|language|delete|exit|help)\b")


def catalogs() -> list[Path]:
    return sorted(LOCALES.glob("*/LC_MESSAGES/messages.po"))


def template() -> dict[tuple[str | None, str], object]:
    with (LOCALES / "messages.pot").open("rb") as handle:
        pot = read_po(handle)
    return {(m.context, m.id if isinstance(m.id, str) else m.id[0]): m for m in pot if m.id}


def test_every_required_language_ships() -> None:
    shipped = {p.parent.parent.name for p in catalogs()} | {"en"}
    assert shipped >= REQUIRED, f"missing catalogs: {sorted(REQUIRED - shipped)}"


def test_template_is_up_to_date_with_the_flows() -> None:
    """Each flow's extraction covers every text in the flow file."""
    entries = template()
    flows = [load_questionnaire(DEFAULT_FLOWS / "default.toml"),
             load_consent(DEFAULT_FLOWS / "consent.toml")]
    for flow in flows:
        for context, text, _ in flow_messages(flow):
            assert (context, text) in entries, (
                f"{flow.source}: '{context}' is not in locales/messages.pot; run `make i18n`")


@pytest.mark.parametrize("po_path", catalogs(), ids=lambda p: p.parent.parent.name)
def test_catalog_is_complete_and_faithful(po_path: Path) -> None:
    language = po_path.parent.parent.name
    with po_path.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    problems: list[str] = []
    translated = {(m.context, m.id if isinstance(m.id, str) else m.id[0]): m
                  for m in catalog if m.id}
    for key in template():
        message = translated.get(key)
        if message is None:
            problems.append(f"{language}: missing {key[0] or ''} {key[1][:60]!r}")
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        sources = message.id if isinstance(message.id, tuple) else (message.id,)
        if not message.fuzzy and not all(strings) and (key[0] or "").endswith("|short"):
            continue  # a short form is optional: without one the bot shortens the label
        if message.fuzzy or not all(strings):
            problems.append(f"{language}: untranslated or fuzzy {key[0] or ''} {key[1][:60]!r}")
            continue
        expected = set(PLACEHOLDER.findall(sources[0]))
        expected_commands = set(COMMANDS.findall(sources[0]))
        for text in strings:
            if set(PLACEHOLDER.findall(text)) != expected:
                problems.append(f"{language}: placeholders differ in {key[1][:60]!r}: {text!r}")
            if not expected_commands <= set(COMMANDS.findall(text)):
                problems.append(f"{language}: a /command is missing in {key[1][:60]!r}")
    assert not problems, "\n".join(problems[:30])
    assert catalog.plural_forms, f"{language}: no Plural-Forms header"


@pytest.mark.parametrize("po_path", catalogs(), ids=lambda p: p.parent.parent.name)
def test_catalog_compiles(po_path: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "compile", "--domain", "messages",
         "--input-file", str(po_path), "--output-file", str(tmp_path / "m.mo")],
        capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "error" not in result.stderr.lower()


def test_language_names_are_in_their_own_script() -> None:
    assert language_name("ar") == "العربية"
    assert language_name("tl") == "Tagalog"
    assert language_name("es") == "Español"
    assert language_name("am") == "አማርኛ"


@pytest.mark.parametrize(("offered", "expected"),
                         [("pt-br", "pt"), ("fil", "tl"), ("ar", "ar"), ("de", None),
                          (None, None)])
def test_negotiation_from_telegram_language_codes(offered: str | None,
                                                  expected: str | None) -> None:
    assert negotiate(offered, ("en", "ar", "pt", "tl")) == expected


def test_numbers_use_the_locale_and_plurals_its_forms(tmp_path: Path) -> None:
    locales = tmp_path / "locales"
    (locales / "ar" / "LC_MESSAGES").mkdir(parents=True)
    from babel.messages.catalog import Catalog

    catalog = Catalog(locale="ar")
    catalog.add(("{count} answer", "{count} answers"),
                ("{count} صفر", "{count} واحد", "{count} اثنان", "{count} قليل", "{count} كثير",
                 "{count} أخرى"))
    with (locales / "ar" / "LC_MESSAGES" / "messages.mo").open("wb") as handle:
        write_mo(handle, catalog)
    translator = Translator(locales)
    for count, form in ((3, "قليل"), (1234, "كثير"), (2, "اثنان")):
        plural = Text("{count} answer", params=(("count", count),), plural="{count} answers",
                      count=count)
        assert translator.render(plural, "ar") == f"{format_decimal(count, locale='ar')} {form}"
    many = Text("{count} answer", params=(("count", 1234),), plural="{count} answers",
                count=1234)
    assert translator.render(many, "en") == "1,234 answers"


def test_changed_english_source_turns_fuzzy_and_falls_back_to_english(tmp_path: Path) -> None:
    """The real pipeline: extract -> update -> compile, as `make i18n` runs it."""
    flows = tmp_path / "bot" / "flows"
    flows.mkdir(parents=True)
    shutil.copy(TEST_FLOWS / "mini.toml", flows / "mini.toml")
    (tmp_path / "babel.cfg").write_text("[testimony_flow: bot/flows/*.toml]\n")
    pot, po = tmp_path / "messages.pot", tmp_path / "locales/es/LC_MESSAGES/messages.po"

    def babel(*args: str) -> None:
        subprocess.run([sys.executable, "-m", "babel.messages.frontend", *args], cwd=tmp_path,
                       check=True, capture_output=True)

    babel("extract", "-F", "babel.cfg", "-o", str(pot), ".")
    babel("init", "-D", "messages", "-i", str(pot), "-d", "locales", "-l", "es")
    with po.open("rb") as handle:
        catalog = read_po(handle)
    for message in catalog:
        if message.id:
            message.string = f"ES {message.id}"
    from babel.messages.pofile import write_po

    with po.open("wb") as handle:
        write_po(handle, catalog)
    source = (flows / "mini.toml").read_text()
    (flows / "mini.toml").write_text(source.replace("Pick themes.", "Pick the themes."))
    babel("extract", "-F", "babel.cfg", "-o", str(pot), ".")
    babel("update", "-D", "messages", "-i", str(pot), "-d", "locales", "-l", "es")
    with po.open("rb") as handle:
        updated = {m.context: m for m in read_po(handle) if m.id}
    assert updated["mini:themes"].fuzzy
    assert not updated["mini:sector"].fuzzy
    babel("compile", "-D", "messages", "-d", "locales")
    translator = Translator(tmp_path / "locales")
    assert translator.render(Text("Pick the themes.", "mini:themes"), "es") == "Pick the themes."
    assert translator.render(Text("Where do you work?", "mini:sector"), "es") == (
        "ES Where do you work?")
