"""Batches of work on every core, results in the order the batches were given.

Decrypting and redacting one person does not depend on anyone else, so batches of people go
to a process pool; the parent only writes. At most `window` batches are in flight, so memory
stays flat however many people there are (results wait for the writer, not the reverse).
With one job everything runs in this process: the same code, no pool.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import TypeVar

Task = TypeVar("Task")
Result = TypeVar("Result")


def default_jobs() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
               else os.cpu_count() or 1)


def ordered_map(work: Callable[[Task], Result], tasks: Iterable[Task], jobs: int,
                setup: Callable[..., None], setup_args: tuple[object, ...]
                ) -> Iterator[Result]:
    if jobs <= 1:
        setup(*setup_args)
        yield from map(work, tasks)
        return
    window = jobs * 2
    with ProcessPoolExecutor(max_workers=jobs, initializer=setup,
                             initargs=setup_args) as pool:
        pending: deque[Future[Result]] = deque()
        for task in tasks:
            pending.append(pool.submit(work, task))
            if len(pending) >= window:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
