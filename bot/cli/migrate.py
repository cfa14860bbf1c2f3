"""`migrate`: bring a SQLite deployment's data into PostgreSQL (DATABASE_URL), once, when a
deployment grows from one machine to several workers."""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.cli.common import Subparsers, UserError, counted, existing_database, settings
from storage.maintenance import MaintenanceError


def register(commands: Subparsers) -> None:
    move = commands.add_parser(
        "migrate", help="copy a SQLite deployment's data into PostgreSQL (DATABASE_URL)")
    move.add_argument("--from", dest="source", type=Path, metavar="TESTIMONIES.db",
                      help="the SQLite database (default: DATA_DIR's); stop the bot first")
    move.set_defaults(handler=run_migrate)


def run_migrate(args: argparse.Namespace) -> int:
    config = settings(args)
    if not config.database_url:
        raise UserError("set DATABASE_URL to the new PostgreSQL database (postgresql://...)")
    source = existing_database(args.source if args.source is not None
                               else config.database_path)
    from storage.pg.maintenance import migrate_from_sqlite

    try:
        copied = migrate_from_sqlite(source, config.database_url.value)
    except MaintenanceError as exc:
        raise UserError(str(exc)) from exc
    print(f"Copied from {source} into PostgreSQL: "
          f"{counted(copied['respondents'], 'respondent', 'respondents')}, "
          f"{counted(copied['records'], 'sealed record', 'sealed records')}, "
          f"{counted(copied['sessions'], 'session', 'sessions')}, "
          f"{counted(copied['links'], 'link', 'links')}.")
    print(f"Start the bot with DATABASE_URL set. Once it runs well, delete {source} "
          "(shred it if the disk is not encrypted): it still holds everything.")
    return 0
