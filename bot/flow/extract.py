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
from bot.flow.model import ConsentText, Questionnaire

# (line number, function name, (context, message), comments): babel's extractor protocol;
# the "pgettext" keyword tells babel that the first element is the context.
Extracted = tuple[int, str, tuple[str, str], list[str]]


def flow_messages(flow: Questionnaire | ConsentText) -> Iterator[tuple[str, str, str]]:
    """(context, English text, note for translators) for every text in a flow."""
    if isinstance(flow, ConsentText):
        yield f"{flow.id}:intro", flow.intro, "Consent: introduction read before agreeing"
        if flow.chat_app:
            yield (f"{flow.id}:chat_app", flow.chat_app,
                   "Consent: what the chat app (Telegram) sees and what the bot can remove")
        if flow.contact:
            yield (f"{flow.id}:contact", flow.contact,
                   "Consent: how to reach the organisation (each deployer edits it)")
        for item in flow.items:
            yield f"{flow.id}:{item.id}", item.text, f"Consent item ({item.kind})"
            yield f"{flow.id}:{item.id}.yes", item.yes, "Consent button: agree"
            yield f"{flow.id}:{item.id}.no", item.no, "Consent button: do not agree"
        return
    yield f"{flow.id}:welcome", flow.welcome, "Said once consent is given"
    yield f"{flow.id}:closing", flow.closing, "Thanks at the end"
    yield f"{flow.id}:safety_note", flow.safety_note, "Safety and support note at the end"
    for section in flow.sections:
        if section.title:
            yield f"{flow.id}:section.{section.id}", section.title, "Section title"
        for qid in section.question_ids:
            question = flow.question(qid)
            yield f"{flow.id}:{qid}", question.text, f"Question ({question.kind})"
            for choice in question.choices:
                yield (f"{flow.id}:{qid}.{choice.id}", choice.label,
                       f"Answer button for question {qid}")


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
