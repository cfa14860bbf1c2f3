"""The one saved form of a working state, and how older saved forms are read.

Saved states outlive the code that wrote them: an upgrade must not strand the people who are
in the middle of a questionnaire. So the saved form carries a version, fields missing from an
older form get their defaults, fields this code does not know are ignored, and a state that
cannot be read at all raises `UnreadableState` (the caller starts the person again, kindly).

Before consent a state is never saved (nothing is stored before consent). With several
workers sharing a database it travels instead in the buttons drawn before consent, in a
compact, authenticated form of its own with its own version byte (bot/button_state.py): a
field added to SessionState is listed there too, and one that matters before consent gets a
place in that form and a new version of it (a button of another version is refused, and the
person begins again, kindly).

Form (JSON): {"version": 2, "state": {field: value, ...}, ...extras}. Extras belong to the
caller (the orchestrator keeps the ids of recent events there).

History of the form:
- unversioned, a bare object of fields (the first `SessionState.to_json`);
- unversioned, {"state": "<that object as a JSON string>", "seen": [...]};
- unversioned ("version 1"), {"state": {fields}, "seen": [...]};
- 2: the same with a version;
- 3: `overlay_seq`: a detour (language change, delete confirmation) numbers its buttons apart
  from the question it interrupts, which keeps its number while it is asked again.
- 4: reminders on request (`reminders_asked`, `reminder_pending`, `reminded`, and the
  caller's `reminder_options`); the detour `reminder`. Older forms take the defaults.
- 5: `reminder_offered`: a reminder was offered in this session (after a quiet while it is
  offered only once). Older forms take the default (not offered).
- 6: `heard_at`: when the person last wrote mid-questionnaire (kept only where several
  workers share the database). Older forms read as not known (None): no worker then makes
  the offer after a quiet while until the person writes again.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import MISSING, fields
from datetime import datetime
from typing import Any

import orjson

from bot.engine.state import Overlay, Phase, SessionState

STATE_VERSION = 6


class UnreadableState(ValueError):
    """A saved state that no decoder can make sense of (damaged, or not a state at all)."""


def _plain(value: object) -> object:
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


# States are saved after every answer: orjson writes tuples as arrays and the StrEnums as
# their values natively; only mappings other than dicts need `_plain`. (`dataclasses.asdict`
# deep-copies everything and cost as much as sealing the answer.)
_FIELDS = fields(SessionState)
_NAMES = tuple(f.name for f in _FIELDS)


def encode_state(state: SessionState, **extras: object) -> bytes:
    """The saved form of `state`, with the caller's `extras` beside it."""
    saved = {name: getattr(state, name) for name in _NAMES}
    return orjson.dumps({"version": STATE_VERSION, "state": saved, **extras}, default=_plain)


def decode_state(raw: bytes) -> tuple[SessionState, dict[str, Any]]:
    """The state and the extras saved with it, from any form ever written."""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise UnreadableState("saved state is not JSON") from exc
    if not isinstance(data, dict):
        raise UnreadableState("saved state is not an object")
    if "state" not in data and "sid" in data:
        data = {"state": data}  # the first form: the fields alone
    version = data.pop("version", 1)
    saved = data.pop("state", None)
    if isinstance(saved, str):  # the state as a JSON string inside the object
        try:
            saved = json.loads(saved)
        except ValueError as exc:
            raise UnreadableState("saved state is not JSON") from exc
    if not isinstance(saved, dict) or not isinstance(version, int):
        raise UnreadableState("saved state has no fields")
    if version < 3:
        saved = _before_version_3(saved)
    # A newer version than this code knows (after a rollback) is read the same way: fields are
    # only ever added, and a change of meaning gets an upgrade step here.
    return _state(saved), data


def _before_version_3(saved: dict[str, Any]) -> dict[str, Any]:
    """Until version 3 a detour took the next number of the one sequence: an open detour's
    number is `seq` (the interrupted question takes that number when asked again)."""
    if saved.get("overlay"):
        return {**saved, "overlay_seq": saved.get("seq", 0)}
    return saved


def _state(saved: Mapping[str, Any]) -> SessionState:
    values: dict[str, Any] = {}
    for f in _FIELDS:
        if f.name in saved:
            try:
                values[f.name] = _CONVERTERS[str(f.type)](saved[f.name])
            except (TypeError, ValueError) as exc:
                raise UnreadableState(f"saved field {f.name} is malformed") from exc
        elif f.default is MISSING and f.default_factory is MISSING:
            raise UnreadableState(f"saved state lacks {f.name}")
    return SessionState(**values)  # missing fields take their defaults


def _of(kind: type) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        # bool is an int in Python, but a saved true is never a number and 1 never a flag.
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise TypeError(f"expected {kind.__name__}")
        return value

    return check


def _optional(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: None if value is None else convert(value)


def _moment(value: Any) -> datetime:
    """A time with its offset (orjson writes RFC 3339); one without could not be compared
    with the clock's."""
    moment = datetime.fromisoformat(_of(str)(value))
    if moment.utcoffset() is None:
        raise ValueError("expected a time with an offset")
    return moment


def _strings(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise TypeError("expected a list")
    return tuple(_of(str)(item) for item in value)


def _mapping(convert: Callable[[Any], Any]) -> Callable[[Any], dict[str, Any]]:
    def check(value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise TypeError("expected an object")
        return {_of(str)(key): convert(item) for key, item in value.items()}

    return check


# One converter per field type (the annotations as written in bot/engine/state.py). A field of
# a new type needs one here: the check below fails at import, not on someone's first message.
_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "str": _of(str),
    "int": _of(int),
    "bool": _of(bool),
    "str | None": _optional(_of(str)),
    "Phase": Phase,
    "Overlay | None": _optional(Overlay),
    "tuple[str, ...]": _strings,
    "Mapping[str, bool]": _mapping(_of(bool)),
    "Mapping[str, tuple[str, ...]]": _mapping(_strings),
    "datetime | None": _optional(_moment),
}
_UNCONVERTED = [f.name for f in _FIELDS if str(f.type) not in _CONVERTERS]
if _UNCONVERTED:
    raise TypeError(f"no saved-state converter for SessionState fields {_UNCONVERTED}")
