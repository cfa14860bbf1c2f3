"""Issue 3's benchmark: answers through the whole Telegram pipeline, against a plain PTB bot.

N simulated respondents talk at once, each waiting for the bot's reply before the next
update (as people do). Updates enter as webhook request bodies (JSON parsed, `Update.de_json`,
`Application.process_update`; the HTTP transport itself is left out for both sides), and Bot
API calls go to an in-process fake (`bench.local_api`) that encodes and answers them as
Telegram would. The pipeline runs as `serve()` runs the bot, with the real store: durable
commits (`synchronous=FULL`) and every answer sealed (under this load by the store's seal
helper process, on the second core). The baseline is the same update stream through a plain
PTB Application whose handler answers each update with `reply_text`, storing nothing.

Each side runs in its own process (so peak RSS is its own; the seal helper's is printed on
its own), alternately, `--rounds` times (5); the best round of each is reported. Prints
answers/s, updates/s, p50/p99 latency per update and peak RSS for both, and
`pipeline/baseline ratio: X.XX` (updates per second, same stream).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import resource
import sqlite3
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from http import HTTPStatus
from pathlib import Path
from typing import Any

from bench import sides
from bench.local_api import BOT, LocalBotApi

TOKEN = "123456789:AAF" + "b3nch" * 7
CAMPAIGN = "bench01"
# The default questionnaire, after consent: (kind, value) per update, timed.
TIMED_SEQUENCE: tuple[tuple[str, Any], ...] = (
    ("press", 0),  # gender
    ("press", 1),  # age band
    ("press", 1),  # origin region
    ("press", 9),  # living region: Europe
    ("press", 0),  # sector
    ("press", 0),  # themes: toggle "work and pay" (not an answer yet)
    ("press", 9),  # themes: Done (after nine choices)
    ("press", 1),  # paid less
    ("press", 2),  # contract
    ("text", "My employer kept my passport and paid half of what was promised. " * 3),
    ("text", "Give domestic workers contracts in a language they understand."),
)
ROUNDS = 5  # runs of each side; the best of each is compared
ANSWERS_PER_RESPONDENT = 10  # every timed update but the first theme toggle stores an answer

Receive = Callable[[bytes], Awaitable[tuple[HTTPStatus, bytes]]]


@dataclass
class Figures:
    kind: str
    respondents: int
    updates: int
    answers: int
    seconds: float
    p50_ms: float
    p99_ms: float
    peak_rss_mb: float
    commits: int = 0
    sealed_in_helper: int = 0  # answers the store's seal helper process sealed
    helper_rss_mb: float = 0.0  # its peak RSS (a process of its own)

    @property
    def updates_per_second(self) -> float:
        return self.updates / self.seconds

    @property
    def answers_per_second(self) -> float:
        return self.answers / self.seconds


class Respondent:
    """Builds update JSON exactly as Telegram sends it, for one person.

    Only the pipeline's updates are built here, live (their buttons carry the bot's own
    tokens); the baseline replays them as recorded. The parts that never change are encoded
    once, so that building an update costs the pipeline side as little as replaying costs
    the baseline: the simulated Telegram is not what is being measured."""

    _update_ids = itertools.count(400_000_001)
    _query_ids = itertools.count(1)
    _BOT_JSON = json.dumps(BOT)

    def __init__(self, user_id: int) -> None:
        self.user = {"id": user_id, "is_bot": False, "first_name": "Resp", "language_code": "en"}
        self.chat = {"id": user_id, "first_name": "Resp", "type": "private"}
        self.message_ids = itertools.count(1)
        self._from_chat = f'"from":{json.dumps(self.user)},"chat":{json.dumps(self.chat)}'
        self._from = f'"from":{json.dumps(self.user)}'
        self._chat = json.dumps(self.chat)

    def text(self, text: str) -> bytes:
        entities = (f',"entities":[{{"offset":0,"length":{len(text.split(" ")[0])},'
                    f'"type":"bot_command"}}]' if text.startswith("/") else "")
        return (f'{{"update_id":{next(self._update_ids)},"message":{{"message_id":'
                f'{next(self.message_ids)},{self._from_chat},"date":{int(time.time())},'
                f'"text":{json.dumps(text)}{entities}}}}}').encode()

    def press(self, message_id: int, markup: str, data: str) -> bytes:
        """A button press; `markup` is the keyboard's JSON as the bot sent it (Telegram sends
        the message with its keyboard along), put in as is rather than encoded again."""
        return (f'{{"update_id":{next(self._update_ids)},"callback_query":{{"id":'
                f'"{next(self._query_ids)}",{self._from},"chat_instance":"-42",'
                f'"data":{json.dumps(data)},"message":{{"message_id":{message_id},'
                f'"from":{self._BOT_JSON},"chat":{self._chat},"date":{int(time.time())},'
                f'"text":"A question?","reply_markup":{markup}}}}}}}').encode()


def peak_rss_mb(pid: int) -> float:
    """Another process's peak RSS (Linux; 0 where /proc is not there)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    return next((int(line.split()[1]) / 1024 for line in status.splitlines()
                 if line.startswith("VmHWM:")), 0.0)


# -- the two bots ---------------------------------------------------------------------------
async def pipeline_bot(folder: Path, api: LocalBotApi) -> tuple[Receive, Callable[[], Any]]:
    from bot.channels.telegram.app import TelegramService
    from bot.config import load_settings
    from bot.runtime import build, tune_garbage_collector
    from storage.keys import KeyPair, encode_public
    from storage.server_keys import new_secret

    settings = replace(load_settings({
        "TELEGRAM_BOT_TOKEN": TOKEN, "DATA_DIR": str(folder),
        "WEBHOOK_URL": "https://bench.example.org/hook", "WEBHOOK_LISTEN": "127.0.0.1",
        "RECIPIENT_PUBLIC_KEYS": encode_public(KeyPair.generate().public),
        "SERVER_SECRET": new_secret(), "LOG_LEVEL": "WARNING",
    }, dotenv=None), webhook_port=0)
    tune_garbage_collector()  # as `serve()` does for the running bot
    orchestrator = await build(settings)
    service = TelegramService(settings, orchestrator, request=api, get_updates_request=api)
    await service.start()
    assert service.webhook is not None

    async def close() -> tuple[int, int, float]:
        store = orchestrator.store
        commits = store.commits
        await service.stop()
        helper = store.seal_helper
        helper_rss = peak_rss_mb(helper.pid) if helper else 0.0
        await store.close()
        return commits, helper.sealed if helper else 0, helper_rss

    return service.webhook.receiver.receive, close


async def baseline_bot(api: LocalBotApi) -> tuple[Receive, Callable[[], Any]]:
    """What PTB's own examples do: parse the update, answer it with reply_text."""
    from telegram import Update
    from telegram.ext import ApplicationBuilder, ContextTypes, TypeHandler

    from bot.channels.telegram.webhook import WebhookReceiver

    app = ApplicationBuilder().token(TOKEN).request(api).get_updates_request(api) \
        .updater(None).concurrent_updates(256).build()

    async def reply(update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text("Thank you, noted.")

    app.add_handler(TypeHandler(Update, reply))
    await app.initialize()
    await app.start()

    async def close() -> tuple[int, int, float]:
        await app.stop()
        await app.shutdown()
        return 0, 0, 0.0

    def parse(data: dict[str, Any]) -> Update | None:
        return Update.de_json(data, app.bot)

    return WebhookReceiver("s", app.process_update, parse).receive, close


# -- the conversation -----------------------------------------------------------------------
async def converse(respondent: Respondent, receive: Receive, api: LocalBotApi,
                   sequence: tuple[tuple[str, Any], ...], latencies: list[float] | None,
                   record: list[str]) -> None:
    """Play one person's updates, each once the bot has answered the one before."""
    chat = respondent.chat["id"]
    for what, value in sequence:
        if what == "text":
            body = respondent.text(value)
        elif what == "replay":
            body = value.encode()
        else:
            message_id, markup, token = api.keyboards[chat]
            body = respondent.press(message_id, markup, f"{token}:{value}")
        record.append(body.decode())
        started = time.perf_counter()
        status, _ = await receive(body)
        if latencies is not None:
            latencies.append(time.perf_counter() - started)
        if status != HTTPStatus.OK:
            raise RuntimeError(f"the bot answered {status}")


def warm_up(languages: int) -> tuple[tuple[str, Any], ...]:
    picker = (("press", 0),) if languages > 1 else ()  # English is listed first
    return (("text", f"/start {CAMPAIGN}"), *picker, ("press", 0), ("press", 0), ("press", 0))


async def run_side(kind: str, respondents: int, recorded: list[Any]
                   ) -> tuple[Figures, list[Any]]:
    """One side in this process. The pipeline records the updates it was sent (their tokens
    are its own); the baseline replays exactly those, so both parse the same JSON."""
    api = LocalBotApi()
    with tempfile.TemporaryDirectory(prefix="bench-") as folder:
        if kind == "pipeline":
            receive, close = await pipeline_bot(Path(folder), api)
            from bot.i18n import DEFAULT_LOCALES_DIR, available_languages

            languages = len(available_languages(DEFAULT_LOCALES_DIR))
            plans = [(warm_up(languages), TIMED_SEQUENCE)] * respondents
        else:
            receive, close = await baseline_bot(api)
            plans = [(tuple(("replay", b) for b in warm), tuple(("replay", b) for b in timed))
                     for warm, timed in recorded]
        people = [Respondent(900_000_000 + n) for n in range(len(plans))]
        warm_records: list[list[str]] = [[] for _ in people]
        timed_records: list[list[str]] = [[] for _ in people]
        await asyncio.gather(*(converse(p, receive, api, plan[0], None, record)
                               for p, plan, record in zip(people, plans, warm_records,
                                                          strict=True)))
        latencies: list[float] = []
        started = time.perf_counter()
        await asyncio.gather(*(converse(p, receive, api, plan[1], latencies, record)
                               for p, plan, record in zip(people, plans, timed_records,
                                                          strict=True)))
        seconds = time.perf_counter() - started
        commits, sealed_in_helper, helper_rss = await close()
        answers = len(latencies)  # the baseline "answers" every update with a reply
        if kind == "pipeline":
            with sqlite3.connect(Path(folder) / "testimonies.db") as conn:
                # Sealed records: a consent and a completion per person, the rest answers.
                answers = int(conn.execute(
                    "SELECT (SELECT count(*) FROM records) "
                    "- 2 * (SELECT count(*) FROM respondents)").fetchone()[0])
            if answers != respondents * ANSWERS_PER_RESPONDENT:
                raise RuntimeError(f"expected {respondents * ANSWERS_PER_RESPONDENT} answers "
                                   f"stored, found {answers}")
    latencies.sort()
    return Figures(kind, len(people), len(latencies), answers, seconds,
                   *sides.p50_p99_ms(latencies),
                   resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                   commits, sealed_in_helper, helper_rss,
                   ), list(zip(warm_records, timed_records, strict=True))


# -- the parent: alternate runs in fresh processes, report ----------------------------------
def run_child(kind: str, respondents: int, stream: Path) -> Figures:
    return Figures(**sides.run_side("bench.pipeline", kind, ["--respondents", str(respondents),
                                                             "--stream", str(stream)]))


def best_of(respondents: int, rounds: int) -> dict[str, Figures]:
    """Each side `rounds` times, alternately, each run in a fresh process; the best run of
    each (sides.best_of)."""
    with tempfile.TemporaryDirectory(prefix="bench-stream-") as folder:
        stream = Path(folder) / "updates.json"  # the baseline replays the pipeline's
        return sides.best_of(rounds, ("pipeline", "baseline"),
                             lambda kind: run_child(kind, respondents, stream),
                             lambda figures: figures.updates_per_second)


def report(best: dict[str, Figures]) -> None:
    pipeline, baseline = best["pipeline"], best["baseline"]
    print(f"{pipeline.respondents} respondents at once, {len(TIMED_SEQUENCE)} timed updates "
          f"each (webhook path, in-process Bot API)")
    print(f"{'':10} {'answers/s':>10} {'updates/s':>10} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'peak RSS MB':>12}")
    for figures, label in ((pipeline, "pipeline"), (baseline, "baseline")):
        print(f"{label:10} {figures.answers_per_second:10.0f} "
              f"{figures.updates_per_second:10.0f} {figures.p50_ms:8.2f} "
              f"{figures.p99_ms:8.2f} {figures.peak_rss_mb:12.1f}")
    helper = (f" ({pipeline.sealed_in_helper} of them in the seal helper process, peak RSS "
              f"{pipeline.helper_rss_mb:.1f} MB)" if pipeline.sealed_in_helper else "")
    print(f"pipeline: {pipeline.answers} answers sealed{helper} and durable in "
          f"{pipeline.commits} grouped commits (synchronous=FULL)")
    print("baseline: plain PTB Application, reply_text to every update, nothing stored")
    ratio = pipeline.updates_per_second / baseline.updates_per_second
    print(f"pipeline/baseline ratio: {ratio:.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pipeline", description=__doc__)
    parser.add_argument("--respondents", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--side", choices=("pipeline", "baseline"), help=argparse.SUPPRESS)
    parser.add_argument("--stream", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.side:
        replay = json.loads(args.stream.read_text()) if args.side == "baseline" else []
        figures, records = asyncio.run(run_side(args.side, args.respondents, replay))
        if args.side == "pipeline":
            args.stream.write_text(json.dumps(records))
        print(json.dumps(figures.__dict__))
        return 0
    report(best_of(args.respondents, args.rounds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
