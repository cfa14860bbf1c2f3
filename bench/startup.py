"""Start-up time: a fresh process, from interpreter start to a bot ready for updates.

`python -m bench.startup pipeline` builds the real bot (keys, flows, catalogs, database,
Telegram service in webhook mode) against the in-process Bot API; `baseline` builds a plain
PTB Application. The parent times the whole child process.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from bench.local_api import LocalBotApi
from bench.pipeline import TOKEN


async def _pipeline(folder: Path) -> None:
    from bot.channels.telegram.app import TelegramService
    from bot.config import load_settings
    from bot.runtime import build
    from storage.keys import KeyPair, encode_public
    from storage.server_keys import new_secret

    settings = replace(load_settings({
        "TELEGRAM_BOT_TOKEN": TOKEN, "DATA_DIR": str(folder),
        "WEBHOOK_URL": "https://bench.example.org/hook", "WEBHOOK_LISTEN": "127.0.0.1",
        "RECIPIENT_PUBLIC_KEYS": encode_public(KeyPair.generate().public),
        "SERVER_SECRET": new_secret(), "LOG_LEVEL": "WARNING",
    }, dotenv=None), webhook_port=0)
    orchestrator = await build(settings)
    api = LocalBotApi()
    service = TelegramService(settings, orchestrator, request=api, get_updates_request=api)
    await service.start()
    await service.stop()
    await orchestrator.store.close()


async def _baseline() -> None:
    from telegram.ext import ApplicationBuilder

    api = LocalBotApi()
    app = ApplicationBuilder().token(TOKEN).request(api).get_updates_request(api) \
        .updater(None).build()
    await app.initialize()
    await app.start()
    await app.stop()
    await app.shutdown()


def measure(kind: str, runs: int = 3) -> float:
    """Best of `runs` wall-clock seconds for a fresh process to get ready (and stop)."""
    best = float("inf")
    for _ in range(runs):
        began = time.perf_counter()
        subprocess.run([sys.executable, "-m", "bench.startup", kind], check=True,
                       capture_output=True)
        best = min(best, time.perf_counter() - began)
    return best


if __name__ == "__main__":
    if sys.argv[1] == "pipeline":
        with tempfile.TemporaryDirectory(prefix="bench-start-") as tmp:
            asyncio.run(_pipeline(Path(tmp)))
    else:
        asyncio.run(_baseline())
