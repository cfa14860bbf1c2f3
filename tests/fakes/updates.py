"""Builders of Telegram updates, shaped exactly as the Bot API delivers them.

Field names and nesting follow core.telegram.org/bots/api (Update, Message, CallbackQuery,
ChatMemberUpdated, ...); optional fields are left out rather than sent as null, as Telegram does.

An :class:`UpdateFactory` tied to a :class:`~tests.fakes.bot_api.FakeBotApi` shares its counters:
user messages take the next message_id of the chat (the same sequence as the bot's messages, as in
a real private chat) and are registered with the fake, so the bot can reply to, edit-check and
delete them. Builders only build; queue the result with ``api.push_update(update)``.
"""

from __future__ import annotations

import copy
import itertools
import re
import time
from dataclasses import dataclass
from typing import Literal

from .bot_api import (
    DEFAULT_BOT_FIRST_NAME,
    DEFAULT_BOT_ID,
    DEFAULT_BOT_USERNAME,
    MAX_CALLBACK_DATA_BYTES,
    FakeBotApi,
    JSONDict,
    file_unique_id_for,
    make_file_id,
    photo_sizes,
    utf16_len,
)

GroupType = Literal["group", "supergroup"]

# "/command" or "/command@botname" at the start of a text becomes a bot_command entity.
_COMMAND = re.compile(r"/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?")


@dataclass(frozen=True)
class TgUser:
    """A Telegram user as a test describes them."""

    id: int
    first_name: str
    language_code: str | None = "en"
    username: str | None = None
    last_name: str | None = None

    def as_user(self) -> JSONDict:
        """The User object (as in ``message.from``)."""
        user: JSONDict = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            user["last_name"] = self.last_name
        if self.username:
            user["username"] = self.username
        if self.language_code:
            user["language_code"] = self.language_code
        return user

    def private_chat(self) -> JSONDict:
        """The private Chat with this user: its id is the user's id."""
        chat: JSONDict = {"id": self.id, "first_name": self.first_name}
        if self.last_name:
            chat["last_name"] = self.last_name
        if self.username:
            chat["username"] = self.username
        chat["type"] = "private"
        return chat


def group_chat(
    chat_id: int, title: str, chat_type: GroupType = "supergroup", username: str | None = None
) -> JSONDict:
    chat: JSONDict = {"id": chat_id, "title": title}
    if username:
        chat["username"] = username
    chat["type"] = chat_type
    return chat


def channel_chat(chat_id: int, title: str, username: str | None = None) -> JSONDict:
    chat: JSONDict = {"id": chat_id, "title": title}
    if username:
        chat["username"] = username
    chat["type"] = "channel"
    return chat


def command_entities(text: str) -> list[JSONDict]:
    """The bot_command entity Telegram adds when a text starts with a command."""
    match = _COMMAND.match(text)
    if match is None:
        return []
    return [{"offset": 0, "length": utf16_len(match.group()), "type": "bot_command"}]


def chat_instance_for(chat_id: int) -> str:
    """A stable chat_instance (Telegram's is an opaque signed 64-bit number per chat)."""
    return str((chat_id * 6364136223846793005 + 1442695040888963407) % 2**63 - 2**62)


def default_bot_user() -> JSONDict:
    return {
        "id": DEFAULT_BOT_ID,
        "is_bot": True,
        "first_name": DEFAULT_BOT_FIRST_NAME,
        "username": DEFAULT_BOT_USERNAME,
    }


class UpdateFactory:
    """Builds updates with increasing update_ids and per-chat message_ids.

    With ``api`` the counters are the fake's and every user message is registered with it
    (``api.note_user_message``); without, the factory keeps its own counters.
    """

    def __init__(
        self, api: FakeBotApi | None = None, *, first_update_id: int = 500_000_001
    ) -> None:
        self.api = api
        self._update_ids = itertools.count(first_update_id)
        self._message_ids: dict[int, int] = {}
        self._callback_ids = itertools.count(1)

    # ---- counters and clock ------------------------------------------------------------------

    def next_update_id(self) -> int:
        return self.api.next_update_id() if self.api else next(self._update_ids)

    def next_message_id(self, chat_id: int) -> int:
        if self.api:
            return self.api.next_message_id(chat_id)
        self._message_ids[chat_id] = self._message_ids.get(chat_id, 0) + 1
        return self._message_ids[chat_id]

    def now(self) -> int:
        return self.api.now() if self.api else int(time.time())

    @property
    def bot_user(self) -> JSONDict:
        return self.api.bot_user if self.api else default_bot_user()

    # ---- building blocks ---------------------------------------------------------------------

    def _update(self, kind: str, payload: JSONDict) -> JSONDict:
        return {"update_id": self.next_update_id(), kind: payload}

    def _message(self, chat: JSONDict, sender: TgUser | None, content: JSONDict) -> JSONDict:
        message_id = self.next_message_id(int(chat["id"]))
        message: JSONDict = {"message_id": message_id}
        if sender is not None:
            message["from"] = sender.as_user()
        if chat["type"] == "channel":
            message["sender_chat"] = copy.deepcopy(chat)
        message["chat"] = copy.deepcopy(chat)
        message["date"] = self.now()
        message.update(content)
        if self.api:
            self.api.note_user_message(int(chat["id"]), message_id, message["date"], message)
        return message

    def _user_message(self, user: TgUser, content: JSONDict) -> JSONDict:
        return self._update("message", self._message(user.private_chat(), user, content))

    @staticmethod
    def _text(text: str) -> JSONDict:
        content: JSONDict = {"text": text}
        entities = command_entities(text)
        if entities:
            content["entities"] = entities
        return content

    @staticmethod
    def _file(file_id: str, size: int) -> JSONDict:
        return {
            "file_id": file_id,
            "file_unique_id": file_unique_id_for(file_id),
            "file_size": size,
        }

    @staticmethod
    def _with_caption(content: JSONDict, caption: str | None) -> JSONDict:
        if caption:
            content["caption"] = caption
        return content

    # ---- private chat messages -----------------------------------------------------------------

    def text(self, user: TgUser, text: str) -> JSONDict:
        """A text message in the private chat; "/start abc" gets its bot_command entity."""
        return self._user_message(user, self._text(text))

    def voice(
        self,
        user: TgUser,
        file_id: str,
        duration: int,
        size: int,
        *,
        mime_type: str = "audio/ogg",
        caption: str | None = None,
    ) -> JSONDict:
        voice = {"duration": duration, "mime_type": mime_type, **self._file(file_id, size)}
        return self._user_message(user, self._with_caption({"voice": voice}, caption))

    def audio(
        self,
        user: TgUser,
        file_id: str,
        duration: int,
        size: int,
        *,
        file_name: str = "recording.mp3",
        mime_type: str = "audio/mpeg",
        title: str | None = None,
        performer: str | None = None,
        caption: str | None = None,
    ) -> JSONDict:
        audio: JSONDict = {"duration": duration, "file_name": file_name, "mime_type": mime_type}
        if title:
            audio["title"] = title
        if performer:
            audio["performer"] = performer
        audio.update(self._file(file_id, size))
        return self._user_message(user, self._with_caption({"audio": audio}, caption))

    def photo(
        self,
        user: TgUser,
        file_id: str,
        size: int,
        *,
        width: int = 1280,
        height: int = 960,
        caption: str | None = None,
    ) -> JSONDict:
        """A photo: several PhotoSize entries, smallest first; the largest has ``file_id``."""
        sizes = photo_sizes(width, height)
        photo: list[JSONDict] = []
        for index, (size_width, size_height) in enumerate(sizes):
            largest = index == len(sizes) - 1
            size_id = file_id if largest else make_file_id("photo", f"{file_id}:{index}")
            share = (size_width * size_height) / max(width * height, 1)
            file_size = size if largest else max(1, int(size * share))
            photo.append(
                {**self._file(size_id, file_size), "width": size_width, "height": size_height}
            )
        return self._user_message(user, self._with_caption({"photo": photo}, caption))

    def sticker(
        self,
        user: TgUser,
        file_id: str,
        *,
        emoji: str = "👍",
        set_name: str = "TestStickers",
        size: int = 24_000,
    ) -> JSONDict:
        thumbnail_id = make_file_id("photo", f"{file_id}:thumbnail")
        thumbnail = {**self._file(thumbnail_id, 4_000), "width": 128, "height": 128}
        sticker: JSONDict = {
            "width": 512,
            "height": 512,
            "emoji": emoji,
            "set_name": set_name,
            "is_animated": False,
            "is_video": False,
            "type": "regular",
            "thumbnail": thumbnail,
            # The Bot API server still sends the pre-6.6 name next to the new one.
            "thumb": copy.deepcopy(thumbnail),
            **self._file(file_id, size),
        }
        return self._user_message(user, {"sticker": sticker})

    def location(self, user: TgUser, latitude: float, longitude: float) -> JSONDict:
        return self._user_message(
            user, {"location": {"latitude": latitude, "longitude": longitude}}
        )

    def contact(
        self,
        user: TgUser,
        phone_number: str,
        *,
        first_name: str | None = None,
        last_name: str | None = None,
        user_id: int | None = None,
    ) -> JSONDict:
        """A shared contact; by default the user's own (as a request_contact button sends)."""
        contact: JSONDict = {
            "phone_number": phone_number,
            "first_name": first_name or user.first_name,
        }
        if last_name:
            contact["last_name"] = last_name
        contact["user_id"] = user.id if user_id is None else user_id
        return self._user_message(user, {"contact": contact})

    def edited_text(self, user: TgUser, message_id: int, text: str) -> JSONDict:
        """The user edited one of their text messages in the private chat."""
        chat = user.private_chat()
        known = self.api.message(user.id, message_id) if self.api else None
        if self.api and known is None:
            raise ValueError(f"message {message_id} of chat {user.id} is unknown to the fake")
        message: JSONDict = {
            "message_id": message_id,
            "from": user.as_user(),
            "chat": chat,
            "date": known["date"] if known else self.now(),
            "edit_date": self.now(),
            **self._text(text),
        }
        if self.api:
            self.api.note_user_message(user.id, message_id, message["date"], message)
        return self._update("edited_message", message)

    # ---- callback queries ----------------------------------------------------------------------

    def callback(
        self, user: TgUser, message_id: int, data: str, *, chat: JSONDict | None = None
    ) -> JSONDict:
        """The user pressed an inline button with ``data`` under message ``message_id``."""
        if len(data.encode("utf-8")) > MAX_CALLBACK_DATA_BYTES or not data:
            raise ValueError("callback_data is 1-64 bytes; Telegram cannot send this query")
        chat = chat or user.private_chat()
        query: JSONDict = {
            "id": str(abs(user.id) % 10**9 * 10**9 + next(self._callback_ids)),
            "from": user.as_user(),
            "message": self._callback_message(chat, message_id),
            "chat_instance": chat_instance_for(int(chat["id"])),
            "data": data,
        }
        return self._update("callback_query", query)

    def _callback_message(self, chat: JSONDict, message_id: int) -> JSONDict:
        if self.api is None:
            return {
                "message_id": message_id,
                "from": self.bot_user,
                "chat": copy.deepcopy(chat),
                "date": self.now(),
                "text": "(a message of the bot)",
            }
        message = self.api.message(int(chat["id"]), message_id)
        if message is not None:
            return message
        # Deleted or unknown: Telegram sends an InaccessibleMessage, recognisable by date 0.
        return {"chat": copy.deepcopy(chat), "message_id": message_id, "date": 0}

    # ---- groups and channels -------------------------------------------------------------------

    def group_message(
        self,
        user: TgUser,
        chat_id: int,
        text: str,
        *,
        title: str = "Test group",
        chat_type: GroupType = "supergroup",
        username: str | None = None,
    ) -> JSONDict:
        chat = group_chat(chat_id, title, chat_type, username)
        return self._update("message", self._message(chat, user, self._text(text)))

    def my_chat_member_added_to_group(
        self,
        user: TgUser,
        chat_id: int,
        *,
        title: str = "Test group",
        chat_type: GroupType = "group",
    ) -> JSONDict:
        """``user`` added the bot to a group: the bot's status goes from left to member."""
        chat = group_chat(chat_id, title, chat_type)
        return self._my_chat_member(chat, user, old_status="left", new_status="member")

    def my_chat_member_private(self, user: TgUser, *, blocked: bool = True) -> JSONDict:
        """The user blocked (or unblocked) the bot in their private chat."""
        old, new = ("member", "kicked") if blocked else ("kicked", "member")
        return self._my_chat_member(user.private_chat(), user, old_status=old, new_status=new)

    def _my_chat_member(
        self, chat: JSONDict, user: TgUser, *, old_status: str, new_status: str
    ) -> JSONDict:
        payload = {
            "chat": chat,
            "from": user.as_user(),
            "date": self.now(),
            "old_chat_member": self._bot_member(old_status),
            "new_chat_member": self._bot_member(new_status),
        }
        return self._update("my_chat_member", payload)

    def _bot_member(self, status: str) -> JSONDict:
        member: JSONDict = {"user": self.bot_user, "status": status}
        if status == "kicked":
            member["until_date"] = 0  # ChatMemberBanned: 0 means forever
        return member

    def channel_post(
        self,
        chat_id: int,
        text: str,
        *,
        title: str = "Test channel",
        username: str | None = None,
    ) -> JSONDict:
        """A post in a channel: no ``from``, the channel itself is the ``sender_chat``."""
        chat = channel_chat(chat_id, title, username)
        return self._update("channel_post", self._message(chat, None, self._text(text)))


def update_kind(update: JSONDict) -> str:
    """The update's type: its one field besides update_id."""
    return next(key for key in update if key != "update_id")


__all__ = [
    "TgUser",
    "UpdateFactory",
    "channel_chat",
    "chat_instance_for",
    "command_entities",
    "default_bot_user",
    "group_chat",
    "update_kind",
]
