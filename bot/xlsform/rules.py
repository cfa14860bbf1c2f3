"""What an XLSForm import takes, leaves out and refuses, and how a refusal reads."""

from __future__ import annotations

import gettext
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from bot.engine.text import N_

SURVEY, CHOICES, SETTINGS = "survey", "choices", "settings"
# Types that identify the person or their device: never collected.
IDENTIFYING = {
    "deviceid": "the device's id", "phonenumber": "the phone number",
    "subscriberid": "the SIM subscriber id", "simserial": "the SIM serial number",
    "email": "the person's e-mail address", "username": "the person's user name",
    "start-geopoint": "where the person is", "background-audio": "a recording made in secret",
    "audit": "a log of the person's device activity",
}
LOCATION = {"geopoint", "geotrace", "geoshape"}
CANNOT_CHAT = {
    "barcode": "a chat cannot scan barcodes", "video": "videos are not taken (too large and "
    "they show faces)", "file": "files are not taken", "xml-external": "external data is not "
    "read", "csv-external": "external data is not read", "rank": "ranking cannot be asked in a "
    "chat", "hidden": "hidden values are not supported", "select_one_from_file .xml":
    "use a CSV file", "begin_rank": "ranking cannot be asked in a chat",
}
METADATA = {"start", "end", "today"}  # timestamps of the visit: left out, nothing asked
KINDS = {
    "text": "text", "integer": "number", "decimal": "decimal", "date": "date", "note": "note",
    "acknowledge": "acknowledge", "trigger": "acknowledge", "calculate": "calculate",
    "select one": "single", "select all that apply": "multi", "audio": "media",
    "image": "media", "photo": "media", "range": "number", "select one from file": "single",
    "select all that apply from file": "multi",
}
SPECIAL_NOTES = ("welcome", "closing", "safety_note")
SHIPPED_FLOW = Path(__file__).resolve().parent.parent / "flows" / "default.toml"
SHIPPED_LOCALES = Path(__file__).resolve().parent.parent.parent / "locales"
DEFAULT_TEXTS = {
    "closing": "Thank you. Your answers have been saved.",
    # the shipped questionnaire's safety note fits any form, and is translated already
    "safety_note": tomllib.loads(SHIPPED_FLOW.read_text(encoding="utf-8"))["safety_note"],
}
# What pyxform writes for `or_other`, in English only; the bot words it itself, translated.
PYXFORM_OTHER, PYXFORM_SPECIFY = "Other", "Specify other."
OTHER_CHOICE = N_("Other")
OTHER_QUESTION = N_("Please say what it is.")
TRUE_WORDS = {"yes", "true", "true()", "1"}
FALSE_WORDS = {"", "no", "false", "false()", "0"}


@dataclass(frozen=True)
class Refusal:
    sheet: str
    row: int  # 0 when it concerns the whole sheet or file
    problem: str  # what is wrong, and what to change

    def __str__(self) -> str:
        where = f"{self.sheet} sheet, row {self.row}" if self.row else f"{self.sheet}"
        return f"{where}: {self.problem}"


class FormRefused(Exception):
    """The form cannot be used as it is; every refusal says where and what to change."""

    def __init__(self, refusals: list[Refusal], took: list[str] | None = None) -> None:
        super().__init__("; ".join(str(r) for r in refusals))
        self.refusals = refusals
        self.took = took or []


def shipped_translation(msgid: str, language: str) -> str | None:
    """An interface sentence in the bot's own catalog for `language`, if translated."""
    catalog = gettext.translation("messages", localedir=SHIPPED_LOCALES, languages=[language],
                                  fallback=True)
    translated = catalog.gettext(msgid)
    return translated if translated != msgid else None


def row_of(message: str) -> int:
    """The row pyxform names in an error message, or 0."""
    match = re.search(r"\[row : (\d+)\]", message)
    return int(match[1]) if match else 0
