"""The retention job: while the bot runs, unfinished sessions past SESSION_TTL_HOURS close."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

from bot.orchestrator import Orchestrator

log = logging.getLogger(__name__)
CHECK_EVERY = timedelta(minutes=10)


async def retention_loop(orchestrator: Orchestrator, ttl: timedelta,
                         every: timedelta = CHECK_EVERY) -> None:
    """Run until cancelled; a failed round is logged and tried again next time."""
    while True:
        try:
            await orchestrator.expire_idle(ttl)
        except Exception:
            log.warning("retention_round_failed")
        await asyncio.sleep(every.total_seconds())


@contextlib.asynccontextmanager
async def retention(orchestrator: Orchestrator,
                    ttl_hours: int) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(retention_loop(orchestrator, timedelta(hours=ttl_hours)),
                               name="retention")
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
