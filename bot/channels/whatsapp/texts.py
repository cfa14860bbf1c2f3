"""Sentences only the WhatsApp channel says, for translators like every other string."""

from __future__ import annotations

from bot.engine.text import N_

# Translators: WhatsApp cannot delete messages; shown instead of "Chat cleared." after /exit.
EXIT_BY_HAND = N_(
    "WhatsApp does not let me remove messages from your phone, so please do it yourself: "
    "open this chat, tap the name at the top, then \"Clear chat\" (or delete the whole chat "
    "from your list of chats). In the same place you can turn on \"Disappearing messages\", "
    "so that new messages here delete themselves."
)
# Translators: on WhatsApp, in place of the consent text's part about the chat app (which
# is written for Telegram); read before anyone agrees.
CHAT_APP = N_(
    "About WhatsApp: this chat is not fully private. Messages to this bot pass through "
    "Meta's servers, which see them. WhatsApp does not let us delete any message from your "
    "phone, neither ours nor yours: you can delete this chat yourself at any time, and turn "
    "on \"Disappearing messages\" for it (tap the name at the top of this chat)."
)
# Translators: said once on WhatsApp, before anything is asked (when the consent text has
# no part about the chat app).
CONSENT_NOTICE = N_(
    "Before we start: on WhatsApp I cannot remove messages from your phone. You can delete "
    "this chat yourself at any time, and turn on \"Disappearing messages\" for it (tap the "
    "name at the top of this chat)."
)
# Translators: under a question whose answers are numbered; one answer.
REPLY_ONE = N_("Reply with the number of your answer.")
# Translators: under a question whose answers are numbered; several answers allowed.
REPLY_MANY = N_("Reply with the numbers of every answer that fits, for example: 1 3")
# Translators: the button that opens a list of answers (at most 20 characters).
CHOOSE = N_("Choose")
