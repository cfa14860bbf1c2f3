"""Researcher key pairs: the public half for the bot's config, the private half wrapped.

The private key file is wrapped with scrypt + AES-256-GCM by hand, because
`serialization.BestAvailableEncryption` only applies 2,048 PBKDF2 iterations. When reading a
key file we refuse scrypt parameters outside a sane range, so a hostile file cannot make us
allocate gigabytes.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from storage.sealing import RecipientKey

PUBLIC_PREFIX = "tbpub1:"
FILE_FORMAT = "testimony-bot-private-key"
DEFAULT_LOG2_N = 17  # about 0.4 s and 128 MiB on a small machine
MIN_LOG2_N, MAX_LOG2_N = 14, 20
ALLOWED_R = range(1, 17)
ALLOWED_P = range(1, 5)
MAX_SCRYPT_BYTES = 256 * 2**20  # scrypt needs 128 * r * N bytes: a hostile file gets no more


class KeyFileError(Exception):
    """A key could not be read: the message says why, never the key itself."""


def encode_public(key: RecipientKey) -> str:
    return PUBLIC_PREFIX + base64.urlsafe_b64encode(key.raw).decode().rstrip("=")


def decode_public(text: str) -> RecipientKey:
    text = text.strip()
    if not text.startswith(PUBLIC_PREFIX):
        raise KeyFileError(f"a public key starts with {PUBLIC_PREFIX!r}")
    body = text[len(PUBLIC_PREFIX) :]
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        return RecipientKey(raw)
    except (binascii.Error, ValueError) as exc:
        raise KeyFileError(f"not a valid public key: {exc}") from exc


def parse_recipients(setting: str) -> tuple[RecipientKey, ...]:
    """`RECIPIENT_PUBLIC_KEYS`: comma- or space-separated keys, each inline or a file path."""
    keys: list[RecipientKey] = []
    for item in setting.replace(",", " ").split():
        if item.startswith(PUBLIC_PREFIX):
            keys.append(decode_public(item))
            continue
        path = Path(item).expanduser()
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise KeyFileError(f"cannot read public key file {path}: {exc.strerror}") from exc
        keys.append(decode_public(text))
    if len({key.raw for key in keys}) != len(keys):
        raise KeyFileError("the same public key is listed twice")
    return tuple(keys)


@dataclass(frozen=True)
class KeyPair:
    private: X25519PrivateKey

    @classmethod
    def generate(cls) -> KeyPair:
        return cls(X25519PrivateKey.generate())

    @classmethod
    def from_raw(cls, private: bytes) -> KeyPair:
        """From the 32 raw bytes of the private key (handed to a local worker process)."""
        return cls(X25519PrivateKey.from_private_bytes(private))

    @property
    def public(self) -> RecipientKey:
        return RecipientKey(self.private.public_key().public_bytes_raw())


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _kdf(salt: bytes, log2_n: int, r: int, p: int) -> Scrypt:
    return Scrypt(salt=salt, length=32, n=2**log2_n, r=r, p=p)


def nfc(passphrase: str) -> bytes:
    """A passphrase typed on another keyboard or system may arrive decomposed ("é" as e +
    accent): normalised, the same words always open the same file."""
    return unicodedata.normalize("NFC", passphrase).encode()


def check_scrypt(log2_n: int, r: int, p: int, source: str) -> None:
    if not (MIN_LOG2_N <= log2_n <= MAX_LOG2_N and r in ALLOWED_R and p in ALLOWED_P
            and 128 * r * 2**log2_n <= MAX_SCRYPT_BYTES):
        raise KeyFileError(
            f"{source} asks for scrypt parameters outside the safe range "
            f"(log2 N {MIN_LOG2_N}-{MAX_LOG2_N}, r 1-16, p 1-4, at most "
            f"{MAX_SCRYPT_BYTES // 2**20} MiB): refusing to open it"
        )


def wrapping_key(passphrase: str, salt: bytes, log2_n: int, r: int = 8, p: int = 1) -> bytes:
    return _kdf(salt, log2_n, r, p).derive(nfc(passphrase))


def wrap_private_key(pair: KeyPair, passphrase: str, log2_n: int = DEFAULT_LOG2_N) -> str:
    """The text of a private key file protected by `passphrase`."""
    if not MIN_LOG2_N <= log2_n <= MAX_LOG2_N:
        raise ValueError(f"log2(N) must be between {MIN_LOG2_N} and {MAX_LOG2_N}")
    salt, nonce = os.urandom(16), os.urandom(12)
    params = {"format": FILE_FORMAT, "version": 1, "kdf": "scrypt", "log2_n": log2_n, "r": 8,
              "p": 1, "salt": _b64(salt), "public_key": encode_public(pair.public)}
    wrapping = wrapping_key(passphrase, salt, log2_n)
    raw = pair.private.private_bytes_raw()
    aad = json.dumps(params, sort_keys=True).encode()
    sealed = AESGCM(wrapping).encrypt(nonce, raw, aad)
    return json.dumps({**params, "nonce": _b64(nonce), "ciphertext": _b64(sealed)}, indent=2)


def open_wrapped(text: str, passphrase: str, file_format: str, what: str,
                 source: str) -> tuple[dict[str, object], bytes]:
    """Open a passphrase-wrapped file (private key, server secret vault): its parameters
    (bound to the ciphertext) and its content. Hostile scrypt parameters are refused before
    any work is done."""
    try:
        doc = json.loads(text)
        if not isinstance(doc, dict) or doc.get("format") != file_format:
            raise KeyFileError(f"{source} is not a testimony-bot {what}")
        if doc.get("version") != 1 or doc.get("kdf") != "scrypt":
            raise KeyFileError(f"{source} uses an unknown {what} version")
        log2_n, r, p = int(doc["log2_n"]), int(doc["r"]), int(doc["p"])
        salt = base64.b64decode(doc["salt"], validate=True)
        nonce = base64.b64decode(doc["nonce"], validate=True)
        ciphertext = base64.b64decode(doc["ciphertext"], validate=True)
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise KeyFileError(f"{source} is damaged or not a {what}") from exc
    check_scrypt(log2_n, r, p, source)
    params = {k: v for k, v in doc.items() if k not in ("nonce", "ciphertext")}
    aad = json.dumps(params, sort_keys=True).encode()
    # Files written before passphrases were normalised: the passphrase as typed, too.
    for encoded in dict.fromkeys((nfc(passphrase), passphrase.encode())):
        try:
            return params, AESGCM(_kdf(salt, log2_n, r, p).derive(encoded)).decrypt(
                nonce, ciphertext, aad)
        except InvalidTag:
            continue
    raise KeyFileError(f"wrong passphrase for {source} (or the file was altered)")


def unwrap_private_key(text: str, passphrase: str, source: str = "key file") -> KeyPair:
    """Open a private key file; raise KeyFileError with a message a researcher can act on."""
    params, raw = open_wrapped(text, passphrase, FILE_FORMAT, "private key file", source)
    pair = KeyPair.from_raw(raw)
    if encode_public(pair.public) != params.get("public_key"):
        raise KeyFileError(f"{source} is inconsistent: its public key does not match")
    return pair


def read_private_key(path: Path, passphrase: str) -> KeyPair:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyFileError(f"cannot read private key file {path}") from exc
    return unwrap_private_key(text, passphrase, source=str(path))
