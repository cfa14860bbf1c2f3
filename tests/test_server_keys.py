"""The keys the running bot derives from SERVER_SECRET: pseudonyms and tags are plain
HMAC-SHA256 (the fast path must give the same digests), and keys never print."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from storage.server_keys import ServerKeys, new_secret


@pytest.fixture
def keys() -> ServerKeys:
    return ServerKeys.from_secret(bytes.fromhex(new_secret()))


@pytest.mark.parametrize("user_id", ["1", "900000123", "447700900123", "x" * 200, "ñ€𝄞"])
def test_pseudonym_is_hmac_sha256(keys: ServerKeys, user_id: str) -> None:
    message = f"telegram:{user_id}".encode()
    assert keys.pseudonym("telegram", user_id) == hmac.new(
        keys.pseudonym_key, message, hashlib.sha256).digest()


def test_tag_is_truncated_hmac_sha256(keys: ServerKeys) -> None:
    parts = ("slot", "ab" * 16, "q_sector")
    assert keys.tag(*parts) == hmac.new(keys.tag_key, "\x1f".join(parts).encode(),
                                        hashlib.sha256).digest()[:16]


def test_pseudonyms_differ_by_channel_and_secret(keys: ServerKeys) -> None:
    other = ServerKeys.from_secret(bytes.fromhex(new_secret()))
    assert keys.pseudonym("telegram", "42") != keys.pseudonym("whatsapp", "42")
    assert keys.pseudonym("telegram", "42") != other.pseudonym("telegram", "42")


def test_keys_never_print(keys: ServerKeys) -> None:
    keys.pseudonym("telegram", "42")  # fills the cached hashes
    assert keys.pseudonym_key.hex() not in repr(keys)
    assert "hidden" in repr(keys)
