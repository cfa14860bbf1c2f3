"""The channels' shared small parts, whatever the platform: button data, typed campaign
codes, photo scrubbing and the flood bucket."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from bot.channels.common.codec import (
    MAX_CALLBACK_BYTES,
    decode_callback,
    encode_callback,
)
from bot.channels.common.flood import FloodLimits, TokenBucket
from bot.channels.common.media import PhotoError, strip_photo
from bot.links.codes import typed_code
from tests.telegram_support import jpeg_with_metadata


# -- button data and codes ------------------------------------------------------------------
def test_callback_data_round_trips_and_always_fits() -> None:
    longest = "A" * 24 + "." + "9" * 9  # the largest token the codec accepts
    data = encode_callback(longest, 99)
    assert len(data.encode()) <= MAX_CALLBACK_BYTES
    press = decode_callback(data)
    assert press is not None and (press.token, press.position) == (longest, 99)
    assert decode_callback(encode_callback("x-Y_z1.3", 0)) is not None


@pytest.mark.parametrize("data", [None, "", "tok:1", "a.1", "a.1:", "a.1:x", "a.1:100",
                                  "a b.1:1", "a.1:1\n", "é.1:1", "a.1:1:2", "x" * 65])
def test_malformed_callback_data_decodes_to_nothing(data: str | None) -> None:
    assert decode_callback(data) is None


@pytest.mark.parametrize(("text", "code"), [
    ("wimn26", "wimn26"), ("  start   KL-07 ", "KL-07"), ("/START abc", "abc"),
    ("start: x_1", "x_1"), ("Hello", None), ("yes", None), ("42", None), ("ab1", None),
    ("two words1", None), ("start", None), ("wimn26!", None), ("a" * 64 + "1", None),
])
def test_typed_codes(text: str, code: str | None) -> None:
    assert typed_code(text) == code



# -- photos ---------------------------------------------------------------------------------
def test_photos_lose_every_piece_of_metadata_and_stay_upright() -> None:
    original = jpeg_with_metadata()
    clean = strip_photo(original)
    for secret in (b"SecretPhoneMaker", b"bakery", b"48.85", b"TRAILING", b"Exif"):
        assert secret not in clean
    with Image.open(io.BytesIO(clean)) as image:
        assert image.format == "JPEG" and image.size == (20, 40)  # turned as the phone showed
        assert not image.getexif() and "comment" not in image.info


def test_images_sent_as_files_are_re_encoded_too() -> None:
    buffer = io.BytesIO()
    Image.new("RGBA", (10, 10)).save(buffer, format="PNG")
    with Image.open(io.BytesIO(strip_photo(buffer.getvalue()))) as image:
        assert image.format == "JPEG"


@pytest.mark.parametrize("data", [b"", b"not an image", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40])
def test_unreadable_images_are_refused(data: bytes) -> None:
    with pytest.raises(PhotoError):
        strip_photo(data)


def test_a_decompression_bomb_is_refused() -> None:
    buffer = io.BytesIO()
    Image.new("1", (12_000, 12_000)).save(buffer, format="PNG")  # 144 Mpx, tiny file
    with pytest.raises(PhotoError):
        strip_photo(buffer.getvalue())



# -- flood bucket ---------------------------------------------------------------------------
def test_the_bucket_lets_a_burst_through_then_paces() -> None:
    now = [0.0]
    bucket = TokenBucket(FloodLimits(burst=3, per_second=2.0), clock=lambda: now[0])
    assert [bucket.take() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take() == pytest.approx(0.5)
    assert bucket.take() == pytest.approx(1.0)  # queued behind the one before
    now[0] = 10.0
    assert bucket.take() == 0.0 and bucket.refilled(20.0)
