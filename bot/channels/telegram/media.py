"""Fetching voice notes, audio and photos through getFile, within the size limit.

Photos are decoded and re-encoded (Pillow) before they are sealed: that drops EXIF (GPS
position, phone model, time), XMP and ICC data, embedded thumbnails and anything appended to
the file. Telegram strips most of it from compressed photos, but not from an image sent as a
file, and a respondent's safety cannot depend on which button they used.
"""

from __future__ import annotations

import asyncio
import io
import logging
import warnings

from PIL import Image, ImageOps
from telegram import Bot
from telegram.error import BadRequest, TelegramError

from bot.engine import MediaRef
from bot.orchestrator import MediaTooLarge

log = logging.getLogger(__name__)

BOT_API_LIMIT = 20 * 1024 * 1024  # getFile on Telegram's servers: 20 MB
SELF_HOSTED_LIMIT = 100 * 1024 * 1024  # our own cap: a file is sealed in memory as one blob
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


class MediaFetcher:
    """Downloads a file named by a MediaRef; raises MediaTooLarge over the limit."""

    def __init__(self, bot: Bot, limit_bytes: int) -> None:
        self.bot = bot
        self.limit_bytes = limit_bytes

    async def __call__(self, ref: MediaRef) -> bytes:
        if ref.size is not None and ref.size > self.limit_bytes:
            raise MediaTooLarge(self.limit_bytes)
        try:
            file = await self.bot.get_file(ref.reference)
            if file.file_size is not None and file.file_size > self.limit_bytes:
                raise MediaTooLarge(self.limit_bytes)
            data = bytes(await file.download_as_bytearray())
        except BadRequest as exc:
            if "too big" in exc.message.lower():
                raise MediaTooLarge(min(self.limit_bytes, BOT_API_LIMIT)) from exc
            raise OSError("the file could not be fetched") from exc
        except TelegramError as exc:
            raise OSError("the file could not be fetched") from exc
        if len(data) > self.limit_bytes:
            raise MediaTooLarge(self.limit_bytes)
        if ref.kind == "photo":
            data = await asyncio.to_thread(strip_photo, data)
        log.info("media_fetched kind=%s", ref.kind)
        return data
