"""What a channel hands to the shared machinery, whatever the platform."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.engine import Event


@dataclass(frozen=True)
class Press:
    """A button (or list row) of the question `token`, by its position."""

    token: str
    position: int


@dataclass(frozen=True)
class Said:
    """The person sent a message (or pressed a button) in their private chat with the bot."""

    chat_id: str
    language_code: str | None
    event: Event | None  # None for a button press until its position is resolved
    event_id: str
    message_id: str | None = None  # the person's own message, for /exit and clean-as-you-go
    sent_at: datetime | None = None
    press: Press | None = None
    callback_id: str | None = None  # to acknowledge the press
    pressed_message_id: str | None = None  # the message whose button was pressed
    pressed_text: str | None = None


@dataclass(frozen=True)
class Edited:
    chat_id: str
    language_code: str | None


@dataclass(frozen=True)
class Blocked:
    """The person blocked the bot (or deleted the chat)."""

    chat_id: str


@dataclass(frozen=True)
class Ignored:
    reason: str
