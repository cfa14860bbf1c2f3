"""Floods: 10,000 people at once while one person sends 1,000 messages in a second.

Measured, not timed: the test prints peak RSS and the other people's latencies, and asserts
what a user would care about — every answer of the crowd stored, no other person's update
delayed beyond the stated bound, the flooder told to slow down, and none of the flooder's
messages dropped silently (each one handled, or refused with a message saying so).
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import resource
import statistics
import time
from pathlib import Path
from typing import Any

import pytest

from bench.local_api import LocalBotApi
from bench.pipeline import Respondent
from bot.channels.telegram.app import TelegramService
from bot.config import load_settings
from bot.runtime import build
from storage.keys import KeyPair, encode_public
from storage.reader import read_testimonies
from tests.conftest import TEST_FLOWS
from tests.telegram_support import TOKEN

CROWD = int(os.environ.get("FLOOD_CROWD", "10000"))
FLOOD = 1_000
BOUND_SECONDS = 60.0  # the stated bound for any other person's update, crowd of 10,000
SLOW_DOWN = "You are sending messages very quickly"
RESEND = "That was more than I can take in at once"


class RecordingApi(LocalBotApi):
    """The in-process Bot API, also keeping the texts sent to one chat."""

    def __init__(self, watched: int) -> None:
        super().__init__()
        self.watched = watched
        self.texts: list[str] = []

    async def do_request(self, url: str, method: str, request_data: Any = None,
                         *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        if request_data is not None and url.endswith("/sendMessage"):
            params = request_data.json_parameters
            if int(params["chat_id"]) == self.watched:
                self.texts.append(params["text"])
        return await super().do_request(url, method, request_data, *args, **kwargs)


@pytest.mark.slow
@pytest.mark.timeout(900)
async def test_a_crowd_and_a_flooder(tmp_path: Path) -> None:
    flooder = Respondent(4_000_000)
    api = RecordingApi(watched=4_000_000)
    key = KeyPair.generate()
    (tmp_path / "locales").mkdir()
    settings = dataclasses.replace(load_settings({
        "TELEGRAM_BOT_TOKEN": TOKEN, "DATA_DIR": str(tmp_path / "data"),
        "WEBHOOK_URL": "https://bot.example.org/hook", "WEBHOOK_LISTEN": "127.0.0.1",
        "RECIPIENT_PUBLIC_KEYS": encode_public(key.public),
        "SERVER_SECRET": "ef" * 32, "LOG_LEVEL": "WARNING",
        "FLOW_FILE": str(TEST_FLOWS / "mini.toml"),
        "CONSENT_FILE": str(TEST_FLOWS / "consent.toml"),
        "LOCALES_DIR": str(tmp_path / "locales"),
    }, dotenv=None), webhook_port=0)
    orchestrator = await build(settings)
    service = TelegramService(settings, orchestrator, request=api, get_updates_request=api)
    await service.start()
    assert service.webhook is not None
    receive = service.webhook.receiver.receive
    latencies: list[float] = []

    async def person(n: int) -> None:
        respondent = Respondent(5_000_000 + n)
        chat = respondent.chat["id"]
        steps = [respondent.text("/start")]
        for position in (0, 0, 0, 0):  # agree, adult, may quote, then "Care work"
            await _send(receive, steps.pop(), latencies)
            message_id, markup, token = api.keyboards[chat]
            steps.append(respondent.press(message_id, markup, f"{token}:{position}"))
        await _send(receive, steps.pop(), latencies)

    async def flood() -> list[int]:
        await asyncio.sleep(1.0)  # the crowd is in full swing
        bodies = [flooder.text(f"message {n}") for n in range(FLOOD)]
        statuses = await asyncio.gather(*(receive(body) for body in bodies))  # all at once
        return [int(status) for status, _ in statuses]

    started = time.perf_counter()
    try:
        flood_task = asyncio.create_task(flood())
        await asyncio.gather(*(person(n) for n in range(CROWD)))
        statuses = await flood_task
        await service.channel.drain(120)  # the flooder's queued messages, at its pace
        elapsed = time.perf_counter() - started
        handled = service.channel.handled
    finally:
        await service.stop()
        await orchestrator.store.close()

    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    p50, p99 = (statistics.quantiles(latencies, n=100)[i] for i in (49, 98))
    print(f"\ncrowd {CROWD} x 5 updates + flood {FLOOD}: {elapsed:.1f} s, "
          f"peak RSS {peak_rss_mb:.0f} MB, others' latency p50 {p50:.2f} s, "
          f"p99 {p99:.2f} s, max {max(latencies):.2f} s")

    stored = sum(1 for t in read_testimonies(tmp_path / "data" / "testimonies.db", key)
                 for a in t.answers if a.question_id == "sector")
    assert stored == CROWD, "every answer of the crowd is stored"
    assert max(latencies) < BOUND_SECONDS
    assert set(statuses) == {200}
    assert handled == CROWD * 5 + FLOOD, "every update handled or refused, none lost"
    assert any(text.startswith(SLOW_DOWN) for text in api.texts)
    assert any(text.startswith(RESEND) for text in api.texts)
    assert peak_rss_mb < 2048


async def _send(receive: Any, body: bytes, latencies: list[float]) -> None:
    began = time.perf_counter()
    status, _ = await receive(body)
    latencies.append(time.perf_counter() - began)
    assert int(status) == 200
