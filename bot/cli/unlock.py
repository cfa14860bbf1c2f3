"""`unlock`: open the server secret's vault into RAM, so the secret is never on the disk.

    testimony-bot unlock --init     once: wrap a secret (the one in SERVER_SECRET, or a new one)
    testimony-bot unlock            after every boot: passphrase in, secret out to /run

See storage/vault.py for why.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from bot.cli.common import Subparsers, UserError, add_passphrase_options, read_passphrase
from bot.cli.common import settings as load
from bot.config import Settings
from bot.runtime import is_hex
from storage.keys import KeyFileError
from storage.server_keys import MIN_SECRET_BYTES, new_secret
from storage.vault import MIN_PASSPHRASE, in_ram, unwrap_secret, wrap_secret, write_secret_file

DEFAULT_SECRET_FILE = Path("/run/testimony-bot/server_secret")
VAULT_NAME = "server_secret.vault"


def register(commands: Subparsers) -> None:
    unlock = commands.add_parser(
        "unlock", help="open the server secret into RAM (after each boot); --init makes it")
    unlock.add_argument("--init", action="store_true",
                        help="create the vault: wraps SERVER_SECRET if set, else a new secret")
    unlock.add_argument("--vault", type=Path, metavar="FILE",
                        help=f"the wrapped secret (default: DATA_DIR/{VAULT_NAME})")
    unlock.add_argument("--out", type=Path, metavar="FILE",
                        help="where to write the secret (default: SERVER_SECRET_FILE, else "
                        f"{DEFAULT_SECRET_FILE})")
    unlock.add_argument("--allow-disk", action="store_true",
                        help="write the secret even where it is not on a RAM filesystem "
                        "(tests and trials only)")
    add_passphrase_options(unlock)
    unlock.set_defaults(handler=run_unlock)


def run_unlock(args: argparse.Namespace) -> int:
    config = load(args)
    vault: Path = args.vault or config.data_dir / VAULT_NAME
    if args.init:
        return _init(args, config, vault)
    out: Path = args.out or config.server_secret_file or DEFAULT_SECRET_FILE
    if not args.allow_disk and not in_ram(out.parent if not out.exists() else out):
        raise UserError(
            f"{out} is not on a RAM filesystem (tmpfs): the secret would be written to disk, "
            "where a seizure finds it. Use a path under /run, or --allow-disk for a trial.")
    try:
        text = vault.read_text(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"no vault at {vault} ({exc.strerror}); create it once with "
                        "testimony-bot unlock --init") from exc
    try:
        secret = unwrap_secret(text, read_passphrase(args, "Passphrase: "), str(vault))
    except KeyFileError as exc:
        raise UserError(str(exc)) from exc
    try:
        write_secret_file(out, secret)
    except OSError as exc:
        raise UserError(f"cannot write {out}: {exc.strerror} (run as the bot's user, with "
                        "/run/testimony-bot created for it)") from exc
    print(f"Unlocked: the server secret is in {out} until the machine stops.")
    if config.server_secret_file != out:
        print(f"Set SERVER_SECRET_FILE={out} in .env (and remove SERVER_SECRET), then start "
              "the bot.")
    return 0


def _init(args: argparse.Namespace, config: Settings, vault: Path) -> int:
    if vault.exists():
        raise UserError(f"{vault} exists already: the secret must never change (every "
                        "pseudonym depends on it). To unlock it, run without --init.")
    if config.server_secret:
        raw = config.server_secret.value
        secret = bytes.fromhex(raw) if is_hex(raw) else raw.encode()
        origin = "the SERVER_SECRET already in use (so pseudonyms stay the same)"
    else:
        secret = bytes.fromhex(new_secret())
        origin = "a new secret"
    if len(secret) < MIN_SECRET_BYTES:
        raise UserError(f"SERVER_SECRET holds fewer than {MIN_SECRET_BYTES} bytes")
    print(f"Choose a passphrase of at least {MIN_PASSPHRASE} characters - several words. "
          "Whoever has the disk can try guesses against the vault: only a long passphrase "
          "stops that. Keep a copy offline (a password manager, or paper in a safe): without "
          "it, after a reboot the bot cannot recognise anyone who started before.")
    passphrase = read_passphrase(args, "New passphrase: ", confirm=True)
    try:
        wrapped = wrap_secret(secret, passphrase)
    except KeyFileError as exc:
        raise UserError(str(exc)) from exc
    vault.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(vault, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(wrapped)
    print(f"Vault written to {vault}, holding {origin}.")
    print("Next: testimony-bot unlock   (after every boot), and in .env "
          f"SERVER_SECRET_FILE={config.server_secret_file or DEFAULT_SECRET_FILE}"
          + (" - then delete SERVER_SECRET from .env." if config.server_secret else "."))
    return 0
