"""What the two-sided benchmarks (bench.pipeline, bench.whatsapp) share: each side run in a
fresh process (so its peak RSS is its own), the best of a few alternating rounds, and the
latency percentiles they print."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

F = TypeVar("F")


def run_side(module: str, kind: str, arguments: Sequence[str],
             env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """`python -m module --side kind ...`; the figures it prints as JSON on its last line."""
    done = subprocess.run([sys.executable, "-m", module, "--side", kind, *arguments],
                          capture_output=True, text=True, check=False, env=env)
    if done.returncode != 0:
        raise SystemExit(f"{kind} run failed:\n{done.stderr[-3000:]}")
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def best_of(rounds: int, kinds: Sequence[str], run: Callable[[str], F],
            rate: Callable[[F], float]) -> dict[str, F]:
    """Each kind `rounds` times, alternately; the run of each with the highest `rate`. On a
    small shared machine one run varies by several percent from the next; the best of a few
    is what the code can do, for both sides alike."""
    best: dict[str, F] = {}
    for _ in range(rounds):
        for kind in kinds:
            figures = run(kind)
            if kind not in best or rate(figures) > rate(best[kind]):
                best[kind] = figures
    return best


def p50_p99_ms(latencies: list[float]) -> tuple[float, float]:
    """The median and 99th percentile, in milliseconds, of latencies in seconds (sorted)."""
    return (latencies[len(latencies) // 2] * 1000,
            latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000)
