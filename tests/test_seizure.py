"""What a seized server reveals: the real bot, deployed as the README says, then its disk.

The operator creates the vault and unlocks the secret into RAM (`unlock`), makes a campaign
link, and runs the bot in webhook mode. Six people with known Telegram ids answer, with
planted markers in their answers; one types a code that is no link before consenting. Then
the bot stops, and everything on disk is read as an attacker with a list of suspects would:
the project folder (.env included) and DATA_DIR, the database, its -wal, the vault - but not
the RAM filesystem holding the secret.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from storage.keys import KeyPair, encode_public
from storage.reader import read_testimonies
from storage.server_keys import ServerKeys
from storage.vault import in_ram
from tests.conftest import TEST_FLOWS
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.updates import TgUser, UpdateFactory
from tests.telegram_support import TOKEN, WEBHOOK_URL
from tests.test_crash_safety import BotProcess, Respondent, deliver, free_port

PASSPHRASE = "correct horse battery staple lantern"
QUESTION_IDS = ("sector", "themes", "months_unpaid", "wages_story", "recommendation")
TIME_OF_DAY = re.compile(rb"\d{4}-\d\d-\d\d[T ]\d\d:\d\d")


class Marked(Respondent):
    """Answers carry a marker an attacker would search for."""

    def expected(self) -> dict[str, object]:
        return {**super().expected(), "wages_story": f"my story {self.user.id}",
                "recommendation": f"papers for all {self.user.id}"}


def cli(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def every_file(*folders: Path) -> dict[Path, bytes]:
    return {path: path.read_bytes() for folder in folders for path in folder.rglob("*")
            if path.is_file()}


def text_cells(db: Path) -> list[tuple[str, str]]:
    """Every text value in every table (a copy, opened read-only)."""
    cells = []
    with sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True) as conn:
        tables = [row[0] for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            for row in conn.execute(f"SELECT * FROM {table}"):
                cells.extend((table, value) for value in row if isinstance(value, str))
    conn.close()
    return cells


@pytest.mark.slow
@pytest.mark.timeout(300)
async def test_a_seized_disk_shows_no_one_nothing_and_no_time(tmp_path: Path) -> None:
    key = KeyPair.generate()
    project, data, logs = tmp_path / "project", tmp_path / "project" / "data", tmp_path / "logs"
    project.mkdir()
    logs.mkdir()
    ram = Path("/dev/shm") / f"testimony-bot-{uuid.uuid4().hex}"
    secret_file = ram / "server_secret"
    port = free_port()
    (project / "locales").mkdir()  # English only: no language picker in the way
    (project / ".env").write_text("\n".join([
        f"TELEGRAM_BOT_TOKEN={TOKEN}", f"DATA_DIR={data}",
        f"RECIPIENT_PUBLIC_KEYS={encode_public(key.public)}",
        f"SERVER_SECRET_FILE={secret_file}", f"WEBHOOK_URL={WEBHOOK_URL}",
        "WEBHOOK_LISTEN=127.0.0.1", f"WEBHOOK_PORT={port}", "BOT_USERNAME=testimony_bot",
        f"FLOW_FILE={TEST_FLOWS / 'mini.toml'}", f"CONSENT_FILE={TEST_FLOWS / 'consent.toml'}",
        f"LOCALES_DIR={project / 'locales'}", "LOG_LEVEL=INFO", "",
    ]), encoding="utf-8")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SERVER_SECRET", "TELEGRAM_", "DEMO", "DATA_DIR"))}
    env["KEY_PASSPHRASE"] = PASSPHRASE
    api = FakeBotApi()
    await api.start()
    # The settings are in .env; the API address and port here only so the harness knows them.
    env_with_api = {**env, "TELEGRAM_API_URL": f"http://127.0.0.1:{api.port}",
                    "WEBHOOK_PORT": str(port)}
    try:
        # The operator's three steps (README, "Running it for real").
        made = cli("unlock", "--init", cwd=project, env=env)
        assert made.returncode == 0, made.stderr
        ram_args = () if in_ram(Path("/dev/shm")) else ("--allow-disk",)
        opened = cli("unlock", *ram_args, cwd=project, env=env)
        assert opened.returncode == 0, opened.stderr
        secret = bytes.fromhex(secret_file.read_text(encoding="utf-8").strip())
        link = cli("links", "create", "--campaign", "imrf-lebanon", "--partner", "Shelter B",
                   "--region", "Beirut", "--create", cwd=project, env=env)
        assert link.returncode == 0, link.stderr
        code = re.search(r"start=([a-z0-9]+)", link.stdout)
        assert code is not None
        link_code = code[1]

        bot = BotProcess(env_with_api, api, logs, cwd=project)
        people = [Marked(TgUser(7_700_000_000 + n, f"Suspect {n}")) for n in range(6)]
        updates = UpdateFactory(api)
        await bot.start()
        async with httpx.AsyncClient(timeout=30) as http:
            # One arrives through the link, one types something that is no link first.
            for first, update in ((people[0], updates.text(people[0].user, f"/start {link_code}")),
                                  (people[1], updates.text(people[1].user, "wimn-2026x"))):
                first.pending = update
            async with asyncio.timeout(120):
                await asyncio.gather(*(deliver(p, bot, api, updates, http, port)
                                       for p in people))
        log_text = bot.stop()
        assert all(p.done for p in people)
        assert "Traceback" not in log_text

        # What the researchers get is all there, the link included.
        found = {t.respondent: t for t in read_testimonies(data / "testimonies.db", key)}
        assert len(found) == 6
        assert sorted(t.campaign or "" for t in found.values()).count("imrf-lebanon") == 1

        # The seizure: everything on disk, but not the RAM filesystem.
        seized = tmp_path / "seized"
        shutil.copytree(project, seized)
        files = every_file(seized)
        files[logs / "bot.log"] = log_text.encode()
        markers = [f"my story {p.user.id}".encode() for p in people]
        markers += [f"papers for all {p.user.id}".encode() for p in people]
        markers += [str(p.user.id).encode() for p in people]
        markers += [b"wimn-2026x", b"Suspect"]
        secrets = [secret, secret.hex().encode(), secret.hex().upper().encode()]
        for path, content in files.items():
            for needle in markers + secrets:
                assert needle not in content, f"{needle!r} in {path}"
            if path.suffix != ".log" and path.name != ".env":
                assert not TIME_OF_DAY.search(content), f"a time of day in {path}"
            if path.parent.name == "data" and path.name.startswith("testimonies.db"):
                for question in QUESTION_IDS[2:]:  # the unmistakable ones
                    assert question.encode() not in content, f"{question} in {path}"
        db = seized / "data" / "testimonies.db"
        for table, value in text_cells(db):
            assert value not in QUESTION_IDS, (table, value)
            assert value not in ("en", "ar", "sw"), (table, value)
            if table not in ("links", "counters"):  # field workers' links, anonymous counts
                assert link_code not in value and "imrf" not in value, (table, value)

        # Pseudonyms: the suspects' ids match only with the secret, which was in RAM.
        with sqlite3.connect(db) as conn:
            stored = {bytes(row[0]) for row in conn.execute("SELECT id FROM respondents")}
        conn.close()
        suspects = [str(p.user.id) for p in people]
        with_secret = ServerKeys.from_secret(secret)
        assert {with_secret.pseudonym("telegram", s) for s in suspects} == stored
        candidates = [content for content in files.values() if len(content) < 100_000]
        for guess in candidates:  # anything on the disk tried as the key: no match
            for suspect in suspects:
                digest = hmac.new(guess, f"telegram:{suspect}".encode(),
                                  hashlib.sha256).digest()
                assert digest not in stored
    finally:
        await api.stop()
        shutil.rmtree(ram, ignore_errors=True)
