"""The WhatsApp side of the channel seam: texts, buttons, lists and numbered questions
through the Graph API, within the 24-hour window.

WhatsApp cannot edit or delete a message (neither ours nor the person's), has no passing
notes on a pressed button, and answers can be typed as numbers: its `Capabilities` say so,
and the shared machinery acts on that (no clean-as-you-go deletions; /exit explains how to
clear the chat by hand).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime, timedelta

from bot import outbound as out
from bot.channels.common.transport import Capabilities, Sent, SentPrompt
from bot.channels.whatsapp.graph import OUTSIDE_WINDOW, GraphClient, OutsideWindow
from bot.channels.whatsapp.render import JSON, MAX_TEXT, Rendered, render_prompt, text_payload
from bot.engine.text import Text
from bot.i18n import Translator

WINDOW = timedelta(hours=24)  # free-form messages only this long after the person's last
WINDOWS_KEPT = 100_000

CAPABILITIES = Capabilities(can_delete=False, can_edit=False, toasts=False,
                            typed_choices=True, max_text=MAX_TEXT, reply_window=WINDOW)


def recipient(chat: str) -> JSON:
    """A number (wa_id, digits) goes in `to`; a business-scoped user id in `recipient`."""
    return {"to": chat} if chat.isdigit() else {"recipient": chat}


class WhatsAppTransport:
    capabilities = CAPABILITIES

    def __init__(self, graph: GraphClient, translator: Translator,
                 clock: Callable[[], datetime]) -> None:
        self.graph = graph
        self.translator = translator
        self.clock = clock
        self._heard: OrderedDict[str, datetime] = OrderedDict()  # in memory only

    def heard(self, chat: str, at: datetime) -> None:
        """The person wrote at `at`: the 24-hour window is open from then."""
        self._heard[chat] = max(at, self._heard.get(chat, at))
        self._heard.move_to_end(chat)
        while len(self._heard) > WINDOWS_KEPT:
            self._heard.popitem(last=False)

    async def _send(self, chat: str, payload: JSON) -> Sent:
        last = self._heard.get(chat)
        now = self.clock()
        if last is not None and now - last >= WINDOW:
            raise OutsideWindow(OUTSIDE_WINDOW, 0)  # not even tried: it could only fail
        message_id = await self.graph.send({"recipient_type": "individual",
                                            **recipient(chat), **payload})
        return Sent(message_id, now)

    async def send_template(self, chat: str, name: str, language: str) -> Sent:
        """An approved template: the one kind of message that may go out after the window
        closed (a reminder the person asked for). Its words are Meta-approved, per language."""
        message_id = await self.graph.send({
            "recipient_type": "individual", **recipient(chat), "type": "template",
            "template": {"name": name, "language": {"code": language}}})
        return Sent(message_id, self.clock())

    async def send_text(self, chat: str, text: str) -> Sent:
        return await self._send(chat, text_payload(text))

    def option_keys(self, prompt: out.Prompt) -> tuple[str, ...]:
        return self._render(prompt).keys

    def _render(self, prompt: out.Prompt) -> Rendered:
        language = prompt.language

        def translate(text: Text) -> str:
            return self.translator.render(text, language)

        return render_prompt(prompt, translate)

    async def send_prompt(self, chat: str, prompt: out.Prompt,
                          replacing: SentPrompt | None) -> SentPrompt:
        # Nothing can be edited: a re-drawn question is sent again.
        rendered = self._render(prompt)
        sent = [await self.send_text(chat, part) for part in rendered.before]
        last = await self._send(chat, rendered.payload)
        sent.append(last)
        return SentPrompt(last.message_id, prompt.text, rendered.keys, prompt.multi, sent)

    async def settle(self, chat: str, prompt: SentPrompt, summary: str) -> None:
        return None  # a sent message cannot be changed on WhatsApp

    async def delete(self, chat: str, message_ids: list[str]) -> None:
        return None  # the Cloud API cannot delete messages (capabilities say so)

    async def acknowledge(self, press_id: str, toast: str | None) -> None:
        return None  # a reply button needs no answer

    async def send_photo(self, chat: str, png: bytes, caption: str) -> None:
        media_id = await self.graph.upload(png, "image/png")
        await self._send(chat, {"type": "image", "image": {"id": media_id, "caption": caption}})

    def detach(self) -> None:
        return None  # replies never ride on the webhook's answer
