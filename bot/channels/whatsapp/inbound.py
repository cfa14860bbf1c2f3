"""Reading a webhook POST, as WhatsApp's JSON, into what the channel acts on. Pure: no I/O.

One POST carries `entry[].changes[].value` objects, each with `messages[]` and/or
`statuses[]`. Every message becomes one `Incoming`; statuses are read only for failed sends
(their error code, never their content). Only what the conversation needs is taken out: the
sender's id (`from`, the number WhatsApp calls wa_id, or the business-scoped user id where no
number is sent), the message id, its time, and the text, button or media id. The profile
name and the `contacts` block are never read. Stickers, locations, contacts, reactions and
the like become `Unsupported(kind)` and nothing of their content travels further. Malformed
parts are ignored, never a crash.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.channels.common.codec import decode_callback
from bot.channels.common.commands import read_text
from bot.channels.common.inbound import Ignored, Said
from bot.engine import Event, MediaIn, MediaRef, Unsupported

UNSUPPORTED = ("sticker", "location", "contacts", "reaction", "video", "order", "unsupported")
MAX_ID = 256  # message ids and button ids are far shorter; anything longer is not WhatsApp

Json = Mapping[str, Any]


@dataclass(frozen=True)
class Received:
    """One message of the POST: its id (for the exactly-once check) and what it says."""

    message_id: str
    incoming: Said | Ignored


@dataclass(frozen=True)
class SendFailed:
    """A status of a message we sent: failed, with WhatsApp's error code."""

    code: int


Item = Received | SendFailed


def _obj(value: Any) -> Json:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and 0 < len(value) <= MAX_ID else None


def read_payload(body: Json, phone_number_id: str) -> Iterator[Item]:
    """The messages and failed statuses of one POST that are for our number, in order."""
    if body.get("object") != "whatsapp_business_account":
        return
    for entry in _list(body.get("entry")):
        for change in _list(_obj(entry).get("changes")):
            value = _obj(_obj(change).get("value"))
            if _obj(value.get("metadata")).get("phone_number_id") != phone_number_id:
                continue  # another number of the same app: not ours to answer
            for message in _list(value.get("messages")):
                received = read_message(_obj(message))
                if received is not None:
                    yield received
            for status in _list(value.get("statuses")):
                status = _obj(status)
                if status.get("status") == "failed":
                    errors = _list(status.get("errors"))
                    code = _obj(errors[0]).get("code") if errors else None
                    yield SendFailed(code if isinstance(code, int) else 0)


def read_message(message: Json) -> Received | None:
    message_id = _str(message.get("id"))
    sender = _str(message.get("from")) or _str(message.get("from_user_id"))
    if message_id is None:
        return None
    if sender is None:
        return Received(message_id, Ignored("no_sender"))
    kind = _str(message.get("type")) or ""
    stamp = message.get("timestamp")
    sent_at = datetime.fromtimestamp(int(stamp), UTC) if isinstance(stamp, str) \
        and stamp.isdigit() else None
    if kind == "interactive":
        interactive = _obj(message.get("interactive"))
        reply = _obj(interactive.get("button_reply") or interactive.get("list_reply"))
        return Received(message_id, _press(sender, message_id, reply.get("id"), message))
    if kind == "button":  # a template's quick-reply button
        button = _obj(message.get("button"))
        return Received(message_id, _press(sender, message_id, button.get("payload"), message))
    event = _event(kind, message)
    if event is None:
        return Received(message_id, Ignored(kind or "empty"))
    return Received(message_id, Said(sender, None, event, message_id, message_id=message_id,
                                     sent_at=sent_at))


def _press(sender: str, message_id: str, data: Any, message: Json) -> Said:
    pressed = _str(_obj(message.get("context")).get("id"))
    return Said(sender, None, None, message_id, press=decode_callback(_str(data)),
                pressed_message_id=pressed)


def _event(kind: str, message: Json) -> Event | None:
    if kind == "text":
        body = _obj(message.get("text")).get("body")
        return read_text(body) if isinstance(body, str) else None
    if kind == "audio":
        audio = _obj(message.get("audio"))
        return _media("voice" if audio.get("voice") else "audio", audio, "audio/ogg")
    if kind == "image":
        # The caption is not read: a photo answer is the photo; it is re-encoded before
        # sealing (common.media.strip_photo), so the declared type is JPEG.
        return _media("photo", _obj(message.get("image")), "image/jpeg", force_mime=True)
    if kind == "document":
        document = _obj(message.get("document"))
        mime = (_str(document.get("mime_type")) or "").lower()
        if mime.startswith("audio/"):
            return _media("audio", document, mime)
        if mime.startswith("image/"):
            return _media("photo", document, "image/jpeg", force_mime=True)
        return Unsupported("document")
    if kind == "contacts":
        return Unsupported("contact")  # the engine's kind reply for a shared contact
    if kind in UNSUPPORTED:
        return Unsupported(kind)
    if kind in ("system", "request_welcome", "ephemeral", "errors"):
        return None
    return Unsupported(kind or "unknown")


def _media(kind: str, media: Json, default_mime: str, force_mime: bool = False) -> Event:
    media_id = _str(media.get("id"))
    if media_id is None:
        return Unsupported(kind)
    mime = default_mime if force_mime else (_str(media.get("mime_type")) or default_mime)
    return MediaIn(MediaRef(kind, media_id, mime.split(";")[0].strip(), None, None))
