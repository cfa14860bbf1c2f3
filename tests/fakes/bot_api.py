"""A strict, recording fake of the Telegram Bot API, served over HTTP on 127.0.0.1.

Tests point a real python-telegram-bot ``Bot``/``Application`` at it with
``ApplicationBuilder().base_url(api.base_url).base_file_url(api.base_file_url)``, so the whole of
PTB's HTTP path (form/multipart encoding, status-code to exception mapping, long polling, file
downloads) is exercised, not a mock of it.

The fake answers like the official Bot API server (tdlib/telegram-bot-api): the same
``{"ok": ..., "result"/"description"}`` envelope, the same HTTP status codes and, where they are
known, the same error descriptions (taken from the server's source or from real error reports).
It is strict where Telegram is strict, so a bot that passes here does not fail on a limit in
production: text and caption lengths after entity parsing, HTML/MarkdownV2 syntax, inline
keyboards (callback_data is 1-64 *bytes*), 48-hour deletion window, unknown chats, unknown
callback queries, one answer per callback query, webhook/getUpdates conflicts.

Everything the bot does is recorded in ``api.calls``; the resulting state (messages that still
exist, deletions, uploads, commands, webhook) has helpers to assert on.

Known simplifications (Telegram does more): no automatic url/mention/hashtag entities in sent
texts, no webhook delivery, no inline messages, thumbnails of uploaded photos are the original
bytes, all messages in a group may be deleted (as if the bot were an administrator).
"""

from __future__ import annotations

import asyncio
import base64
import copy
import hashlib
import html
import inspect
import ipaddress
import itertools
import json
import logging
import re
import socket
import struct
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Final, TypeAlias
from urllib.parse import urlsplit

import tornado.httpserver
import tornado.httputil
import tornado.netutil
import tornado.web

JSONDict: TypeAlias = dict[str, Any]
Clock: TypeAlias = Callable[[], float]
MethodHandler: TypeAlias = Callable[["Params"], Any]

_LOG = logging.getLogger(__name__)

DEFAULT_BOT_ID: Final = 7_000_000_001
DEFAULT_BOT_USERNAME: Final = "testimony_test_bot"
DEFAULT_BOT_FIRST_NAME: Final = "Testimony Test Bot"

# Limits of the public Bot API (core.telegram.org/bots/api), enforced like the real server does.
MAX_TEXT_LENGTH: Final = 4096
MAX_CAPTION_LENGTH: Final = 1024
MAX_CALLBACK_DATA_BYTES: Final = 64
MAX_CALLBACK_ANSWER_LENGTH: Final = 200
MAX_INLINE_KEYBOARD_BUTTONS: Final = 100
MAX_MESSAGE_IDS: Final = 100
MAX_COMMANDS: Final = 100
MAX_COMMAND_DESCRIPTION_LENGTH: Final = 256
MAX_SECRET_TOKEN_LENGTH: Final = 256
MAX_DOWNLOAD_SIZE: Final = 20 * 1024 * 1024
DELETE_WINDOW_SECONDS: Final = 48 * 3600
LONG_POLL_MAX_TIMEOUT: Final = 50
DEFAULT_WEBHOOK_MAX_CONNECTIONS: Final = 40
WEBHOOK_PORTS: Final = frozenset({80, 88, 443, 8443})

ALL_UPDATE_TYPES: Final = (
    "message", "edited_message", "channel_post", "edited_channel_post", "business_connection",
    "business_message", "edited_business_message", "deleted_business_messages",
    "message_reaction", "message_reaction_count", "inline_query", "chosen_inline_result",
    "callback_query", "shipping_query", "pre_checkout_query", "purchased_paid_media", "poll",
    "poll_answer", "my_chat_member", "chat_member", "chat_join_request", "chat_boost",
    "removed_chat_boost",
)  # fmt: skip
# "By default, all update types except chat_member, message_reaction and message_reaction_count
# are received" -- and the server drops disallowed updates when they are created, not when polled.
DEFAULT_ALLOWED_UPDATES: Final = frozenset(ALL_UPDATE_TYPES) - {
    "chat_member",
    "message_reaction",
    "message_reaction_count",
}

NOT_MODIFIED: Final = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)
POLL_CONFLICT: Final = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is "
    "running"
)
QUERY_INVALID: Final = "query is too old and response timeout expired or query ID is invalid"
WEBHOOK_CONFLICT: Final = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete "
    "the webhook first"
)


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


class ApiError(Exception):
    """An unsuccessful Bot API answer; raised by method handlers, turned into the HTTP reply."""

    def __init__(self, status: int, description: str, parameters: JSONDict | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def body(self) -> JSONDict:
        body: JSONDict = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: {detail}")


def forbidden(detail: str) -> ApiError:
    return ApiError(403, f"Forbidden: {detail}")


def too_many_requests(retry_after: int) -> ApiError:
    return ApiError(
        429,
        f"Too Many Requests: retry after {retry_after}",
        {"retry_after": retry_after},
    )


def entity_error(detail: str) -> ApiError:
    return bad_request(f"can't parse entities: {detail}")


# How 403 descriptions name a chat the bot is not a member of.
_CHAT_KINDS: Final = {
    "group": "group chat",
    "supergroup": "supergroup chat",
    "channel": "channel chat",
}

# Descriptions the fake uses for injected failures of a given status when the test gives none.
_DEFAULT_FAULT_DESCRIPTIONS: Final = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


# --------------------------------------------------------------------------------------------
# Records and state
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request, as the bot uploaded it."""

    filename: str
    content_type: str
    data: bytes


@dataclass
class Call:
    """One request the bot made. ``params`` are decoded: numbers, booleans and nested JSON
    objects are Python values again; uploaded files are :class:`UploadedFile`."""

    method: str
    params: JSONDict
    token: str = ""
    status: int | None = None  # HTTP status of the answer; None while a long poll still waits


@dataclass(frozen=True)
class FakeFile:
    """A file the fake can serve through getFile and the file download URL."""

    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes
    file_size: int


@dataclass(frozen=True)
class WebhookState:
    url: str = ""
    secret_token: str = ""
    max_connections: int = 0
    ip_address: str = ""


@dataclass
class _StoredMessage:
    message: JSONDict
    outgoing: bool  # sent by the bot (as opposed to noted from a user/update)
    sent_text: str | None = None  # text as first sent, kept after edits and deletion
    deleted: bool = False

    @property
    def date(self) -> int:
        return int(self.message.get("date", 0))


@dataclass
class _Chat:
    info: JSONDict  # the Chat object as it appears inside messages
    blocked: bool = False  # private chats: the user blocked the bot
    member_status: str = "member"  # groups and channels: member | left | kicked

    @property
    def id(self) -> int:
        return int(self.info["id"])

    @property
    def type(self) -> str:
        return str(self.info.get("type", "private"))


@dataclass
class _Fault:
    status: int
    description: str
    parameters: JSONDict | None
    remaining: int


@dataclass(frozen=True)
class _Answer:
    """A successful result that carries a ``description`` too (as setWebhook's do)."""

    result: Any
    description: str


class _Signal:
    """Wakes every coroutine waiting on it; used to end long polls early."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, seconds: float) -> None:
        event = self._event
        try:
            await asyncio.wait_for(event.wait(), seconds)
        except TimeoutError:
            return


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units: the unit of MessageEntity offsets and lengths."""
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    """Telegram reports markup errors at UTF-8 byte offsets of the source text."""
    return len(text[:index].encode("utf-8"))


def to_integer(value: str) -> int:
    """Parse like the server's td::to_integer: a leading integer, anything else is 0.

    Telegram does not reject malformed numbers; a garbage message_id simply becomes 0 and then
    "not found", which is the error the bot sees.
    """
    match = re.match(r"-?\d+", value.strip())
    return int(match.group()) if match else 0


def to_bool(value: str) -> bool:
    return value.strip().lower() in {"true", "yes", "1"}


def _digest(text: str, length: int) -> str:
    raw = hashlib.sha256(text.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")[:length]


def file_unique_id_for(file_id: str) -> str:
    """Stable file_unique_id for a file_id, shared with the update builders."""
    return "AQAD" + _digest("unique:" + file_id, 12)


# Real file_ids start with a prefix that encodes the file type; keeping it makes ids look real.
_FILE_ID_PREFIXES: Final = {
    "photo": "AgACAgIAAxkBAAI",
    "voice": "AwACAgIAAxkBAAI",
    "audio": "CQACAgIAAxkBAAI",
    "document": "BQACAgIAAxkBAAI",
    "sticker": "CAACAgIAAxkBAAI",
}


def make_file_id(kind: str, seed: str) -> str:
    return _FILE_ID_PREFIXES.get(kind, _FILE_ID_PREFIXES["document"]) + _digest(seed, 40)


# Side lengths of the sizes Telegram generates for a photo (s, m, x, y, w).
_PHOTO_SIDES: Final = (90, 320, 800, 1280, 2560)


def photo_sizes(width: int, height: int) -> list[tuple[int, int]]:
    """The (width, height) of every PhotoSize Telegram makes for a photo, smallest first."""
    sizes: list[tuple[int, int]] = []
    longest = max(width, height, 1)
    for side in _PHOTO_SIDES:
        scale = min(1.0, side / longest)
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        if size not in sizes:
            sizes.append(size)
        if scale == 1.0:
            break
    return sizes


def image_dimensions(data: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG, GIF, WebP or JPEG image; None if it is not one of those.

    sendPhoto needs this because Telegram refuses bytes that are not an image.
    """
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return int(width), int(height)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return 512, 512  # dimensions are codec specific; a sticker-like default is enough
    if data.startswith(b"\xff\xd8"):
        return _jpeg_dimensions(data)
    return None


def _jpeg_dimensions(data: bytes) -> tuple[int, int] | None:
    index = 2
    while index + 9 <= len(data):
        if data[index] != 0xFF:
            return None
        marker = data[index + 1]
        length = struct.unpack(">H", data[index + 2 : index + 4])[0]
        # Start-of-frame markers carry the size; C4 (DHT), C8 (JPG) and CC (DAC) do not.
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[index + 5 : index + 9])
            return int(width), int(height)
        index += 2 + length
    return None


# --------------------------------------------------------------------------------------------
# Request parameters
# --------------------------------------------------------------------------------------------

# How recorded parameters are decoded. The wire format cannot tell the string "1" from the number
# 1 (PTB sends every parameter as a form field, JSON-encoding everything but strings), so
# decoding is by parameter name, the way the Bot API server types them.
_INT_PARAMS: Final = frozenset(
    {
        "chat_id", "from_chat_id", "message_id", "message_thread_id", "reply_to_message_id",
        "offset", "limit", "timeout", "user_id", "cache_time", "max_connections", "until_date",
        "duration", "width", "height", "length", "live_period", "heading",
    }
)  # fmt: skip
_BOOL_PARAMS: Final = frozenset(
    {
        "show_alert", "drop_pending_updates", "disable_notification", "protect_content",
        "has_spoiler", "show_caption_above_media", "allow_sending_without_reply",
        "disable_web_page_preview", "disable_content_type_detection", "revoke_messages",
        "only_if_banned", "is_personal", "allow_paid_broadcast",
    }
)  # fmt: skip
_TEXT_PARAMS: Final = frozenset(
    {
        "text", "caption", "data", "description", "url", "secret_token", "language_code",
        "parse_mode", "file_id", "callback_query_id", "inline_message_id", "query", "title",
        "photo", "voice", "audio", "document", "sticker", "video", "business_connection_id",
    }
)  # fmt: skip


def _decode_value(name: str, value: str) -> Any:
    if name in _TEXT_PARAMS:
        return value
    if name in _INT_PARAMS and re.fullmatch(r"-?\d+", value):
        return int(value)
    if name in _BOOL_PARAMS and value in ("true", "false"):
        return value == "true"
    if value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _stringify(value: Any) -> str:
    """Turn a JSON-body value into the string form the server would see in a form field."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return json.dumps(value, ensure_ascii=False)


class Params:
    """The arguments of one request, as the Bot API server sees them.

    Every argument is a string and an empty string counts as "not given", exactly as on the
    real server, whatever the encoding (query string, form, multipart or JSON body).
    """

    def __init__(
        self,
        values: Mapping[str, str] | None = None,
        files: Mapping[str, UploadedFile] | None = None,
        *,
        is_gone: Callable[[], bool] = lambda: False,
    ) -> None:
        self._values = dict(values or {})
        self._files = dict(files or {})
        self.is_gone = is_gone  # the client hung up (matters for long polls)

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Params:
        return cls({name: _stringify(value) for name, value in body.items()})

    def get_str(self, name: str) -> str:
        return self._values.get(name, "")

    def has(self, name: str) -> bool:
        return bool(self._values.get(name)) or name in self._files

    def get_int(self, name: str, default: int = 0) -> int:
        raw = self.get_str(name)
        return to_integer(raw) if raw else default

    def get_bool(self, name: str) -> bool:
        return to_bool(self.get_str(name))

    def get_json(self, name: str, error: str) -> Any:
        """The JSON-decoded argument, None if absent; ``error`` is the description if invalid."""
        raw = self.get_str(name)
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise bad_request(error) from None

    def get_file(self, name: str) -> UploadedFile | None:
        return self._files.get(name)

    def decoded(self) -> JSONDict:
        decoded: JSONDict = {
            name: _decode_value(name, value) for name, value in self._values.items()
        }
        decoded.update(self._files)
        return decoded


# --------------------------------------------------------------------------------------------
# Text formatting: parse_mode HTML / MarkdownV2 / Markdown
# --------------------------------------------------------------------------------------------


class _TextBuilder:
    """Collects the plain text of a parsed message and its entities (UTF-16 offsets)."""

    def __init__(self) -> None:
        self.chars: list[str] = []
        self.u16 = 0
        self.entities: list[JSONDict] = []

    def emit(self, text: str) -> None:
        self.chars.append(text)
        self.u16 += utf16_len(text)

    def add_entity(self, entity_type: str, start: int, **extra: Any) -> None:
        if self.u16 > start:  # empty entities are dropped, as Telegram does
            self.entities.append(
                {"offset": start, "length": self.u16 - start, "type": entity_type, **extra}
            )

    def result(self) -> tuple[str, list[JSONDict]]:
        entities = sorted(self.entities, key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.chars), entities


_HTML_TAGS: Final = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
    "ins": "underline", "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough",
    "tg-spoiler": "spoiler", "span": "spoiler", "code": "code", "pre": "pre",
    "blockquote": "blockquote", "a": "text_link", "tg-emoji": "custom_emoji",
}  # fmt: skip
_HTML_NAMED_ENTITIES: Final = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_TAG_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]*")
_TAG_ATTRIBUTE = re.compile(r"\s*([A-Za-z_-]+)(?:\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s>\"']+))?")
_HTML_ENTITY = re.compile(r"&(?:#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6})|([A-Za-z]+));")


@dataclass
class _OpenTag:
    name: str
    start: int
    attributes: dict[str, str]
    language: str = ""


class _HtmlParser:
    """Telegram's HTML flavour: a fixed tag set, only four named entities, strict nesting."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.out = _TextBuilder()
        self.stack: list[_OpenTag] = []

    def parse(self) -> tuple[str, list[JSONDict]]:
        index = 0
        while index < len(self.source):
            char = self.source[index]
            if char == "<":
                index = self._tag(index)
            elif char == "&":
                index = self._entity(index)
            else:
                self.out.emit(char)
                index += 1
        if self.stack:
            raise entity_error(
                f'Can\'t find end tag corresponding to start tag "{self.stack[-1].name}"'
            )
        return self.out.result()

    def _entity(self, index: int) -> int:
        match = _HTML_ENTITY.match(self.source, index)
        decoded: str | None = None
        if match and match.group(1):
            decoded = chr(int(match.group(1))) if int(match.group(1)) < 0x110000 else None
        elif match and match.group(2):
            decoded = chr(int(match.group(2), 16)) if int(match.group(2), 16) < 0x110000 else None
        elif match:
            decoded = _HTML_NAMED_ENTITIES.get(match.group(3).lower())
        if match is None or decoded is None:
            self.out.emit("&")  # unknown entities stay literal text
            return index + 1
        self.out.emit(decoded)
        return match.end()

    def _tag(self, index: int) -> int:
        offset = _byte_offset(self.source, index)
        if self.source.startswith("</", index):
            return self._end_tag(index, offset)
        name_match = _TAG_NAME.match(self.source, index + 1)
        name = name_match.group().lower() if name_match else ""
        if name not in _HTML_TAGS:
            raise entity_error(f'Unsupported start tag "{name}" at byte offset {offset}')
        assert name_match is not None
        attributes, end = self._attributes(name_match.end(), offset)
        self._check_attributes(name, attributes, offset)
        self.stack.append(_OpenTag(name, self.out.u16, attributes))
        return end

    def _attributes(self, index: int, offset: int) -> tuple[dict[str, str], int]:
        attributes: dict[str, str] = {}
        while True:
            while index < len(self.source) and self.source[index].isspace():
                index += 1
            if index >= len(self.source):
                raise entity_error(f"Unclosed start tag at byte offset {offset}")
            if self.source[index] == ">":
                return attributes, index + 1
            match = _TAG_ATTRIBUTE.match(self.source, index)
            if match is None or match.end() == index:
                raise entity_error(f"Unclosed start tag at byte offset {offset}")
            value = (match.group(2) or "").strip("\"'")
            attributes[match.group(1).lower()] = html.unescape(value)
            index = match.end()

    @staticmethod
    def _check_attributes(name: str, attributes: dict[str, str], offset: int) -> None:
        if name == "span" and attributes.get("class") != "tg-spoiler":
            raise entity_error(f'Tag "span" must have class "tg-spoiler" at byte offset {offset}')
        if name == "tg-emoji" and not attributes.get("emoji-id"):
            raise entity_error(
                f'Tag "tg-emoji" must have attribute "emoji-id" at byte offset {offset}'
            )

    def _end_tag(self, index: int, offset: int) -> int:
        close = self.source.find(">", index)
        if close < 0:
            raise entity_error(f"Unclosed end tag at byte offset {offset}")
        name = self.source[index + 2 : close].strip().lower()
        if not self.stack:
            raise entity_error(f"Unexpected end tag at byte offset {offset}")
        tag = self.stack.pop()
        if name != tag.name:
            raise entity_error(
                f'Unmatched end tag at byte offset {offset}, expected "</{tag.name}>", '
                f'found "</{name}>"'
            )
        self._close(tag)
        return close + 1

    def _close(self, tag: _OpenTag) -> None:
        kind = _HTML_TAGS[tag.name]
        language = tag.attributes.get("class", "").removeprefix("language-")
        parent = self.stack[-1] if self.stack else None
        if kind == "code" and parent is not None and parent.name == "pre" and language:
            parent.language = language  # <pre><code class="language-x"> is one pre entity
            return
        if kind == "pre":
            extra = {"language": tag.language} if tag.language else {}
            self.out.add_entity("pre", tag.start, **extra)
        elif kind == "text_link":
            if tag.attributes.get("href"):
                self.out.add_entity("text_link", tag.start, url=tag.attributes["href"])
        elif kind == "custom_emoji":
            self.out.add_entity(kind, tag.start, custom_emoji_id=tag.attributes["emoji-id"])
        elif kind == "blockquote" and "expandable" in tag.attributes:
            self.out.add_entity("expandable_blockquote", tag.start)
        else:
            self.out.add_entity(kind, tag.start)


_MDV2_RESERVED: Final = frozenset("_*[]()~`>#+-=|{}.!")
_MD_ENTITY_NAMES: Final = {
    "bold": "Bold", "italic": "Italic", "underline": "Underline",
    "strikethrough": "Strikethrough", "spoiler": "Spoiler", "code": "Code", "pre": "Pre",
    "text_link": "TextUrl", "blockquote": "BlockQuote",
}  # fmt: skip
# Longer markers first: "__" (underline) must win over "_" (italic).
_MDV2_MARKERS: Final = {
    "*": "bold",
    "~": "strikethrough",
    "||": "spoiler",
    "__": "underline",
    "_": "italic",
}


@dataclass
class _OpenMarkup:
    kind: str
    start: int
    byte_offset: int
    language: str = ""


class _MarkdownV2Parser:
    """Telegram's MarkdownV2: every reserved character outside an entity must be escaped."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.out = _TextBuilder()
        self.stack: list[_OpenMarkup] = []

    def parse(self) -> tuple[str, list[JSONDict]]:
        index = 0
        while index < len(self.source):
            index = self._step(index)
        self._close_blockquote()
        if self.stack:
            top = self.stack[-1]
            name = _MD_ENTITY_NAMES[top.kind]
            raise entity_error(f"Can't find end of {name} entity at byte offset {top.byte_offset}")
        return self.out.result()

    def _step(self, index: int) -> int:
        source = self.source
        char = source[index]
        if char == "\\" and index + 1 < len(source) and 0 < ord(source[index + 1]) <= 126:
            self.out.emit(source[index + 1])
            return index + 2
        top = self.stack[-1] if self.stack else None
        if top is not None and top.kind in ("code", "pre"):
            return self._in_code(index, top)
        if char == "\n":
            return self._newline(index)
        if char not in _MDV2_RESERVED:
            self.out.emit(char)
            return index + 1
        if char == "`":
            return self._open_code(index)
        if char == "[":
            self._open(index, "text_link")
            return index + 1
        if char == "]" and top is not None and top.kind == "text_link":
            return self._close_link(index, top)
        if char == ">" and (index == 0 or source[index - 1] == "\n"):
            return self._quote_line(index)
        for marker, kind in _MDV2_MARKERS.items():
            if source.startswith(marker, index):
                return self._toggle(index, marker, kind)
        raise entity_error(
            f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
        )

    def _open(self, index: int, kind: str, language: str = "") -> None:
        offset = _byte_offset(self.source, index)
        self.stack.append(_OpenMarkup(kind, self.out.u16, offset, language))

    def _toggle(self, index: int, marker: str, kind: str) -> int:
        top = self.stack[-1] if self.stack else None
        if top is not None and top.kind == kind:
            self.stack.pop()
            self.out.add_entity(kind, top.start)
        else:
            self._open(index, kind)
        return index + len(marker)

    def _open_code(self, index: int) -> int:
        if not self.source.startswith("```", index):
            self._open(index, "code")
            return index + 1
        line_end = self.source.find("\n", index + 3)
        first_line = self.source[index + 3 : line_end] if line_end >= 0 else None
        # "```python\n" names the language and "```\n" none; the newline is not content.
        if first_line is not None and " " not in first_line and "`" not in first_line:
            self._open(index, "pre", first_line)
            return line_end + 1
        self._open(index, "pre")
        return index + 3

    def _in_code(self, index: int, top: _OpenMarkup) -> int:
        closing = "```" if top.kind == "pre" else "`"
        if self.source.startswith(closing, index):
            self.stack.pop()
            extra = {"language": top.language} if top.language else {}
            self.out.add_entity(top.kind, top.start, **extra)
            return index + len(closing)
        self.out.emit(self.source[index])
        return index + 1

    def _close_link(self, index: int, top: _OpenMarkup) -> int:
        self.stack.pop()
        if not self.source.startswith("(", index + 1):
            return index + 1  # "[text]" without a URL is plain text
        url: list[str] = []
        cursor = index + 2
        while cursor < len(self.source):
            char = self.source[cursor]
            if char == "\\" and cursor + 1 < len(self.source):
                url.append(self.source[cursor + 1])
                cursor += 2
                continue
            if char == ")":
                if url:
                    self.out.add_entity("text_link", top.start, url="".join(url))
                return cursor + 1
            url.append(char)
            cursor += 1
        raise entity_error(
            f"Can't find end of a URL at byte offset {_byte_offset(self.source, index)}"
        )

    def _quote_line(self, index: int) -> int:
        if not any(item.kind == "blockquote" for item in self.stack):
            self._open(index, "blockquote")
        return index + 1

    def _newline(self, index: int) -> int:
        if not self.source.startswith(">", index + 1):
            self._close_blockquote()
        self.out.emit("\n")
        return index + 1

    def _close_blockquote(self) -> None:
        if self.stack and self.stack[-1].kind == "blockquote":
            top = self.stack.pop()
            self.out.add_entity("blockquote", top.start)


class _MarkdownParser:
    """Legacy Markdown: *bold*, _italic_, `code`, ```pre```, [text](url); no nesting."""

    _MARKERS: Final = {"*": "bold", "_": "italic", "`": "code"}

    def __init__(self, source: str) -> None:
        self.source = source
        self.out = _TextBuilder()

    def parse(self) -> tuple[str, list[JSONDict]]:
        index = 0
        while index < len(self.source):
            index = self._step(index)
        return self.out.result()

    def _step(self, index: int) -> int:
        char = self.source[index]
        if char == "\\" and self.source[index + 1 : index + 2] in ("_", "*", "`", "["):
            self.out.emit(self.source[index + 1])
            return index + 2
        if self.source.startswith("```", index):
            return self._span(index, "```", "pre")
        if char in self._MARKERS:
            return self._span(index, char, self._MARKERS[char])
        if char == "[":
            return self._link(index)
        self.out.emit(char)
        return index + 1

    def _span(self, index: int, marker: str, kind: str) -> int:
        end = self.source.find(marker, index + len(marker))
        if end < 0:
            raise self._unclosed(index)
        start = self.out.u16
        self.out.emit(self.source[index + len(marker) : end])
        self.out.add_entity(kind, start)
        return end + len(marker)

    def _link(self, index: int) -> int:
        close = self.source.find("]", index + 1)
        if close < 0:
            raise self._unclosed(index)
        start = self.out.u16
        self.out.emit(self.source[index + 1 : close])
        if self.source.startswith("(", close + 1):
            url_end = self.source.find(")", close + 2)
            if url_end < 0:
                raise self._unclosed(index)
            self.out.add_entity("text_link", start, url=self.source[close + 2 : url_end])
            return url_end + 1
        return close + 1

    def _unclosed(self, index: int) -> ApiError:
        offset = _byte_offset(self.source, index)
        return entity_error(f"Can't find end of the entity starting at byte offset {offset}")


_TRIMMED: Final = " \t\r\n\x0b\x0c"


def _trim(text: str, entities: list[JSONDict]) -> tuple[str, list[JSONDict]]:
    """Telegram strips leading and trailing whitespace from texts and captions."""
    left_stripped = text.lstrip(_TRIMMED)
    lead = len(text) - len(left_stripped)  # ASCII whitespace: characters == UTF-16 units
    body = left_stripped.rstrip(_TRIMMED)
    body_length = utf16_len(body)
    kept: list[JSONDict] = []
    for entity in entities:
        start = max(int(entity["offset"]) - lead, 0)
        end = min(int(entity["offset"]) + int(entity["length"]) - lead, body_length)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    return body, kept


def _explicit_entities(params: Params, name: str) -> list[JSONDict]:
    value = params.get_json(name, "can't parse entities JSON object")
    if value is None:
        return []
    if not isinstance(value, list):
        raise bad_request("expected an Array of MessageEntity")
    for entity in value:
        if not isinstance(entity, dict) or not {"type", "offset", "length"} <= entity.keys():
            raise bad_request(
                "can't parse MessageEntity: expected an Object with type, offset, length"
            )
    return value


def parse_formatted(text: str, parse_mode: str) -> tuple[str, list[JSONDict]]:
    """Parse ``text`` in the given parse_mode into plain text and entities."""
    mode = parse_mode.lower()
    if mode == "html":
        return _HtmlParser(text).parse()
    if mode == "markdownv2":
        return _MarkdownV2Parser(text).parse()
    if mode == "markdown":
        return _MarkdownParser(text).parse()
    raise bad_request("unsupported parse_mode")


def formatted_text(params: Params, raw: str, *, entities_param: str) -> tuple[str, list[JSONDict]]:
    """Plain text and entities after parse_mode (or explicit entities) and trimming."""
    parse_mode = params.get_str("parse_mode")
    if parse_mode:
        text, entities = parse_formatted(raw, parse_mode)
    else:
        text, entities = raw, _explicit_entities(params, entities_param)
    return _trim(text, entities)


def check_length(text: str, max_length: int, too_long: str) -> None:
    """Limits count characters of the text *after* entity parsing, not of the markup."""
    if len(text) > max_length:
        raise bad_request(too_long)


# --------------------------------------------------------------------------------------------
# Reply markup
# --------------------------------------------------------------------------------------------

# Button kinds in the order the server tries them; url and callback_data count only when
# non-empty (an empty callback_data makes a "text button", which inline keyboards refuse).
_INLINE_BUTTON_ACTIONS: Final = (
    "url", "callback_data", "callback_game", "pay", "switch_inline_query",
    "switch_inline_query_chosen_chat", "switch_inline_query_current_chat", "login_url",
    "web_app", "copy_text",
)  # fmt: skip
_STRING_ACTIONS: Final = frozenset(
    {"url", "callback_data", "switch_inline_query", "switch_inline_query_current_chat"}
)


def _button_error(detail: str) -> ApiError:
    return bad_request(f"can't parse inline keyboard button: {detail}")


def _inline_button(button: Any) -> JSONDict:
    if not isinstance(button, dict):
        raise _button_error("InlineKeyboardButton must be an Object")
    text = button.get("text")
    if text is None:
        raise _button_error('Can\'t find field "text"')
    if not isinstance(text, str):
        raise _button_error('Field "text" must be of type String')
    for action in _INLINE_BUTTON_ACTIONS:
        if action not in button:
            continue
        value = button[action]
        if action in _STRING_ACTIONS and not isinstance(value, str):
            raise _button_error(f'Field "{action}" must be of type String')
        if action in ("url", "callback_data") and not value:
            continue
        return {"text": text, action: value}
    raise _button_error("Text buttons are unallowed in the inline keyboard")


def _check_inline_buttons(rows: list[list[JSONDict]]) -> None:
    """Checks Telegram's servers make after the Bot API server has parsed the keyboard."""
    buttons = [button for row in rows for button in row]
    if len(buttons) > MAX_INLINE_KEYBOARD_BUTTONS:
        raise bad_request("reply markup is too long")
    for button in buttons:
        if not button["text"]:
            raise bad_request("BUTTON_TEXT_INVALID")
        data = button.get("callback_data")
        if data is not None and len(data.encode("utf-8")) > MAX_CALLBACK_DATA_BYTES:
            raise bad_request("BUTTON_DATA_INVALID")


def _check_reply_keyboard(rows: Any) -> None:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request('field "keyboard" must be an Array of Arrays')
    for button in itertools.chain.from_iterable(rows):
        if isinstance(button, str):
            continue
        if not isinstance(button, dict):
            raise bad_request(
                "can't parse keyboard button: KeyboardButton must be a String or an Object"
            )
        if not isinstance(button.get("text"), str):
            raise bad_request("can't parse keyboard button: Can't find field \"text\"")


def parse_reply_markup(raw: str) -> JSONDict | None:
    """Validate a reply_markup argument; return it as Telegram echoes it in the sent Message.

    Only inline keyboards are echoed in messages; reply keyboards, ForceReply and
    ReplyKeyboardRemove are validated and then return None.
    """
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        raise bad_request("can't parse reply keyboard markup JSON object") from None
    if not isinstance(value, dict):
        raise bad_request("object expected as reply markup")
    if "keyboard" in value:
        _check_reply_keyboard(value["keyboard"])
    rows = value.get("inline_keyboard")
    if rows is None:
        return None
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request(
            'field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays'
        )
    parsed = [[_inline_button(button) for button in row] for row in rows]
    _check_inline_buttons(parsed)
    parsed = [row for row in parsed if row]
    return {"inline_keyboard": parsed} if parsed else None


def _message_ids(params: Params) -> list[int]:
    """message_ids as the server parses them (numbers or numeric strings, at most 100)."""
    value = params.get_json("message_ids", "can't parse message_ids JSON object")
    if value is None:
        raise bad_request("message identifiers are not specified")
    if not isinstance(value, list):
        raise bad_request("expected an Array of message identifiers")
    if len(value) > MAX_MESSAGE_IDS:
        raise bad_request("too many message identifiers specified")
    ids: list[int] = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int | str):
            raise bad_request("message identifier must be a Number")
        if isinstance(item, str) and not re.fullmatch(r"-?\d+", item):
            raise bad_request("can't parse message identifier")
        ids.append(int(item))
    if not ids:
        raise bad_request("message identifiers are not specified")
    return ids


# --------------------------------------------------------------------------------------------
# The fake server
# --------------------------------------------------------------------------------------------


class FakeBotApi:
    """The fake Bot API server. Start with ``await api.start()`` or ``async with FakeBotApi()``.

    Point PTB at ``api.base_url`` / ``api.base_file_url``. Any token is accepted (and recorded in
    ``Call.token``) unless ``valid_token`` is set; then other tokens get 401 like Telegram.
    """

    def __init__(
        self,
        *,
        bot_id: int = DEFAULT_BOT_ID,
        bot_username: str = DEFAULT_BOT_USERNAME,
        bot_first_name: str = DEFAULT_BOT_FIRST_NAME,
        valid_token: str | None = None,
        clock: Clock = time.time,
    ) -> None:
        self.bot_id = bot_id
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.valid_token = valid_token
        self.clock: Clock = clock
        self.calls: list[Call] = []
        self.callback_answers: dict[str, JSONDict] = {}
        self.left_chats: list[int] = []
        self.downloads: list[str] = []
        self.internal_errors: list[Exception] = []  # bugs of the fake itself; should stay empty

        self._server: tornado.httpserver.HTTPServer | None = None
        self._port: int | None = None
        self._stopping = False
        self._signal = _Signal()
        self._inflight = 0
        self._idle = asyncio.Event()
        self._idle.set()

        self._chats: dict[int, _Chat] = {}
        self._messages: dict[int, dict[int, _StoredMessage]] = {}
        self._last_message_id: dict[int, int] = {}
        self._deleted: dict[int, list[int]] = {}
        self._uploads: dict[int, list[bytes]] = {}
        self._files: dict[str, FakeFile] = {}
        self._downloadable: dict[str, FakeFile] = {}
        self._file_counter = itertools.count(1)
        self._open_callback_queries: set[str] = set()
        self._faults: dict[str, list[_Fault]] = {}
        self._commands: dict[tuple[str, str], list[JSONDict]] = {}

        self._queue: list[JSONDict] = []
        self._next_update_id = 100_000_000
        self._last_pushed_update_id = 0
        self._allowed_updates: frozenset[str] = DEFAULT_ALLOWED_UPDATES
        self._poll_generation = 0
        self._webhook = WebhookState()
        self._next_webhook_change = 0.0

        self._methods: dict[str, tuple[str, MethodHandler]] = {
            name.lower(): (name, handler) for name, handler in self._method_table().items()
        }

    # ---- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen on a free port of 127.0.0.1 (never on another interface)."""
        if self._server is not None:
            raise RuntimeError("FakeBotApi is already started")
        app = tornado.web.Application(
            [
                (r"/bot([^/]+)/([^/]+)", _MethodRequestHandler, {"api": self}),
                (r"/file/bot([^/]+)/(.+)", _FileRequestHandler, {"api": self}),
            ],
            default_handler_class=_NotFoundHandler,
            log_function=_log_request,
        )
        sockets = tornado.netutil.bind_sockets(0, address="127.0.0.1", family=socket.AF_INET)
        self._server = tornado.httpserver.HTTPServer(app)
        self._server.add_sockets(sockets)
        self._port = int(sockets[0].getsockname()[1])
        # Loop-bound primitives are made here, in the loop that will use them.
        self._stopping = False
        self._signal = _Signal()
        self._idle = asyncio.Event()
        self._idle.set()

    async def stop(self) -> None:
        """End waiting long polls, let running requests answer, close every connection."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping = True
        self._signal.notify()
        server.stop()
        try:
            await asyncio.wait_for(self._idle.wait(), 5)
        except TimeoutError:
            _LOG.warning("FakeBotApi stopped with %d requests still running", self._inflight)
        await server.close_all_connections()

    async def __aenter__(self) -> FakeBotApi:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("FakeBotApi is not started")
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    # ---- clock -------------------------------------------------------------------------------

    def now(self) -> int:
        return int(self.clock())

    def advance_clock(self, seconds: float) -> None:
        """Move the fake's clock forward (e.g. 48 hours) without sleeping."""
        previous = self.clock
        self.clock = lambda: previous() + seconds

    # ---- bot identity --------------------------------------------------------------------------

    @property
    def bot_user(self) -> JSONDict:
        """The bot as a User object, as it appears in the ``from`` of its messages."""
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    @property
    def tokens(self) -> set[str]:
        """Every token the bot has used."""
        return {call.token for call in self.calls}

    # ---- test-facing state: chats, messages, updates, files --------------------------------

    def add_chat(self, chat: Mapping[str, Any]) -> None:
        """Make a chat known, as if Telegram had seen it (the bot can then write to it)."""
        info = {key: value for key, value in chat.items() if value is not None}
        existing = self._chats.get(int(info["id"]))
        if existing is None:
            self._chats[int(info["id"])] = _Chat(info)
        else:
            existing.info.update(info)

    def block_user(self, chat_id: int) -> None:
        """The user blocks the bot: every send to that chat gets 403 until unblock_user."""
        self._chat_or_placeholder(chat_id).blocked = True

    def unblock_user(self, chat_id: int) -> None:
        self._chat_or_placeholder(chat_id).blocked = False

    def next_message_id(self, chat_id: int) -> int:
        """Reserve the next message_id of a chat (ids are per chat, shared by both sides)."""
        self._last_message_id[chat_id] = self._last_message_id.get(chat_id, 0) + 1
        return self._last_message_id[chat_id]

    def note_user_message(
        self,
        chat_id: int,
        message_id: int,
        date: int,
        message: Mapping[str, Any] | None = None,
    ) -> None:
        """Register a message a user (not the bot) sent, so it can be deleted, replied to, ...

        Noting a message again (e.g. an edit) updates its content.
        """
        body: JSONDict = copy.deepcopy(dict(message)) if message else {}
        body.setdefault("message_id", message_id)
        body.setdefault("date", date)
        if "chat" in body:
            self.add_chat(body["chat"])
        chat_messages = self._messages.setdefault(chat_id, {})
        stored = chat_messages.get(message_id)
        if stored is None:
            chat_messages[message_id] = _StoredMessage(body, outgoing=False)
        elif not stored.outgoing:
            stored.message.update(body)
        self._last_message_id[chat_id] = max(self._last_message_id.get(chat_id, 0), message_id)

    def next_update_id(self) -> int:
        self._next_update_id = max(self._next_update_id, self._last_pushed_update_id) + 1
        return self._next_update_id

    def push_update(self, update: Mapping[str, Any]) -> int | None:
        """Queue an update for getUpdates; returns its update_id.

        An update without ``update_id`` gets the next one. Returns None when the update type is
        not in the bot's allowed_updates: the server drops those when they happen.
        """
        body = copy.deepcopy(dict(update))
        update_id = int(body.setdefault("update_id", self.next_update_id()))
        if update_id <= self._last_pushed_update_id:
            raise ValueError(
                f"update_id {update_id} must be greater than the last pushed one "
                f"({self._last_pushed_update_id}): Telegram's update ids only increase"
            )
        self._last_pushed_update_id = update_id
        self._learn_from_update(body)
        kind = next((key for key in body if key != "update_id"), "")
        if kind not in self._allowed_updates and kind in ALL_UPDATE_TYPES:
            _LOG.info("dropping %s update %d: not in allowed_updates", kind, update_id)
            return None
        self._queue.append(body)
        self._signal.notify()
        return update_id

    @property
    def pending_updates(self) -> list[JSONDict]:
        """Updates not yet confirmed by a getUpdates offset."""
        return copy.deepcopy(self._queue)

    def add_file(
        self,
        file_id: str,
        data: bytes,
        *,
        file_path: str | None = None,
        file_size: int | None = None,
    ) -> FakeFile:
        """Make a file available to getFile. ``file_size`` may claim a size (e.g. 21 MB) that
        the bytes do not have, to test limits cheaply."""
        number = next(self._file_counter)
        fake = FakeFile(
            file_id=file_id,
            file_unique_id=file_unique_id_for(file_id),
            file_path=file_path or f"documents/file_{number}",
            data=data,
            file_size=len(data) if file_size is None else file_size,
        )
        self._files[file_id] = fake
        return fake

    def fail_next(
        self,
        method: str,
        status: int = 429,
        retry_after: int = 1,
        count: int = 1,
        description: str | None = None,
    ) -> None:
        """Make the next ``count`` calls of ``method`` fail with ``status``.

        429 answers carry Telegram's flood-control body with ``parameters.retry_after``.
        """
        if status == 429:
            error = too_many_requests(retry_after)
        else:
            error = ApiError(
                status, description or _DEFAULT_FAULT_DESCRIPTIONS.get(status, "Error")
            )
        fault = _Fault(error.status, description or error.description, error.parameters, count)
        self._faults.setdefault(method.lower(), []).append(fault)

    # ---- test-facing queries -------------------------------------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method.lower() == method.lower()]

    def clear_calls(self) -> None:
        self.calls.clear()

    def sent_texts(self, chat_id: int) -> list[str]:
        """Texts the bot sent to the chat, as first sent, including later edited or deleted."""
        return [
            stored.sent_text
            for stored in self._chat_messages(chat_id)
            if stored.outgoing and stored.sent_text is not None
        ]

    def messages(self, chat_id: int) -> list[JSONDict]:
        """Messages the bot sent to the chat that still exist, in their current (edited) form."""
        return [
            copy.deepcopy(stored.message)
            for stored in self._chat_messages(chat_id)
            if stored.outgoing and not stored.deleted
        ]

    def message(self, chat_id: int, message_id: int) -> JSONDict | None:
        """Any existing message (the bot's or a user's); None if unknown or deleted."""
        stored = self._messages.get(chat_id, {}).get(message_id)
        if stored is None or stored.deleted:
            return None
        return copy.deepcopy(stored.message)

    def deleted(self, chat_id: int) -> list[int]:
        """Ids of the messages actually deleted in the chat, in the order of deletion."""
        return list(self._deleted.get(chat_id, []))

    def sent_photos(self, chat_id: int) -> list[bytes]:
        """Bytes of every photo the bot uploaded to the chat."""
        return list(self._uploads.get(chat_id, []))

    def commands(
        self, language_code: str = "", scope: Mapping[str, Any] | None = None
    ) -> list[JSONDict]:
        """The bot's command list for a scope (default scope if None) and language."""
        key = (_scope_key(dict(scope) if scope else None), language_code)
        return copy.deepcopy(self._commands.get(key, []))

    @property
    def webhook(self) -> WebhookState:
        return self._webhook

    def _chat_messages(self, chat_id: int) -> list[_StoredMessage]:
        chat_messages = self._messages.get(chat_id, {})
        return [chat_messages[key] for key in sorted(chat_messages)]

    def _chat_or_placeholder(self, chat_id: int) -> _Chat:
        if chat_id not in self._chats:
            kind = "private" if chat_id > 0 else "group"
            name = {"first_name": "User"} if kind == "private" else {"title": "Group"}
            self._chats[chat_id] = _Chat({"id": chat_id, **name, "type": kind})
        return self._chats[chat_id]

    def _learn_from_update(self, update: JSONDict) -> None:
        """What Telegram knows because the update happened: chats, messages, open queries."""
        for key in ("message", "edited_message", "channel_post", "edited_channel_post"):
            message = update.get(key)
            if isinstance(message, dict) and "chat" in message:
                self.note_user_message(
                    int(message["chat"]["id"]), int(message["message_id"]), int(message["date"]),
                    message,
                )  # fmt: skip
        query = update.get("callback_query")
        if isinstance(query, dict):
            self._open_callback_queries.add(str(query["id"]))
            if isinstance(query.get("message"), dict):
                self.add_chat(query["message"]["chat"])
        member = update.get("my_chat_member")
        if isinstance(member, dict):
            self.add_chat(member["chat"])
            self._apply_bot_status(self._chats[int(member["chat"]["id"])], member)

    @staticmethod
    def _apply_bot_status(chat: _Chat, member: JSONDict) -> None:
        status = str(member.get("new_chat_member", {}).get("status", "member"))
        if chat.type == "private":
            chat.blocked = status == "kicked"
        else:
            chat.member_status = status if status in ("left", "kicked") else "member"

    # ---- HTTP entry points (called by the tornado handlers) -------------------------------------

    async def serve_method(self, token: str, method: str, params: Params) -> tuple[int, JSONDict]:
        """Answer one Bot API request; returns the HTTP status and the JSON body."""
        self._inflight += 1
        self._idle.clear()
        try:
            return await self._answer(token, method, params)
        finally:
            self._inflight -= 1
            if self._inflight == 0:
                self._idle.set()

    async def _answer(self, token: str, method: str, params: Params) -> tuple[int, JSONDict]:
        entry = self._methods.get(method.lower())
        call = Call(entry[0] if entry else method, params.decoded(), token)
        self.calls.append(call)
        try:
            self._check_token(token)
            if entry is None:
                # PTB turns this 404 into InvalidToken("Not Found"): say what really happened.
                _LOG.warning("FakeBotApi does not implement %r (answered 404)", method)
                raise ApiError(404, "Not Found")
            self._raise_injected_fault(entry[0])
            result = entry[1](params)
            if inspect.isawaitable(result):
                result = await result
            if isinstance(result, _Answer):
                body = {"ok": True, "result": result.result, "description": result.description}
            else:
                body = {"ok": True, "result": result}
            call.status = 200
            return 200, body
        except ApiError as error:
            call.status = error.status
            return error.status, error.body()
        except Exception as error:
            # A bug in the fake (or an impossible pushed update) must not look like a network
            # problem of the bot: answer 500 and keep the exception for the test to see.
            _LOG.exception("FakeBotApi failed on %s", call.method)
            self.internal_errors.append(error)
            call.status = 500
            return 500, ApiError(500, f"Internal Server Error: fake failed: {error!r}").body()

    def serve_file(self, token: str, file_path: str) -> tuple[int, bytes | JSONDict]:
        """Answer a file download; only paths handed out by getFile can be downloaded."""
        try:
            self._check_token(token)
        except ApiError as error:
            return error.status, error.body()
        fake = self._downloadable.get(file_path)
        if fake is None:
            return 404, ApiError(404, "Not Found").body()
        self.downloads.append(file_path)
        return 200, fake.data

    def wake_pollers(self) -> None:
        self._signal.notify()

    def _check_token(self, token: str) -> None:
        if self.valid_token is not None and token != self.valid_token:
            raise ApiError(401, "Unauthorized")

    def _raise_injected_fault(self, method: str) -> None:
        faults = self._faults.get(method.lower())
        if not faults:
            return
        fault = faults[0]
        fault.remaining -= 1
        if fault.remaining <= 0:
            faults.pop(0)
        raise ApiError(fault.status, fault.description, fault.parameters)

    # ---- shared checks --------------------------------------------------------------------------

    def _chat(self, params: Params, name: str = "chat_id") -> _Chat:
        raw = params.get_str(name)
        if not raw:
            raise bad_request(f"{name} is empty")
        if raw.startswith("@"):
            chat = self._chat_by_username(raw[1:])
        else:
            chat = self._chats.get(to_integer(raw))
        if chat is None:
            raise bad_request("chat not found")
        return chat

    def _chat_by_username(self, username: str) -> _Chat | None:
        """Resolve "@username": public groups and channels only, as on Telegram."""
        for chat in self._chats.values():
            if chat.type != "private" and chat.info.get("username", "").lower() == username.lower():
                return chat
        return None

    @staticmethod
    def _require_can_send(chat: _Chat) -> None:
        if chat.type == "private":
            if chat.blocked:
                raise forbidden("bot was blocked by the user")
            return
        kind = _CHAT_KINDS.get(chat.type, "group chat")
        if chat.member_status == "kicked":
            raise forbidden(f"bot was kicked from the {kind}")
        if chat.member_status == "left":
            raise forbidden(f"bot is not a member of the {kind}")

    def _stored(self, chat: _Chat, message_id: int) -> _StoredMessage | None:
        stored = self._messages.get(chat.id, {}).get(message_id)
        return None if stored is None or stored.deleted else stored

    def _editable(self, params: Params) -> _StoredMessage:
        if not params.get_str("chat_id") and params.get_int("message_id") == 0:
            if not params.get_str("inline_message_id"):
                raise bad_request("message identifier is not specified")
            raise bad_request("MESSAGE_ID_INVALID")  # the fake has no inline messages
        chat = self._chat(params)
        stored = self._stored(chat, params.get_int("message_id"))
        if stored is None:
            raise bad_request("message to edit not found")
        if not stored.outgoing:
            raise bad_request("message can't be edited")
        return stored

    def _reply_target(self, chat: _Chat, params: Params) -> JSONDict | None:
        """The message being replied to (reply_parameters or legacy reply_to_message_id)."""
        value = params.get_json("reply_parameters", "can't parse reply parameters JSON object")
        if value is None:
            message_id = params.get_int("reply_to_message_id")
            allow_missing = params.get_bool("allow_sending_without_reply")
        else:
            if not isinstance(value, dict):
                raise bad_request("object expected as reply parameters")
            if "message_id" not in value:
                raise bad_request('can\'t find field "message_id"')
            message_id = to_integer(str(value["message_id"]))
            allow_missing = bool(value.get("allow_sending_without_reply"))
            if value.get("chat_id") not in (None, "", chat.id, str(chat.id)):
                chat = self._chat(Params({"chat_id": str(value["chat_id"])}))
        if message_id <= 0:
            return None
        stored = self._stored(chat, message_id)
        if stored is None:
            if allow_missing:
                return None
            raise bad_request("message to be replied not found")
        replied = copy.deepcopy(stored.message)
        replied.pop("reply_to_message", None)  # Telegram nests only one level
        return replied

    def _store_outgoing(
        self,
        chat: _Chat,
        content: JSONDict,
        *,
        reply_markup: JSONDict | None = None,
        reply_to: JSONDict | None = None,
    ) -> JSONDict:
        message_id = self.next_message_id(chat.id)
        message: JSONDict = {"message_id": message_id}
        if chat.type == "channel":
            message["sender_chat"] = copy.deepcopy(chat.info)
        else:
            message["from"] = self.bot_user
        message["chat"] = copy.deepcopy(chat.info)
        message["date"] = self.now()
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        message.update(content)
        if reply_markup is not None:
            message["reply_markup"] = reply_markup
        stored = _StoredMessage(message, outgoing=True, sent_text=content.get("text"))
        self._messages.setdefault(chat.id, {})[message_id] = stored
        return copy.deepcopy(message)

    @staticmethod
    def _text_content(text: str, entities: list[JSONDict], key: str = "text") -> JSONDict:
        content: JSONDict = {key: text}
        if entities:
            content["entities" if key == "text" else "caption_entities"] = entities
        return content

    # ---- Bot API methods ---------------------------------------------------------------------

    def _method_table(self) -> dict[str, MethodHandler]:
        return {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "answerCallbackQuery": self._answer_callback_query,
            "deleteMessage": self._delete_message,
            "deleteMessages": self._delete_messages,
            "sendPhoto": self._send_photo,
            "leaveChat": self._leave_chat,
            "getFile": self._get_file,
        }

    def _get_me(self, params: Params) -> JSONDict:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    # getUpdates and webhooks

    async def _get_updates(self, params: Params) -> list[JSONDict]:
        if self._webhook.url:
            raise ApiError(409, WEBHOOK_CONFLICT)
        offset = params.get_int("offset")
        limit = min(max(params.get_int("limit", 100), 1), 100)
        timeout = min(max(params.get_int("timeout"), 0), LONG_POLL_MAX_TIMEOUT)
        self._update_allowed_updates(params)
        self._confirm_updates(offset)
        # A new getUpdates ends the one still waiting, which gets 409 (as on the real server).
        self._poll_generation += 1
        generation = self._poll_generation
        self._signal.notify()
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            if generation != self._poll_generation:
                raise ApiError(409, POLL_CONFLICT)
            if self._queue or self._stopping or params.is_gone():
                return copy.deepcopy(self._queue[:limit])
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return []
            await self._signal.wait(remaining)

    def _confirm_updates(self, offset: int) -> None:
        """A positive offset confirms every older update; a negative one keeps the last -offset."""
        if offset > 0:
            self._queue = [u for u in self._queue if int(u["update_id"]) >= offset]
        elif offset < 0:
            self._queue = self._queue[offset:]

    def _update_allowed_updates(self, params: Params) -> None:
        """A valid non-empty list replaces the setting, [] restores the default, absent keeps it."""
        raw = params.get_str("allowed_updates")
        try:
            value = json.loads(raw) if raw else None
        except ValueError:
            return
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            return
        chosen = frozenset(item.lower() for item in value) & frozenset(ALL_UPDATE_TYPES)
        self._allowed_updates = chosen or DEFAULT_ALLOWED_UPDATES

    def _set_webhook(self, params: Params) -> _Answer:
        url = params.get_str("url")
        if not url:
            return self._remove_webhook(params)
        # The server allows one new webhook URL per second (counted before any validation);
        # it uses the fake's clock so tests can step past it with advance_clock(1).
        now = self.clock()
        if now < self._next_webhook_change:
            raise too_many_requests(1)
        self._next_webhook_change = now + 1
        secret = params.get_str("secret_token")
        new = WebhookState(
            url=url,
            secret_token=secret,
            max_connections=min(
                max(params.get_int("max_connections", DEFAULT_WEBHOOK_MAX_CONNECTIONS), 1), 100
            ),
            ip_address=params.get_str("ip_address"),
        )
        self._update_allowed_updates(params)
        if new == self._webhook and not params.get_bool("drop_pending_updates"):
            return _Answer(True, "Webhook is already set")
        _check_webhook_url(url)
        if len(secret) > MAX_SECRET_TOKEN_LENGTH:
            raise bad_request("secret token is too long")
        if not re.fullmatch(r"[A-Za-z0-9_-]*", secret):
            raise bad_request("secret token contains unallowed characters")
        if params.get_bool("drop_pending_updates"):
            self._queue.clear()
        self._webhook = new
        self._poll_generation += 1  # a waiting getUpdates is terminated
        self._signal.notify()
        return _Answer(True, "Webhook was set")

    def _delete_webhook(self, params: Params) -> _Answer:
        return self._remove_webhook(params)

    def _remove_webhook(self, params: Params) -> _Answer:
        if params.get_bool("drop_pending_updates"):
            self._queue.clear()
        if not self._webhook.url:
            return _Answer(True, "Webhook is already deleted")
        self._webhook = WebhookState()
        return _Answer(True, "Webhook was deleted")

    def _get_webhook_info(self, params: Params) -> JSONDict:
        info: JSONDict = {
            "url": self._webhook.url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._queue),
        }
        if self._webhook.url:
            info["max_connections"] = self._webhook.max_connections
            if self._webhook.ip_address:
                info["ip_address"] = self._webhook.ip_address
        if self._allowed_updates != DEFAULT_ALLOWED_UPDATES:
            info["allowed_updates"] = sorted(self._allowed_updates)
        return info

    # commands

    def _command_key(self, params: Params) -> tuple[str, str]:
        scope = params.get_json("scope", "can't parse BotCommandScope JSON object")
        language = params.get_str("language_code")
        if language and not re.fullmatch(r"[a-z]{2}", language):
            raise bad_request("invalid language code specified")
        return _scope_key(self._checked_scope(scope)), language

    def _checked_scope(self, scope: Any) -> JSONDict | None:
        if scope is None:
            return None
        if not isinstance(scope, dict):
            raise bad_request("can't parse BotCommandScope: BotCommandScope must be an Object")
        kind = scope.get("type")
        if kind in ("default", "all_private_chats", "all_group_chats", "all_chat_administrators"):
            return {"type": kind}
        if kind not in ("chat", "chat_administrators", "chat_member"):
            raise bad_request("can't parse BotCommandScope: Unsupported type specified")
        chat = self._chat(Params({"chat_id": str(scope.get("chat_id", ""))}))
        checked: JSONDict = {"type": kind, "chat_id": chat.id}
        if kind == "chat_member":
            checked["user_id"] = to_integer(str(scope.get("user_id", "")))
        return checked

    def _set_my_commands(self, params: Params) -> bool:
        value = params.get_json("commands", "can't parse commands JSON object")
        commands = [] if value is None else value
        if not isinstance(commands, list):
            raise bad_request("expected an Array of BotCommand")
        checked = [_checked_command(command) for command in commands]
        if len(checked) > MAX_COMMANDS:
            raise bad_request("BOT_COMMANDS_TOO_MUCH")
        key = self._command_key(params)
        if checked:
            self._commands[key] = checked
        else:  # an empty list is accepted and clears the commands, as on Telegram
            self._commands.pop(key, None)
        return True

    def _get_my_commands(self, params: Params) -> list[JSONDict]:
        return copy.deepcopy(self._commands.get(self._command_key(params), []))

    def _delete_my_commands(self, params: Params) -> bool:
        self._commands.pop(self._command_key(params), None)
        return True

    # messages

    def _send_message(self, params: Params) -> JSONDict:
        text, entities = self._message_text(params)
        reply_markup = parse_reply_markup(params.get_str("reply_markup"))
        chat = self._chat(params)
        reply_to = self._reply_target(chat, params)
        check_length(text, MAX_TEXT_LENGTH, "message is too long")
        self._require_can_send(chat)
        return self._store_outgoing(
            chat, self._text_content(text, entities), reply_markup=reply_markup, reply_to=reply_to
        )

    @staticmethod
    def _message_text(params: Params) -> tuple[str, list[JSONDict]]:
        raw = params.get_str("text")
        if not raw:
            raise bad_request("message text is empty")
        text, entities = formatted_text(params, raw, entities_param="entities")
        if not text:
            raise bad_request("message must be non-empty")
        return text, entities

    def _edit_message_text(self, params: Params) -> JSONDict:
        text, entities = self._message_text(params)
        reply_markup = parse_reply_markup(params.get_str("reply_markup"))
        stored = self._editable(params)
        check_length(text, MAX_TEXT_LENGTH, "message is too long")
        message = stored.message
        if "text" not in message:
            raise bad_request("there is no text in the message to edit")
        unchanged = (
            message["text"] == text
            and message.get("entities", []) == entities
            and message.get("reply_markup") == reply_markup
        )
        if unchanged:
            raise bad_request(NOT_MODIFIED)
        message.pop("entities", None)
        message.update(self._text_content(text, entities))
        return self._finish_edit(stored, reply_markup)

    def _edit_message_reply_markup(self, params: Params) -> JSONDict:
        reply_markup = parse_reply_markup(params.get_str("reply_markup"))
        stored = self._editable(params)
        if stored.message.get("reply_markup") == reply_markup:
            raise bad_request(NOT_MODIFIED)
        return self._finish_edit(stored, reply_markup)

    def _finish_edit(self, stored: _StoredMessage, reply_markup: JSONDict | None) -> JSONDict:
        # Leaving reply_markup out of an edit removes the keyboard, as on Telegram.
        stored.message.pop("reply_markup", None)
        stored.message["edit_date"] = self.now()
        if reply_markup is not None:
            stored.message["reply_markup"] = reply_markup
        return copy.deepcopy(stored.message)

    def _answer_callback_query(self, params: Params) -> bool:
        query_id = params.get_str("callback_query_id")
        if query_id not in self._open_callback_queries:
            raise bad_request(QUERY_INVALID)
        text = params.get_str("text")
        if len(text) > MAX_CALLBACK_ANSWER_LENGTH:
            raise bad_request("MESSAGE_TOO_LONG")
        self._open_callback_queries.discard(query_id)  # a query can be answered only once
        self.callback_answers[query_id] = params.decoded()
        return True

    def _deletable(self, stored: _StoredMessage | None) -> bool:
        return stored is not None and self.now() - stored.date < DELETE_WINDOW_SECONDS

    def _delete(self, chat: _Chat, stored: _StoredMessage) -> None:
        stored.deleted = True
        self._deleted.setdefault(chat.id, []).append(int(stored.message["message_id"]))

    def _delete_message(self, params: Params) -> bool:
        if not params.get_str("chat_id"):
            raise bad_request("chat identifier is not specified")
        message_id = params.get_int("message_id")
        if message_id <= 0:
            raise bad_request("message identifier is not specified")
        chat = self._chat(params)
        stored = self._stored(chat, message_id)
        if stored is None:
            raise bad_request("message to delete not found")
        if not self._deletable(stored):
            raise bad_request("message can't be deleted")
        self._delete(chat, stored)
        return True

    def _delete_messages(self, params: Params) -> bool:
        message_ids = _message_ids(params)
        chat = self._chat(params)
        # Unknown, already deleted and too old messages are skipped; the answer is still true.
        for message_id in dict.fromkeys(message_ids):
            stored = self._stored(chat, message_id)
            if stored is not None and self._deletable(stored):
                self._delete(chat, stored)
        return True

    def _send_photo(self, params: Params) -> JSONDict:
        caption, entities = formatted_text(
            params, params.get_str("caption"), entities_param="caption_entities"
        )
        reply_markup = parse_reply_markup(params.get_str("reply_markup"))
        chat = self._chat(params)
        data = self._photo_bytes(params)
        reply_to = self._reply_target(chat, params)
        check_length(caption, MAX_CAPTION_LENGTH, "message caption is too long")
        self._require_can_send(chat)
        content: JSONDict = {"photo": self._register_photo(data)}
        if caption:
            content.update(self._text_content(caption, entities, key="caption"))
        self._uploads.setdefault(chat.id, []).append(data)
        return self._store_outgoing(chat, content, reply_markup=reply_markup, reply_to=reply_to)

    def _photo_bytes(self, params: Params) -> bytes:
        reference = params.get_str("photo")
        upload = params.get_file("photo")
        if reference.startswith("attach://"):
            upload = params.get_file(reference.removeprefix("attach://"))
        elif reference:
            known = self._files.get(reference)
            if known is not None:
                return known.data
            if reference.startswith(("http://", "https://")):
                raise bad_request("failed to get HTTP URL content")  # the fake is offline
            raise bad_request("wrong file identifier/HTTP URL specified")
        if upload is None:
            raise bad_request("there is no photo in the request")
        if not upload.data:
            raise bad_request("file must be non-empty")
        if image_dimensions(upload.data) is None:
            raise bad_request("IMAGE_PROCESS_FAILED")
        return upload.data

    def _register_photo(self, data: bytes) -> list[JSONDict]:
        width, height = image_dimensions(data) or (800, 600)
        sizes: list[JSONDict] = []
        scaled = photo_sizes(width, height)
        for index, (size_width, size_height) in enumerate(scaled):
            number = next(self._file_counter)
            file_id = make_file_id("photo", f"photo:{number}:{id(self)}")
            share = (size_width * size_height) / max(width * height, 1)
            file_size = len(data) if index == len(scaled) - 1 else max(1, int(len(data) * share))
            self.add_file(file_id, data, file_path=f"photos/file_{number}.jpg", file_size=file_size)
            sizes.append(
                {
                    "file_id": file_id,
                    "file_unique_id": file_unique_id_for(file_id),
                    "file_size": file_size,
                    "width": size_width,
                    "height": size_height,
                }
            )
        return sizes

    def _leave_chat(self, params: Params) -> bool:
        chat = self._chat(params)
        if chat.type == "private":
            raise bad_request("chat member status can't be changed in private chats")
        if chat.member_status != "member":
            if chat.type == "group":
                raise bad_request("USER_NOT_PARTICIPANT")
            self._require_can_send(chat)
        chat.member_status = "left"
        self.left_chats.append(chat.id)
        return True

    def _get_file(self, params: Params) -> JSONDict:
        file_id = params.get_str("file_id")
        if not file_id:
            raise bad_request("file_id not specified")
        fake = self._files.get(file_id)
        if fake is None:
            raise bad_request("invalid file_id")
        if fake.file_size > MAX_DOWNLOAD_SIZE:
            raise bad_request("file is too big")
        self._downloadable[fake.file_path] = fake
        return {
            "file_id": fake.file_id,
            "file_unique_id": fake.file_unique_id,
            "file_size": fake.file_size,
            "file_path": fake.file_path,
        }


def _scope_key(scope: JSONDict | None) -> str:
    return json.dumps(scope or {"type": "default"}, sort_keys=True)


def _checked_command(command: Any) -> JSONDict:
    if not isinstance(command, dict):
        raise bad_request("can't parse BotCommand: expected an Object")
    for name in ("command", "description"):
        if name not in command:
            raise bad_request(f"can't parse BotCommand: Can't find field \"{name}\"")
        if not isinstance(command[name], str):
            raise bad_request(f'can\'t parse BotCommand: Field "{name}" must be of type String')
    name, description = command["command"], command["description"]
    if not re.fullmatch(r"[a-z0-9_]{1,32}", name):
        raise bad_request("BOT_COMMAND_INVALID")
    if not description.strip():
        raise bad_request("command description must be non-empty")
    if len(description) > MAX_COMMAND_DESCRIPTION_LENGTH:
        raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
    return {"command": name, "description": description}


def _check_webhook_url(url: str) -> None:
    """What Telegram's webhook verification would reject, checked without connecting."""
    parts = urlsplit(url if "://" in url else f"https://{url}")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise bad_request("invalid webhook URL specified")
    if parts.scheme != "https":
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    try:
        port = parts.port or 443
    except ValueError:
        raise bad_request("invalid webhook URL specified") from None
    if port not in WEBHOOK_PORTS:
        raise bad_request("bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")
    try:
        address = ipaddress.ip_address(parts.hostname)
    except ValueError:
        if parts.hostname.lower() == "localhost":
            raise bad_request("bad webhook: IP address 127.0.0.1 is reserved") from None
        return
    if not address.is_global:
        raise bad_request(f"bad webhook: IP address {address} is reserved")


# --------------------------------------------------------------------------------------------
# Tornado glue
# --------------------------------------------------------------------------------------------


def _log_request(handler: tornado.web.RequestHandler) -> None:
    # Tornado logs 4xx answers as warnings; for a fake they are expected, so log at debug.
    request = handler.request
    _LOG.debug("%s %s -> %s", request.method, request.path, handler.get_status())


def _read_params(
    request: tornado.httputil.HTTPServerRequest,
) -> tuple[dict[str, str], dict[str, UploadedFile]]:
    """Merge query string, form/multipart fields and a JSON body, like the Bot API server."""
    values: dict[str, str] = {}
    for arguments in (request.query_arguments, request.body_arguments):
        for name, raw_values in arguments.items():
            values[name] = raw_values[-1].decode("utf-8", "replace")
    content_type = request.headers.get("Content-Type", "")
    if content_type.startswith("application/json") and request.body:
        try:
            body = json.loads(request.body)
        except ValueError:
            body = None
        if isinstance(body, dict):
            values.update({name: _stringify(value) for name, value in body.items()})
    files = {
        name: UploadedFile(parts[-1].filename, parts[-1].content_type, parts[-1].body)
        for name, parts in request.files.items()
        if parts
    }
    return values, files


class _JsonHandler(tornado.web.RequestHandler):
    def initialize(self, api: FakeBotApi | None = None) -> None:
        self.api = api
        self.gone = False

    def compute_etag(self) -> None:
        return None  # answers must never turn into "304 Not Modified"

    def on_connection_close(self) -> None:
        self.gone = True
        if self.api is not None:
            self.api.wake_pollers()  # so a long poll for a vanished client ends now

    def send_json(self, status: int, body: JSONDict) -> None:
        if self.gone:
            return
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


class _MethodRequestHandler(_JsonHandler):
    async def get(self, token: str, method: str) -> None:
        assert self.api is not None
        values, files = _read_params(self.request)
        params = Params(values, files, is_gone=lambda: self.gone)
        status, body = await self.api.serve_method(token, method, params)
        self.send_json(status, body)

    async def post(self, token: str, method: str) -> None:
        await self.get(token, method)


class _FileRequestHandler(_JsonHandler):
    def get(self, token: str, file_path: str) -> None:
        assert self.api is not None
        status, body = self.api.serve_file(token, file_path)
        if isinstance(body, dict):
            self.send_json(status, body)
            return
        self.set_header("Content-Type", "application/octet-stream")
        self.finish(body)


class _NotFoundHandler(_JsonHandler):
    def prepare(self) -> None:
        self.send_json(404, ApiError(404, "Not Found").body())


__all__ = [
    "ALL_UPDATE_TYPES",
    "DEFAULT_ALLOWED_UPDATES",
    "DEFAULT_BOT_FIRST_NAME",
    "DEFAULT_BOT_ID",
    "DEFAULT_BOT_USERNAME",
    "ApiError",
    "Call",
    "FakeBotApi",
    "FakeFile",
    "Params",
    "UploadedFile",
    "WebhookState",
    "file_unique_id_for",
    "image_dimensions",
    "make_file_id",
    "parse_formatted",
    "parse_reply_markup",
    "photo_sizes",
    "utf16_len",
]
