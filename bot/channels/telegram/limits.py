"""Rate limits for the Bot API calls of a bot that answers people rather than broadcasting.

- Replies in private chats, and calls that name no chat (a button's answer), go out at once:
  Telegram's 30-per-second guidance is for bulk notifications, and capping replies would make
  a busy hour wait in line.
- Groups and channels (which the bot only ever leaves) keep 20 requests a minute each.
- A 429 answer pauses every request for Telegram's `retry_after` (plus a margin); the refused
  call is then retried, up to `max_retries` times (`rate_limit_args` overrides that per call).

This is the policy PTB's AIORateLimiter applied here before, configured so. It kept a few
coroutines and context managers in front of every reply for throttles that this policy turns
off, which cost about 6% of the throughput in the pipeline benchmark (bench/pipeline.py);
here a reply goes straight through unless a pause or a group limit applies.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from aiolimiter import AsyncLimiter
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

log = logging.getLogger(__name__)

RETRY_MARGIN = 0.1  # seconds added to Telegram's retry_after, as PTB's limiter does
GROUP_LIMITERS_KEPT = 512  # groups' limiters kept before idle ones are dropped

Result = bool | dict[str, Any] | list[dict[str, Any]]


class ReplyRateLimiter(BaseRateLimiter[int]):
    def __init__(self, *, group_max_rate: int = 20, group_time_period: float = 60.0,
                 max_retries: int = 3) -> None:
        self._group_max_rate = group_max_rate
        self._group_time_period = group_time_period
        self._max_retries = max_retries
        self._groups: dict[int | str, AsyncLimiter] = {}
        self._resume_at = 0.0  # event-loop time before which nothing goes out (after a 429)

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Result]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Result:
        group = _group(data.get("chat_id"))
        retries = rate_limit_args or self._max_retries
        attempt = 0
        while True:
            if self._resume_at:  # a 429 was answered once: check whether its pause is over
                await self._pause_if_told()
            try:
                if group is None:
                    return await callback(*args, **kwargs)
                async with self._group_limiter(group):
                    return await callback(*args, **kwargs)
            except RetryAfter as exc:
                if attempt >= retries:
                    log.warning("rate_limited_gave_up endpoint=%s retries=%d", endpoint, retries)
                    raise
                attempt += 1
                # `_retry_after` is what PTB's own limiter reads: the public `retry_after`
                # warns about its own deprecation in PTB 22 unless PTB_TIMEDELTA is set.
                pause = exc._retry_after.total_seconds() + RETRY_MARGIN
                loop = asyncio.get_running_loop()
                self._resume_at = max(self._resume_at, loop.time() + pause)
                log.info("rate_limited endpoint=%s seconds=%.1f", endpoint, pause)

    async def _pause_if_told(self) -> None:
        loop = asyncio.get_running_loop()
        # A deadline rather than a signal: another 429 may push it later while we sleep.
        while (wait := self._resume_at - loop.time()) > 0:  # noqa: ASYNC110
            await asyncio.sleep(wait)

    def _group_limiter(self, group: int | str) -> AsyncLimiter:
        limiter = self._groups.get(group)
        if limiter is None:
            if len(self._groups) >= GROUP_LIMITERS_KEPT:
                # Forget groups whose budget is whole again: nothing is lost by that.
                self._groups = {g: lim for g, lim in self._groups.items()
                                if not lim.has_capacity(self._group_max_rate)}
            limiter = self._groups[group] = AsyncLimiter(self._group_max_rate,
                                                         self._group_time_period)
        return limiter


def _group(chat_id: object) -> int | str | None:
    """The group or channel a call goes to; None for a private chat or no chat at all.
    Group and channel ids are negative; an @username can only name a channel."""
    if chat_id is None:
        return None
    if isinstance(chat_id, int):
        return chat_id if chat_id < 0 else None
    try:
        number = int(str(chat_id))
    except ValueError:
        return str(chat_id)
    return number if number < 0 else None
