"""A question as WhatsApp messages, within WhatsApp's limits.

- Up to 3 answers (Skip counted) whose labels fit 20 characters: reply buttons.
- Up to 10 answers whose labels fit 24 characters: a list message; a label that had to be
  shortened is shown whole as the row's description (up to 72 characters).
- Anything else, and every several-answers question: numbered text ("1. …"), answered by
  typing the numbers.
Labels are shortened with the catalog's short form where there is one, else after a whole
word (never in the middle of one); a label that cannot be shortened makes the question
numbered. Message texts are plain (WhatsApp formatting characters are not interpreted by us).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot import outbound as out
from bot.channels.common.codec import encode_callback
from bot.channels.common.text import shorten, split_text
from bot.channels.whatsapp import texts
from bot.engine.actions import DONE_KEY, SKIP_KEY
from bot.engine.text import Text

MAX_TEXT = 4096  # a text message's body
MAX_BODY = 1024  # an interactive message's body
MAX_BUTTONS = 3
MAX_BUTTON_TITLE = 20
MAX_ROWS = 10
MAX_ROW_TITLE = 24
MAX_ROW_DESCRIPTION = 72
MAX_LIST_BUTTON = 20
CHECK = "✓"

JSON = dict[str, Any]
Translate = Callable[[Text], str]


@dataclass(frozen=True)
class Rendered:
    before: list[str]  # plain texts sent first (the start of a long question)
    payload: JSON  # the message that carries the answers (without its recipient)
    keys: tuple[str, ...]  # the engine's key of each position (button, row or number)


def text_payload(text: str) -> JSON:
    return {"type": "text", "text": {"body": text, "preview_url": False}}


def render_prompt(prompt: out.Prompt, translate: Translate) -> Rendered:
    options = [b for b in prompt.buttons if not (prompt.multi and b.key == DONE_KEY)]
    labels = [f"{CHECK} {b.label}" if b.selected else b.label for b in options]
    shorts = [b.short for b in options]
    keys = tuple(b.key for b in options)
    if prompt.skip_label and not prompt.multi:
        labels.append(prompt.skip_label)
        shorts.append(None)
        keys += (SKIP_KEY,)
    if not labels:
        parts = split_text(prompt.text, MAX_TEXT)
        return Rendered(parts[:-1], text_payload(parts[-1]), ())
    if not prompt.multi:
        if len(labels) <= MAX_BUTTONS:
            titles = _titles(labels, shorts, MAX_BUTTON_TITLE)
            if titles is not None:
                return _buttons(prompt, titles, keys)
        if len(labels) <= MAX_ROWS:
            titles = _titles(labels, shorts, MAX_ROW_TITLE)
            if titles is not None:
                return _list(prompt, labels, titles, keys, translate)
    return _numbered(prompt, labels, keys, translate)


def _titles(labels: list[str], shorts: list[str | None], limit: int) -> list[str] | None:
    titles = []
    for label, short in zip(labels, shorts, strict=True):
        if len(label) > limit and short and len(short) <= limit:
            title: str | None = short  # the translator's own short form
        else:
            title = shorten(label, limit)  # the label itself when it fits
        if title is None:
            return None
        titles.append(title)
    return titles if len(set(titles)) == len(titles) else None  # each must stay distinct


def _body(text: str) -> tuple[list[str], str]:
    parts = split_text(text, MAX_BODY)
    return parts[:-1], parts[-1]


def _buttons(prompt: out.Prompt, titles: list[str], keys: tuple[str, ...]) -> Rendered:
    before, body = _body(prompt.text)
    buttons = [{"type": "reply", "reply": {"id": encode_callback(prompt.token, position),
                                           "title": title}}
               for position, title in enumerate(titles)]
    return Rendered(before, {"type": "interactive", "interactive": {
        "type": "button", "body": {"text": body}, "action": {"buttons": buttons}}}, keys)


def _list(prompt: out.Prompt, labels: list[str], titles: list[str], keys: tuple[str, ...],
          translate: Translate) -> Rendered:
    before, body = _body(prompt.text)
    rows = []
    for position, (label, title) in enumerate(zip(labels, titles, strict=True)):
        row: JSON = {"id": encode_callback(prompt.token, position), "title": title}
        if title != label:
            row["description"] = shorten(label, MAX_ROW_DESCRIPTION) or \
                label[:MAX_ROW_DESCRIPTION - 1] + "…"
        rows.append(row)
    button = shorten(translate(texts.CHOOSE), MAX_LIST_BUTTON) or "…"
    return Rendered(before, {"type": "interactive", "interactive": {
        "type": "list", "body": {"text": body},
        "action": {"button": button, "sections": [{"rows": rows}]}}}, keys)


def _numbered(prompt: out.Prompt, labels: list[str], keys: tuple[str, ...],
              translate: Translate) -> Rendered:
    lines = "\n".join(f"{number}. {label}" for number, label in enumerate(labels, start=1))
    hint = translate(texts.REPLY_MANY if prompt.multi else texts.REPLY_ONE)
    parts = split_text(f"{prompt.text}\n\n{lines}\n\n{hint}", MAX_TEXT)
    return Rendered(parts[:-1], text_payload(parts[-1]), keys)
