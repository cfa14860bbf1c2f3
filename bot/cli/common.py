"""Helpers shared by sub-commands: settings, passphrases, logging."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path
from typing import Any

from bot.config import Settings, load_settings
from bot.logsetup import configure_logging

PASSPHRASE_ENV = "KEY_PASSPHRASE"  # noqa: S105 - the variable's name, not a secret
Subparsers = Any  # argparse's _SubParsersAction is private; typed loosely on purpose


class UserError(Exception):
    """Something the person running the command can fix; printed without a traceback."""


def settings(args: argparse.Namespace | None = None) -> Settings:
    loaded = load_settings()
    configure_logging(loaded.log_level)
    if args is not None and getattr(args, "demo", False):
        from dataclasses import replace

        loaded = replace(loaded, demo=True)
    return loaded


def existing_database(path: Path, create_flag: str | None = None) -> Path:
    """`path`, if a database is there: a command run from the wrong folder (or with the
    wrong DATA_DIR) must not quietly make a new, empty one and report on that."""
    if not path.is_file():
        how = f", or pass {create_flag} to start a new one there" if create_flag else ""
        raise UserError(f"there is no database at {path.resolve()}. Check DATA_DIR in .env "
                        f"(or --db){how}.")
    return path


def live_database(config: Settings, create_flag: str | None = None) -> Path | str:
    """The bot's database: DATABASE_URL (PostgreSQL, the server's to check) if set, else
    DATA_DIR's SQLite file, which must exist (`existing_database`)."""
    if config.database_url:
        return config.database_url.value
    return existing_database(config.database_path, create_flag)


def counted(count: int, one: str, many: str) -> str:
    """ "1 testimony", "2 testimonies": English only, like all of the command's own output."""
    return f"{count:,} {one if count == 1 else many}"


def add_passphrase_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--passphrase-file", type=Path, metavar="FILE",
                        help=f"read the passphrase from FILE (or set {PASSPHRASE_ENV})")


def read_passphrase(args: argparse.Namespace, prompt: str = "Passphrase: ",
                    confirm: bool = False) -> str:
    """From --passphrase-file, $KEY_PASSPHRASE, a terminal prompt, or one line of stdin."""
    path: Path | None = getattr(args, "passphrase_file", None)
    if path is not None:
        try:
            return path.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise UserError(f"cannot read passphrase file {path}: {exc.strerror}") from exc
    if PASSPHRASE_ENV in os.environ:
        return os.environ[PASSPHRASE_ENV]
    if sys.stdin.isatty():
        first = getpass.getpass(prompt)
        if confirm and getpass.getpass("Again: ") != first:
            raise UserError("the two passphrases differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")
