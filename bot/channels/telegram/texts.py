"""Sentences only the Telegram channel says: the command menu's descriptions."""

from __future__ import annotations

from bot.engine.text import N_

# Descriptions of the command menu (setMyCommands), one per command.
COMMANDS = (
    ("help", N_("What this is and what you can do")),
    ("skip", N_("Leave a question out")),
    ("back", N_("Go back to the previous question")),
    ("stop", N_("Pause; send any message later to continue")),
    ("language", N_("Change the language")),
    ("delete", N_("Delete everything you told us")),
    ("exit", N_("Clear this chat from your phone")),
)
