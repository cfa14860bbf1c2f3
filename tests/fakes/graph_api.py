"""A strict, recording fake of the WhatsApp Cloud API (Graph API), served over HTTP on
127.0.0.1, and builders for the webhook bodies Meta would post.

Strict where WhatsApp is (developers.facebook.com, WhatsApp Cloud API reference):
- every call needs `Authorization: Bearer <token>`; a wrong token answers error 190;
- text bodies 1-4,096 characters; interactive bodies 1-1,024;
- reply buttons: 1-3, ids 1-256 characters, titles 1-20 and distinct;
- list messages: a button label of 1-20 characters, at most 10 rows in all, row ids 1-200,
  titles 1-24, descriptions up to 72;
- free-form messages only within 24 hours of the person's last message (error 131047);
- media: `GET /<media id>` gives a URL that works for 5 minutes and only with the token;
- errors on demand (`fail_next`): 130429, 131056 (rate limits), 131047, 190, ...
Everything sent is recorded (`sent`, `calls`).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import tornado.httpserver
import tornado.netutil
import tornado.web

JSON = dict[str, Any]
VERSION = "v23.0"
TOKEN = "EAAG" + "fakeWhatsAppToken0123456789" * 2
PHONE_NUMBER_ID = "109876543210987"
DISPLAY_NUMBER = "15550001234"
APP_SECRET = "0123456789abcdef0123456789abcdef"
VERIFY_TOKEN = "verify-me-7f3a"
WINDOW = 24 * 3600
MEDIA_URL_LIFETIME = 300

ERROR_MESSAGES = {
    190: ("Error validating access token: Session has expired.", "OAuthException", 401),
    100: ("Invalid parameter", "OAuthException", 400),
    130429: ("Rate limit hit", "OAuthException", 429),
    131056: ("(Business Account, Consumer Account) pair rate limit hit", "OAuthException", 400),
    131047: ("Re-engagement message", "OAuthException", 400),
    131026: ("Message Undeliverable", "OAuthException", 400),
    131000: ("Something went wrong", "OAuthException", 500),
}


class GraphError(Exception):
    def __init__(self, code: int, detail: str = "") -> None:
        super().__init__(detail or ERROR_MESSAGES.get(code, ("error",))[0])
        self.code = code


@dataclass
class Sent:
    to: str
    payload: JSON
    message_id: str

    @property
    def kind(self) -> str:
        return str(self.payload["type"])

    @property
    def text(self) -> str:
        """What the person reads: a text's body, an interactive message's body."""
        if self.kind == "text":
            return str(self.payload["text"]["body"])
        if self.kind == "interactive":
            return str(self.payload["interactive"]["body"]["text"])
        if self.kind == "image":
            return str(self.payload["image"].get("caption", ""))
        return ""

    def options(self) -> list[tuple[str, str]]:
        """(title, id) of each button or list row."""
        if self.kind != "interactive":
            return []
        interactive = self.payload["interactive"]
        if interactive["type"] == "button":
            return [(b["reply"]["title"], b["reply"]["id"])
                    for b in interactive["action"]["buttons"]]
        return [(r["title"], r["id"]) for s in interactive["action"]["sections"]
                for r in s["rows"]]


@dataclass
class Media:
    data: bytes
    mime_type: str


@dataclass
class Call:
    method: str
    path: str
    status: int


@dataclass
class FakeGraphApi:
    clock: Callable[[], float] = time.time
    token: str = TOKEN
    phone_number_id: str = PHONE_NUMBER_ID
    sent: list[Sent] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    media: dict[str, Media] = field(default_factory=dict)
    last_heard: dict[str, float] = field(default_factory=dict)
    failures: list[int] = field(default_factory=list)
    port: int = 0
    check_window: bool = True  # the benchmark, which posts to the bot directly, turns it off
    record: bool = True  # keep what was sent (the benchmark does not)

    def __post_init__(self) -> None:
        self._server: tornado.httpserver.HTTPServer | None = None
        self._urls: dict[str, tuple[str, float]] = {}  # url token -> media id, expiry
        self._ids = itertools.count(1)

    # -- the test's side -------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/{VERSION}"

    async def start(self) -> None:
        app = tornado.web.Application([
            (r"/media/([A-Za-z0-9_-]+)", _DownloadHandler, {"api": self}),
            (rf"/{VERSION}/(.+)", _GraphHandler, {"api": self}),
        ], log_function=lambda handler: None)
        sockets = tornado.netutil.bind_sockets(0, address="127.0.0.1", family=socket.AF_INET)
        self._server = tornado.httpserver.HTTPServer(app)
        self._server.add_sockets(sockets)
        self.port = int(sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            await self._server.close_all_connections()

    def fail_next(self, code: int, times: int = 1) -> None:
        """The next `times` message sends answer with this error code."""
        self.failures += [code] * times

    def add_media(self, data: bytes, mime_type: str) -> str:
        media_id = str(700_000_000 + next(self._ids))
        self.media[media_id] = Media(data, mime_type)
        return media_id

    def to(self, user: str) -> list[Sent]:
        return [s for s in self.sent if s.to == user]

    def texts(self, user: str) -> list[str]:
        return [s.text for s in self.to(user)]

    def new_message_id(self) -> str:
        return "wamid." + secrets.token_urlsafe(24)

    # -- the API ---------------------------------------------------------------------------
    def handle(self, method: str, path: str, auth: str | None, body: bytes,
               content_type: str, query: dict[str, str]) -> JSON:
        if auth != f"Bearer {self.token}":
            raise GraphError(190)
        parts = path.split("/")
        if method == "GET" and parts == [self.phone_number_id]:
            return {"id": self.phone_number_id, "display_phone_number": DISPLAY_NUMBER}
        if method == "POST" and parts == [self.phone_number_id, "messages"]:
            return self._send(json.loads(body))
        if method == "POST" and parts == [self.phone_number_id, "media"]:
            return self._upload(body, content_type)
        if method == "GET" and len(parts) == 1 and parts[0] in self.media:
            return self._media_url(parts[0])
        raise GraphError(100, "Unsupported request")

    def _send(self, payload: JSON) -> JSON:
        if payload.get("messaging_product") != "whatsapp":
            raise GraphError(100, "messaging_product must be whatsapp")
        to = payload.get("to") or payload.get("recipient")
        if not isinstance(to, str) or not to:
            raise GraphError(100, "to is required")
        if self.failures:
            raise GraphError(self.failures.pop(0))
        heard = self.last_heard.get(to)
        if self.check_window and payload.get("type") != "template" and (
                heard is None or self.clock() - heard >= WINDOW):
            raise GraphError(131047)
        _check_message(payload, self.media)
        message_id = self.new_message_id()
        if self.record:
            self.sent.append(Sent(to, payload, message_id))
        return {"messaging_product": "whatsapp", "contacts": [{"input": to, "wa_id": to}],
                "messages": [{"id": message_id}]}

    def _upload(self, body: bytes, content_type: str) -> JSON:
        if not content_type.startswith("multipart/form-data") or b"whatsapp" not in body:
            raise GraphError(100, "multipart upload with messaging_product expected")
        media_id = self.add_media(body, "image/png")
        return {"id": media_id}

    def _media_url(self, media_id: str) -> JSON:
        media = self.media[media_id]
        url_token = secrets.token_urlsafe(16)
        self._urls[url_token] = (media_id, self.clock() + MEDIA_URL_LIFETIME)
        return {"messaging_product": "whatsapp", "id": media_id,
                "url": f"http://127.0.0.1:{self.port}/media/{url_token}",
                "mime_type": media.mime_type, "file_size": len(media.data),
                "sha256": hashlib.sha256(media.data).hexdigest()}

    def download(self, url_token: str, auth: str | None) -> bytes | None:
        if auth != f"Bearer {self.token}":
            raise GraphError(190)
        found = self._urls.get(url_token)
        if found is None or self.clock() > found[1]:
            return None
        return self.media[found[0]].data

    # -- webhook bodies, as Meta posts them ------------------------------------------------
    def body(self, messages: list[JSON] | None = None,
             statuses: list[JSON] | None = None) -> JSON:
        value: JSON = {"messaging_product": "whatsapp",
                       "metadata": {"display_phone_number": DISPLAY_NUMBER,
                                    "phone_number_id": self.phone_number_id}}
        if messages:
            value["contacts"] = [{"profile": {"name": "Profile Name Never Read"},
                                  "wa_id": m.get("from", "")} for m in messages]
            value["messages"] = messages
            for message in messages:  # the person wrote: the window opens
                self.last_heard[str(message.get("from") or message.get("from_user_id"))] = \
                    float(message["timestamp"])
        if statuses:
            value["statuses"] = statuses
        return {"object": "whatsapp_business_account",
                "entry": [{"id": "1029384756", "changes": [{"field": "messages",
                                                             "value": value}]}]}

    def message(self, user: str, kind: str, content: JSON, *, context: str | None = None,
                bsuid: bool = False) -> JSON:
        message: JSON = {"id": self.new_message_id(), "timestamp": str(int(self.clock())),
                         "type": kind, kind: content}
        message["from_user_id" if bsuid else "from"] = user
        if context is not None:
            message["context"] = {"from": DISPLAY_NUMBER, "id": context}
        return message

    def text(self, user: str, text: str, **kw: Any) -> JSON:
        return self.message(user, "text", {"body": text}, **kw)

    def reply(self, user: str, sent: Sent, title: str) -> JSON:
        """The person taps the button or list row titled `title` of a message we sent."""
        for option_title, option_id in sent.options():
            if option_title == title:
                kind = sent.payload["interactive"]["type"]
                if kind == "button":
                    content = {"type": "button_reply",
                               "button_reply": {"id": option_id, "title": option_title}}
                else:
                    content = {"type": "list_reply",
                               "list_reply": {"id": option_id, "title": option_title}}
                return self.message(user, "interactive", content, context=sent.message_id)
        raise AssertionError(f"no option {title!r} in {sent.options()}")

    def voice(self, user: str, media_id: str) -> JSON:
        return self.message(user, "audio", {"id": media_id, "mime_type": "audio/ogg; codecs=opus",
                                            "voice": True})

    def image(self, user: str, media_id: str, caption: str = "") -> JSON:
        content: JSON = {"id": media_id, "mime_type": "image/jpeg", "sha256": "x"}
        if caption:
            content["caption"] = caption
        return self.message(user, "image", content)

    def failed_status(self, user: str, code: int) -> JSON:
        return {"id": self.new_message_id(), "status": "failed", "recipient_id": user,
                "timestamp": str(int(self.clock())),
                "errors": [{"code": code, "title": ERROR_MESSAGES.get(code, ("x",))[0]}]}


def sign(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _require(condition: bool, detail: str) -> None:
    if not condition:
        raise GraphError(100, detail)


def _check_message(payload: JSON, media: dict[str, Media]) -> None:
    kind = payload.get("type")
    if kind == "text":
        body = payload.get("text", {}).get("body")
        _require(isinstance(body, str) and 1 <= len(body) <= 4096, "text body 1-4096")
    elif kind == "interactive":
        interactive = payload.get("interactive", {})
        body = interactive.get("body", {}).get("text")
        _require(isinstance(body, str) and 1 <= len(body) <= 1024, "interactive body 1-1024")
        action = interactive.get("action", {})
        if interactive.get("type") == "button":
            buttons = action.get("buttons", [])
            _require(1 <= len(buttons) <= 3, "1-3 buttons")
            titles = [b["reply"]["title"] for b in buttons]
            ids = [b["reply"]["id"] for b in buttons]
            _require(all(b.get("type") == "reply" for b in buttons), "reply buttons")
            _require(all(1 <= len(t) <= 20 for t in titles), "button title 1-20")
            _require(all(1 <= len(i) <= 256 for i in ids), "button id 1-256")
            _require(len(set(titles)) == len(titles) and len(set(ids)) == len(ids),
                     "button titles and ids must be unique")
        elif interactive.get("type") == "list":
            button = action.get("button")
            _require(isinstance(button, str) and 1 <= len(button) <= 20, "list button 1-20")
            rows = [r for s in action.get("sections", []) for r in s.get("rows", [])]
            _require(1 <= len(rows) <= 10, "1-10 rows in all")
            _require(all(1 <= len(r["title"]) <= 24 for r in rows), "row title 1-24")
            _require(all(1 <= len(r["id"]) <= 200 for r in rows), "row id 1-200")
            _require(all(len(r.get("description", "")) <= 72 for r in rows),
                     "row description up to 72")
            _require(len({r["id"] for r in rows}) == len(rows), "row ids must be unique")
        else:
            _require(False, "unsupported interactive type")
    elif kind == "image":
        image = payload.get("image", {})
        _require(image.get("id") in media or isinstance(image.get("link"), str),
                 "image id or link")
        _require(len(image.get("caption", "")) <= 1024, "caption up to 1024")
    elif kind == "template":
        template = payload.get("template", {})
        _require(isinstance(template.get("name"), str) and template["name"] != "",
                 "template name")
        _require(isinstance(template.get("language", {}).get("code"), str),
                 "template language code")
    else:
        _require(False, f"unsupported type {kind}")


def _error_body(error: GraphError) -> tuple[int, JSON]:
    message, kind, status = ERROR_MESSAGES.get(error.code, ("error", "OAuthException", 400))
    return status, {"error": {"message": str(error) or message, "type": kind,
                              "code": error.code, "fbtrace_id": "AbCdEf"}}


class _GraphHandler(tornado.web.RequestHandler):
    def initialize(self, api: FakeGraphApi) -> None:
        self.api = api

    def _answer(self, path: str) -> None:
        method = self.request.method or "GET"
        try:
            result = self.api.handle(method, path, self.request.headers.get("Authorization"),
                                     self.request.body,
                                     self.request.headers.get("Content-Type", ""),
                                     {k: self.get_query_argument(k) for k in
                                      self.request.query_arguments})
            status = 200
        except GraphError as exc:
            status, result = _error_body(exc)
        except (ValueError, KeyError, TypeError, AttributeError):
            status, result = _error_body(GraphError(100, "malformed request"))
        if self.api.record:
            self.api.calls.append(Call(method, path, status))
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(result))

    def get(self, path: str) -> None:
        self._answer(path)

    def post(self, path: str) -> None:
        self._answer(path)


class _DownloadHandler(tornado.web.RequestHandler):
    def initialize(self, api: FakeGraphApi) -> None:
        self.api = api

    def get(self, url_token: str) -> None:
        try:
            data = self.api.download(url_token, self.request.headers.get("Authorization"))
        except GraphError:
            self.set_status(401)
            self.finish()
            return
        self.api.calls.append(Call("GET", "media", 200 if data is not None else 404))
        if data is None:
            self.set_status(404)
            self.finish()
            return
        self.set_header("Content-Type", "application/octet-stream")
        self.finish(data)
