"""The conversation engine: decides, never acts.

`step(script, state, event, now) -> (state, actions)` is synchronous and pure: no I/O, no clock,
no platform imports. Channels turn platform updates into events; the orchestrator carries out
the actions (storage first, then delivery).
"""

from bot.engine.actions import (
    Action,
    Ask,
    CancelReminder,
    ChoiceAnswer,
    Completed,
    Count,
    DropAnswer,
    EndSession,
    Erase,
    MediaAnswer,
    Notice,
    NumberAnswer,
    Option,
    RecordConsent,
    Say,
    ScheduleReminder,
    Settle,
    StoreAnswer,
    TextAnswer,
    WipeChat,
)
from bot.engine.events import (
    ChoiceIn,
    CommandIn,
    Event,
    MediaIn,
    MediaRef,
    Quiet,
    Repeat,
    Start,
    TextIn,
    Unsupported,
)
from bot.engine.script import Script
from bot.engine.state import Phase, SessionState
from bot.engine.step import step
from bot.engine.text import Text

__all__ = [
    "Action",
    "Ask",
    "CancelReminder",
    "ChoiceAnswer",
    "ChoiceIn",
    "CommandIn",
    "Completed",
    "Count",
    "DropAnswer",
    "EndSession",
    "Erase",
    "Event",
    "MediaAnswer",
    "MediaIn",
    "MediaRef",
    "Notice",
    "NumberAnswer",
    "Option",
    "Phase",
    "Quiet",
    "RecordConsent",
    "Repeat",
    "Say",
    "ScheduleReminder",
    "Script",
    "SessionState",
    "Settle",
    "Start",
    "StoreAnswer",
    "Text",
    "TextAnswer",
    "TextIn",
    "Unsupported",
    "WipeChat",
    "step",
]
