"""Reading an update, as Telegram's JSON, into what the channel acts on. Pure: no I/O.

The channel reads the update's JSON itself rather than PTB's `Update` objects: building those
costs more than everything the bot does with an answer (sealing and a durable commit
included), and the conversation needs five fields of them. Webhook bodies arrive as JSON;
updates from long polling are turned back into it with `Update.to_dict()`.

Only what the conversation needs is taken out. A shared contact, a location or a sticker
becomes `Unsupported(kind)` and nothing of its content travels further; names, usernames and
phone numbers are never read at all. Malformed updates are ignored, never a crash.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.channels.common.codec import decode_callback
from bot.channels.common.commands import read_text
from bot.channels.common.inbound import Blocked, Edited, Ignored, Said
from bot.engine import Event, MediaIn, MediaRef, Unsupported

# Checked in this order: an animation also carries a `document`, a venue a `location`.
UNSUPPORTED_KINDS = ("animation", "sticker", "video_note", "video", "venue", "location",
                     "contact", "poll", "dice", "game", "story", "paid_media", "invoice",
                     "giveaway", "document")
JOINED = ("member", "administrator", "restricted", "creator")

Json = Mapping[str, Any]


@dataclass(frozen=True)
class NotPrivate:
    """A group, supergroup or channel: the bot leaves it."""

    chat_id: int


Incoming = Said | Edited | Blocked | NotPrivate | Ignored


def _obj(value: Any) -> Json:
    return value if isinstance(value, Mapping) else {}


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def update_id(update: Json) -> int | None:
    return _int(update.get("update_id"))


def read_update(update: Json) -> Incoming:
    kind = next((key for key in update if key != "update_id"), "")
    body = _obj(update.get(kind))
    chat = _obj(body.get("chat") if kind != "callback_query"
                else _obj(body.get("message")).get("chat"))
    chat_id = _int(chat.get("id"))
    if chat_id is None:
        return Ignored(kind or "empty")
    if chat.get("type") != "private":
        if kind == "my_chat_member" and \
                _obj(body.get("new_chat_member")).get("status") not in JOINED:
            return Ignored("left_group")  # removed or left already: nothing to do
        return NotPrivate(chat_id)
    language = _str(_obj(body.get("from")).get("language_code"))
    person = str(chat_id)
    if kind == "message":
        return _message(body, person, language)
    if kind == "callback_query":
        return _press(body, person, language)
    if kind == "edited_message":
        return Edited(person, language)
    if kind == "my_chat_member":
        status = _obj(body.get("new_chat_member")).get("status")
        return Blocked(person) if status == "kicked" else Ignored("unblocked")
    return Ignored(kind)


def _message(message: Json, chat_id: str, language: str | None) -> Incoming:
    message_id, date = _int(message.get("message_id")), _int(message.get("date"))
    event = message_event(message)
    if event is None or message_id is None:
        return Ignored("service_message")
    sent_at = datetime.fromtimestamp(date, UTC) if date is not None else None
    return Said(chat_id, language, event, f"m{message_id}", message_id=str(message_id),
                sent_at=sent_at)


def message_event(message: Json) -> Event | None:
    """The engine event a private message stands for; None for service messages."""
    text = _str(message.get("text"))
    if text is not None:
        return read_text(text)
    voice = _obj(message.get("voice"))
    if voice:
        return _media("voice", voice, "audio/ogg")
    audio = _obj(message.get("audio"))
    if audio:
        return _media("audio", audio, "audio/mpeg")
    photo = message.get("photo")
    if isinstance(photo, list) and photo:
        # Largest last; re-encoded as JPEG before sealing (media.strip_photo).
        return _media("photo", _obj(photo[-1]), "image/jpeg", force_mime=True)
    document = _obj(message.get("document"))
    if document and not message.get("animation"):
        mime = (_str(document.get("mime_type")) or "").lower()
        if mime.startswith("audio/"):
            return _media("audio", document, mime)
        if mime.startswith("image/"):
            return _media("photo", document, "image/jpeg", force_mime=True)
    for kind in UNSUPPORTED_KINDS:
        if message.get(kind):
            return Unsupported(kind)
    return None


def _media(kind: str, file: Json, default_mime: str, force_mime: bool = False) -> Event | None:
    file_id = _str(file.get("file_id"))
    if not file_id:
        return Unsupported(kind)
    mime = default_mime if force_mime else (_str(file.get("mime_type")) or default_mime)
    return MediaIn(MediaRef(kind, file_id, mime, _int(file.get("file_size")),
                            _int(file.get("duration"))))


def _press(query: Json, chat_id: str, language: str | None) -> Incoming:
    query_id = _str(query.get("id"))
    if query_id is None:
        return Ignored("callback_without_id")
    message = _obj(query.get("message"))
    # An inaccessible (deleted, too old) message comes with date 0 and no text.
    pressed_text = _str(message.get("text")) if message.get("date") else None
    pressed = _int(message.get("message_id"))
    return Said(chat_id, language, None, f"c{query_id}", press=decode_callback(
        _str(query.get("data"))), callback_id=query_id,
        pressed_message_id=str(pressed) if pressed is not None else None,
        pressed_text=pressed_text)
