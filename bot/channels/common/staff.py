"""Field workers inside a chat channel: `/newlink` (a short guided dialogue that ends with
the link and its QR code) and `/stats` (the funnel of the links they made, small counts
masked).

Field workers are the platform ids the deployment lists (FIELD_WORKER_IDS for Telegram,
WHATSAPP_FIELD_WORKERS for WhatsApp); only their keyed pseudonyms are kept, in memory and as
the `created_by` of their links. Anyone else who sends these commands gets the ordinary help,
as if they did not exist.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import available_timezones

from bot import outbound as out
from bot.channels.common.inbound import Said
from bot.channels.common.transport import SentPrompt, Transport
from bot.engine import CommandIn, TextIn
from bot.engine import messages as msg
from bot.engine.text import N_, Text
from bot.i18n import Translator, negotiate
from bot.links.funnel import masked
from bot.links.qr import CAPTION, qr_png
from storage.backend import LinkStore
from storage.links import LinkFigures
from storage.server_keys import ServerKeys

log = logging.getLogger(__name__)

STAFF_COMMANDS = frozenset({"newlink", "stats"})
MAX_FIELD = 64
MAX_STATS = 4096  # one message on every platform we serve

ASK_CAMPAIGN = N_("A new link. Which campaign is it for? (for example: imrf-2022) "
                  "Send /cancel to stop.")
ASK_PARTNER = N_("Which organisation will hand it out?")
ASK_REGION = N_("In which region or place will it be handed out?")
ASK_TIMEZONE = N_("Which time zone is that place in? Reminders people ask for never arrive "
                  "there between 21:00 and 08:00. Choose one below, or type its name, for "
                  "example Asia/Manila.")
BAD_TIMEZONE = N_("I do not know that time zone. Please choose one below, or type a name "
                  "like Asia/Beirut or Africa/Nairobi: the region, a slash, and a big city "
                  "with the same time as the place.")
ASK_LANGUAGE = N_("Which language should the bot offer first? Send a language code "
                  "({codes}), or send no.")
BAD_LANGUAGE = N_("I do not know that language code. Please send one of: {codes}. Or send no.")
TOO_LONG = N_("Please keep it shorter than {limit} characters.")
EMPTY = N_("Please write a few words.")
READY = N_("Your link is ready:\n{url}\n\nIf the QR code does not open the bot, people can "
           "type this code to the bot instead: {code}")
CANCELLED = N_("No link was made.")
NO_LINKS = N_("You have not made any links yet. Send /newlink to make one.")
STATS_HEAD = N_("Your links. Every number below 5 shows as <5, so that nobody can tell what "
                "one person did.")
STATS_LINK = N_("{code}: {campaign}, {partner}, {region} ({state})\n"
                "opened {opened}, chose a language {language_chosen}, agreed {consented}, "
                "declined {declined}, under 18 {under_age}, answered a theme {theme_answered}, "
                "finished {completed}, deleted {deleted}")
STATS_REMINDERS = N_("reminders: asked {reminder_asked}, sent {reminder_sent}, "
                     "went on after one {reminder_continued}")
STATS_AFTER_END = N_("after the link ended: opened {opened}, agreed {consented}, "
                     "finished {completed}")
LIVE = N_("active")
ENDED = N_("ended")
NO_PRESET = ("no", "none", "-")
# The time zone question's buttons. A respondent's question is "{session id}.{number}" with
# an 8-character id, so no question of theirs has this one.
ZONE_PROMPT = "newlink.1"
ZONES_OFFERED = 4  # UTC and the zones of links made before, most used first


@dataclass(frozen=True)
class Draft:
    """A link being made, one answer at a time."""

    campaign: str = ""
    partner: str = ""
    region: str = ""
    timezone: str = ""
    zones: tuple[str, ...] = ()  # the time zones offered as buttons, in their order
    asked: SentPrompt | None = field(default=None, compare=False)  # ... and where

    @property
    def next_field(self) -> str:
        return next(name for name in ("campaign", "partner", "region", "timezone", "language")
                    if name == "language" or not getattr(self, name))


@functools.cache
def _zone_names() -> dict[str, str]:
    """Every IANA time zone name, by its case-folded form ("asia/manila": "Asia/Manila")."""
    return {name.casefold(): name for name in available_timezones()}


def zone_named(typed: str) -> str | None:
    """The time zone a field worker typed, in its proper spelling, or None."""
    return _zone_names().get(typed.strip().replace(" ", "_").casefold())


class FieldWork:
    def __init__(self, *, transport: Transport, channel: str, link_for: Callable[[str], str],
                 links: LinkStore, translator: Translator, keys: ServerKeys,
                 field_worker_ids: Iterable[str], clock: Callable[[], datetime]) -> None:
        self.transport = transport
        self.channel = channel
        self.link_for = link_for  # a link code -> the URL that opens the bot with it
        self.links = links
        self.translator = translator
        self.keys = keys
        self.clock = clock
        self._members = frozenset(keys.pseudonym(channel, uid) for uid in field_worker_ids)
        self._drafts: dict[bytes, Draft] = {}

    def _member(self, chat_id: str) -> bytes | None:
        pseudonym = self.keys.pseudonym(self.channel, chat_id)
        return pseudonym if pseudonym in self._members else None

    async def take(self, said: Said) -> Said | None:
        """None when this was field work (handled here); else the update to converse with."""
        event = said.event
        staff_command = isinstance(event, CommandIn) and event.name in STAFF_COMMANDS
        member = self._member(said.chat_id) if (staff_command or self._drafts) else None
        if member is None:
            if staff_command:  # a respondent never learns these commands exist
                return dataclasses.replace(said, event=CommandIn("help"))
            return said
        language = negotiate(said.language_code, self.translator.languages) or "en"
        if isinstance(event, CommandIn) and event.name == "stats":
            self._drafts.pop(member, None)
            await self._stats(said.chat_id, member, language)
            return None
        if isinstance(event, CommandIn) and event.name == "newlink":
            self._drafts[member] = Draft()
            await self._say(said.chat_id, ASK_CAMPAIGN, language)
            return None
        draft = self._drafts.get(member)
        if draft is None:
            return said  # a field worker trying the bot as a respondent
        if isinstance(event, CommandIn):
            del self._drafts[member]
            if event.name == "cancel":
                await self._say(said.chat_id, CANCELLED, language)
                return None
            return said
        press = said.press
        if press is not None and said.callback_id:
            await self.transport.acknowledge(said.callback_id, None)
        if (press is not None and press.token == ZONE_PROMPT
                and draft.next_field == "timezone" and press.position < len(draft.zones)):
            await self._zone_chosen(said.chat_id, member, draft, draft.zones[press.position],
                                    language)
            return None
        if not isinstance(event, TextIn):
            await self._ask(said.chat_id, member, draft, language)
            return None
        await self._answer(said.chat_id, member, draft, event.text.strip(), language)
        return None

    async def _answer(self, chat_id: str, member: bytes, draft: Draft, text: str,
                      language: str) -> None:
        if not text:
            await self._say(chat_id, EMPTY, language)
            return
        if len(text) > MAX_FIELD:
            await self._say(chat_id, TOO_LONG.format(limit=MAX_FIELD), language)
            return
        step = draft.next_field
        if step == "timezone":
            chosen = zone_named(text)
            if chosen is None and text.isdigit() and 0 < int(text) <= len(draft.zones):
                chosen = draft.zones[int(text) - 1]  # its number, where answers are numbered
            if chosen is None:
                await self._say(chat_id, BAD_TIMEZONE, language)
                await self._ask(chat_id, member, draft, language)
                return
            await self._zone_chosen(chat_id, member, draft, chosen, language)
            return
        if step != "language":
            draft = (dataclasses.replace(draft, campaign=text) if step == "campaign" else
                     dataclasses.replace(draft, partner=text) if step == "partner" else
                     dataclasses.replace(draft, region=text))
            self._drafts[member] = draft
            await self._ask(chat_id, member, draft, language)
            return
        choice = text.lower()
        no_preset = {*NO_PRESET, self._render(msg.NO, language).lower()}  # "no", or "لا"
        if choice in no_preset:
            choice = "-"
        if choice not in no_preset and choice not in self.translator.languages:
            await self._say(chat_id, BAD_LANGUAGE.format(codes=self._codes()), language)
            return
        del self._drafts[member]
        link = await self.links.create(
            campaign=draft.campaign, partner=draft.partner, region=draft.region,
            language=None if choice in no_preset else choice, now=self.clock(),
            created_by=member, timezone=draft.timezone)
        url = self.link_for(link.code)
        await self._say(chat_id, READY.format(url=url, code=link.code), language)
        printed = self._render(CAPTION, link.language or language)
        await self.transport.send_photo(chat_id, qr_png(url, link.code, printed), link.code)
        log.info("link_created_in_chat channel=%s", self.channel)

    async def _zone_chosen(self, chat_id: str, member: bytes, draft: Draft, zone: str,
                           language: str) -> None:
        if draft.asked is not None:
            await self.transport.settle(chat_id, draft.asked, zone)
        draft = dataclasses.replace(draft, timezone=zone, asked=None)
        self._drafts[member] = draft
        await self._ask(chat_id, member, draft, language)

    async def _ask(self, chat_id: str, member: bytes, draft: Draft, language: str) -> None:
        if draft.next_field == "timezone":
            await self._ask_zone(chat_id, member, draft, language)
            return
        question = {"campaign": ASK_CAMPAIGN, "partner": ASK_PARTNER, "region": ASK_REGION,
                    "language": ASK_LANGUAGE.format(codes=self._codes())}[draft.next_field]
        await self._say(chat_id, question, language)

    async def _ask_zone(self, chat_id: str, member: bytes, draft: Draft, language: str
                        ) -> None:
        """UTC and the zones most likely here: those of the links made so far, most used
        first; any other is typed by name."""
        zones = draft.zones
        if not zones:
            used = Counter(link.timezone for link in await self.links.all()
                           if link.timezone and link.timezone != "UTC")
            zones = ("UTC", *(name for name, _ in used.most_common(ZONES_OFFERED - 1)))
        prompt = out.Prompt(ZONE_PROMPT, self._render(ASK_TIMEZONE, language),
                            tuple(out.Button(str(n), name) for n, name in enumerate(zones)),
                            language=language)
        asked = await self.transport.send_prompt(chat_id, prompt, None)
        self._drafts[member] = dataclasses.replace(draft, zones=zones, asked=asked)

    def _codes(self) -> str:
        return ", ".join(self.translator.languages)

    async def _stats(self, chat_id: str, member: bytes, language: str) -> None:
        figures = await self.links.figures(await self.links.all(created_by=member))
        if not figures:
            await self._say(chat_id, NO_LINKS, language)
            return
        today = self.clock().date()
        parts = [self._render(STATS_HEAD, language)]
        parts += [self._describe(item, today, language) for item in figures]
        await self.transport.send_text(chat_id, "\n\n".join(parts)[:MAX_STATS])

    def _describe(self, item: LinkFigures, today: date, language: str) -> str:
        link = item.link
        state = LIVE if link.live_on(today) else ENDED
        text = self._render(STATS_LINK.format(
            code=link.code, campaign=link.campaign, partner=link.partner, region=link.region,
            state=self._render(state, language), **masked(item.live)), language)
        text += "\n" + self._render(STATS_REMINDERS.format(**masked(item.live)), language)
        if any(item.expired.values()):
            text += "\n" + self._render(STATS_AFTER_END.format(**masked(item.expired)), language)
        return text

    def _render(self, text: Text, language: str) -> str:
        return self.translator.render(text, language)

    async def _say(self, chat_id: str, text: Text, language: str) -> None:
        await self.transport.send_text(chat_id, self._render(text, language))
