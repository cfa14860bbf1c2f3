"""Writing an imported form: the flow file and one gettext catalog per language.

The folder it fills works as it is: `FLOW_FILE=DIR/flow.toml`, `LOCALES_DIR=DIR/locales`
(the bot falls back to its own catalogs for the interface and the consent text).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from bot.i18n import DEFAULT_LOCALES_DIR, DOMAIN, SOURCE_LANGUAGE
from bot.xlsform.reader import Imported
from bot.xlsform.toml_writer import dumps

FLOW_NAME = "flow.toml"
CONSENT_NAME = "consent.toml"


@dataclass(frozen=True)
class Written:
    flow: Path
    locales: Path
    catalogs: tuple[Path, ...]
    consent: Path | None


def catalog_path(locales: Path, language: str, suffix: str = "po") -> Path:
    return locales / language / "LC_MESSAGES" / f"{DOMAIN}.{suffix}"


def write_import(imported: Imported, out: Path, form_name: str,
                 consent: Path | None = None) -> Written:
    out.mkdir(parents=True, exist_ok=True)
    flow_file = out / FLOW_NAME
    flow_id = imported.doc["id"]
    header = (f"Imported from the XLSForm {form_name} by `testimony-bot flow import`.\n"
              f"Texts in {imported.source_language}; translations in locales/.")
    flow_file.write_text(dumps(imported.doc, header), encoding="utf-8")
    locales = out / "locales"
    catalogs: list[Path] = []
    shipped = _shipped_safety_notes(imported)
    if shipped:
        imported.sources["safety_note"] = imported.doc["safety_note"]
    for language, text in shipped.items():
        imported.texts.setdefault(language, {})["safety_note"] = text
    for language in imported.languages:
        if language == SOURCE_LANGUAGE:
            continue  # gettext's source language needs no catalog
        # A form without English keeps its texts in its default language; that language
        # still gets a catalog, so the language picker offers it under its own name.
        catalog = Catalog(locale=language, project=flow_id, fuzzy=False)
        for item, source in imported.sources.items():
            translated = imported.texts.get(language, {}).get(item, "")
            if translated and (translated != source or language == imported.source_language):
                catalog.add(source, translated, context=f"{flow_id}:{item}")
        po_file = catalog_path(locales, language)
        po_file.parent.mkdir(parents=True, exist_ok=True)
        with po_file.open("wb") as handle:
            write_po(handle, catalog, width=100)
        with catalog_path(locales, language, "mo").open("wb") as handle:
            write_mo(handle, catalog)
        catalogs.append(po_file)
    locales.mkdir(parents=True, exist_ok=True)
    copied = None
    if consent is not None:
        copied = out / CONSENT_NAME
        shutil.copyfile(consent, copied)
    return Written(flow_file, locales, tuple(catalogs), copied)


def _shipped_safety_notes(imported: Imported) -> dict[str, str]:
    """The shipped safety note's translations, for a form that brings none of its own."""
    from bot.xlsform.rules import DEFAULT_TEXTS

    if imported.doc.get("safety_note") != DEFAULT_TEXTS["safety_note"]:
        return {}
    found: dict[str, str] = {}
    for language in imported.languages:
        po_file = catalog_path(DEFAULT_LOCALES_DIR, language)
        if not po_file.is_file():
            continue
        with po_file.open("rb") as handle:
            message = read_po(handle).get(DEFAULT_TEXTS["safety_note"],
                                          context="imrf-testimony:safety_note")
        if message is not None and message.string and not message.fuzzy:
            found[language] = str(message.string)
    return found
