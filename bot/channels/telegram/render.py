"""Rendered replies as Bot API parameters: plain text (never parse_mode: a translation can
never inject markup), texts split to Telegram's length limit, and inline keyboards."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from bot import outbound as out
from bot.channels.common.codec import encode_callback
from bot.channels.common.text import split_text as split_at_words
from bot.channels.common.text import utf16_len as utf16_len
from bot.engine.actions import SKIP_KEY

MAX_TEXT = 4096  # Bot API limit for a message's text, in UTF-16 code units
PROMPT_ROOM = 3800  # a question's last part leaves room for the answer shown under it
CHECK = "✓"
ANSWER_MARK = "→"

JSON = dict[str, Any]
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))  # as api.py sends JSON


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Parts of at most `limit` UTF-16 units, cut at a paragraph, line or space if possible."""
    return split_at_words(text, limit, utf16_len)


@dataclass(frozen=True)
class Keyboard:
    encoded: str | None  # the inline keyboard as the JSON the Bot API takes (reply_markup)
    keys: tuple[str, ...]  # key of each position, as encoded in the callback data

    @property
    def markup(self) -> JSON | None:
        """The keyboard as an object."""
        return json.loads(self.encoded) if self.encoded is not None else None


def keyboard(prompt: out.Prompt) -> Keyboard:
    """One button per row (labels are long in many languages); Skip last."""
    labels = tuple(f"{CHECK} {b.label}" if b.selected else b.label for b in prompt.buttons)
    keys = tuple(b.key for b in prompt.buttons)
    if prompt.skip_label:
        labels += (prompt.skip_label,)
        keys += (SKIP_KEY,)
    if not labels:
        return Keyboard(None, ())
    encode_callback(prompt.token, len(labels) - 1)  # checks the token and the largest one
    rows = ",".join(f'{row}{prompt.token}:{position}"}}]'
                    for position, row in enumerate(_rows(labels)))
    return Keyboard(f'{{"inline_keyboard":[{rows}]}}', keys)


@lru_cache(maxsize=2048)
def _rows(labels: tuple[str, ...]) -> tuple[str, ...]:
    """Each button's JSON up to its callback data. A keyboard is most of a request, and the
    same questions are asked in the same few languages over and over: their labels are
    encoded once, and only the token (checked to be plain `[A-Za-z0-9_.-]`, nothing to
    escape) and the position are put in per message. The result is the JSON that encoding
    the whole keyboard would give."""
    return tuple(f'[{{"text":{_JSON.encode(label)},"callback_data":"' for label in labels)


def answered_text(question: str, summary: str) -> str:
    """The question with the chosen answer under it, within the length limit."""
    shown = f"{question}\n\n{ANSWER_MARK} {summary}"
    if utf16_len(shown) <= MAX_TEXT:
        return shown
    return split_text(question, MAX_TEXT - utf16_len(summary) - 8)[0] + \
        f"…\n\n{ANSWER_MARK} {summary}"
