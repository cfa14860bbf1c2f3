"""Sealed answers: only the private key opens them, and any tampering is refused clearly."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from storage.keys import KeyPair
from storage.sealing import RecipientKey, SealError, open_sealed, pad, seal

AAD = b"answers|respondent-a|q1|flow|1"


def test_round_trip_for_every_recipient() -> None:
    work, escrow = KeyPair.generate(), KeyPair.generate()
    blob = seal(b"I was not paid", (work.public, escrow.public), AAD)
    assert open_sealed(blob, work.private, AAD) == b"I was not paid"
    assert open_sealed(blob, escrow.private, AAD) == b"I was not paid"


def test_another_key_cannot_open(researcher: KeyPair) -> None:
    blob = seal(b"secret", (researcher.public,), AAD)
    with pytest.raises(SealError, match="not sealed to this key"):
        open_sealed(blob, KeyPair.generate().private, AAD)


def test_padding_hides_short_lengths(researcher: KeyPair) -> None:
    sizes = {len(seal(b"x" * n, (researcher.public,), AAD)) for n in (1, 3, 200, 251)}
    assert len(sizes) == 1
    assert len(pad(b"x" * 253)) == 512


@pytest.mark.parametrize("position", [0.1, 0.5, -1])
def test_flipped_bit_fails(researcher: KeyPair, position: float) -> None:
    blob = bytearray(seal(b"answer", (researcher.public,), AAD))
    index = int(len(blob) * position) if position > 0 else len(blob) - 1
    blob[index] ^= 0x01
    with pytest.raises(SealError):
        open_sealed(bytes(blob), researcher.private, AAD)


def test_truncated_blob_fails(researcher: KeyPair) -> None:
    blob = seal(b"answer", (researcher.public,), AAD)
    for cut in (10, 60, len(blob) - 5):
        with pytest.raises(SealError):
            open_sealed(blob[:cut], researcher.private, AAD)


def test_blob_moved_to_another_record_fails(researcher: KeyPair) -> None:
    blob = seal(b"answer", (researcher.public,), AAD)
    with pytest.raises(SealError, match="another record"):
        open_sealed(blob, researcher.private, b"answers|respondent-b|q1|flow|1")


def test_unknown_version_byte(researcher: KeyPair) -> None:
    blob = seal(b"answer", (researcher.public,), AAD)
    with pytest.raises(SealError, match="unknown format version 7"):
        open_sealed(b"\x07" + blob[1:], researcher.private, AAD)


def test_all_zero_ephemeral_key_is_refused(researcher: KeyPair) -> None:
    blob = seal(b"answer", (researcher.public,), AAD)
    forged = blob[:2] + bytes(32) + blob[34:]
    with pytest.raises(SealError, match="all-zero"):
        open_sealed(forged, researcher.private, AAD)


def test_low_order_recipient_key_is_refused() -> None:
    with pytest.raises(ValueError, match="all-zero"):
        RecipientKey(bytes(32))
    low_order = bytes([1] + [0] * 31)  # the point of order 1 (u = 1)
    with pytest.raises(SealError, match="all-zero"):
        seal(b"x", (RecipientKey(low_order),), AAD)


def test_the_sealer_cannot_open_what_it_sealed(researcher: KeyPair) -> None:
    # The server only has public keys; even a freshly generated private key of its own
    # (the nearest thing it could try) does not open the blob.
    blob = seal(b"answer", (researcher.public,), AAD)
    with pytest.raises(SealError):
        open_sealed(blob, X25519PrivateKey.generate(), AAD)
