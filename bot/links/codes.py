"""Campaign codes a person types instead of scanning a QR code (one rule for every channel).

Recognised only before consent, and only in these shapes: "start CODE" / "/start CODE", a
bare code of at least four characters with both a letter and a digit ("wimn26"), or a link
code from the links table (eight easy-to-type letters and digits, e.g. "vfdvu9ag"). A word
such as "Hello" or "yes", or a number such as "2", is never taken for a code.
"""

from __future__ import annotations

import re

from storage.links import CODE_ALPHABET, CODE_LENGTH

TYPED_START = re.compile(r"/?start[\s:]+([A-Za-z0-9_-]{1,64})", re.IGNORECASE)
BARE_CODE = re.compile(r"(?=[^0-9]*[0-9])(?=[^A-Za-z]*[A-Za-z])[A-Za-z0-9_-]{4,64}")
LINK_CODE = re.compile(f"[{CODE_ALPHABET}]{{{CODE_LENGTH}}}")


def typed_code(text: str) -> str | None:
    """A code by its shape alone (`start CODE`, or a bare code like `wimn26`)."""
    stripped = text.strip()
    match = TYPED_START.fullmatch(stripped)
    if match:
        return match[1]
    return stripped if BARE_CODE.fullmatch(stripped) else None


def maybe_link_code(text: str) -> str | None:
    """Text shaped like one of our link codes; whether the link exists is for the caller."""
    typed = text.strip().lower()
    return typed if LINK_CODE.fullmatch(typed) else None
