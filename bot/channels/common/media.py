"""The media policy every channel applies before a file is sealed: a size limit, and photos
decoded and re-encoded (Pillow), which drops EXIF (GPS position, phone model, time), XMP and
ICC data, embedded thumbnails and anything appended to the file. Platforms strip some of it
from compressed photos, but not from an image sent as a file, and a respondent's safety
cannot depend on which button they used (or which channel: the terminal chat too).
"""

from __future__ import annotations

import asyncio
import io
import logging
import warnings
from collections.abc import Awaitable, Callable

from PIL import Image, ImageOps

from bot.engine import MediaRef
from bot.orchestrator import MediaTooLarge

log = logging.getLogger(__name__)

DEFAULT_LIMIT = 100 * 1024 * 1024  # our own cap: a file is sealed in memory as one blob
MAX_PIXELS = 40_000_000  # far above any phone photo; refuses decompression bombs early
JPEG_QUALITY = 85


class PhotoError(ValueError):
    """Not an image we can read (or absurdly large once decoded)."""


def strip_photo(data: bytes) -> bytes:
    """The same picture as a fresh JPEG without any metadata, upright as the phone showed it."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                if image.width * image.height > MAX_PIXELS:
                    raise PhotoError("image too large once decoded")
                image.load()
                upright = ImageOps.exif_transpose(image)
                # A new image holds pixels only: no info dict, no EXIF, no ICC profile.
                clean = Image.new("RGB", upright.size)
                clean.paste(upright.convert("RGB"))
    except (OSError, Image.DecompressionBombError, Image.DecompressionBombWarning,
            SyntaxError) as exc:
        raise PhotoError("not a readable image") from exc
    out = io.BytesIO()
    clean.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return out.getvalue()


Download = Callable[[MediaRef, int], Awaitable[bytes]]


class MediaPolicy:
    """`fetch_media` for every channel: the platform's download (given the size limit, which
    it checks as early as it can), then the same rules everywhere: nothing over the limit,
    photos re-encoded without their metadata."""

    def __init__(self, download: Download, limit_bytes: int) -> None:
        self.download = download
        self.limit_bytes = limit_bytes

    async def __call__(self, ref: MediaRef) -> bytes:
        if ref.size is not None and ref.size > self.limit_bytes:
            raise MediaTooLarge(self.limit_bytes)
        data = await self.download(ref, self.limit_bytes)
        if len(data) > self.limit_bytes:
            raise MediaTooLarge(self.limit_bytes)
        if ref.kind == "photo":
            data = await asyncio.to_thread(strip_photo, data)
        log.info("media_fetched kind=%s", ref.kind)
        return data
