"""Sealed boxes for answers: anyone with the public key(s) can seal, only a private key opens.

Format (version 1), chosen after age and libsodium sealed boxes:

    version (1 byte) | n recipients (1) | ephemeral X25519 public key (32)
    | n x [recipient key id (8) | wrapped file key (32 + 16 tag)]
    | nonce (12) | AES-256-GCM(file key, padded plaintext, associated data)

A fresh ephemeral key and file key per answer means the server cannot open what it sealed.
The plaintext is padded to size buckets so that a short "yes" and a 250-byte story look alike
(and voice notes of 17 and 30 seconds),
and the associated data names the record (respondent, question, flow version), so a blob
copied into another row fails to open.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VERSION = 1
KEY_ID_LEN = 8
_STANZA_LEN = KEY_ID_LEN + 32 + 16
_HEADER_LEN = 2 + 32
_NONCE_LEN = 12
_WRAP_INFO = b"testimony-bot/v1/wrap"
_SMALL_BUCKET = 256
_LARGE_BUCKET = 4096
_MAX_RECIPIENTS = 16


class SealError(Exception):
    """A sealed blob could not be opened: wrong key, tampered, truncated or unknown format."""


class NotSealedToThisKey(SealError):
    """The blob names other recipients only: meant for another key, not damaged."""


def recipient_ids(blob: bytes) -> tuple[bytes, ...]:
    """The key ids a blob is sealed to, read from its clear header (nothing is decrypted):
    the server can tell which keys can open what it holds."""
    if len(blob) < _HEADER_LEN or blob[0] != VERSION:
        return ()
    count = min(blob[1], (len(blob) - _HEADER_LEN) // _STANZA_LEN)
    return tuple(blob[_HEADER_LEN + i * _STANZA_LEN:_HEADER_LEN + i * _STANZA_LEN + KEY_ID_LEN]
                 for i in range(count))


def key_id(public_key: bytes) -> bytes:
    """A short, stable name for a recipient key, so an opener finds its own stanza."""
    return hashlib.sha256(b"testimony-bot/v1/key-id" + public_key).digest()[:KEY_ID_LEN]


@dataclass(frozen=True)
class RecipientKey:
    """A researcher's X25519 public key (32 raw bytes)."""

    raw: bytes

    def __post_init__(self) -> None:
        if len(self.raw) != 32:
            raise ValueError("an X25519 public key is 32 bytes")
        if self.raw == bytes(32):
            raise ValueError("the all-zero public key is not a valid recipient")

    @property
    def id(self) -> bytes:
        return key_id(self.raw)


def pad(data: bytes) -> bytes:
    """Length-prefix and pad: 256-byte buckets up to 4 KiB (texts), then the next power of
    two (voice notes, photos). Fixed buckets above 4 KiB would tell a voice note's length to
    a second or two; powers of two tell only "between 16 and 32 seconds", for at most twice
    the space."""
    framed = struct.pack(">I", len(data)) + data
    if len(framed) <= _LARGE_BUCKET:
        padded_len = -(-len(framed) // _SMALL_BUCKET) * _SMALL_BUCKET
    else:
        padded_len = 1 << (len(framed) - 1).bit_length()
    return framed + bytes(padded_len - len(framed))


def unpad(padded: bytes) -> bytes:
    if len(padded) < 4:
        raise SealError("padding is damaged")
    (length,) = struct.unpack(">I", padded[:4])
    if length > len(padded) - 4 or any(padded[4 + length :]):
        raise SealError("padding is damaged")
    return padded[4 : 4 + length]


def _wrap_key(shared: bytes, ephemeral_public: bytes, recipient_public: bytes) -> bytes:
    # An all-zero shared secret means a low-order point was used: refuse, as age does.
    if not any(shared):
        raise SealError("refusing an all-zero shared secret (low-order key)")
    return HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=ephemeral_public + recipient_public,
        info=_WRAP_INFO,
    ).derive(shared)


def _exchange(private: X25519PrivateKey, public_raw: bytes) -> bytes:
    try:
        return private.exchange(X25519PublicKey.from_public_bytes(public_raw))
    except ValueError as exc:  # cryptography refuses low-order points itself on some builds
        raise SealError("refusing an all-zero shared secret (low-order key)") from exc


def seal(plaintext: bytes, recipients: tuple[RecipientKey, ...], associated_data: bytes) -> bytes:
    """Seal `plaintext` to every recipient; the caller cannot open the result."""
    if not 1 <= len(recipients) <= _MAX_RECIPIENTS:
        raise ValueError(f"between 1 and {_MAX_RECIPIENTS} recipient keys are needed")
    ephemeral = X25519PrivateKey.generate()
    ephemeral_public = ephemeral.public_key().public_bytes_raw()
    file_key = AESGCM.generate_key(bit_length=256)
    header = bytes([VERSION, len(recipients)]) + ephemeral_public
    stanzas = bytearray()
    for recipient in recipients:
        wrap = _wrap_key(_exchange(ephemeral, recipient.raw), ephemeral_public, recipient.raw)
        # The wrap key is single-use (fresh ephemeral), so a fixed nonce is safe here.
        stanzas += recipient.id + AESGCM(wrap).encrypt(bytes(_NONCE_LEN), file_key, header)
    nonce = os.urandom(_NONCE_LEN)
    body = AESGCM(file_key).encrypt(nonce, pad(plaintext), header + associated_data)
    return header + bytes(stanzas) + nonce + body


def open_sealed(blob: bytes, private_key: X25519PrivateKey, associated_data: bytes) -> bytes:
    """Open a blob sealed to `private_key`'s public key; raise SealError with the reason."""
    if len(blob) < _HEADER_LEN:
        raise SealError("blob is truncated")
    if blob[0] != VERSION:
        raise SealError(f"unknown format version {blob[0]}")
    count = blob[1]
    header = blob[:_HEADER_LEN]
    ephemeral_public = blob[2:_HEADER_LEN]
    body_start = _HEADER_LEN + count * _STANZA_LEN + _NONCE_LEN
    if count == 0 or len(blob) < body_start + 16:
        raise SealError("blob is truncated")
    if ephemeral_public == bytes(32):
        raise SealError("refusing an all-zero ephemeral key")
    my_public = private_key.public_key().public_bytes_raw()
    my_id = key_id(my_public)
    file_key: bytes | None = None
    for index in range(count):
        start = _HEADER_LEN + index * _STANZA_LEN
        if not hmac.compare_digest(blob[start : start + KEY_ID_LEN], my_id):
            continue
        wrap = _wrap_key(_exchange(private_key, ephemeral_public), ephemeral_public, my_public)
        try:
            file_key = AESGCM(wrap).decrypt(
                bytes(_NONCE_LEN), blob[start + KEY_ID_LEN : start + _STANZA_LEN], header
            )
        except InvalidTag as exc:
            raise SealError("the key stanza is damaged") from exc
        break
    if file_key is None:
        raise NotSealedToThisKey("not sealed to this key")
    nonce = blob[body_start - _NONCE_LEN : body_start]
    try:
        padded = AESGCM(file_key).decrypt(nonce, blob[body_start:], header + associated_data)
    except InvalidTag as exc:
        raise SealError("tampered, truncated or belonging to another record") from exc
    return unpad(padded)
