"""Keys the running bot may hold, all derived from the one `SERVER_SECRET`.

- the pseudonym key turns `telegram:123456` into an HMAC that cannot be brute-forced without it
  (Telegram ids fit in 52 bits: an unkeyed hash falls in an hour);
- the state key encrypts the session's working state, which the bot must read back.
Neither key, nor the secret, is ever written to the database.
"""

from __future__ import annotations

import functools
import hashlib
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MIN_SECRET_BYTES = 32


def _derive(secret: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"testimony-bot/v1",
                info=purpose).derive(secret)


class _Hmac:
    """HMAC-SHA256 under one key (RFC 2104) with the padded key's two hashes computed once:
    the bot computes a pseudonym or a tag several times per message, and short messages
    then cost a third of `hmac.digest`. Same digests (tests/test_server_keys.py)."""

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes) -> None:
        block = hashlib.sha256().block_size
        if len(key) > block:
            key = hashlib.sha256(key).digest()
        padded = key.ljust(block, b"\0")
        self._inner = hashlib.sha256(bytes(byte ^ 0x36 for byte in padded))
        self._outer = hashlib.sha256(bytes(byte ^ 0x5C for byte in padded))

    def digest(self, message: bytes) -> bytes:
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()


class StateError(Exception):
    """Working state could not be decrypted (another SERVER_SECRET, or damage)."""


@dataclass(frozen=True, repr=False, eq=False)
class ServerKeys:
    pseudonym_key: bytes
    state_key: bytes
    tag_key: bytes

    @classmethod
    def from_secret(cls, secret: bytes) -> ServerKeys:
        if len(secret) < MIN_SECRET_BYTES:
            raise ValueError(f"SERVER_SECRET must hold at least {MIN_SECRET_BYTES} bytes")
        return cls(
            pseudonym_key=_derive(secret, b"pseudonym"),
            state_key=_derive(secret, b"working-state"),
            tag_key=_derive(secret, b"tags"),
        )

    def __repr__(self) -> str:  # never print key material
        return "ServerKeys(<hidden>)"

    def pseudonym(self, channel: str, user_id: str) -> bytes:
        """The only form in which a person's platform id is ever stored."""
        return self._pseudonym_mac.digest(f"{channel}:{user_id}".encode())

    def tag(self, *parts: str) -> bytes:
        """A keyed digest for non-respondent lookups (e.g. processed update ids)."""
        return self._tag_mac.digest("\x1f".join(parts).encode())[:16]

    def slot(self, respondent: bytes, name: str) -> bytes:
        """Which record of a person a row is (a question id, "~consent"), keyed so that the
        column tells nothing without the secret; the bot replaces or drops answers by it."""
        return self.tag("slot", respondent.hex(), name)

    def seal_state(self, respondent: bytes, state: bytes, purpose: bytes = b"state") -> bytes:
        nonce = os.urandom(12)
        return nonce + self._state_cipher.encrypt(nonce, state, purpose + respondent)

    def open_state(self, respondent: bytes, blob: bytes, purpose: bytes = b"state") -> bytes:
        try:
            return self._state_cipher.decrypt(blob[:12], blob[12:], purpose + respondent)
        except (InvalidTag, ValueError) as exc:
            raise StateError("working state cannot be opened with this SERVER_SECRET") from exc

    @functools.cached_property
    def _state_cipher(self) -> AESGCM:
        return AESGCM(self.state_key)

    @functools.cached_property
    def _pseudonym_mac(self) -> _Hmac:
        return _Hmac(self.pseudonym_key)

    @functools.cached_property
    def _tag_mac(self) -> _Hmac:
        return _Hmac(self.tag_key)


def new_secret() -> str:
    """A fresh SERVER_SECRET in the form `.env` expects (64 hex characters)."""
    return os.urandom(32).hex()
