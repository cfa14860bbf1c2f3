"""Button data and campaign codes: small, strictly validated strings from the outside.

Button data (Telegram's callback data, WhatsApp's reply and list-row ids) is
`{token}:{position}`: the engine's token (`{session id}.{question seq}`) ties a button to one
question of one session, and the position names the button within the question's options as
they were sent. Before consent, on a database shared by several workers, the token is instead
the conversation's state carried in the button (`~...`, bot.button_state). It always fits
Telegram's 64 bytes (WhatsApp allows 256), whatever the flow's choice ids are. Anything that
does not parse is forged or damaged and is ignored.
"""

from __future__ import annotations

import re

from bot.button_state import TOKEN_PATTERN
from bot.channels.common.inbound import Press

MAX_CALLBACK_BYTES = 64  # Bot API limit for callback_data (the smallest of our platforms)
# The engine's "{sid}.{seq}", or a conversation before consent carried in the button.
QUESTION_REF = rf"[A-Za-z0-9_-]{{1,24}}\.[0-9]{{1,9}}|{TOKEN_PATTERN}"
CALLBACK = re.compile(rf"({QUESTION_REF}):([0-9]{{1,2}})")
# A campaign code's alphabet and length: Telegram's deep-link payload (t.me/<bot>?start=<code>).
CAMPAIGN = re.compile(r"[A-Za-z0-9_-]{1,64}")


def encode_callback(token: str, position: int) -> str:
    data = f"{token}:{position}"
    if not CALLBACK.fullmatch(data) or len(data.encode()) > MAX_CALLBACK_BYTES:
        raise ValueError("token or position out of shape")  # our own bug, never user input
    return data


def decode_callback(data: str | None) -> Press | None:
    """The press, or None for anything malformed (forged, truncated, from another bot)."""
    if not data or len(data) > MAX_CALLBACK_BYTES:
        return None
    match = CALLBACK.fullmatch(data)
    if match is None:
        return None
    return Press(match[1], int(match[2]))


def campaign_code(payload: str | None) -> str | None:
    """A deep-link payload, if it has Telegram's shape; anything else is dropped."""
    if payload is None:
        return None
    payload = payload.strip()
    return payload if CAMPAIGN.fullmatch(payload) else None
