"""Downloading a voice note, audio or photo through getFile (the shared media policy in
bot.channels.common.media applies the size limit and strips photos)."""

from __future__ import annotations

from telegram import Bot
from telegram.error import BadRequest, TelegramError

from bot.channels.common.media import DEFAULT_LIMIT, MediaPolicy
from bot.engine import MediaRef
from bot.orchestrator import MediaTooLarge

BOT_API_LIMIT = 20 * 1024 * 1024  # getFile on Telegram's servers: 20 MB
SELF_HOSTED_LIMIT = DEFAULT_LIMIT  # through a self-hosted Bot API server: our own cap


def telegram_media(bot: Bot, limit_bytes: int) -> MediaPolicy:
    async def download(ref: MediaRef, limit: int) -> bytes:
        try:
            file = await bot.get_file(ref.reference)
            if file.file_size is not None and file.file_size > limit:
                raise MediaTooLarge(limit)
            return bytes(await file.download_as_bytearray())
        except BadRequest as exc:
            if "too big" in exc.message.lower():
                raise MediaTooLarge(min(limit, BOT_API_LIMIT)) from exc
            raise OSError("the file could not be fetched") from exc
        except TelegramError as exc:
            raise OSError("the file could not be fetched") from exc

    return MediaPolicy(download, limit_bytes)
