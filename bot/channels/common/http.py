"""One HTTP server per WEBHOOK_LISTEN:WEBHOOK_PORT, shared by the channels that take webhooks
(Telegram at its WEBHOOK_URL's path, WhatsApp at /whatsapp/webhook), so both can run in one
process behind one reverse-proxy rule. Each channel adds its route when it starts and takes
it away when it stops; the socket closes with the last one."""

from __future__ import annotations

import json
import socket
from typing import Any, ClassVar

import orjson
import tornado.httpserver
import tornado.netutil
import tornado.routing
import tornado.web

from bot.config import ConfigError

MAX_REQUEST = 4 * 1024 * 1024  # tornado's own cap; each handler checks its smaller limit first


def read_json(body: bytes) -> Any:
    """A webhook body's JSON. orjson is strict where the standard library is lenient (a lone
    UTF-16 surrogate escape, integers beyond 64 bits): what it refuses, the standard library
    reads, so no update that parsed before is turned away. Raises ValueError if neither can."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return json.loads(body)


class WebhookHost:
    _open: ClassVar[dict[tuple[str, int], WebhookHost]] = {}

    @classmethod
    def shared(cls, listen: str, port: int) -> WebhookHost:
        host = cls._open.get((listen, port))
        if host is None:
            host = cls._open[(listen, port)] = cls(listen, port)
        return host

    def __init__(self, listen: str, port: int) -> None:
        self.listen = listen
        self.requested_port = port
        self._app = tornado.web.Application([], log_function=lambda handler: None)
        # Tornado's own limit answers 400 before a handler sees the request; the handlers'
        # (413, from the declared length) must come first.
        self._server = tornado.httpserver.HTTPServer(self._app, max_body_size=MAX_REQUEST)
        self._routes: dict[str, tornado.routing.Rule] = {}
        self.port: int | None = None

    async def add(self, path: str, handler: type[tornado.web.RequestHandler],
                  arguments: dict[str, Any]) -> None:
        """Serve `path` (a trailing slash allowed) with `handler`; opens the socket first
        (ConfigError if it cannot be opened)."""
        if self.port is None:
            try:
                sockets = tornado.netutil.bind_sockets(self.requested_port, address=self.listen,
                                                       family=socket.AF_UNSPEC)
            except OSError as exc:
                raise ConfigError(
                    f"Cannot listen on {self.listen}:{self.requested_port} ({exc.strerror}). "
                    "Check WEBHOOK_LISTEN and WEBHOOK_PORT.") from exc
            self._server.add_sockets(sockets)
            self.port = int(sockets[0].getsockname()[1])
        rule = tornado.routing.Rule(tornado.routing.PathMatches(rf"{path.rstrip('/')}/?"),
                                    handler, arguments)
        self._app.wildcard_router.rules.append(rule)
        self._routes[path] = rule

    def remove(self, path: str) -> None:
        """Stop serving `path` (requests to it get 404 from now on)."""
        rule = self._routes.pop(path, None)
        if rule is not None:
            self._app.wildcard_router.rules.remove(rule)

    async def release(self) -> None:
        """Once no route is left: close the socket and the open connections."""
        if not self._routes and self.port is not None:
            self._server.stop()
            await self._server.close_all_connections()
            self._open.pop((self.listen, self.requested_port), None)
            self.port = None


MAX_BODY = 1024 * 1024  # a webhook body is a few kilobytes; anything near this is no platform's


@tornado.web.stream_request_body
class BoundedBody(tornado.web.RequestHandler):
    """A webhook handler that reads its body in chunks and refuses one over MAX_BODY, by its
    declared length before reading and by its real length while reading (413 either way), and
    that neither logs a failed request nor answers it with more than its status."""

    chunks: list[bytes]  # both set empty by each handler's `initialize`
    size: int

    def refuse_oversized(self) -> None:
        """Call from `prepare`, once the handler's own checks passed."""
        declared = self.request.headers.get("Content-Length", "0")
        if not declared.isdigit() or int(declared) > MAX_BODY:
            raise tornado.web.HTTPError(413)

    def data_received(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > MAX_BODY:
            raise tornado.web.HTTPError(413)
        self.chunks.append(chunk)

    @property
    def body_bytes(self) -> bytes:
        return b"".join(self.chunks)

    def log_exception(self, *args: object) -> None:
        """Tornado would log the request; ours carry nothing worth a traceback."""

    def write_error(self, status_code: int, **kwargs: object) -> None:
        self.finish()  # no body, no traceback, nothing echoed
