"""The webhook Meta posts WhatsApp messages to: /whatsapp/webhook on WEBHOOK_LISTEN:PORT.

- GET is the subscription check: `hub.mode=subscribe` and `hub.verify_token` equal to
  WHATSAPP_VERIFY_TOKEN (compared in constant time) are answered with `hub.challenge`;
  anything else gets 403.
- Every POST must carry `X-Hub-Signature-256: sha256=<hex>`, the HMAC-SHA256 of the raw body
  with the app secret. It is checked (in constant time) over the bytes as received, before
  anything is parsed: 401 without a well-formed header, 403 when it does not match. Bodies
  are capped (413), and nothing of a body ever reaches a log.
- A valid POST is answered 200 at once and handled afterwards: Meta redelivers when the
  answer is slow, and the database's exactly-once check absorbs the redeliveries anyway.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import re
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

import tornado.web

from bot.channels.common.http import BoundedBody, read_json

log = logging.getLogger(__name__)

PATH = "/whatsapp/webhook"
SIGNATURE_HEADER = "X-Hub-Signature-256"
SIGNATURE = re.compile(r"sha256=([0-9a-f]{64})")
MAX_CHALLENGE = 256

Process = Callable[[dict[str, Any]], Awaitable[None]]


class WhatsAppReceiver:
    """Checks requests and hands valid bodies on, in the background (no HTTP here)."""

    def __init__(self, app_secret: str, verify_token: str, process: Process) -> None:
        self._secret = app_secret.encode()
        self._verify_token = verify_token.encode()
        self._process = process
        self._tasks: set[asyncio.Task[None]] = set()
        self.accepted = 0  # bodies taken in (for tests and benchmarks to wait on)
        self.finished = 0  # ... and handled

    def verify(self, mode: str | None, token: str | None, challenge: str | None) -> str | None:
        """The challenge to echo, or None (then 403)."""
        if mode != "subscribe" or token is None or challenge is None \
                or len(challenge) > MAX_CHALLENGE:
            return None
        if not hmac.compare_digest(token.encode(), self._verify_token):
            return None
        return challenge

    def signed(self, header: str, body: bytes) -> bool:
        match = SIGNATURE.fullmatch(header.strip().lower())
        if match is None:
            return False
        expected = hmac.new(self._secret, body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(match[1], expected)

    def accept(self, body: bytes) -> HTTPStatus:
        try:
            data = read_json(body)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            log.warning("whatsapp_webhook_bad_body")  # never the body: it may hold testimony
            return HTTPStatus.BAD_REQUEST
        self.accepted += 1
        task = asyncio.create_task(self._run(data))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return HTTPStatus.OK

    async def _run(self, data: dict[str, Any]) -> None:
        try:
            await self._process(data)
        except Exception as exc:
            log.error("whatsapp_webhook_failed error=%s", type(exc).__name__)
        finally:
            self.finished += 1

    async def drain(self, grace: float) -> bool:
        if not self._tasks:
            return True
        _done, pending = await asyncio.wait(set(self._tasks), timeout=grace)
        return not pending


class WhatsAppHandler(BoundedBody):
    SUPPORTED_METHODS = ("GET", "POST")

    def initialize(self, receiver: WhatsAppReceiver) -> None:
        self.receiver = receiver
        self.chunks, self.size = [], 0

    def prepare(self) -> None:
        # Runs when the headers are in, before any of the body is read.
        if self.request.method != "POST":
            return
        if not SIGNATURE.fullmatch(self.request.headers.get(SIGNATURE_HEADER, "").lower()):
            log.warning("whatsapp_webhook_unsigned")
            raise tornado.web.HTTPError(HTTPStatus.UNAUTHORIZED)
        self.refuse_oversized()

    def get(self) -> None:
        challenge = self.receiver.verify(self.get_query_argument("hub.mode", None),
                                         self.get_query_argument("hub.verify_token", None),
                                         self.get_query_argument("hub.challenge", None))
        if challenge is None:
            log.warning("whatsapp_verification_refused")
            raise tornado.web.HTTPError(HTTPStatus.FORBIDDEN)
        self.set_header("Content-Type", "text/plain")
        self.finish(challenge)

    def post(self) -> None:
        body = self.body_bytes
        if not self.receiver.signed(self.request.headers.get(SIGNATURE_HEADER, ""), body):
            log.warning("whatsapp_webhook_bad_signature")
            raise tornado.web.HTTPError(HTTPStatus.FORBIDDEN)
        status = self.receiver.accept(body)
        self.set_status(status)
        self.finish()
