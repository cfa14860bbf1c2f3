"""Rendered replies as Bot API parameters: plain text (never parse_mode: a translation can
never inject markup), texts split to Telegram's length limit, and inline keyboards."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot import outbound as out
from bot.channels.telegram.codec import encode_callback
from bot.engine.actions import SKIP_KEY

MAX_TEXT = 4096  # Bot API limit for a message's text, in UTF-16 code units
PROMPT_ROOM = 3800  # a question's last part leaves room for the answer shown under it
CHECK = "✓"
ANSWER_MARK = "→"

JSON = dict[str, Any]


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Parts of at most `limit` UTF-16 units, cut at a paragraph, line or space if possible."""
    text = text.strip() or "…"
    parts: list[str] = []
    while utf16_len(text) > limit:
        cut = _cut_point(text, limit)
        parts.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    parts.append(text)
    return [p for p in parts if p]


def _cut_point(text: str, limit: int) -> int:
    # Largest prefix within the limit (UTF-16 counts astral characters twice).
    end = min(len(text), limit)
    while utf16_len(text[:end]) > limit:
        end -= 1
    window = text[:end]
    for separator in ("\n\n", "\n", " "):
        at = window.rfind(separator)
        if at > end // 2:
            return at + len(separator)
    return end


@dataclass(frozen=True)
class Keyboard:
    markup: JSON | None
    keys: tuple[str, ...]  # key of each position, as encoded in the callback data


def keyboard(prompt: out.Prompt) -> Keyboard:
    """One button per row (labels are long in many languages); Skip last."""
    labels = [(b.key, f"{CHECK} {b.label}" if b.selected else b.label) for b in prompt.buttons]
    if prompt.skip_label:
        labels.append((SKIP_KEY, prompt.skip_label))
    if not labels:
        return Keyboard(None, ())
    encode_callback(prompt.token, len(labels) - 1)  # checks the token and the largest one
    rows = [[{"text": label, "callback_data": f"{prompt.token}:{position}"}]
            for position, (_, label) in enumerate(labels)]
    return Keyboard({"inline_keyboard": rows}, tuple(key for key, _ in labels))


def answered_text(question: str, summary: str) -> str:
    """The question with the chosen answer under it, within the length limit."""
    shown = f"{question}\n\n{ANSWER_MARK} {summary}"
    if utf16_len(shown) <= MAX_TEXT:
        return shown
    return split_text(question, MAX_TEXT - utf16_len(summary) - 8)[0] + \
        f"…\n\n{ANSWER_MARK} {summary}"
