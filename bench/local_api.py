"""An in-process Bot API for benchmarks: a PTB `BaseRequest` that answers without a network.

It does what a real HTTP client must do with each request (encode the parameters as PTB's
HTTPXRequest does) and answers what Telegram would (a sent message is echoed in full, its
keyboard included, as the Bot API returns it), so the bot under test pays the same per-call
costs as in production, minus the socket. The answers are put together from the already
encoded parameters, so the fake itself costs as little as possible: it is not what is being
measured. It keeps, per chat, the last keyboard sent, for the simulated respondents.
"""

from __future__ import annotations

import itertools
import json
import re
import time
from typing import Any

from telegram.request import BaseRequest, RequestData

BOT = {"id": 7_000_000_001, "is_bot": True, "first_name": "Bench Bot", "username": "bench_bot"}
_BOT_JSON = json.dumps(BOT)
_TOKEN = re.compile(r'"callback_data":\s*"([^":]+):')


class LocalBotApi(BaseRequest):
    def __init__(self) -> None:
        self.calls = 0
        # chat -> (message id, keyboard as JSON, the question's token)
        self.keyboards: dict[int, tuple[int, str, str]] = {}
        self._message_ids: dict[int, itertools.count[int]] = {}

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    @property
    def read_timeout(self) -> float | None:
        return 5.0

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         read_timeout: Any = None, write_timeout: Any = None,
                         connect_timeout: Any = None, pool_timeout: Any = None
                         ) -> tuple[int, bytes]:
        self.calls += 1
        endpoint = url.rsplit("/", 1)[-1]
        # What HTTPXRequest sends: every parameter as a string, JSON-encoded unless a string.
        params = request_data.json_parameters if request_data else {}
        if endpoint in ("sendMessage", "editMessageText", "editMessageReplyMarkup"):
            return 200, self._message(endpoint, params)
        if endpoint == "getMe":
            result = json.dumps({**BOT, "can_join_groups": False,
                                 "can_read_all_group_messages": False,
                                 "supports_inline_queries": False})
        else:
            result = "[]" if endpoint == "getUpdates" else "true"
        return 200, b'{"ok":true,"result":' + result.encode() + b"}"

    def _message(self, endpoint: str, params: dict[str, str]) -> bytes:
        chat_id = int(params["chat_id"])
        if endpoint == "sendMessage":
            message_id = next(self._message_ids.setdefault(chat_id, itertools.count(10_000)))
        else:
            message_id = int(params["message_id"])
        markup = params.get("reply_markup")
        body = (f'{{"ok":true,"result":{{"message_id":{message_id},"from":{_BOT_JSON},'
                f'"date":{int(time.time())},"chat":{{"id":{chat_id},"first_name":"R",'
                f'"type":"private"}},"text":{json.dumps(params.get("text", "(edited)"))}')
        if markup:
            body += f',"reply_markup":{markup}'
            token = _TOKEN.search(markup)
            if token:
                self.keyboards[chat_id] = (message_id, markup, token[1])
        return (body + "}}").encode()
