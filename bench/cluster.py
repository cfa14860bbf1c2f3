"""`python -m bench.cluster`: answers per second with one and two bot workers on PostgreSQL,
against one worker on SQLite, on the same stream of conversations.

Each worker is a process (bench.cluster_worker) running the real orchestrator and store; the
respondents are simulated in this process, N at once, each waiting for the bot's reply
before the next message, as people do. Every answer is sealed and durably committed
(PostgreSQL: `synchronous_commit=on`, `fsync=on`; SQLite: `synchronous=FULL`). PostgreSQL is
a throwaway server started here (tests/postgres.py), or TEST_DATABASE_URL.

Prints answers/s for each setup and `postgres-1/sqlite ratio:` and
`postgres-2/postgres-1 ratio:`. On a machine with few cores the database, the workers and
this driver share them: see the README ("Running on several machines") for how to read them.

The same workers and respondents serve the multi-worker fault test (tests/test_cluster_faults.py).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FLOWS = ROOT / "tests" / "data" / "flows"
STORY = " ".join(["My employer kept my passport and paid half of what was promised."] * 2)
DONE_KEY, SKIP_KEY = "~done", "~skip"
ANSWERS_PER_PERSON = 4  # sector, themes, months unpaid, story (the last question is skipped)


class WorkerGone(Exception):
    """The worker's connection broke before it answered (killed, restarting)."""


@dataclass
class Worker:
    port: int
    argv: list[str]
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(self.argv, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, cwd=ROOT)

    def wait_ready(self, timeout: float = 60) -> None:
        assert self.process is not None and self.process.stdout is not None
        deadline = time.monotonic() + timeout
        line = self.process.stdout.readline()
        if line.strip() != b"ready" or time.monotonic() > deadline:
            raise RuntimeError(f"worker on port {self.port} did not start")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
        self._close_pipe()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        self._close_pipe()

    def _close_pipe(self) -> None:
        if self.process is not None and self.process.stdout is not None:
            self.process.stdout.close()


@dataclass
class Cluster:
    """Worker processes on one database (PostgreSQL URL, or a SQLite file)."""

    workers: list[Worker]

    @classmethod
    def build(cls, count: int, *, database_url: str, sqlite: Path, recipient: str,
              secret: str, locales: Path, base_port: int) -> Cluster:
        workers = []
        for n in range(count):
            port = base_port + n
            argv = [sys.executable, "-m", "bench.cluster_worker", "--port", str(port),
                    "--database-url", database_url, "--sqlite", str(sqlite),
                    "--recipient", recipient, "--secret", secret,
                    "--flow", str(FLOWS / "mini.toml"), "--consent", str(FLOWS / "consent.toml"),
                    "--locales", str(locales)]
            workers.append(Worker(port, argv))
        return cls(workers)

    def start(self) -> None:
        for worker in self.workers:
            worker.start()
        for worker in self.workers:
            worker.wait_ready()

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()


async def exchange(port: int, message: dict[str, Any]) -> list[dict[str, Any]]:
    """One event to one worker; its replies, or WorkerGone."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError as exc:
        raise WorkerGone from exc
    try:
        writer.write(json.dumps(message).encode() + b"\n")
        await writer.drain()
        line = await reader.readline()
    except OSError as exc:
        raise WorkerGone from exc
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    if not line:
        raise WorkerGone
    replies: list[dict[str, Any]] = json.loads(line)["replies"]
    return replies


@dataclass
class Respondent:
    """A person going through the mini questionnaire, answering whatever she is asked."""

    user: str
    ports: Sequence[int]
    rng: random.Random
    duplicates: float = 0.0  # share of messages delivered twice, to two workers at once
    sent: int = 0
    answered: int = 0
    done: bool = False
    prompt: dict[str, Any] | None = None
    redeliveries: int = 0
    _ids: Iterator[int] = field(default_factory=lambda: iter(range(1, 10**9)))

    async def talk(self) -> None:
        await self.deliver({"start": None})
        while not self.done:
            # No question in the last answer (it was lost with a worker, after the answer was
            # saved): like a person, send /start to see where things stand.
            prompted = await self.deliver(self._next() if self.prompt else {"start": None})
            if not prompted:
                self.prompt = None

    def _next(self) -> dict[str, Any]:
        prompt = self.prompt
        assert prompt is not None, "nothing asked, nothing to answer"
        text = prompt["prompt"]
        press = ("press", prompt["token"])
        if text in ("Do you agree to take part?", "Are you 18 or older?", "May we quote you?"):
            return {press[0]: [press[1], "yes"]}
        if text == "Where do you work?":
            return {"press": [prompt["token"], "care"]}
        if text == "Pick themes.":
            ticked = any(key == "wages" and selected for key, selected in prompt["buttons"])
            return {"press": [prompt["token"], DONE_KEY if ticked else "wages"]}
        if text == "How many months were you not paid?":
            return {"text": "7"}
        if text == "Tell us about your pay.":
            return {"text": STORY}
        if text == "What should governments change?":
            return {"press": [prompt["token"], SKIP_KEY]}
        raise AssertionError(f"unexpected question {text!r}")

    async def deliver(self, event: dict[str, Any]) -> bool:
        """Deliver until some worker answers (a redelivery keeps the id, as Telegram's)."""
        message = {"user": self.user, "id": f"{self.user}-{next(self._ids)}", **event}
        self.sent += 1
        while True:
            twice = len(self.ports) > 1 and self.rng.random() < self.duplicates
            ports = self.rng.sample(list(self.ports), 2 if twice else 1)
            results = await asyncio.gather(*(exchange(p, message) for p in ports),
                                           return_exceptions=True)
            answers = [r for r in results if isinstance(r, list)]
            for failure in results:
                if isinstance(failure, BaseException) and not isinstance(failure, WorkerGone):
                    raise failure
            if answers:
                break
            self.redeliveries += 1
            await asyncio.sleep(0.05 + self.rng.random() * 0.1)
        prompted = False
        for replies in answers:
            for reply in replies:
                if "prompt" in reply:
                    self.prompt, prompted = reply, True
                elif reply.get("message") == "Thank you, all done." or str(
                        reply.get("message")).startswith("You have already finished"):
                    self.done = True
        return prompted


def researcher_keys() -> tuple[str, Any]:
    from storage.keys import KeyPair, encode_public

    pair = KeyPair.generate()
    return encode_public(pair.public), pair


def compiled_locales(folder: Path) -> Path:
    from tests.conftest import compiled_locales as compile_all

    return compile_all(folder)


async def run_people(ports: Sequence[int], people: int, seed: int, duplicates: float = 0.0,
                     prefix: str = "p") -> list[Respondent]:
    rng = random.Random(seed)
    crowd = [Respondent(f"{prefix}{n}", ports, random.Random(rng.random()), duplicates)
             for n in range(people)]
    await asyncio.gather(*(person.talk() for person in crowd))
    return crowd


# -- the benchmark ---------------------------------------------------------------------------
def _measure(cluster: Cluster, people: int, seed: int, prefix: str) -> float:
    cluster.start()
    try:
        ports = [w.port for w in cluster.workers]
        started = time.perf_counter()
        asyncio.run(run_people(ports, people, seed, prefix=prefix))
        elapsed = time.perf_counter() - started
    finally:
        cluster.stop()
    return people * ANSWERS_PER_PERSON / elapsed


@contextlib.contextmanager
def _postgres(durable: bool) -> Iterator[str]:
    given = os.environ.get("TEST_DATABASE_URL")
    if given:
        yield given
        return
    from tests.postgres import ThrowawayServer

    server = ThrowawayServer()
    try:
        yield server.start(durable=durable)
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cluster")
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--port", type=int, default=47310)
    args = parser.parse_args(argv)
    recipient, _ = researcher_keys()
    secret = os.urandom(32).hex()
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as tmp, \
            _postgres(durable=True) as url:
        folder = Path(tmp)
        locales = compiled_locales(folder / "locales")
        best: dict[str, float] = {}
        for round_ in range(args.rounds):
            for name, count, database in (("sqlite", 1, ""), ("postgres-1", 1, url),
                                          ("postgres-2", 2, url)):
                cluster = Cluster.build(count, database_url=database,
                                        sqlite=folder / f"{name}-{round_}.db",
                                        recipient=recipient, secret=secret, locales=locales,
                                        base_port=args.port)
                rate = _measure(cluster, args.people, round_, f"{name}-{round_}-")
                best[name] = max(best.get(name, 0.0), rate)
        print(f"cores: {len(os.sched_getaffinity(0))}, people at once: {args.people}, "
              f"best of {args.rounds} rounds")
        for name, rate in best.items():
            print(f"{name:>11}: {rate:8.1f} answers/s")
        print(f"postgres-1/sqlite ratio: {best['postgres-1'] / best['sqlite']:.2f}")
        print(f"postgres-2/postgres-1 ratio: {best['postgres-2'] / best['postgres-1']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
