"""Export pseudonyms: a fresh key per export, so two exports cannot be linked.

The stored respondent id is already a keyed HMAC, but it is the same in every snapshot: an
export that carried it would let anyone holding two exports join them. Each export therefore
draws a new random key and names people `HMAC(export key, stored id)`. With `--stable-ids`
the key is derived from the researcher's private key instead, so exports made with that key
share ids (a deliberate choice, e.g. to follow up a coding project).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
_STABLE_LABEL = b"testimony-bot/v1/export-pseudonyms"
ID_CHARS = 10  # 50 bits: collisions stay below one in a million up to 30,000 people


class ExportPseudonyms:
    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("an export key needs 32 bytes")
        self._key = key

    def __repr__(self) -> str:  # never print key material
        return "ExportPseudonyms(<hidden>)"

    @classmethod
    def fresh(cls) -> ExportPseudonyms:
        return cls(secrets.token_bytes(32))

    @classmethod
    def stable(cls, private_key: bytes) -> ExportPseudonyms:
        """Derived from the researcher's private key (HMAC as a KDF, one fixed label)."""
        return cls(hmac.new(private_key, _STABLE_LABEL, hashlib.sha256).digest())

    def _digest(self, respondent: bytes, purpose: bytes = b"id") -> bytes:
        return hmac.new(self._key, purpose + b"\x1f" + respondent, hashlib.sha256).digest()

    def of(self, respondent: bytes) -> str:
        """A short id such as `T-7M2K9QX4RB`."""
        number = int.from_bytes(self._digest(respondent)[:8], "big") >> (64 - 5 * ID_CHARS)
        chars = [_ALPHABET[(number >> (5 * i)) & 31] for i in reversed(range(ID_CHARS))]
        return "T-" + "".join(chars)
