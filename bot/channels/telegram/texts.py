"""Sentences only the Telegram channel says, for translators like every other string."""

from __future__ import annotations

from bot.engine.text import N_

SLOW_DOWN = N_(
    "You are sending messages very quickly. I will answer each of them in order; "
    "please wait a moment."
)
RESEND_LATER = N_(
    "That was more than I can take in at once, so I did not keep your last messages. "
    "Please wait a minute, then send them again."
)
EDITED = N_(
    "I keep each message as it was first sent, so this change was not saved. "
    "To change an answer, send /back and answer again."
)

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

SORRY = N_(
    "Sorry, something went wrong on our side. Please send that again in a moment. "
    "Your earlier answers are safe."
)
