"""The Bot API calls the channel makes, kept as raw JSON.

PTB builds a full `Message` object for every message sent or edited; the channel only needs
a message id and a date, and building the object costs more than the call itself. These calls
still go through PTB's request layer and its rate limiter (so 429 `retry_after` is honoured).
"""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime
from typing import Any

from telegram.error import BadRequest, Forbidden
from telegram.ext import ExtBot

from bot.channels.telegram.webhook import reply_in_response

JSON = dict[str, Any]
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))

# An edit that found nothing to change, a message Telegram no longer lets us touch, a button
# press answered too late: nothing the person could be helped with.
HARMLESS_ERRORS = ("not modified", "not found", "can't be edited", "can't be deleted",
                   "message_id_invalid", "query is too old")


class ChannelBot(ExtBot[int]):
    async def call(self, method: str, params: JSON) -> Any:
        # Straight to `_do_post`, which ExtBot routes through the rate limiter: our params
        # never hold None or PTB defaults, so `_post`'s pass over them is not needed. Values
        # go as the strings the request will carry: PTB JSON-encodes any other value twice
        # per request (a keyboard is most of a request's cost).
        return await self._do_post(method, {k: v if isinstance(v, str) else _JSON.encode(v)
                                            for k, v in params.items()})

    async def send_text(self, chat_id: int, text: str, markup: JSON | None = None
                        ) -> tuple[int, datetime]:
        params: JSON = {"chat_id": chat_id, "text": text}
        if markup is not None:
            params["reply_markup"] = markup
        result = await self.call("sendMessage", params)
        return int(result["message_id"]), datetime.fromtimestamp(int(result["date"]), UTC)

    async def edit_text(self, chat_id: int, message_id: int, text: str) -> None:
        """New text; leaving reply_markup out removes the keyboard."""
        await self.fire("editMessageText",
                        {"chat_id": chat_id, "message_id": message_id, "text": text})

    async def edit_markup(self, chat_id: int, message_id: int, markup: JSON | None) -> None:
        params: JSON = {"chat_id": chat_id, "message_id": message_id}
        if markup is not None:
            params["reply_markup"] = markup
        await self.fire("editMessageReplyMarkup", params)

    async def fire(self, method: str, params: JSON) -> None:
        """A call whose result we never use (an edit, a button's answer). Within a webhook
        request the first such call rides on the HTTP answer, as the Bot API allows, instead
        of costing a request of its own; the edit of an answered question usually takes it."""
        if not reply_in_response(method, params):
            await _harmless(self.call(method, params))

    async def answer_query(self, query_id: str, text: str | None) -> None:
        """Stops the button's spinner (and shows `text` as a toast)."""
        params: JSON = {"callback_query_id": query_id}
        if text:
            params["text"] = text
        await self.fire("answerCallbackQuery", params)

    async def delete(self, chat_id: int, message_ids: list[int]) -> None:
        for start in range(0, len(message_ids), 100):  # deleteMessages takes 1-100 ids
            await _harmless(self.call("deleteMessages", {
                "chat_id": chat_id, "message_ids": message_ids[start:start + 100]}))

    async def leave(self, chat_id: int) -> None:
        """Best effort: a group we were already removed from answers 400 or 403."""
        with contextlib.suppress(BadRequest, Forbidden):
            await self.call("leaveChat", {"chat_id": chat_id})


async def _harmless(call: Any) -> None:
    try:
        await call
    except BadRequest as exc:
        if not any(part in exc.message.lower() for part in HARMLESS_ERRORS):
            raise
