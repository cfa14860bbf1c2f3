"""Every interface sentence the engine says, in one place for translators.

Whole sentences with named placeholders only, so right-to-left languages never get fragments
glued together in the wrong order.
"""

from __future__ import annotations

from bot.engine.text import N_, NP_, Text

CHOOSE_LANGUAGE = N_("Hello! Which language would you like to use?")
CHANGE_LANGUAGE = N_("Which language would you like to use?")  # mid-conversation: no hello
LANGUAGE_SET = N_("We will continue in English.")
DECLINED = N_(
    "Thank you for your time. Nothing you said here has been saved. "
    "If you change your mind, send /start."
)
UNDER_AGE = N_(
    "Thank you. This conversation is only for people who are 18 or older, so we will stop "
    "here. Nothing you said has been saved."
)
PAUSED = N_(
    "Paused. Your answers so far are safe. Send any message when you want to continue."
)
PAUSED_BEFORE_CONSENT = N_("Paused. Nothing has been saved. Send any message to continue.")
RESUMED = N_("Welcome back. Let's continue where you left off.")
SKIPPED = N_("Skipped")
RECEIVED = N_("Received, thank you.")  # after a voice note, photo or long text
CANNOT_SKIP = N_("This one is needed to go on. Please choose one of the answers.")
NOTHING_BEFORE = N_("This is the first question, so there is nothing to go back to.")
GOING_BACK = N_("Going back. Your new answer will replace the earlier one.")
CHOOSE_BUTTON = N_("Please choose one of the buttons below, or send /skip to leave it out.")
CHOOSE_BUTTON_REQUIRED = N_("Please choose one of the buttons below.")
MULTI_HINT = N_("Tap all that apply, then tap Done.")
DONE_BUTTON = N_("Done")
SKIP_BUTTON = N_("Skip")
CHOOSE_AT_LEAST_ONE = N_("Please tap at least one answer, or tap Skip.")
EMPTY_TEXT = N_("I did not receive any words. Please write your answer, or send /skip.")
TOO_LONG = N_(
    "That is longer than I can keep as one answer ({limit} characters). "
    "Please send a shorter version."
)
NOT_A_NUMBER = N_("Please send a number, for example {example}.")
NUMBER_RANGE = N_("Please send a number from {minimum} to {maximum}.")
NUMBER_MIN = N_("Please send a number of at least {minimum}.")
NUMBER_MAX = N_("Please send a number no larger than {maximum}.")
WRITE_PLEASE = N_(
    "For this question, please write your answer as text. Voice notes are welcome at the "
    "questions that invite your story."
)
UNSUPPORTED = N_(
    "Sorry, I cannot take this kind of message. Please send text, a voice note or a photo."
)
UNSUPPORTED_CONTACT = N_(
    "Please do not share contacts here: for everyone's safety they are not kept. "
    "Please answer with text, a voice note or a photo."
)
STALE_BUTTON = N_("This question has passed.")
DELETE_CONFIRM = N_(
    "Do you want to delete everything you have told us? This cannot be undone."
)
DELETE_YES = N_("Yes, delete everything")
DELETE_NO = N_("No, keep my answers")
DELETED = N_(
    "Everything you told us has been deleted. Thank you for your time. "
    "You can send /exit to also clear this chat from your phone."
)
DELETED_AND_COPIES = N_(
    "Everything you told us has been deleted from our server. Some answers may already have "
    "been copied to our research team's computer; they will be removed there too, the next "
    "time the team opens the data. You can send /exit to also clear this chat from your phone."
)
NOTHING_HERE_MAYBE_COPIES = N_(
    "Nothing about you is on our server now. If you answered before, some answers may "
    "already be on our research team's computer: we have asked for them to be removed there "
    "too."
)
NOT_DELETED = N_("Nothing was deleted.")
NOTHING_STORED = N_("Nothing about you has been saved, so there is nothing to delete.")
ALREADY_DONE = N_(
    "You have already finished. Thank you! If you want us to remove your answers, send /delete."
)
EXITED = N_("Chat cleared.")
HELP = N_(
    "This is a safe, private conversation for a report on migrants' rights.\n\n"
    "/skip - leave a question out\n"
    "/back - go back to the previous question\n"
    "/stop - pause; send any message later to continue\n"
    "/language - change the language\n"
    "/delete - delete everything you told us\n"
    "/exit - clear this chat from your phone\n"
    "/help - show this message"
)
UNKNOWN_COMMAND = N_("I do not know that command. Send /help to see what you can do.")
# Reminders, only on request. Neutral on purpose: someone else may read the person's phone,
# so no word about the subject, the organisation or its cause.
REMINDER_OFFER = N_("Would you like one reminder to continue later?")
REMINDER_TOMORROW = N_("Tomorrow")
REMINDER_IN_3_DAYS = N_("In 3 days")
REMINDER_SET = N_(
    "We will send you one short reminder. It will not say what it is about. "
    "Send any message before then to continue, and there will be no reminder."
)
REMINDER = N_(
    "You asked us to remind you. Send any message to continue, or /delete to remove what "
    "you gave."
)
# Questionnaires with form logic (flow format 2)
NOT_ACCEPTED = N_("Sorry, this answer is not accepted. Please try again.")
ANSWER_NEEDED = N_("This one is needed to go on. Please answer it.")
NOT_A_DATE = N_("Please send a date as year-month-day, for example {example}.")
SEND_PHOTO = N_("For this question, please send a photo.")
SEND_MEDIA = N_("For this question, please send a voice note or an audio file.")
ADD_ANOTHER = N_("Would you like to add another?")
OK_BUTTON = N_("OK")
YES = N_("Yes")
NO = N_("No")


def progress(answered: int) -> Text:
    return NP_("You have answered {count} question so far.",
               "You have answered {count} questions so far.", answered)
