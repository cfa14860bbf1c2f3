"""The Telegram channel: python-telegram-bot v22 in front of the engine and the sealed store.

`app.run_telegram(settings)` runs it (long polling, or a webhook when WEBHOOK_URL is set);
`channel.TelegramChannel` turns updates into engine events and delivers the replies.
"""

import os

# PTB 22 is moving durations (voice length, retry_after, …) from int to timedelta and warns on
# every use of the old form; opt in to the new form now, so nothing depends on the switch.
os.environ.setdefault("PTB_TIMEDELTA", "true")
