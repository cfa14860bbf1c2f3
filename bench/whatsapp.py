"""The WhatsApp channel's benchmark: the real channel against a plain webhook handler.

N simulated respondents write at once, each waiting for the bot's replies before the next
message (as people do). Messages enter as signed webhook bodies, handed to each side as its
webhook would hand them (the HTTP transport in front is left out for both), and every reply
goes over HTTP to the strict fake Graph API (tests/fakes/graph_api.py), which runs in a
process of its own so that neither side pays for it. Answers are typed numbers and words,
as WhatsApp allows, so no side needs to read what the other sent.

- whatsapp: signature check, the ledger's exactly-once check, the orchestrator, every answer
  sealed and durably committed (synchronous=FULL), replies rendered within WhatsApp's limits.
- baseline: a plain handler that checks the signature, parses the same body and answers each
  message with one text through the same fake, storing nothing.

Each side runs in its own process, alternately, `--rounds` times; the best round of each is
reported. The last line is `whatsapp/baseline ratio: X.XX` (messages handled per second).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bench import sides
from tests.fakes.graph_api import APP_SECRET, PHONE_NUMBER_ID, TOKEN, VERIFY_TOKEN, VERSION

# The default questionnaire typed as numbers (English first in the picker, "Yes" first).
WARM_UP = ("Hello", "1", "1", "1", "1")  # open, language, three consent items
TIMED = ("1", "2", "2", "10", "1", "1", "2", "3",
         "My employer kept my passport and paid half of what was promised. " * 3,
         "Give domestic workers contracts in a language they understand.")

RESPONDENTS = 100  # at once; the fake Graph API, one Python process, is the limit beyond
Handle = Callable[[bytes, str], Awaitable[None]]


@dataclass
class Figures:
    kind: str
    respondents: int
    messages: int
    seconds: float
    p50_ms: float
    p99_ms: float
    peak_rss_mb: float

    @property
    def per_second(self) -> float:
        return self.messages / self.seconds


def body(user: str, number: int, text: str) -> bytes:
    """A webhook body exactly as Meta posts one text message."""
    return json.dumps({"object": "whatsapp_business_account", "entry": [{
        "id": "1029384756", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550001234",
                         "phone_number_id": PHONE_NUMBER_ID},
            "contacts": [{"profile": {"name": "Resp"}, "wa_id": user}],
            "messages": [{"from": user, "id": f"wamid.bench{user}{number:04d}",
                          "timestamp": str(int(time.time())), "type": "text",
                          "text": {"body": text}}]}}]}]}).encode()


def sign(raw: bytes) -> str:
    return "sha256=" + hmac.new(APP_SECRET.encode(), raw, hashlib.sha256).hexdigest()


# -- the two sides --------------------------------------------------------------------------
async def whatsapp_side(folder: Path, api_url: str) -> tuple[Handle, Callable[[], Any]]:
    from bot.channels.whatsapp.app import WhatsAppService
    from bot.config import load_settings
    from bot.runtime import build, tune_garbage_collector
    from storage.keys import KeyPair, encode_public
    from storage.server_keys import new_secret

    settings = replace(load_settings({
        "WHATSAPP_ACCESS_TOKEN": TOKEN, "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
        "WHATSAPP_APP_SECRET": APP_SECRET, "WHATSAPP_VERIFY_TOKEN": VERIFY_TOKEN,
        "WHATSAPP_API_URL": api_url, "DATA_DIR": str(folder), "WEBHOOK_LISTEN": "127.0.0.1",
        "RECIPIENT_PUBLIC_KEYS": encode_public(KeyPair.generate().public),
        "SERVER_SECRET": new_secret(), "LOG_LEVEL": "WARNING",
    }, dotenv=None), webhook_port=0)
    tune_garbage_collector()  # as `serve()` does for the running bot
    orchestrator = await build(settings)
    service = WhatsAppService(settings, orchestrator)
    await service.start()
    receiver, channel = service.receiver, service.channel

    async def handle(raw: bytes, signature: str) -> None:
        # What the webhook does before its 200, then what runs after it, awaited here.
        if not receiver.signed(signature, raw):
            raise RuntimeError("signature refused")
        await channel.handle(json.loads(raw))

    async def close() -> None:
        await service.stop()
        await orchestrator.store.close()

    return handle, close


async def baseline_side(api_url: str) -> tuple[Handle, Callable[[], Any]]:
    import httpx

    from bot.channels.whatsapp.graph import TIMEOUT

    # The same HTTP client, pool and timeouts as the channel's Graph client.
    http = httpx.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=TIMEOUT,
                             limits=httpx.Limits(max_connections=100,
                                                 max_keepalive_connections=50))

    async def handle(raw: bytes, signature: str) -> None:
        expected = "sha256=" + hmac.new(APP_SECRET.encode(), raw, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(signature, expected):
            raise RuntimeError("signature refused")
        data = json.loads(raw)
        for entry in data["entry"]:
            for change in entry["changes"]:
                for message in change["value"].get("messages", []):
                    response = await http.post(
                        f"{api_url}/{PHONE_NUMBER_ID}/messages",
                        json={"messaging_product": "whatsapp", "to": message["from"],
                              "type": "text", "text": {"body": "Thank you, noted."}})
                    response.raise_for_status()

    return handle, http.aclose


async def converse(user: str, handle: Handle, texts: tuple[str, ...], start: int,
                   latencies: list[float] | None) -> None:
    for number, text in enumerate(texts, start=start):
        raw = body(user, number, text)
        started = time.perf_counter()
        await handle(raw, sign(raw))
        if latencies is not None:
            latencies.append(time.perf_counter() - started)


async def run_side(kind: str, respondents: int, api_url: str) -> Figures:
    with tempfile.TemporaryDirectory(prefix="bench-whatsapp-") as folder:
        if kind == "whatsapp":
            handle, close = await whatsapp_side(Path(folder), api_url)
        else:
            handle, close = await baseline_side(api_url)
        users = [f"9715{n:08d}" for n in range(respondents)]
        await asyncio.gather(*(converse(u, handle, WARM_UP, 0, None) for u in users))
        latencies: list[float] = []
        started = time.perf_counter()
        await asyncio.gather(*(converse(u, handle, TIMED, len(WARM_UP), latencies)
                               for u in users))
        seconds = time.perf_counter() - started
        await close()
    latencies.sort()
    return Figures(kind, respondents, len(latencies), seconds,
                   *sides.p50_p99_ms(latencies),
                   resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


# -- the fake, in a process of its own -------------------------------------------------------
async def serve_fake(port_file: Path) -> None:
    from tests.fakes.graph_api import FakeGraphApi

    api = FakeGraphApi(check_window=False, record=False)
    await api.start()
    await asyncio.to_thread(port_file.write_text, str(api.port))
    await asyncio.Event().wait()


def start_fake(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    port_file = folder / "port"
    process = subprocess.Popen([sys.executable, "-m", "bench.whatsapp", "--serve-fake",
                                str(port_file)])
    for _ in range(200):
        if port_file.exists() and port_file.read_text():
            return process, f"http://127.0.0.1:{port_file.read_text()}/{VERSION}"
        time.sleep(0.05)
    process.kill()
    raise SystemExit("the fake Graph API did not start")


def run_child(kind: str, respondents: int, api_url: str) -> Figures:
    return Figures(**sides.run_side("bench.whatsapp", kind,
                                    ["--respondents", str(respondents), "--api-url", api_url],
                                    env={**os.environ, "PYTHONPATH": str(Path.cwd())}))


def measure(respondents: int, rounds: int) -> dict[str, Figures]:
    with tempfile.TemporaryDirectory(prefix="bench-whatsapp-fake-") as folder:
        fake, api_url = start_fake(Path(folder))
        try:
            return sides.best_of(rounds, ("whatsapp", "baseline"),
                                 lambda kind: run_child(kind, respondents, api_url),
                                 lambda figures: figures.per_second)
        finally:
            fake.kill()
            fake.wait()


def report(best: dict[str, Figures]) -> None:
    ours, theirs = best["whatsapp"], best["baseline"]
    print(f"{ours.respondents} respondents at once, {len(TIMED)} timed messages each "
          "(signed webhook bodies, replies over HTTP to the fake Graph API)")
    print(f"{'':10} {'messages/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'peak RSS MB':>12}")
    for figures in (ours, theirs):
        print(f"{figures.kind:10} {figures.per_second:10.0f} {figures.p50_ms:8.2f} "
              f"{figures.p99_ms:8.2f} {figures.peak_rss_mb:12.1f}")
    print("whatsapp: the real channel, every answer sealed and committed before its replies")
    print("baseline: a plain webhook handler, one text reply per message, nothing stored")
    print(f"whatsapp/baseline ratio: {ours.per_second / theirs.per_second:.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.whatsapp", description=__doc__)
    parser.add_argument("--respondents", type=int, default=RESPONDENTS)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--side", choices=("whatsapp", "baseline"), help=argparse.SUPPRESS)
    parser.add_argument("--api-url", help=argparse.SUPPRESS)
    parser.add_argument("--serve-fake", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_fake:
        asyncio.run(serve_fake(args.serve_fake))
        return 0
    if args.side:
        figures = asyncio.run(run_side(args.side, args.respondents, args.api_url))
        print(json.dumps(figures.__dict__))
        return 0
    report(measure(args.respondents, args.rounds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
