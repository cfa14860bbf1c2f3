"""A progress bar on a terminal; nothing at all when the output is piped or redirected."""

from __future__ import annotations

import time
from typing import TextIO

_EVERY = 0.1  # seconds between redraws


class Progress:
    def __init__(self, stream: TextIO, label: str, total: int,
                 enabled: bool | None = None) -> None:
        self.stream = stream
        self.label = label
        self.total = max(total, 0)
        self.done = 0
        self.enabled = stream.isatty() if enabled is None else enabled
        self._drawn = 0.0

    def advance(self, count: int = 1) -> None:
        self.done += count
        now = time.monotonic()
        if self.enabled and (now - self._drawn >= _EVERY or self.done >= self.total):
            self._drawn = now
            self._draw()

    def _draw(self) -> None:
        share = self.done / self.total if self.total else 1.0
        filled = int(share * 30)
        bar = "#" * filled + "-" * (30 - filled)
        self.stream.write(f"\r{self.label} [{bar}] {self.done}/{self.total}")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self._draw()
            self.stream.write("\n")
            self.stream.flush()
