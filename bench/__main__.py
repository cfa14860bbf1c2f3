"""`make bench`: the benchmark suite, one table ending with `pipeline/baseline ratio: X.XX`.

The parts also run alone: `python -m bench.pipeline` (the Telegram issue's benchmark, 300 at
once, best of five rounds) and `python -m bench.export` (25,000 to 100,000 answers).
Each module exposes `main()` (returning an exit status or None) and prints its figures."""

from __future__ import annotations

import importlib
import sys

MODULES = ("bench.suite",)


def main() -> int:
    status = 0
    for name in MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # not written yet: skip, say so
                print(f"({name}: not present, skipped)")
                continue
            raise
        print(f"== {name} ==", flush=True)
        result = module.main()  # an exit status, or None for success
        status = max(status, int(result or 0))
    return status


if __name__ == "__main__":
    sys.exit(main())
