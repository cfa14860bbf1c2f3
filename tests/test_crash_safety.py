"""Crash safety: the bot runs as a subprocess in webhook mode and is killed with SIGKILL at
random moments (at least 20 times) while simulated people give full testimonies; the client
re-delivers every update that was not acknowledged, as Telegram does.

At the end every answer the bot acknowledged is in the store exactly once, no answer is
duplicated, every conversation completed, and the database passes `PRAGMA integrity_check`.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from storage.keys import KeyPair, encode_public
from storage.reader import read_testimonies
from tests.conftest import ROOT, TEST_FLOWS
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.updates import TgUser, UpdateFactory
from tests.telegram_support import TOKEN, WEBHOOK_URL

PEOPLE = int(os.environ.get("CRASH_PEOPLE", "24"))
KILLS = int(os.environ.get("CRASH_KILLS", "22"))
JSON = dict[str, Any]
# The closing words, or, when the bot was killed between saving the last answer and saying
# them, what it tells a person who writes again after finishing.
FINISHED = ("Thank you, all done.", "You have already finished.")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Respondent:
    """A person who answers whatever the bot shows last, and retries what was not acked."""

    user: TgUser
    pending: JSON | None = None  # an update not yet acknowledged: sent again, unchanged
    answered: set[tuple[int, str]] = field(default_factory=set)  # prompts acted on
    acknowledged: dict[str, object] = field(default_factory=dict)
    done: bool = False

    def expected(self) -> dict[str, object]:
        return {"sector": ["care"], "themes": ["wages"], "months_unpaid": 7,
                "wages_story": f"my story {self.user.id}",
                "recommendation": f"papers for all {self.user.id}"}


class BotProcess:
    def __init__(self, env: dict[str, str], api: FakeBotApi, logs: Path,
                 cwd: Path = ROOT) -> None:
        self.env, self.api, self.logs, self.cwd = env, api, logs, cwd
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    async def start(self) -> None:
        before = self._webhooks_set()
        self.starts += 1
        with (self.logs / f"run-{self.starts}.log").open("wb") as log:
            self.process = subprocess.Popen(  # noqa: ASYNC220 - a child we kill on purpose
                [sys.executable, "-m", "bot", "run"], env=self.env, cwd=self.cwd,
                stdout=subprocess.DEVNULL, stderr=log)
        async with asyncio.timeout(60):
            while self._webhooks_set() == before or not self._listening():
                if self.process.poll() is not None:
                    raise AssertionError(self.log_text())
                await asyncio.sleep(0.02)

    def _webhooks_set(self) -> int:
        # Successful calls only: the Bot API refuses a second setWebhook within a second
        # (429), and the bot then retries it after `retry_after`.
        return sum(1 for call in self.api.calls_to("setWebhook") if call.status == 200)

    def _listening(self) -> bool:
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", int(self.env["WEBHOOK_PORT"]))) == 0

    def log_text(self) -> str:
        return "".join(path.read_text(errors="replace")
                       for path in sorted(self.logs.glob("run-*.log")))

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> str:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=60)
        return self.log_text()


def next_update(person: Respondent, api: FakeBotApi, updates: UpdateFactory) -> JSON | None:
    """What this person does next, looking at the newest question the bot shows."""
    user = person.user
    if any(text.startswith(FINISHED) for text in api.sent_texts(user.id)):
        person.done = True
        return None
    prompts = [m for m in api.messages(user.id) if m.get("reply_markup")]
    if not prompts:
        return updates.text(user, "/start")
    prompt = prompts[-1]
    seen = (int(prompt["message_id"]), str(prompt.get("text", "")))
    if seen in person.answered:
        # Answered, but the next question never came (killed before sending it): a person
        # would write again; the bot resumes and asks anew.
        return updates.text(user, "/start")
    text = seen[1]
    buttons = {b["text"]: b["callback_data"]
               for row in prompt["reply_markup"]["inline_keyboard"] for b in row}

    def press(label: str) -> JSON:
        return updates.callback(user, seen[0], buttons[label])

    person.answered.add(seen)
    if text.startswith(("Do you agree", "Are you 18", "May we quote")):
        return press("Yes")
    if text.startswith("Where do you work"):
        return press("Care work")
    if text.startswith("Pick themes"):
        if "✓ Wages" in buttons:
            return press("Done")
        person.answered.discard(seen)  # the same message comes back with a check mark
        return press("Wages")
    if text.startswith("How many months"):
        return updates.text(user, "7")
    if text.startswith("Tell us about your pay"):
        return updates.text(user, f"my story {user.id}")
    if text.startswith("What should governments change"):
        return updates.text(user, f"papers for all {user.id}")
    return updates.text(user, "/start")  # e.g. the language picker of a fresh session


async def deliver(person: Respondent, bot: BotProcess, api: FakeBotApi,
                  updates: UpdateFactory, http: httpx.AsyncClient, port: int) -> None:
    while not person.done:
        update = person.pending or next_update(person, api, updates)
        if update is None:
            return
        person.pending = update
        api._learn_from_update(dict(update))
        try:
            response = await http.post(
                f"http://127.0.0.1:{port}/tg/hook", json=update,
                # Like Telegram: always the secret of the latest successful setWebhook.
                headers={"X-Telegram-Bot-Api-Secret-Token": api.webhook.secret_token})
        except httpx.TransportError:
            await asyncio.sleep(0.05)  # down: Telegram tries again a little later
            continue
        if response.status_code != 200:
            await asyncio.sleep(0.05)
            continue
        if response.content:  # a method call carried in the webhook's answer
            call = response.json()
            method = call.pop("method")
            await http.post(f"{api.base_url}{TOKEN}/{method}", json=call)
        person.pending = None


@pytest.mark.slow
@pytest.mark.timeout(600)
async def test_sigkill_at_random_points_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    key = KeyPair.generate()
    port = free_port()
    (tmp_path / "locales").mkdir()  # English only: no language picker in the way
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN, "DATA_DIR": str(tmp_path / "data"),
           "RECIPIENT_PUBLIC_KEYS": encode_public(key.public), "SERVER_SECRET": "cd" * 32,
           "WEBHOOK_URL": WEBHOOK_URL, "WEBHOOK_LISTEN": "127.0.0.1",
           "WEBHOOK_PORT": str(port), "FLOW_FILE": str(TEST_FLOWS / "mini.toml"),
           "CONSENT_FILE": str(TEST_FLOWS / "consent.toml"), "LOG_LEVEL": "WARNING",
           "LOCALES_DIR": str(tmp_path / "locales"), "DEMO": "0"}
    rng = random.Random(20261129)
    api = FakeBotApi()
    await api.start()
    bot = BotProcess({**env, "TELEGRAM_API_URL": f"http://127.0.0.1:{api.port}"}, api,
                     tmp_path)
    updates = UpdateFactory(api)
    people = [Respondent(TgUser(5_000_000 + n, f"P{n}")) for n in range(PEOPLE)]
    kills = 0
    try:
        await bot.start()
        async with httpx.AsyncClient(timeout=30) as http:
            clients = asyncio.gather(*(deliver(p, bot, api, updates, http, port)
                                       for p in people))
            while kills < KILLS:
                await asyncio.sleep(rng.uniform(0.05, 0.4))
                bot.kill()
                kills += 1
                await asyncio.sleep(rng.uniform(0.0, 0.2))  # Telegram meets a closed port
                await bot.start()
            try:
                async with asyncio.timeout(float(os.environ.get("CRASH_WAIT", "240"))):
                    await clients
            except TimeoutError:
                stuck = [(p.user.id, api.sent_texts(p.user.id)[-3:]) for p in people
                         if not p.done]
                raise AssertionError(f"conversations stuck: {stuck}") from None
        logs = bot.stop()
    finally:
        if bot.process and bot.process.poll() is None:
            bot.kill()
        await api.stop()

    assert kills >= min(KILLS, 20)
    assert all(p.done for p in people), "every conversation can be completed"
    assert "Traceback" not in logs
    db = tmp_path / "data" / "testimonies.db"
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        rows = conn.execute("SELECT count(*), count(DISTINCT respondent_id || slot) "
                            "FROM records").fetchone()
        counters = dict(conn.execute("SELECT metric, count FROM counters"))
    # five answers, the consent and the completion each
    assert rows[0] == rows[1] == PEOPLE * 7, "no answer stored twice, none missing"
    assert counters["consented"] == PEOPLE and counters["completed"] == PEOPLE
    opened = {t.respondent: {a.question_id: a.header["value"] for a in t.answers}
              for t in read_testimonies(db, key)}
    expected = sorted(sorted(p.expected().items()) for p in people)
    assert sorted(sorted(answers.items()) for answers in opened.values()) == expected
