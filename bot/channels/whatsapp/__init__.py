"""The WhatsApp Cloud API channel: our own webhook (verification, signature, size limit,
200 at once and the work after), a small Graph API client over httpx, and the adapter that
turns WhatsApp's messages into the shared conversation machinery's (bot.channels.common).

`app.WhatsAppService` runs it next to Telegram or alone.
"""
