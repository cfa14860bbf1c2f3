"""What a person did, in platform-neutral terms."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Start:
    """The person opened the bot (`/start`, possibly with a campaign code)."""

    campaign: str | None = None
    language_hint: str | None = None  # a supported language code, negotiated by the caller


@dataclass(frozen=True)
class TextIn:
    text: str


@dataclass(frozen=True)
class ChoiceIn:
    """A button was pressed: `token` names the question it belonged to."""

    token: str
    key: str


@dataclass(frozen=True)
class CommandIn:
    name: str  # without the slash, lower case: stop, skip, back, language, delete, help, exit
    argument: str = ""


@dataclass(frozen=True)
class MediaRef:
    """Where the channel can fetch the bytes later; the engine never sees them."""

    kind: str  # voice | audio | photo
    reference: str
    mime_type: str
    size: int | None = None
    duration: int | None = None


@dataclass(frozen=True)
class MediaIn:
    media: MediaRef


@dataclass(frozen=True)
class Unsupported:
    """Something we do not take: a sticker, a location, a contact, a video…"""

    kind: str


@dataclass(frozen=True)
class Repeat:
    """An event arrived again: the replies to it may never have reached the person (the bot
    stopped between saving and sending). Show the current question again; change nothing."""


@dataclass(frozen=True)
class Quiet:
    """Not something the person did: they have been quiet for a while in the middle of the
    questionnaire (the caller's clock, in memory, says so, and where several workers share
    the database, their state's `heard_at` that no other worker heard from them since; the
    caller also keeps the channel's reply window and the quiet hours). The one moment a
    reminder may be offered unasked."""


Event = Start | TextIn | ChoiceIn | CommandIn | MediaIn | Unsupported | Repeat | Quiet
