"""The one reminder offer made without being asked: to someone who went quiet in the middle of
the questionnaire.

An offer is itself a message nobody asked for, and someone else may read the person's phone.
So it goes out at most once per session (the engine decides, on a `Quiet` event, and not to
someone who paused, was offered one already, finished or said no), only after
REMINDER_OFFER_AFTER of silence, only while the conversation is recent (within a day of the
person's last message, and inside a channel's reply window: WhatsApp's 24 hours less a
margin), never in the quiet hours (21:00-08:00 where their campaign link is handed out), and
in the same neutral words as the offer made with /stop, which name no cause and no theme.

The silence is measured from the last activity the orchestrator keeps in memory (the
database keeps only the day a session was saved, on purpose): after a restart nobody quiet
before it is offered anything, until they write again. Where several workers share the
database each remembers whom it heard from; the person's encrypted working state says when
they last wrote, and in their turn a worker finds there whether another heard from them since
(then no offer yet: it watches on from that message). The offer is saved in the state, so
however many workers find someone quiet at once, one offer goes out.

The job runs beside the reminder job in the one start-up path (bot/runtime.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from bot import outbound as out
from bot.reminders import CHECK_EVERY, Reach, Reminding, every_while_running, quiet

log = logging.getLogger(__name__)

DEFAULT_OFFER_AFTER = timedelta(hours=2)
OFFER_WITHIN = timedelta(hours=24)  # later than this after their last message: no offer


@dataclass(frozen=True)
class QuietPerson:
    """Someone silent mid-questionnaire, found in memory: where they wrote from, and when."""

    respondent: bytes
    channel: str
    user_id: str
    since: datetime  # their last message (in memory only)
    campaign: str | None


def offer_allowed(now: datetime, since: datetime, place: ZoneInfo,
                  window: timedelta | None) -> bool:
    """Whether an offer may go out now to someone silent since `since`: a recent
    conversation, inside the channel's reply window, outside the quiet hours of `place`."""
    if now - since >= OFFER_WITHIN:
        return False
    latest = Reach(window).latest(since)
    if latest is not None and now >= latest:
        return False
    return not quiet(now.astimezone(place))


class Offerer(Protocol):
    """The orchestrator's side: whom to tick, where they are, and the engine's answer."""

    clock: Callable[[], datetime]

    def quiet_people(self, since: datetime) -> list[QuietPerson]: ...

    async def link_zone(self, campaign: str | None) -> ZoneInfo: ...

    async def offer_after_quiet(self, person: QuietPerson) -> list[out.Outbound]: ...


async def offer_to_quiet(offerer: Offerer, channels: Mapping[str, Reminding],
                         quiet_for: timedelta) -> int:
    """One round: the offer to everyone quiet for `quiet_for` whom it may reach now.
    Returns how many offers went out."""
    now = offerer.clock()
    zones: dict[str | None, ZoneInfo] = {}
    offered = 0
    for person in offerer.quiet_people(now - quiet_for):
        channel = channels.get(person.channel)
        if channel is None:
            continue
        if person.campaign not in zones:
            zones[person.campaign] = await offerer.link_zone(person.campaign)
        if not offer_allowed(now, person.since, zones[person.campaign], channel.reply_window):
            continue
        try:
            decide = functools.partial(offerer.offer_after_quiet, person)
            if await channel.reach_out(person.user_id, decide):
                offered += 1
        except Exception as exc:  # one person's failure never stops the others'
            log.warning("reminder_offer_failed error=%s", type(exc).__name__)
    if offered:
        log.info("reminder_offers_sent count=%d", offered)
    return offered


@contextlib.asynccontextmanager
async def reminder_offers(offerer: Offerer, channels: Mapping[str, Reminding],
                          quiet_for: timedelta | None, every: timedelta | None = None
                          ) -> AsyncIterator[asyncio.Task[None] | None]:
    """The offer job while the bot runs; none when REMINDER_OFFER_AFTER is off or no
    channel can remind. It looks every CHECK_EVERY, or a quarter of REMINDER_OFFER_AFTER
    when that is shorter, so an offer comes at most a quarter late."""
    if quiet_for is None or not channels:
        yield None
        return
    one_round = functools.partial(offer_to_quiet, offerer, dict(channels), quiet_for)
    every = every or min(CHECK_EVERY, quiet_for / 4)
    async with every_while_running(one_round, every, "reminder_offer") as task:
        yield task
