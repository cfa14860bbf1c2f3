"""Shared fixtures: real keys, a real store in a temp dir, a fixed clock. Nothing mocked."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot.engine import Script
from bot.flow import load_consent, load_questionnaire
from bot.i18n import Translator
from bot.orchestrator import Orchestrator
from storage.db import migrations
from storage.keys import KeyPair
from storage.server_keys import ServerKeys
from storage.store import Store
from tests.fakes.bot_api import FakeBotApi

if TYPE_CHECKING:
    from tests.fakes.graph_api import FakeGraphApi
    from tests.telegram_support import TelegramBot

pytest_plugins = ["tests.postgres"]

ROOT = Path(__file__).resolve().parent.parent
TEST_FLOWS = Path(__file__).resolve().parent / "data" / "flows"
DEFAULT_FLOWS = ROOT / "bot" / "flows"
T0 = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


class Clock:
    """The one edge besides Telegram we fake: time. Tests move it on explicitly."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture(scope="session")
def researcher() -> KeyPair:
    return KeyPair.generate()


@pytest.fixture(scope="session")
def server_keys() -> ServerKeys:
    return ServerKeys.from_secret(b"s" * 16 + b"e" * 16)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="session")
def translator(shipped_locales: Path) -> Translator:
    """The shipped catalogs, compiled afresh: tests never depend on a previous `make`."""
    return Translator(shipped_locales)


def make_script(translator: Translator, flow: Path, consent: Path,
                languages: tuple[str, ...] | None = None) -> Script:
    langs = languages or translator.languages
    return Script(load_consent(consent), load_questionnaire(flow), langs,
                  {code: translator.names().get(code, code) for code in langs})


@pytest.fixture
def mini_script(translator: Translator) -> Script:
    return make_script(translator, TEST_FLOWS / "mini.toml", TEST_FLOWS / "consent.toml",
                       ("en",))


@pytest.fixture
def default_script(translator: Translator) -> Script:
    return make_script(translator, DEFAULT_FLOWS / "default.toml", DEFAULT_FLOWS / "consent.toml")


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "testimonies.db"


@pytest.fixture
async def store(db_path: Path, researcher: KeyPair, server_keys: ServerKeys
                ) -> AsyncIterator[Store]:
    opened = await Store.open(db_path, [researcher.public], server_keys)
    yield opened
    await opened.close()


OrchestratorFactory = Callable[[Script], Orchestrator]


@pytest.fixture
def orchestrator_for(store: Store, server_keys: ServerKeys, translator: Translator,
                     clock: Clock) -> OrchestratorFactory:
    def build(script: Script) -> Orchestrator:
        return Orchestrator(script, store, server_keys, translator, clock)

    return build


@pytest.fixture
def orchestrator(orchestrator_for: OrchestratorFactory, mini_script: Script) -> Orchestrator:
    """The mini script's orchestrator on the test's store; a module overrides it for
    another script (or overrides `store` for another backend)."""
    return orchestrator_for(mini_script)


def schema_at(conn: sqlite3.Connection, applied: int) -> None:
    """The tables the first `applied` migrations made, recorded as applied: a database an
    earlier version wrote, for upgrade tests."""
    conn.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, "
                 "name TEXT NOT NULL, applied_at TEXT NOT NULL) STRICT")
    for migration in migrations()[:applied]:
        conn.executescript(migration.sql)
        conn.execute("INSERT INTO schema_migrations VALUES (?, ?, '2026-11-01')",
                     (migration.number, migration.name))


PASSPHRASE = "river stone lantern 42"


def cli(*args: str, env: dict[str, str], cwd: Path, stdin: str = ""
        ) -> subprocess.CompletedProcess[str]:
    """`testimony-bot ARGS` as a subprocess: real stdin, stdout and exit status."""
    return subprocess.run([sys.executable, "-m", "bot", *args], input=stdin, env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=120, check=False)


def compiled_locales(target: Path) -> Path:
    """Compile the shipped catalogs as `make` does (fuzzy entries left out)."""
    for po_path in (ROOT / "locales").glob("*/LC_MESSAGES/messages.po"):
        language = po_path.parent.parent.name
        with po_path.open("rb") as handle:
            catalog = read_po(handle, locale=language)
        out = target / language / "LC_MESSAGES" / "messages.mo"
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("wb") as handle:
            write_mo(handle, catalog)
    return target


@pytest.fixture(scope="session")
def shipped_locales(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return compiled_locales(tmp_path_factory.mktemp("locales"))


@pytest.fixture
def deployment(tmp_path: Path, shipped_locales: Path) -> tuple[dict[str, str], Path]:
    """A configured deployment: a researcher key pair made with the real command."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM", "DEMO"))}
    (tmp_path / "pass.txt").write_text(PASSPHRASE)
    made = cli("keys", "init", "--out", str(tmp_path / "team"), "--passphrase-file",
               str(tmp_path / "pass.txt"), env=env, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    env |= {"RECIPIENT_PUBLIC_KEYS": str(tmp_path / "team.pub"), "SERVER_SECRET": "ab" * 32,
            "DATA_DIR": str(tmp_path / "data"), "LOG_LEVEL": "WARNING",
            "LOCALES_DIR": str(shipped_locales)}
    return env, tmp_path




@pytest.fixture
async def api(clock: Clock) -> AsyncIterator[FakeBotApi]:
    """The strict fake of Telegram's Bot API on 127.0.0.1, on the test's clock."""
    from tests.telegram_support import fake_bot_api

    async with fake_bot_api(clock) as fake:
        yield fake


@pytest.fixture
async def graph(clock: Clock) -> AsyncIterator[FakeGraphApi]:
    """The strict fake of WhatsApp's Graph API on 127.0.0.1, on the test's clock."""
    from tests.whatsapp_support import fake_graph_api

    async with fake_graph_api(clock) as fake:
        yield fake


def count_answers(db: Path, key: KeyPair) -> int:
    """Answers stored, however many people: question ids are sealed, so the researcher's key
    is needed to tell an answer from a consent or completion record."""
    from storage.reader import read_testimonies
    return sum(t.stored_answers for t in read_testimonies(db, key)) if db.exists() else 0


@pytest.fixture
def answers_in(researcher: KeyPair) -> Callable[[Path], int]:
    return lambda db: count_answers(db, researcher)


@pytest.fixture
async def bot(api: FakeBotApi, orchestrator: Orchestrator, db_path: Path,
              clock: Clock) -> AsyncIterator[TelegramBot]:
    """The Telegram service polling the fake Bot API, on the test's clock."""
    from tests.telegram_support import telegram_bot

    async with telegram_bot(api, orchestrator, db_path.parent, clock=clock) as running:
        yield running
