"""A tiny driver for scripted conversations with the pure engine: inputs in, actions out."""

from __future__ import annotations

from datetime import datetime

from bot.engine import (
    Action,
    Ask,
    ChoiceIn,
    CommandIn,
    Event,
    Say,
    Script,
    SessionState,
    Start,
    StoreAnswer,
    TextIn,
    step,
)
from bot.engine.text import Text
from tests.conftest import T0


class Conversation:
    def __init__(self, script: Script, now: datetime = T0, sid: str = "S1") -> None:
        self.script = script
        self.now = now
        self.state: SessionState | None = SessionState(sid=sid)
        self.history: list[tuple[Event, tuple[Action, ...]]] = []

    def send(self, event: Event) -> tuple[Action, ...]:
        assert self.state is not None, "the session has ended"
        self.state, actions = step(self.script, self.state, event, self.now)
        self.history.append((event, actions))
        return actions

    # Shorthands a test reads like a chat transcript with.
    def start(self, campaign: str | None = None, hint: str | None = None) -> tuple[Action, ...]:
        return self.send(Start(campaign, hint))

    def text(self, text: str) -> tuple[Action, ...]:
        return self.send(TextIn(text))

    def command(self, name: str) -> tuple[Action, ...]:
        return self.send(CommandIn(name))

    def press(self, key: str) -> tuple[Action, ...]:
        return self.send(ChoiceIn(self.last_ask.token, key))

    @property
    def last_ask(self) -> Ask:
        for _, actions in reversed(self.history):
            for action in reversed(actions):
                if isinstance(action, Ask):
                    return action
        raise AssertionError("nothing was asked yet")

    def agree_to_all(self) -> tuple[Action, ...]:
        self.start()
        self.press("yes")
        self.press("yes")
        return self.press("yes")

    def stored(self) -> list[StoreAnswer]:
        return [a for _, actions in self.history for a in actions if isinstance(a, StoreAnswer)]


def said(actions: tuple[Action, ...]) -> list[str]:
    return [a.text.msgid for a in actions if isinstance(a, Say)]


def asked(actions: tuple[Action, ...]) -> list[str | None]:
    return [a.question_id or a.text.msgid for a in actions if isinstance(a, Ask)]


def of_type(actions: tuple[Action, ...], kind: type) -> list[Action]:
    return [a for a in actions if isinstance(a, kind)]


def msgid(text: Text) -> str:
    return text.msgid
