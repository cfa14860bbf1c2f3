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

# Letters only (no I, L, O, U): an id must never look like a phone or document number, which
# readers, reviewers and the redaction step all look out for in exported text.
_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ"
_STABLE_LABEL = b"testimony-bot/v1/export-pseudonyms"
ID_CHARS = 11  # 22^11 ≈ 2^49: collisions stay below one in a million up to 25,000 people


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
        return cls(cls.stable_key(private_key))

    @staticmethod
    def stable_key(private_key: bytes) -> bytes:
        return hmac.new(private_key, _STABLE_LABEL, hashlib.sha256).digest()

    def _digest(self, respondent: bytes, purpose: bytes = b"id") -> bytes:
        return hmac.new(self._key, purpose + b"\x1f" + respondent, hashlib.sha256).digest()

    def of(self, respondent: bytes) -> str:
        """A short id such as `T-MKQXRBTNHAP`."""
        number = int.from_bytes(self._digest(respondent)[:8], "big")
        chars = []
        for _ in range(ID_CHARS):
            number, index = divmod(number, len(_ALPHABET))
            chars.append(_ALPHABET[index])
        return "T-" + "".join(chars)
