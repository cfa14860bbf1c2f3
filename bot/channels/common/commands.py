"""Reading typed text: `/commands` (after NFKC, so "／ｈｅｌｐ" is /help), and on platforms
without a command menu the command words typed alone, in every language ("skip", "تخطي",
"saltar"), matched against the whole message. The words come from the catalogs (context
`command-word`), like every other text."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from bot.channels.common.codec import campaign_code
from bot.engine import CommandIn, Event, Start, TextIn
from bot.engine.text import Text
from bot.i18n import Translator

COMMAND = re.compile(r"/([A-Za-z0-9_]{1,32})(?:@[A-Za-z0-9_]{3,64})?(?:\s+(.*))?", re.DOTALL)


def NC_(context: str, msgid: str) -> Text:
    """A text with a context, marked for extraction (`make extract` knows `NC_`)."""
    return Text(msgid, context=context)


# The commands a person may type as a plain word (the English word is the msgid).
# Translators: the word (or short phrase, lower case) a person types alone to give the
# command of the same name on WhatsApp; the /command keeps working too.
TYPED_COMMANDS = (
    NC_("command-word", "skip"),
    NC_("command-word", "back"),
    NC_("command-word", "stop"),
    NC_("command-word", "language"),
    NC_("command-word", "delete"),
    NC_("command-word", "help"),
)


def read_text(text: str) -> Event:
    # Invisible characters are not removed, so "/de\u200blete" is never taken for /delete.
    normalized = unicodedata.normalize("NFKC", text).strip()
    match = COMMAND.fullmatch(normalized) if normalized.startswith("/") else None
    if match is None:
        return TextIn(text)
    name, argument = match[1].lower(), (match[2] or "").strip()
    if name == "start":
        return Start(campaign=campaign_code(argument) if argument else None)
    return CommandIn(name, argument)


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().casefold()


class CommandWords:
    """Typed words that stand for a command, in every language the bot speaks."""

    def __init__(self, translator: Translator, languages: Iterable[str]) -> None:
        self.words: dict[str, str] = {}
        for text in TYPED_COMMANDS:
            name = text.msgid
            self.words[name] = name
            for language in languages:
                word = _fold(translator.render(text, language))
                if word:
                    self.words.setdefault(word, name)

    def command(self, text: str) -> CommandIn | None:
        name = self.words.get(_fold(text))
        return CommandIn(name) if name is not None else None
