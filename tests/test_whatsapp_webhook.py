"""The WhatsApp webhook's door: Meta's subscription check, and a signature on every POST,
checked over the raw body before anything is parsed. Refused bodies store nothing; a
replayed body is handled once."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bot.engine import Script
from bot.i18n import Translator
from storage.server_keys import ServerKeys
from storage.store import Store
from tests.conftest import Clock
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.graph_api import APP_SECRET, PHONE_NUMBER_ID, VERIFY_TOKEN, FakeGraphApi, sign
from tests.telegram_support import make_orchestrator
from tests.whatsapp_support import WhatsAppBot, whatsapp_bot

AMAL = "966551234567"


@pytest.fixture
async def bot(graph: FakeGraphApi, mini_script: Script, store: Store,
              server_keys: ServerKeys, translator: Translator, clock: Clock,
              db_path: Path) -> AsyncIterator[WhatsAppBot]:
    orchestrator = make_orchestrator(mini_script, store, server_keys, translator, clock)
    async with whatsapp_bot(graph, orchestrator, db_path.parent, clock=clock) as running:
        yield running


def rows(db: Path, table: str) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


async def test_the_subscription_check(bot: WhatsAppBot) -> None:
    async with httpx.AsyncClient() as http:
        ok = await http.get(bot.url, params={"hub.mode": "subscribe",
                                             "hub.verify_token": VERIFY_TOKEN,
                                             "hub.challenge": "1158201444"})
        assert (ok.status_code, ok.text) == (200, "1158201444")
        for params in ({"hub.mode": "subscribe", "hub.verify_token": "wrong",
                        "hub.challenge": "1"},
                       {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN,
                        "hub.challenge": "1"},
                       {"hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"}, {}):
            refused = await http.get(bot.url, params=params)
            assert refused.status_code == 403 and refused.text == ""


async def test_bad_signatures_are_refused_before_anything_is_read(
        bot: WhatsAppBot, graph: FakeGraphApi, db_path: Path) -> None:
    body = graph.body([graph.text(AMAL, "/start")])
    raw = __import__("json").dumps(body).encode()
    signature = sign(raw)
    cases = {
        "wrong secret": (raw, sign(raw, "f" * 32), 403),
        "truncated header": (raw, signature[:-2], 401),
        "no prefix": (raw, signature.removeprefix("sha256="), 401),
        "altered by one byte": (raw.replace(b"/start", b"/stars"), signature, 403),
        "missing": (raw, "", 401),
    }
    for name, (sent, header, status) in cases.items():
        headers = {"Content-Type": "application/json"}
        if header:
            headers["X-Hub-Signature-256"] = header
        response = await bot.post(sent, headers=headers)
        assert response.status_code == status, name
    assert bot.service.receiver.accepted == 0 and not graph.sent
    assert rows(db_path, "channel_updates") == 0


async def test_a_replayed_body_is_handled_once(bot: WhatsAppBot, graph: FakeGraphApi) -> None:
    body = graph.body([graph.text(AMAL, "/start")])
    raw = __import__("json").dumps(body).encode()
    await bot.post(raw)
    await bot.wait_handled(1)
    said = len(graph.sent)
    replayed = await bot.post(raw)  # the same bytes, the same valid signature
    assert replayed.status_code == 200
    await bot.wait_handled(2)
    assert len(graph.sent) == said


async def test_an_oversized_or_malformed_body(bot: WhatsAppBot) -> None:
    huge = b"{" + b" " * (1024 * 1024 + 10) + b"}"
    assert (await bot.post(huge)).status_code == 413
    assert (await bot.post(b"not json")).status_code == 400
    assert (await bot.post(b"[1, 2]")).status_code == 400


def test_the_signature_is_hmac_sha256_of_the_raw_body() -> None:
    import hashlib
    import hmac

    raw = b'{"object":"whatsapp_business_account"}'
    assert sign(raw) == "sha256=" + hmac.new(APP_SECRET.encode(), raw,
                                             hashlib.sha256).hexdigest()


async def test_telegram_and_whatsapp_run_together_from_the_command(
        api: FakeBotApi, tmp_path: Path) -> None:
    """`testimony-bot run` (what `make run` starts) with both channels configured: one
    process, one start-up line, WhatsApp answering on its webhook while Telegram polls."""
    import asyncio
    import os
    import signal
    import socket
    import sys
    import time

    graph = FakeGraphApi(clock=time.time)  # the process runs on real time: so does its fake
    await graph.start()

    from storage.keys import KeyPair, encode_public
    from tests.telegram_support import TOKEN as TELEGRAM_TOKEN

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TELEGRAM", "DEMO", "WEBHOOK", "WHATSAPP"))}
    env |= {"TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
            "TELEGRAM_API_URL": f"http://127.0.0.1:{api.port}",
            "WHATSAPP_ACCESS_TOKEN": graph.token, "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
            "WHATSAPP_APP_SECRET": APP_SECRET, "WHATSAPP_VERIFY_TOKEN": VERIFY_TOKEN,
            "WHATSAPP_API_URL": graph.base_url, "WEBHOOK_LISTEN": "127.0.0.1",
            "WEBHOOK_PORT": str(port), "DATA_DIR": str(tmp_path / "data"),
            "RECIPIENT_PUBLIC_KEYS": encode_public(KeyPair.generate().public),
            "SERVER_SECRET": "cd" * 32, "LOG_LEVEL": "INFO"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    hook = f"http://127.0.0.1:{port}/whatsapp/webhook"
    try:
        async with asyncio.timeout(60), httpx.AsyncClient() as http:
            while not api.calls_to("getUpdates"):  # noqa: ASYNC110 - the fake is in this loop
                await asyncio.sleep(0.05)
            # Telegram polls first; the channels start one after the other, so the WhatsApp
            # route may still be a moment away on a loaded machine.
            while True:
                try:
                    verified = await http.get(hook, params={
                        "hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN,
                        "hub.challenge": "42"})
                except httpx.ConnectError:
                    await asyncio.sleep(0.05)
                    continue
                if verified.status_code != 404:  # the shared server is up, the route not yet
                    break
                await asyncio.sleep(0.05)
            assert (verified.status_code, verified.text) == (200, "42")
            raw = __import__("json").dumps(graph.body([graph.text(AMAL, "hello")])).encode()
            posted = await http.post(hook, content=raw, headers={
                "Content-Type": "application/json", "X-Hub-Signature-256": sign(raw)})
            assert posted.status_code == 200
            while not graph.to(AMAL):  # noqa: ASYNC110 - the fake is in this loop
                await asyncio.sleep(0.05)
            process.send_signal(signal.SIGTERM)
            out, err = await process.communicate()
    finally:
        await graph.stop()
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, err.decode()[-2000:]
    assert b"running on Telegram (polling) and WhatsApp (webhook)" in out
    assert AMAL.encode() not in err and graph.token.encode() not in err
