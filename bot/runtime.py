"""Assembling a running bot from settings (keys, flows, catalogs, store, orchestrator), and
the one start-up/shutdown path every way of running it takes: the retention job and any list
of channels, started together and stopped together.

Every way the set-up can be wrong ends here in a `ConfigError` whose message tells the person
running the bot exactly what to do.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from bot.config import ConfigError, Settings
from bot.engine import Script
from bot.flow import FlowError, load_consent, load_questionnaire
from bot.i18n import DEFAULT_LOCALES_DIR, Translator
from bot.orchestrator import Orchestrator
from bot.reminder_offers import reminder_offers
from bot.reminders import Reminding, reminders
from bot.retention import retention
from storage.backend import open_store
from storage.db import DatabaseError
from storage.keys import KeyFileError, KeyPair, encode_public, parse_recipients, wrap_private_key
from storage.sealing import RecipientKey
from storage.server_keys import MIN_SECRET_BYTES, ServerKeys, new_secret
from storage.vault import in_ram

log = logging.getLogger(__name__)

FLOWS_DIR = Path(__file__).resolve().parent / "flows"
DEMO_PASSPHRASE = "demo"  # noqa: S105 - demo keys are throwaway by design, and say so


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Secrets:
    recipients: tuple[RecipientKey, ...]
    server_keys: ServerKeys


def load_script(settings: Settings, translator: Translator) -> Script:
    try:
        consent = load_consent(settings.consent_file or FLOWS_DIR / "consent.toml")
        questionnaire = load_questionnaire(settings.flow_file or FLOWS_DIR / "default.toml")
    except FlowError as exc:
        raise ConfigError(f"the flow file is invalid: {exc}") from exc
    return Script(consent, questionnaire, translator.languages, translator.names())


def load_secrets(settings: Settings) -> Secrets:
    if settings.demo:
        return _demo_secrets(settings.data_dir / "demo")
    if not settings.recipient_public_keys:
        raise ConfigError(
            "No researcher public key is configured, so answers could not be sealed.\n"
            "  1. On a researcher's own computer run:  testimony-bot keys init\n"
            "  2. Put the public key it prints into .env:  RECIPIENT_PUBLIC_KEYS=tbpub1:...\n"
            "  3. Put a server secret into .env:  SERVER_SECRET=<what `testimony-bot secret` "
            "prints after the =>\n"
            "To try the bot with throwaway keys instead, set DEMO=1 in .env (never for real "
            "testimonies)."
        )
    try:
        recipients = parse_recipients(settings.recipient_public_keys)
    except KeyFileError as exc:
        raise ConfigError(f"RECIPIENT_PUBLIC_KEYS: {exc}") from exc
    return Secrets(recipients, _server_keys(server_secret(settings)))


def server_secret(settings: Settings) -> str:
    """SERVER_SECRET_FILE (read once, recommended on a RAM filesystem) or SERVER_SECRET."""
    path = settings.server_secret_file
    if path is not None and settings.server_secret:
        raise ConfigError("set SERVER_SECRET_FILE or SERVER_SECRET, not both")
    if path is not None:
        try:
            value = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(
                f"SERVER_SECRET_FILE {path} cannot be read ({exc.strerror}). After a reboot "
                "the secret is gone from RAM on purpose: run  testimony-bot unlock  and enter "
                "the passphrase, then start the bot again.") from exc
        if not in_ram(path):
            _loud_warning(
                f"SERVER_SECRET_FILE {path} is not on a RAM filesystem: whoever takes this "
                "disk can reverse every pseudonym. Put it under /run (testimony-bot unlock).")
        return value
    if settings.server_secret:
        where = ".env" if settings.server_secret_in_dotenv else "the environment"
        _loud_warning(
            f"SERVER_SECRET is read from {where}. If it is written on this server's disk, "
            "whoever takes the disk can reverse every pseudonym and confirm who took part. "
            "For real testimonies keep it in RAM: testimony-bot unlock (see the README's "
            "deployment section) and SERVER_SECRET_FILE.")
    return settings.server_secret.value


def _loud_warning(message: str) -> None:
    log.warning("server_secret_at_rest")
    print(f"\n*** WARNING: {message}\n", file=sys.stderr)


def _server_keys(secret: str) -> ServerKeys:
    if not secret:
        raise ConfigError(
            "No server secret is configured. For a real deployment create a vault and open "
            "it into RAM:\n  testimony-bot unlock --init   (once)\n  testimony-bot unlock   "
            "(after every reboot)\nand set SERVER_SECRET_FILE (see the README). For a quick "
            "trial, put the line that  testimony-bot secret  prints into .env."
        )
    raw = bytes.fromhex(secret) if is_hex(secret) else secret.encode()
    if len(raw) < MIN_SECRET_BYTES:
        raise ConfigError(
            f"SERVER_SECRET is too short: use at least {MIN_SECRET_BYTES} random bytes "
            "(testimony-bot secret prints one)"
        )
    return ServerKeys.from_secret(raw)


def is_hex(value: str) -> bool:
    return len(value) % 2 == 0 and all(c in "0123456789abcdefABCDEF" for c in value)


def _demo_secrets(folder: Path) -> Secrets:
    """Throwaway keys in the data folder, created on first use, announced loudly."""
    public_file, private_file = folder / "researcher.pub", folder / "researcher.key"
    secret_file = folder / "server_secret"
    created = not public_file.exists()
    if created:
        folder.mkdir(parents=True, exist_ok=True)
        pair = KeyPair.generate()
        private_file.write_text(wrap_private_key(pair, DEMO_PASSPHRASE, log2_n=14),
                                encoding="utf-8")
        private_file.chmod(0o600)
        public_file.write_text(encode_public(pair.public) + "\n", encoding="utf-8")
        secret_file.write_text(new_secret() + "\n", encoding="utf-8")
        secret_file.chmod(0o600)
    print(
        "\n*** DEMO MODE: throwaway keys, NOT for real testimonies ***\n"
        f"*** private key: {private_file} (passphrase: {DEMO_PASSPHRASE!r})\n"
        f"*** read the answers with: testimony-bot open --db {folder.parent / 'testimonies.db'}"
        f" --key {private_file}\n",
        file=sys.stderr,
    )
    recipients = parse_recipients(str(public_file))
    return Secrets(recipients, _server_keys(secret_file.read_text(encoding="utf-8").strip()))


def protect_files(settings: Settings) -> None:
    """Nothing the bot writes is readable by other accounts on the machine: a private umask,
    DATA_DIR 0700, database files 0600; and a word when .env is readable by others."""
    os.umask(0o077)
    if settings.demo and (settings.telegram_bot_token or settings.whatsapp_configured):
        platform = "TELEGRAM_BOT_TOKEN" if settings.telegram_bot_token else "WhatsApp settings"
        raise ConfigError("DEMO=1 uses throwaway keys kept beside the data: it is refused "
                          f"together with real {platform}, which reach real people. "
                          "Remove one of them.")
    data_dir = settings.data_dir
    try:
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create DATA_DIR {data_dir} ({exc.strerror}). "
                          "Check DATA_DIR is a writable folder.") from exc
    with contextlib.suppress(OSError):  # not ours to change (a mounted volume): leave it
        data_dir.chmod(0o700)
        for path in data_dir.glob(settings.database_path.name + "*"):
            path.chmod(0o600)
    dotenv = Path(".env")
    with contextlib.suppress(OSError):
        if dotenv.is_file() and dotenv.stat().st_mode & 0o077:
            log.warning("dotenv_readable_by_others")
            print("*** WARNING: .env is readable by other accounts on this machine: "
                  "chmod 600 .env", file=sys.stderr)


def load_translator(settings: Settings) -> Translator:
    """The catalogs; a warning when some exist only as `.po` files (not compiled), since the
    bot would then quietly not offer those languages."""
    folder = settings.locales_dir or DEFAULT_LOCALES_DIR
    translator = Translator(folder)
    written = {path.parent.parent.name for path in folder.glob("*/LC_MESSAGES/*.po")}
    missing = sorted(written - set(translator.languages))
    if missing:
        log.warning("catalogs_not_compiled languages=%s loaded=%d: run `make compile` "
                    "(or `make run`) to offer them", ",".join(missing),
                    len(translator.languages) - 1)
    return translator


async def build(settings: Settings) -> Orchestrator:
    """Everything a channel needs, or a ConfigError that says what to fix."""
    protect_files(settings)
    translator = load_translator(settings)
    script = load_script(settings, translator)
    secrets = load_secrets(settings)
    try:
        store = await open_store(settings.database_url.value, settings.database_path,
                                 secrets.recipients, secrets.server_keys)
    except DatabaseError as exc:
        if settings.database_url:
            raise ConfigError(f"{exc}. Check DATABASE_URL and that PostgreSQL is running."
                              ) from exc
        raise ConfigError(f"{exc}. Check DATA_DIR ({settings.data_dir}) is writable.") from exc
    if settings.db_max_mb:
        await store.limit_size(settings.db_max_mb * 1_000_000)
    foreign = await store.sealed_to_other_keys()
    if foreign:
        log.warning("records_sealed_to_other_keys count=%d: the database holds answers that "
                    "none of RECIPIENT_PUBLIC_KEYS can open (demo answers from the quickstart, "
                    "or a key that was replaced); researchers' exports leave them out. Start "
                    "from a fresh DATA_DIR for real testimonies.", foreign)
    log.info("bot_ready languages=%d questions=%d recipients=%d", len(script.languages),
             len(script.questionnaire.questions), len(secrets.recipients))
    return Orchestrator(script, store, secrets.server_keys, translator, utc_now)


class ChannelService(Protocol):
    """A channel as the runtime drives it (Telegram, WhatsApp)."""

    @property
    def description(self) -> str:
        """How the start-up line names it, e.g. "Telegram (polling)"."""
        ...

    @property
    def reminding(self) -> Reminding | None:
        """What sends this channel's reminders (None: it sends none)."""
        ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


@contextlib.asynccontextmanager
async def running(settings: Settings, orchestrator: Orchestrator,
                  channels: Sequence[ChannelService]) -> AsyncIterator[None]:
    """The retention job, every channel and the reminder jobs (due reminders, and the one
    offer after a quiet while), started in order and stopped in reverse. The terminal chat
    runs inside this too, so retention runs wherever the bot runs; reminders go out on every
    channel that can send them."""
    async with retention(orchestrator, settings.session_ttl_hours):
        started: list[ChannelService] = []
        try:
            for channel in channels:
                await channel.start()
                started.append(channel)
            senders = {r.channel: r for r in (c.reminding for c in started) if r is not None}
            async with (reminders(orchestrator, senders),
                        reminder_offers(orchestrator, senders, settings.reminder_offer_after)):
                yield
        finally:
            for channel in reversed(started):
                await channel.stop()


ChannelFactory = Callable[[Orchestrator], Sequence[ChannelService]]


@contextlib.asynccontextmanager
async def started(settings: Settings, channels_for: ChannelFactory
                  ) -> AsyncIterator[tuple[Orchestrator, Sequence[ChannelService]]]:
    """The bot built, `running` with the channels made for it, and the store closed at the
    end whatever happens: the one path `run` (any channels) and `chat` (none) both take."""
    orchestrator = await build(settings)
    try:
        channels = channels_for(orchestrator)
        async with running(settings, orchestrator, channels):
            yield orchestrator, channels
    finally:
        await orchestrator.store.close()


GC_YOUNG_THRESHOLD = 50_000  # allocations between two young collections (Python: 700)


def tune_garbage_collector() -> None:
    """Run Python's cycle collector on young objects less often than its default.

    A busy bot has hundreds of conversations in flight. With the default (every 700 new
    objects) the collector runs every update or two and re-examines all of their live
    objects each time: about a sixth of the time per answer in the pipeline benchmark
    (bench/pipeline.py). Reference counting frees nearly everything anyway; the collector
    still finds every cycle, in rarer passes, for at most a few MB more memory. 50,000 is
    above what 300 conversations at once keep alive between two commits, so a steady crowd
    triggers few passes at all (at 10,000 they still took 2-3% of the benchmark's time).
    """
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])


async def serve(settings: Settings, channels_for: ChannelFactory) -> int:
    """`testimony-bot run` with channels configured: until SIGINT or SIGTERM."""
    tune_garbage_collector()  # for every channel: the per-update garbage is the same
    async with started(settings, channels_for) as (_, channels):
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stopping.set)
        names = " and ".join(channel.description for channel in channels)
        print(f"testimony-bot is running on {names}. Stop with Ctrl-C.", flush=True)
        await stopping.wait()
        log.info("shutdown_requested")
    return 0
