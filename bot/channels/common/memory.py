"""What a channel remembers per chat, in memory only: the questions it sent (to map a
button's position back to its key and to settle the question once answered) and the message
ids /exit may delete. Bounded: the least recently active chats are forgotten first, and
message ids leave once the platform would no longer let the bot delete them."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.channels.common.transport import SentPrompt

DELETE_MARGIN = timedelta(minutes=10)  # do not try what the platform is about to refuse
PROMPTS_KEPT = 6  # the current question, and a few before it for stale-button toasts
CHATS_KEPT = 100_000


@dataclass
class ChatMemory:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    prompts: OrderedDict[str, SentPrompt] = field(default_factory=OrderedDict)
    messages: list[tuple[str, datetime]] = field(default_factory=list)
    notified: bool = False  # the channel's note before consent was given
    lost: bool = False  # messages too old to delete were dropped (say so at /exit)
    respondent: bytes = b""  # the person's pseudonym, once computed
    waiting: int = 0  # updates of this chat queued or being handled
    told: dict[str, float] = field(default_factory=dict)  # flood notice -> when last said

    def remember_prompt(self, token: str, prompt: SentPrompt) -> None:
        self.prompts[token] = prompt
        self.prompts.move_to_end(token)
        while len(self.prompts) > PROMPTS_KEPT:
            self.prompts.popitem(last=False)

    @property
    def latest_prompt(self) -> SentPrompt | None:
        return next(reversed(self.prompts.values()), None)

    def track(self, message_id: str, sent_at: datetime) -> None:
        self.messages.append((message_id, sent_at))

    def deletable(self, now: datetime, window: timedelta) -> list[str]:
        horizon = now - window + DELETE_MARGIN
        return sorted({mid for mid, at in self.messages if at > horizon}, key=_by_number)

    def prune(self, now: datetime, window: timedelta) -> None:
        horizon = now - window
        if self.messages and self.messages[0][1] <= horizon:
            self.messages = [(mid, at) for mid, at in self.messages if at > horizon]
            self.lost = True

    def untrack(self, message_id: str) -> None:
        self.messages = [(mid, at) for mid, at in self.messages if mid != message_id]

    def forget_messages(self) -> None:
        self.messages = []
        self.prompts.clear()
        self.lost = False

    @property
    def busy(self) -> bool:
        return self.waiting > 0 or self.lock.locked()


class ChatMemories:
    """Per-chat memory, least recently used first out (never a chat that is busy)."""

    def __init__(self, limit: int = CHATS_KEPT) -> None:
        self._chats: OrderedDict[str, ChatMemory] = OrderedDict()
        self._limit = limit

    def get(self, chat_id: str) -> ChatMemory:
        memory = self._chats.get(chat_id)
        if memory is None:
            memory = self._chats[chat_id] = ChatMemory()
            self._evict()
        else:
            self._chats.move_to_end(chat_id)
        return memory

    def peek(self, chat_id: str) -> ChatMemory | None:
        return self._chats.get(chat_id)

    def __len__(self) -> int:
        return len(self._chats)

    def _evict(self) -> None:
        excess = len(self._chats) - self._limit
        if excess <= 0:
            return
        idle = []
        for chat_id, memory in self._chats.items():  # least recently used first
            if not memory.busy:
                idle.append(chat_id)
                if len(idle) == excess:
                    break
        for chat_id in idle:
            del self._chats[chat_id]


def _by_number(message_id: str) -> tuple[int, str]:
    """Numeric ids (Telegram's) in their order; others as text."""
    return (int(message_id), "") if message_id.isdigit() else (0, message_id)
