"""One bot worker for the cluster benchmark and the multi-worker fault test.

It runs the real orchestrator and store (PostgreSQL with --database-url, else SQLite at
--sqlite) behind the smallest possible transport: JSON lines over TCP on 127.0.0.1. One line
in is one inbound event, one line out the replies - answered, like the Telegram webhook,
only once the event has been handled (so a worker killed in between leaves the sender
without an answer, and the sender delivers the event again, as Telegram does).

    {"user": "42", "id": "u1", "start": null}            -> /start
    {"user": "42", "id": "u2", "press": [TOKEN, KEY]}    -> a button
    {"user": "42", "id": "u3", "text": "..."}            -> a typed message
  <- {"replies": [{"prompt": TEXT, "token": T, "buttons": [[KEY, SELECTED], ...]},
                  {"message": TEXT}, ...]}

Prints "ready" on stdout once it listens.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot import outbound as out
from bot.engine import ChoiceIn, Event, Script, Start, TextIn
from bot.flow import load_consent, load_questionnaire
from bot.i18n import Translator
from bot.orchestrator import Orchestrator
from storage.backend import open_store
from storage.keys import parse_recipients
from storage.server_keys import ServerKeys


def _event(message: dict[str, Any]) -> Event:
    if "press" in message:
        token, key = message["press"]
        return ChoiceIn(str(token), str(key))
    if "text" in message:
        return TextIn(str(message["text"]))
    return Start(campaign=message.get("start"))


def _reply(reply: out.Outbound) -> dict[str, Any] | None:
    if isinstance(reply, out.Prompt):
        return {"prompt": reply.text, "token": reply.token,
                "buttons": [[b.key, b.selected] for b in reply.buttons],
                "skip": reply.skip_label is not None}
    if isinstance(reply, out.Message):
        return {"message": reply.text}
    return None


async def serve(args: argparse.Namespace) -> None:
    translator = Translator(Path(args.locales))
    script = Script(load_consent(Path(args.consent)), load_questionnaire(Path(args.flow)),
                    ("en",), {"en": "English"})
    keys = ServerKeys.from_secret(bytes.fromhex(args.secret))
    store = await open_store(args.database_url, Path(args.sqlite), parse_recipients(
        args.recipient), keys)
    orchestrator = Orchestrator(script, store, keys, translator, lambda: datetime.now(UTC))

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                message = json.loads(line)
                replies = await orchestrator.handle(
                    "cluster", str(message["user"]), _event(message),
                    event_id=str(message["id"]))
                shown = [r for r in map(_reply, replies) if r is not None]
                writer.write(json.dumps({"replies": shown}).encode() + b"\n")
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", args.port, backlog=1024)
    print("ready", flush=True)
    try:
        async with server:
            await server.serve_forever()
    finally:
        await store.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.cluster_worker")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--sqlite", default="testimonies.db")
    parser.add_argument("--recipient", required=True, help="tbpub1:... public key")
    parser.add_argument("--secret", required=True, help="server secret, hex")
    parser.add_argument("--flow", required=True)
    parser.add_argument("--consent", required=True)
    parser.add_argument("--locales", required=True)
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
