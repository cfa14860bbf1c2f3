"""The webhook endpoint Telegram posts updates to (behind the deployment's reverse proxy).

Our own, small tornado handler rather than PTB's:
- it checks the secret token in constant time before it reads the body: a request without the
  right `X-Telegram-Bot-Api-Secret-Token` gets 403, its body never read, let alone parsed;
- it hands the update on as JSON: the channel reads it directly, since building PTB's objects
  for it would cost more than everything the bot then does with it;
- it never logs an update's content (PTB's logs the whole update when one fails to parse);
- it answers only once the update has been handled, so an update whose handling was cut short
  (a crash, a restart) is sent again by Telegram, and recognised if it had in fact been handled;
- that answer may carry one Bot API call, as the Bot API allows: the channel puts there the
  first call whose result it never needs (usually the edit that shows a question answered),
  which saves a request per answer. Telegram reports no result for such a call.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from http import HTTPStatus
from typing import Any

import orjson
import tornado.web

from bot.channels.common.http import BoundedBody, WebhookHost, read_json

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
# The call that will ride on the current webhook request's HTTP answer, if any.
_REPLY: ContextVar[list[dict[str, Any]] | None] = ContextVar("telegram_webhook_reply",
                                                            default=None)


def detach_from_webhook() -> None:
    """For work that outlives the request that started it: its calls go as requests."""
    _REPLY.set(None)


def reply_in_response(method: str, params: dict[str, Any]) -> bool:
    """Put a call into the webhook's HTTP answer, if the update came by webhook and the
    answer has no call yet; False means: make the call yourself."""
    slot = _REPLY.get()
    if slot is None or slot:
        return False
    slot.append({"method": method, **params})
    return True


class WebhookReceiver:
    """Checks one request body and hands the update on, as JSON (no HTTP here)."""

    def __init__(self, secret: str, process: Callable[[Any], Awaitable[None]],
                 parse: Callable[[dict[str, Any]], Any] | None = None) -> None:
        self._parse = parse  # e.g. Update.de_json, for a bot that wants PTB's objects
        self._secret = secret.encode()
        self._process = process
        self.inflight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def authorized(self, header: str | None) -> bool:
        return header is not None and hmac.compare_digest(header.encode(), self._secret)

    async def receive(self, body: bytes) -> tuple[HTTPStatus, bytes]:
        """The HTTP status and body to answer with, once the update has been handled."""
        try:
            data = read_json(body)
            update = (self._parse(data) if self._parse else data) \
                if isinstance(data, dict) and isinstance(data.get("update_id"), int) else None
        except Exception:  # any malformed body: refuse it, never crash on it
            update = None
        if update is None:
            log.warning("webhook_bad_body")  # never the body itself: it may hold testimony
            return HTTPStatus.BAD_REQUEST, b""
        self.inflight += 1
        self._idle.clear()
        slot: list[dict[str, Any]] = []
        token = _REPLY.set(slot)
        try:
            await self._process(update)
        finally:
            _REPLY.reset(token)
            self.inflight -= 1
            if not self.inflight:
                self._idle.set()
        return HTTPStatus.OK, orjson.dumps(slot[0]) if slot else b""  # compact UTF-8

    async def drained(self, seconds: float) -> bool:
        try:
            await asyncio.wait_for(self._idle.wait(), seconds)
        except TimeoutError:
            return False
        return True


class _UpdateHandler(BoundedBody):
    SUPPORTED_METHODS = ("POST",)

    def initialize(self, receiver: WebhookReceiver) -> None:
        self.receiver = receiver
        self.chunks, self.size = [], 0

    def prepare(self) -> None:
        # Runs when the headers are in, before any of the body is read.
        if not self.receiver.authorized(self.request.headers.get(SECRET_HEADER)):
            log.warning("webhook_forbidden")
            raise tornado.web.HTTPError(HTTPStatus.FORBIDDEN)
        content_type = self.request.headers.get("Content-Type", "")
        if not content_type.startswith("application/json"):
            raise tornado.web.HTTPError(HTTPStatus.UNSUPPORTED_MEDIA_TYPE)
        self.refuse_oversized()

    async def post(self) -> None:
        status, body = await self.receiver.receive(self.body_bytes)
        self.set_status(status)
        if body:
            self.set_header("Content-Type", "application/json")
        self.finish(body)


class WebhookServer:
    def __init__(self, receiver: WebhookReceiver, path: str, listen: str, port: int) -> None:
        self.receiver = receiver
        self._path = path
        self._host = WebhookHost.shared(listen, port)  # shared with WhatsApp's webhook
        self.port: int | None = None

    async def start(self) -> None:
        await self._host.add(self._path, _UpdateHandler, {"receiver": self.receiver})
        self.port = self._host.port

    async def stop(self, grace: float = 30.0) -> None:
        """Stop accepting, let updates being handled finish, then close connections."""
        self._host.remove(self._path)
        if not await self.receiver.drained(grace):
            log.warning("webhook_stopped_with_updates_inflight count=%d",
                        self.receiver.inflight)
        await self._host.release()
