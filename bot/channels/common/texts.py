"""Sentences the channels say themselves (not the flow's), for translators like every other
string."""

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
SORRY = N_(
    "Sorry, something went wrong on our side. Please send that again in a moment. "
    "Your earlier answers are safe."
)

# Clean as you go: what stands in the chat instead of an answer.
# Translators: shown in place of the person's message, which the bot has just deleted.
REMOVED = N_("Received, and removed from this chat for your safety.")
# Translators: the person's message is too old for the bot to delete it.
NOT_REMOVED = N_(
    "Received. This message is too old for me to remove from the chat: "
    "please delete it yourself."
)
# Translators: under an answered question, instead of the answer itself.
ANSWERED = N_("Answered")
# Translators: after /exit, when some messages were older than the platform allows to delete.
EXIT_TOO_OLD = N_(
    "Messages older than {hours} hours could not be removed. "
    "Please delete this chat yourself."
)
