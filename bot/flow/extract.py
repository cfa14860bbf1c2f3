"""A babel extractor for flow files, registered as `testimony_flow` (see babel.cfg).

Every text in a consent or questionnaire file becomes a catalog entry whose context is
`FLOW:ITEM` (for example `imrf-testimony:wages_story`), so two identical English strings in
different places can be translated differently and a changed question turns fuzzy.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from typing import IO, Any

from bot.flow.loader import parse_any
from bot.flow.texts import flow_messages

SHORT_FORM_OVER = 24  # answer labels longer than this get an optional short form
SHORT_FORM_NOTE = ("Optional short form of this answer, at most 20 characters, for WhatsApp's "
                   "buttons and lists. Leave it empty and the bot shortens the label after a "
                   "whole word.")

# (line number, function name, (context, message), comments): babel's extractor protocol;
# the "pgettext" keyword tells babel that the first element is the context.
Extracted = tuple[int, str, tuple[str, str], list[str]]


def extract_flow(fileobj: IO[bytes], keywords: Any, comment_tags: Any,
                 options: Any) -> Iterator[Extracted]:
    raw = fileobj.read()
    name = getattr(fileobj, "name", "<flow>")
    source = raw.decode("utf-8")
    flow = parse_any(tomllib.loads(source), name)
    lines = source.splitlines()
    for context, text, note in flow_messages(flow):
        probe = text.splitlines()[0][:40]
        lineno = next((n for n, line in enumerate(lines, 1) if probe in line), 0)
        yield lineno, "pgettext", (context, text), [note]
        if note.startswith(("Answer button", "Consent button")) and len(text) > SHORT_FORM_OVER:
            # Context `<context>|short`, which bot.i18n.Translator.short looks up.
            yield lineno, "pgettext", (f"{context}|short", text), [SHORT_FORM_NOTE]
