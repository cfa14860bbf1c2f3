"""A per-person flood limit: a token bucket in front of each chat's queue.

Nothing is dropped silently. Within the bucket, updates are handled at once. Beyond it they
wait their turn (in order), and the person is told once to slow down. If even the queue is
full, further updates are not kept and the person is told once to send them again later.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

PRUNE_AT = 10_000  # buckets kept before the full ones (idle people) are dropped


@dataclass(frozen=True)
class FloodLimits:
    burst: int = 20  # a multi-choice question tapped quickly, an album, a split long text
    per_second: float = 1.0  # sustained pace; about what platforms let us answer per chat
    max_waiting: int = 30  # per chat, beyond this updates are refused (and the person told)


class TokenBucket:
    def __init__(self, limits: FloodLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._clock = clock
        self._tokens = float(limits.burst)
        self._updated = clock()

    def take(self) -> float:
        """Take one token; return how many seconds to wait before using it (0: now)."""
        now = self._clock()
        self._tokens = min(float(self.limits.burst),
                           self._tokens + (now - self._updated) * self.limits.per_second)
        self._updated = now
        self._tokens -= 1.0
        return 0.0 if self._tokens >= 0 else -self._tokens / self.limits.per_second

    def refilled(self, now: float) -> bool:
        """Back to a full bucket: forgetting it now changes nothing."""
        return self._tokens + (now - self._updated) * self.limits.per_second >= self.limits.burst


class FloodGate:
    """One bucket per chat (buckets for idle chats are dropped once full again)."""

    def __init__(self, limits: FloodLimits | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits or FloodLimits()
        self._clock = clock
        self._buckets: dict[str, TokenBucket] = {}
        self._prune_at = PRUNE_AT

    def delay(self, chat_id: str) -> float:
        bucket = self._buckets.get(chat_id)
        if bucket is None:
            bucket = self._buckets[chat_id] = TokenBucket(self.limits, self._clock)
        wait = bucket.take()
        if len(self._buckets) > self._prune_at:
            now = self._clock()
            self._buckets = {c: b for c, b in self._buckets.items() if not b.refilled(now)}
            self._prune_at = max(PRUNE_AT, 2 * len(self._buckets))  # amortized: rarely
        return wait
