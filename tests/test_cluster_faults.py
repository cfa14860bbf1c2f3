"""Three worker processes on one PostgreSQL; 200 people whose messages reach random workers,
some twice at once; workers killed with SIGKILL at random and restarted. Every answer is
stored once, each person's answers in order, every conversation completes.

A worker is killed every 0.4 to 1 s, one at a time (the others keep serving), and restarted at
once. A person whose reply was lost with a worker gets the current question again when the
message is delivered again; if even that shows no question (her last answer finished the
questionnaire), she sends /start and is told she has finished, as a person would."""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
from pathlib import Path

import pytest

from bench.cluster import ANSWERS_PER_PERSON, STORY, Cluster, researcher_keys, run_people
from storage.pg.maintenance import backup
from storage.reader import read_testimonies

PEOPLE = 200


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@pytest.mark.slow
async def test_three_workers_killed_at_random_lose_nothing_and_store_nothing_twice(
    postgres_url: str, tmp_path: Path, shipped_locales: Path,
) -> None:
    recipient, researcher = researcher_keys()
    ports = _free_ports(3)
    cluster = Cluster.build(3, database_url=postgres_url, sqlite=tmp_path / "unused.db",
                            recipient=recipient, secret="ab" * 32, locales=shipped_locales,
                            base_port=0)
    for worker, port in zip(cluster.workers, ports, strict=True):
        worker.port = port
        worker.argv[worker.argv.index("--port") + 1] = str(port)
    await asyncio.to_thread(cluster.start)
    rng = random.Random(15)
    kills = 0
    up = set(range(len(cluster.workers)))
    restarts: set[asyncio.Task[None]] = set()

    async def restart(index: int) -> None:
        worker = cluster.workers[index]
        worker.start()
        await asyncio.to_thread(worker.wait_ready)
        up.add(index)

    async def killer() -> None:
        nonlocal kills
        while True:
            await asyncio.sleep(0.4 + rng.random() * 0.6)
            if len(up) < 2:  # one worker at a time is down: the others keep serving
                continue
            index = rng.choice(sorted(up))
            up.discard(index)
            cluster.workers[index].kill()
            kills += 1
            task = asyncio.create_task(restart(index))
            restarts.add(task)
            task.add_done_callback(restarts.discard)

    chaos = asyncio.create_task(killer())
    try:
        crowd = await asyncio.wait_for(
            run_people(ports, PEOPLE, seed=15, duplicates=0.15), timeout=240)
    finally:
        chaos.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await chaos
        await asyncio.gather(*restarts, return_exceptions=True)
        await asyncio.to_thread(cluster.stop)
    assert kills >= 3, "the test must actually kill workers"
    assert sum(p.redeliveries for p in crowd) > 0, "some messages had to be delivered again"
    assert all(person.done for person in crowd)

    snapshot = tmp_path / "snap.db"
    backup(postgres_url, snapshot)
    testimonies = list(read_testimonies(snapshot, researcher))
    assert len(testimonies) == PEOPLE
    for testimony in testimonies:
        assert [a.question_id for a in testimony.answers] == [
            "sector", "themes", "months_unpaid", "wages_story"]
        assert testimony.stored_answers == ANSWERS_PER_PERSON
        assert [a.header["value"] for a in testimony.answers] == [
            ["care"], ["wages"], 7, STORY]
        assert testimony.completed_on is not None
