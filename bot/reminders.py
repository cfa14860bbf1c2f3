"""Reminders people asked for: when they fall due, and the job that sends them.

A reminder exists only because the person chose a time after pausing (the engine's offer).
Its due time is the chosen number of days from the request, an hour early (so "tomorrow"
stays within a reply window that closes a day after the person's last message), moved out
of the quiet hours (21:00-08:00) of the time zone of the person's campaign link (UTC when
the link sets none) without changing its day: back to 20:30 from late evening, on to 08:00
from the small hours (or, where a channel's window would close before 08:00, back to 20:30
the evening before).

The job runs beside retention in the one start-up path (bot/runtime.py), for every channel:
it claims due reminders (storage/reminders.py: at most once) and hands each to the channel
the person wrote on.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot import outbound as out
from bot.engine.step import REMINDER_DELAYS

log = logging.getLogger(__name__)

CHECK_EVERY = timedelta(minutes=5)
EARLY = timedelta(hours=1)  # a day's reminder comes this much before the same time of day
QUIET_FROM, QUIET_UNTIL = time(21, 0), time(8, 0)
EVENING = time(20, 30)  # where a reminder moves back to, when 08:00 would be too late
WINDOW_MARGIN = timedelta(minutes=30)  # kept free before a reply window closes
UTC_ZONE = ZoneInfo("UTC")


@dataclass(frozen=True)
class Reach:
    """How far ahead a channel can remind a person: `window` is how long after the person's
    last message it may still write to them (None: any time)."""

    window: timedelta | None = None

    @functools.cached_property
    def options(self) -> tuple[str, ...]:
        """The delays (days, as the engine's button keys) that can be delivered."""
        return tuple(key for key in REMINDER_DELAYS if self.window is None
                     or timedelta(days=int(key)) - EARLY < self.window - WINDOW_MARGIN)

    def latest(self, asked_at: datetime) -> datetime | None:
        return None if self.window is None else asked_at + self.window - WINDOW_MARGIN


def valid_timezone(name: str) -> bool:
    return name in available_timezones()


def zone(name: str | None) -> ZoneInfo:
    if not name:
        return UTC_ZONE
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("link_timezone_unknown")  # made before validation, or the tz data changed
        return UTC_ZONE


def quiet(local: datetime) -> bool:
    moment = local.time()
    return moment >= QUIET_FROM or moment < QUIET_UNTIL


def due_time(asked_at: datetime, days: int, place: ZoneInfo,
             latest: datetime | None = None) -> datetime:
    """When a reminder asked for at `asked_at`, `days` ahead, goes out (in UTC). Out of
    quiet hours, on the same local day: earlier that evening if it fell late at night,
    08:00 if it fell in the small hours, or (when 08:00 is past `latest`) the evening before."""
    due = (asked_at + timedelta(days=days) - EARLY).astimezone(place)
    if not quiet(due):
        return due.astimezone(UTC)
    if due.time() >= QUIET_FROM:
        return datetime.combine(due.date(), EVENING, place).astimezone(UTC)
    morning = datetime.combine(due.date(), QUIET_UNTIL, place)
    if latest is None or morning <= latest:
        return morning.astimezone(UTC)
    evening = datetime.combine(due.date() - timedelta(days=1), EVENING, place)
    return max(evening, asked_at).astimezone(UTC)


class Reminding(Protocol):
    """What a channel offers the jobs: send the reminder text to one person; deliver the
    offer made after a quiet while (bot/reminder_offers.py)."""

    @property
    def channel(self) -> str: ...

    @property
    def reply_window(self) -> timedelta | None:
        """How long after a person's last message free-form text may still reach them."""
        ...

    async def remind(self, user_id: str, text: str, language: str,
                     asked_at: datetime) -> bool:
        """True if it went out; False if it could not (and will not be tried again)."""
        ...

    async def reach_out(self, user_id: str,
                        decide: Callable[[], Awaitable[list[out.Outbound]]]) -> bool:
        """Deliver what `decide` returns (called in the person's turn, so nothing of theirs
        comes in between); True if something went out."""
        ...


@dataclass(frozen=True)
class Due:
    """A claimed reminder, rendered in the person's language, ready for their channel."""

    respondent: bytes
    channel: str
    user_id: str
    text: str
    language: str
    asked_at: datetime
    campaign: str | None


class Sender(Protocol):
    """The orchestrator's side: claim what is due, rendered; count what was sent."""

    async def due_reminders(self, channels: Collection[str]) -> list[Due]: ...

    async def reminder_sent(self, due: Due) -> None: ...


async def send_due(sender: Sender, channels: Mapping[str, Reminding]) -> int:
    """One round: every due reminder to its channel. Returns how many went out."""
    sent = 0
    # Only reminders of the channels running here are claimed: the others wait in storage.
    for due in await sender.due_reminders(channels.keys()):
        reminding = channels[due.channel]
        try:
            delivered = await reminding.remind(due.user_id, due.text, due.language,
                                               due.asked_at)
        except Exception as exc:  # one person's failure never stops the others'
            log.warning("reminder_failed error=%s", type(exc).__name__)
            continue
        if delivered:
            sent += 1
            await sender.reminder_sent(due)
    if sent:
        log.info("reminders_sent count=%d", sent)
    return sent


ROUND_GRACE = 30.0  # seconds a round under way may take to finish when the bot stops


@contextlib.asynccontextmanager
async def every_while_running(one_round: Callable[[], Awaitable[object]], every: timedelta,
                              name: str) -> AsyncIterator[asyncio.Task[None]]:
    """Run `one_round` now and then every `every` until the block ends. A round under way
    when the bot stops is let finish (up to ROUND_GRACE): a reminder is taken from storage
    before it is sent, so a round cut in the middle would lose it."""
    stopping = asyncio.Event()

    async def loop() -> None:
        while not stopping.is_set():
            try:
                await one_round()
            except Exception:
                log.warning("%s_round_failed", name)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), every.total_seconds())

    task = asyncio.create_task(loop(), name=name)
    try:
        yield task
    finally:
        stopping.set()
        try:
            await asyncio.wait_for(asyncio.shield(task), ROUND_GRACE)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


@contextlib.asynccontextmanager
async def reminders(sender: Sender, channels: Mapping[str, Reminding],
                    every: timedelta = CHECK_EVERY) -> AsyncIterator[asyncio.Task[None] | None]:
    if not channels:
        yield None
        return
    one_round = functools.partial(send_due, sender, dict(channels))
    async with every_while_running(one_round, every, "reminder") as task:
        yield task
