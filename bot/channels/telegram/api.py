"""The Bot API calls the channel makes, kept as raw JSON.

PTB builds a full `Message` object for every message sent or edited; the channel only needs
a message id and a date, and building the object costs more than the call itself. These calls
still go through the bot's rate limiter (so 429 `retry_after` is honoured) and PTB's request
object (its HTTP client, status codes and errors), which is all the transport there is.
"""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime
from typing import Any

import orjson
from telegram.error import BadRequest, Forbidden
from telegram.ext import ExtBot
from telegram.request import BaseRequest, RequestData
from telegram.request._requestparameter import RequestParameter

from bot.channels.telegram.webhook import reply_in_response

JSON = dict[str, Any]
# A keyboard, as an object or already encoded as JSON (render.keyboard encodes each once).
Markup = JSON | str
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))

# An edit that found nothing to change, a message Telegram no longer lets us touch, a button
# press answered too late: nothing the person could be helped with.
HARMLESS_ERRORS = ("not modified", "not found", "can't be edited", "can't be deleted",
                   "message_id_invalid", "query is too old")


class ChannelBot(ExtBot[int]):
    async def call(self, method: str, params: JSON) -> Any:
        # Values go as the strings the request will carry: PTB JSON-encodes any other value
        # twice per request (a keyboard is most of a request's cost). Our params never hold
        # None, PTB defaults, files, dates or enums, so PTB's pass over each parameter for
        # those (`_post`, then `_do_post`) has nothing to do: the request is built here and
        # handed to the rate limiter as ExtBot._do_post would hand it.
        data = {k: _encoded(v) for k, v in params.items()}
        limiter = self.rate_limiter
        if limiter is None:
            return await self._post_encoded(method, data)
        return await limiter.process_request(callback=self._post_encoded, args=(method, data),
                                             kwargs={}, endpoint=method, data=data,
                                             rate_limit_args=None)

    async def _post_encoded(self, method: str, data: dict[str, str]) -> Any:
        # RequestParameter is PTB's own (not exported); with string values its JSON is the
        # value itself, which is what the request sends.
        request_data = RequestData([RequestParameter(name, value, None)
                                    for name, value in data.items()])
        # What BaseRequest.post does (PTB's `_request_wrapper` turns HTTP statuses into its
        # exceptions), with the answer parsed by orjson: Telegram echoes each message sent,
        # keyboard and all, which takes json.loads 6 us and orjson 2.5.
        payload = await self.request._request_wrapper(
            url=f"{self.base_url}/{method}", method="POST", request_data=request_data)
        return _result(payload)

    async def send_text(self, chat_id: int, text: str, markup: Markup | None = None
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

    async def edit_markup(self, chat_id: int, message_id: int, markup: Markup | None) -> None:
        params: JSON = {"chat_id": chat_id, "message_id": message_id}
        if markup is not None:
            params["reply_markup"] = markup
        await self.fire("editMessageReplyMarkup", params)

    async def fire(self, method: str, params: JSON) -> None:
        """A call whose result we never use (an edit, a button's answer). Within a webhook
        request the first such call rides on the HTTP answer, as the Bot API allows, instead
        of costing a request of its own; the edit of an answered question usually takes it."""
        if not reply_in_response(method, _objects(params)):
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


def _result(payload: bytes) -> Any:
    """The `result` of a successful Bot API answer; what orjson refuses, PTB parses (and
    raises its own error for an answer that is not JSON at all)."""
    try:
        answer = orjson.loads(payload)
    except orjson.JSONDecodeError:
        answer = BaseRequest.parse_json_payload(payload)
    return answer["result"]


def _encoded(value: object) -> str:
    """A parameter as the request carries it: strings as they are, the rest as JSON (an id,
    the commonest, is written directly: that is its JSON)."""
    if isinstance(value, str):
        return value
    if type(value) is int:
        return str(value)
    return _JSON.encode(value)


def _objects(params: JSON) -> JSON:
    """Parameters for a webhook answer, which is a JSON object itself: a keyboard given
    already encoded goes in as an object again, not as a string inside it."""
    markup = params.get("reply_markup")
    if isinstance(markup, str):
        return {**params, "reply_markup": json.loads(markup)}
    return params


async def _harmless(call: Any) -> None:
    try:
        await call
    except BadRequest as exc:
        if not any(part in exc.message.lower() for part in HARMLESS_ERRORS):
            raise
