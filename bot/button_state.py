"""The conversation before consent, carried in its own buttons when several workers share a
database.

Before consent nothing is stored: not in a table, not encrypted, not for a moment. A single
worker keeps that conversation in memory. Several workers behind a load balancer cannot share
memory, and the person's next press may reach any of them. So every button drawn before consent
carries, in its data, the state of the conversation it was drawn in, and any worker continues
from the press alone. The worker that drew it keeps the state in memory too (and prefers it
when it is newer: an old button then gets "this question has passed", as with one worker).

A carried token replaces the engine's `{sid}.{seq}` in the button data (bot.channels.common.
codec): `~` and the base64url form (no padding) of `payload + tag`, where the payload is

    version            1 byte   (VERSION; another version is refused)
    script             2 bytes  (CRC-32 of the consent's id, version and items and the
                                 languages: a button drawn under another script is refused)
    flags              2 bytes  (phase, detour, language chosen, paused, the campaign's kind,
                                 the funnel steps counted)
    language           1 byte   (index into the script's languages; 255: none)
    consent step       1 byte
    consent answers    2 x ceil(items / 8) bytes (which items are answered; which with yes)
    seq, overlay seq   2 + 2 bytes
    session id         6 bytes  (the engine's random 8-character id, decoded)
    campaign code      the rest (ASCII; the attribution key without its `expired:` prefix,
                                 which is a flag)

and the tag is `ServerKeys.button_tag(person, payload)`: 8 bytes of HMAC-SHA256 under a key
derived from SERVER_SECRET, over the person's keyed pseudonym and the payload. An altered,
forged or replayed button (another person's, another deployment's) does not verify: a
worker that does not know the person greets them as on a first message, one that does says
the question has passed (bot.orchestrator).

Telegram's callback data holds 64 bytes: `{token}:{position}` leaves the token 61 characters,
so 45 bytes, so 19 bytes of payload before the campaign with up to 8 consent items: campaign
codes up to 18 characters fit (links' codes have 8). A state that does not fit (a longer
code, more than 65,535 questions asked, a script of more than 255 languages) is drawn with the
engine's plain token: its buttons then work on the worker that drew them. What the data shows
Telegram or Meta (the language, the campaign code, the consent presses) they see in the chat
anyway; it is authenticated, not hidden.
"""

from __future__ import annotations

import base64
import binascii
import zlib

from bot.engine import Phase, Script, SessionState
from bot.engine.state import Overlay
from bot.engine.step import LANGUAGE_CHOSEN, OPENED  # the funnel steps before consent
from storage.links import EXPIRED_PREFIX
from storage.server_keys import BUTTON_TAG_BYTES, ServerKeys

VERSION = 1
PREFIX = "~"
MAX_TOKEN_CHARS = 61  # Telegram's 64 bytes of callback data, less ":" and a 2-digit position
TOKEN_PATTERN = rf"{PREFIX}[A-Za-z0-9_-]{{16,{MAX_TOKEN_CHARS - 1}}}"
SID_CHARS = 8  # secrets.token_urlsafe(6)
NO_LANGUAGE = 255

# Every field of SessionState is one of these (tests/test_button_state.py checks it, so a new
# field gets a decision here rather than being dropped from buttons unnoticed).
CARRIED_FIELDS = frozenset({"sid", "phase", "language", "language_chosen", "campaign",
                            "consent_step", "consent_answers", "seq", "paused", "overlay",
                            "overlay_seq", "counted"})
EMPTY_BEFORE_CONSENT = frozenset({"current", "history", "remembered", "pending",
                                  "reminder_pending", "reminded", "reminder_offered",
                                  "heard_at"})
# Set by the caller for each event (reminders_asked from the person's profile, which
# outlives sessions: someone consenting again may have asked for one before).
CALLERS_FIELDS = frozenset({"stored", "copied", "reminder_options", "reminders_asked"})
_BLANK = SessionState(sid="")

# flags (16 bits)
_CONSENT = 1 << 0  # phase CONSENT (else LANGUAGE)
_DETOUR_LANGUAGE = 1 << 1
_DETOUR_DELETE = 1 << 2
_LANGUAGE_CHOSEN = 1 << 3
_PAUSED = 1 << 4
_CAMPAIGN = 1 << 5
_EXPIRED = 1 << 6
_COUNTED_OPENED = 1 << 7
_COUNTED_LANGUAGE = 1 << 8
_DETOURS = {None: 0, Overlay.LANGUAGE: _DETOUR_LANGUAGE, Overlay.CONFIRM_DELETE: _DETOUR_DELETE}
_COUNTED = {OPENED: _COUNTED_OPENED, LANGUAGE_CHOSEN: _COUNTED_LANGUAGE}


def is_carried(token: str) -> bool:
    """A token in this form (verified or not): not the engine's own."""
    return token.startswith(PREFIX)


def carry(state: SessionState, script: Script, respondent: bytes, keys: ServerKeys
          ) -> str | None:
    """The token for buttons drawn in `state`, or None if it is not a state before consent or
    does not fit (its buttons then carry the engine's plain token)."""
    payload = _payload(state, script)
    if payload is None:
        return None
    token = PREFIX + _b64(payload + keys.button_tag(respondent, payload))
    return token if len(token) <= MAX_TOKEN_CHARS else None


def carried(token: str, script: Script, respondent: bytes, keys: ServerKeys
            ) -> SessionState | None:
    """The state a carried token was drawn in, if it verifies for this person under this
    script; None for anything else (altered, forged, someone else's, another version)."""
    if not is_carried(token) or len(token) > MAX_TOKEN_CHARS:
        return None
    try:
        raw = base64.urlsafe_b64decode(token[1:] + "=" * (-(len(token) - 1) % 4))
    except (binascii.Error, ValueError):
        return None
    if _b64(raw) != token[1:]:
        return None  # one spelling only (a last character's unused bits changed, say)
    payload, tag = raw[:-BUTTON_TAG_BYTES], raw[-BUTTON_TAG_BYTES:]
    if len(tag) != BUTTON_TAG_BYTES or not keys.button_tag_matches(respondent, payload, tag):
        return None
    return _state(payload, script)  # authentic: only a changed script can make it unreadable


def _payload(state: SessionState, script: Script) -> bytes | None:
    if state.phase not in (Phase.LANGUAGE, Phase.CONSENT) or state.overlay not in _DETOURS \
            or any(getattr(state, name) != getattr(_BLANK, name)
                   for name in EMPTY_BEFORE_CONSENT) \
            or not set(state.counted) <= _COUNTED.keys():
        return None
    sid = _sid_bytes(state.sid)
    items = script.consent.items
    if sid is None or state.consent_step >= max(len(items), 1) \
            or max(state.seq, state.overlay_seq) > 0xFFFF:
        return None
    if state.language is None:
        language = NO_LANGUAGE
    elif state.language in script.languages[:NO_LANGUAGE]:
        language = script.languages.index(state.language)
    else:
        return None
    flags = _DETOURS[state.overlay]
    flags |= _CONSENT if state.phase is Phase.CONSENT else 0
    flags |= _LANGUAGE_CHOSEN if state.language_chosen else 0
    flags |= _PAUSED if state.paused else 0
    for step in state.counted:
        flags |= _COUNTED[step]
    code = b""
    if state.campaign:
        flags |= _CAMPAIGN
        if state.campaign.startswith(EXPIRED_PREFIX):
            flags |= _EXPIRED
        try:
            code = state.campaign.removeprefix(EXPIRED_PREFIX).encode("ascii")
        except UnicodeEncodeError:
            return None
        if not code:
            return None
    answered = yes = 0
    positions = {item.id: n for n, item in enumerate(items)}
    for item_id, agreed in state.consent_answers.items():
        if item_id not in positions:
            return None
        answered |= 1 << positions[item_id]
        yes |= (1 << positions[item_id]) if agreed else 0
    width = _mask_bytes(script)
    return b"".join((
        bytes((VERSION,)), _fingerprint(script), flags.to_bytes(2, "big"),
        bytes((language, state.consent_step)),
        answered.to_bytes(width, "big"), yes.to_bytes(width, "big"),
        state.seq.to_bytes(2, "big"), state.overlay_seq.to_bytes(2, "big"), sid, code))


def _state(payload: bytes, script: Script) -> SessionState | None:
    width = _mask_bytes(script)
    fixed = 7 + 2 * width + 4 + 6
    if len(payload) < fixed or payload[0] != VERSION or payload[1:3] != _fingerprint(script):
        return None
    flags = int.from_bytes(payload[3:5], "big")
    language_index, step = payload[5], payload[6]
    at = 7
    answered = int.from_bytes(payload[at:at + width], "big")
    yes = int.from_bytes(payload[at + width:at + 2 * width], "big")
    at += 2 * width
    seq, overlay_seq = (int.from_bytes(payload[at:at + 2], "big"),
                        int.from_bytes(payload[at + 2:at + 4], "big"))
    sid = _b64(payload[at + 4:at + 10])
    try:
        code = payload[fixed:].decode("ascii")
    except UnicodeDecodeError:
        return None
    items = script.consent.items
    if step >= max(len(items), 1) or (language_index != NO_LANGUAGE
                                      and language_index >= len(script.languages)):
        return None
    if bool(flags & _CAMPAIGN) != bool(code):
        return None
    detour = next((o for o, bit in _DETOURS.items() if bit and flags & bit), None)
    return SessionState(
        sid=sid,
        phase=Phase.CONSENT if flags & _CONSENT else Phase.LANGUAGE,
        language=None if language_index == NO_LANGUAGE else script.languages[language_index],
        language_chosen=bool(flags & _LANGUAGE_CHOSEN),
        campaign=(EXPIRED_PREFIX + code if flags & _EXPIRED else code) if code else None,
        consent_step=step,
        consent_answers={item.id: bool(yes >> n & 1) for n, item in enumerate(items)
                         if answered >> n & 1},
        seq=seq,
        paused=bool(flags & _PAUSED),
        overlay=detour,
        overlay_seq=overlay_seq,
        counted=tuple(step for step, bit in _COUNTED.items() if flags & bit),
    )


def _mask_bytes(script: Script) -> int:
    return max(1, (len(script.consent.items) + 7) // 8)


def _fingerprint(script: Script) -> bytes:
    """Which consent and languages a button was drawn under (a check, not a secret)."""
    consent = script.consent
    described = "\x1f".join((consent.id, consent.version, *(i.id for i in consent.items),
                             "\x1e", *script.languages))
    return (zlib.crc32(described.encode()) & 0xFFFF).to_bytes(2, "big")


def _sid_bytes(sid: str) -> bytes | None:
    if len(sid) != SID_CHARS:
        return None
    try:
        raw = base64.urlsafe_b64decode(sid)
    except (binascii.Error, ValueError):
        return None
    return raw if _b64(raw) == sid else None


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")
