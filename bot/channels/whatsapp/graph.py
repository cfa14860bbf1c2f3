"""The few Graph API calls the channel makes, over httpx (no SDK: see the README for why).

- `send(payload)`: POST /<phone number id>/messages; returns the new message's id.
- `media(media_id, limit)`: GET /<media id> for a short-lived URL, then the file itself with
  the token (a URL alone does not open it); never more than `limit` bytes are read.
- `upload(data, mime)`: POST /<phone number id>/media, for the QR code of a new link.
- `check()`: GET /<phone number id>, once at start: proves the token and the number id.

Errors come back by code: 130429 and 131056 (rate limits) are retried after a pause,
131047 (outside the 24-hour window) is never retried, 190 (token) stops the bot at start.
No error message, URL or exception text ever carries the token (it travels in a header).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from bot.channels.common.transport import TransportError, Unreachable
from bot.orchestrator import MediaTooLarge

log = logging.getLogger(__name__)

RATE_LIMITED = frozenset({130429, 131056})  # throughput, and the pair (one person) limit
OUTSIDE_WINDOW = 131047
TOKEN_INVALID = 190
UNREACHABLE = frozenset({131026, 131030})  # not on WhatsApp / not a valid recipient
RETRIES = 3
FIRST_PAUSE = 1.0  # seconds; doubled on every retry
TIMEOUT = httpx.Timeout(20.0, connect=10.0)

JSON = dict[str, Any]


class GraphError(TransportError):
    def __init__(self, code: int, status: int) -> None:
        super().__init__(f"Graph API error {code} (HTTP {status})")
        self.code = code
        self.status = status


class OutsideWindow(GraphError):
    """More than 24 hours since the person's last message: only templates may go out."""


class TokenRejected(GraphError):
    """WHATSAPP_ACCESS_TOKEN is invalid or expired."""


class RecipientUnreachable(GraphError, Unreachable):
    """The person cannot be written to (not on WhatsApp any more)."""


class GraphClient:
    def __init__(self, base_url: str, token: str, phone_number_id: str, *,
                 transport: httpx.AsyncBaseTransport | None = None,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 first_pause: float = FIRST_PAUSE) -> None:
        self.base_url = base_url.rstrip("/")
        self.phone_number_id = phone_number_id
        self._http = httpx.AsyncClient(
            timeout=TIMEOUT, transport=transport, follow_redirects=False,
            headers={"Authorization": f"Bearer {token}"},
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=50))
        self._sleep = sleep
        self._first_pause = first_pause

    async def close(self) -> None:
        await self._http.aclose()

    async def check(self) -> None:
        await self._call("GET", f"/{self.phone_number_id}", params={"fields": "id"})

    async def send(self, payload: JSON) -> str:
        body = {"messaging_product": "whatsapp", **payload}
        result = await self._call("POST", f"/{self.phone_number_id}/messages", json=body)
        messages = result.get("messages")
        if not isinstance(messages, list) or not messages or not isinstance(messages[0], dict):
            raise TransportError("the Graph API answered without a message id")
        return str(messages[0].get("id", ""))

    async def upload(self, data: bytes, mime: str) -> str:
        result = await self._call(
            "POST", f"/{self.phone_number_id}/media",
            data={"messaging_product": "whatsapp", "type": mime},
            files={"file": ("file", data, mime)})
        return str(result.get("id", ""))

    async def media(self, media_id: str, limit: int) -> bytes:
        """The file behind a media id, at most `limit` bytes (else MediaTooLarge)."""
        try:
            info = await self._call("GET", f"/{media_id}")
        except TransportError as exc:
            raise OSError("the media id could not be looked up") from exc
        size = info.get("file_size")
        if isinstance(size, int) and size > limit:
            raise MediaTooLarge(limit)
        url = info.get("url")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise OSError("the media URL is missing")
        try:
            async with self._http.stream("GET", url) as response:
                if response.status_code != 200:
                    raise OSError(f"media download answered {response.status_code}")
                chunks: list[bytes] = []
                received = 0
                async for chunk in response.aiter_bytes():
                    received += len(chunk)
                    if received > limit:
                        raise MediaTooLarge(limit)
                    chunks.append(chunk)
        except httpx.HTTPError as exc:
            raise OSError(type(exc).__name__) from None
        return b"".join(chunks)

    async def _call(self, method: str, path: str, **kwargs: Any) -> JSON:
        pause = self._first_pause
        for attempt in range(RETRIES + 1):
            try:
                response = await self._http.request(method, self.base_url + path, **kwargs)
            except httpx.HTTPError as exc:
                raise TransportError(type(exc).__name__) from None
            data = _json(response)
            if response.status_code < 400:
                return data
            error = data.get("error") if isinstance(data.get("error"), dict) else {}
            code = error.get("code") if isinstance(error, dict) else None
            code = code if isinstance(code, int) else 0
            if code in RATE_LIMITED and attempt < RETRIES:
                log.info("whatsapp_rate_limited code=%d seconds=%.1f", code, pause)
                await self._sleep(pause)
                pause *= 2
                continue
            raise _error(code, response.status_code)
        raise AssertionError("unreachable")  # the loop returns or raises


def _json(response: httpx.Response) -> JSON:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _error(code: int, status: int) -> GraphError:
    if code == OUTSIDE_WINDOW:
        log.warning("whatsapp_outside_window code=%d", code)
        return OutsideWindow(code, status)
    if code == TOKEN_INVALID:
        return TokenRejected(code, status)
    log.warning("whatsapp_api_error code=%d status=%d", code, status)
    if code in UNREACHABLE:
        return RecipientUnreachable(code, status)
    return GraphError(code, status)
