"""What channels deliver: the engine's actions, rendered in the person's language."""

from __future__ import annotations

from dataclasses import dataclass

from bot.engine.text import Text


@dataclass(frozen=True)
class Button:
    key: str
    label: str
    selected: bool = False
    short: str | None = None  # the catalog's short form, for platforms with tight limits


@dataclass(frozen=True)
class Message:
    text: str
    source: Text | None = None  # what the engine said, before rendering (for a channel's rules)


@dataclass(frozen=True)
class Prompt:
    """A question. `token` ties its buttons to it; `refresh` re-draws an earlier prompt."""

    token: str
    text: str
    buttons: tuple[Button, ...] = ()
    multi: bool = False
    skip_label: str | None = None  # set when the question may be skipped
    refresh: bool = False
    language: str = ""  # what it is written in (for a channel's own words around it)


@dataclass(frozen=True)
class Toast:
    text: str


@dataclass(frozen=True)
class Answered:
    """The prompt with `token` is answered: show `summary`, remove its buttons."""

    token: str
    summary: str


@dataclass(frozen=True)
class WipeChat:
    """Remove this conversation from the person's device where the platform allows."""


@dataclass(frozen=True)
class SessionEnded:
    """The session is over: forget anything kept for it (e.g. message ids)."""


@dataclass(frozen=True)
class AnswerKept:
    """The person's last message was a written, spoken or photographed answer, and it is
    sealed and committed: a channel that cleans as it goes may now remove it from the chat."""

    kind: str  # "text", "number" or "media"


Outbound = Message | Prompt | Toast | Answered | WipeChat | SessionEnded | AnswerKept
