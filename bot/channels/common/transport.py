"""The small interface a platform adapter implements, and what it says it can do."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from bot import outbound as out


class TransportError(Exception):
    """The platform refused or failed a call (its message never holds content)."""


class Unreachable(TransportError):
    """The person cannot be written to any more (blocked the bot, deleted the account)."""


@dataclass(frozen=True)
class Capabilities:
    """What the platform allows; texts and rules consult this, never the channel's name."""

    can_delete: bool  # the bot may remove messages (its own and the person's) from the chat
    deletable_for: timedelta = timedelta(0)  # ... for this long after they were sent
    can_edit: bool = True  # an answered question can be changed in place
    toasts: bool = True  # a press can be answered with a passing note (else: a message)
    typed_choices: bool = False  # options are also chosen by typing their numbers
    max_text: int = 4096  # the longest text message, as `measure` counts
    # How long after the person's last message the bot may still write to them on its own
    # (a reminder they asked for); None: any time. Beyond it only an approved template goes.
    reply_window: timedelta | None = None
    measure: Callable[[str], int] = len


@dataclass(frozen=True)
class Sent:
    message_id: str
    sent_at: datetime


@dataclass
class SentPrompt:
    """A question as sent: its message, its text (last part) and the key of each option
    position, to map a press (or a typed number) back to the engine's key."""

    message_id: str
    text: str
    keys: tuple[str, ...]
    multi: bool = False
    sent: list[Sent] = field(default_factory=list)  # every message it took, for /exit
    token: str = ""  # the engine's token of the question


class Transport(Protocol):
    capabilities: Capabilities

    async def send_text(self, chat: str, text: str) -> Sent: ...

    async def send_prompt(self, chat: str, prompt: out.Prompt,
                          replacing: SentPrompt | None) -> SentPrompt:
        """Send the question with its options; `replacing` is the same question sent
        before (a multi-choice toggle): edit it in place where the platform can."""
        ...

    def option_keys(self, prompt: out.Prompt) -> tuple[str, ...]:
        """The engine's key at each option position, as `send_prompt` would lay them out."""
        ...

    async def settle(self, chat: str, prompt: SentPrompt, summary: str) -> None:
        """The question is answered: take its options away, show `summary` if not empty."""
        ...

    async def delete(self, chat: str, message_ids: list[str]) -> None: ...

    async def acknowledge(self, press_id: str, toast: str | None) -> None:
        """Stop a pressed button's spinner, with a passing note if any."""
        ...

    async def send_photo(self, chat: str, png: bytes, caption: str) -> None: ...

    def detach(self) -> None:
        """Work continues after the request that brought it was answered."""
        ...
