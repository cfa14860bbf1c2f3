"""`backup OUT.db` and `purge`: getting the sealed data off the server, then forgetting it.

Both run on the server and need no private key: a snapshot holds only sealed answers and
anonymous counters, never anything the server could read.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.cli.common import (
    Subparsers,
    UserError,
    counted,
    existing_database,
    live_database,
    settings,
)
from storage import maintenance as sqlite_maintenance
from storage.maintenance import MaintenanceError, SnapshotSummary

MAX_DAYS = 3650


def register(commands: Subparsers) -> None:
    snap = commands.add_parser(
        "backup", help="write a consistent snapshot of the sealed data (safe while running)")
    snap.add_argument("out", type=Path, metavar="OUT.db", help="the snapshot file to write")
    snap.add_argument("--db", type=Path, help="the live database (default: DATA_DIR's)")
    snap.add_argument("--force", action="store_true", help="replace OUT.db if it exists")
    snap.set_defaults(handler=make_backup)

    purge = commands.add_parser(
        "purge", help="delete collected answers from the server, or end abandoned sessions")
    purge.add_argument("--through", type=Path, metavar="SNAPSHOT",
                       help="delete the answers this snapshot holds (unchanged since)")
    purge.add_argument("--older-than", type=int, metavar="DAYS",
                       help="end sessions untouched for DAYS days (their working state goes)")
    purge.add_argument("--db", type=Path, help="the live database (default: DATA_DIR's)")
    purge.add_argument("--dry-run", action="store_true",
                       help="only count what --through would delete")
    purge.set_defaults(handler=run_purge)

    compact = commands.add_parser(
        "compact", help="PostgreSQL: rewrite the tables so erased rows leave the data files")
    compact.set_defaults(handler=run_compact)


def _database(args: argparse.Namespace) -> Path | str:
    """The live database: DATABASE_URL (PostgreSQL) unless --db names a file; a file must
    exist: run from the wrong folder, a backup would otherwise snapshot a new empty database
    and report success."""
    path: Path | None = args.db
    return existing_database(path) if path is not None else live_database(settings(args))


def _backup(source: Path | str, target: Path) -> SnapshotSummary:
    if isinstance(source, str):
        from storage.pg import maintenance as pg

        return pg.backup(source, target)
    return sqlite_maintenance.backup(source, target)


def _purge_through(source: Path | str, snapshot: Path, dry_run: bool) -> int:
    if isinstance(source, str):
        from storage.pg import maintenance as pg

        return pg.purge_through(source, snapshot, dry_run)
    return sqlite_maintenance.purge_through(source, snapshot, dry_run)


def _expire_sessions(source: Path | str, before: datetime) -> int:
    if isinstance(source, str):
        from storage.pg import maintenance as pg

        return pg.expire_sessions(source, before)
    return sqlite_maintenance.expire_sessions(source, before)


def make_backup(args: argparse.Namespace) -> int:
    source = _database(args)
    target: Path = args.out
    if target.exists() and not args.force:
        raise UserError(f"{target} exists already (use --force to replace it)")
    if isinstance(source, Path) and target.resolve() == source.resolve():
        raise UserError("the snapshot cannot be the live database itself")
    try:
        summary = _backup(source, target)
    except MaintenanceError as exc:
        raise UserError(str(exc)) from exc
    print(f"Snapshot written to {target}: "
          f"{counted(summary.respondents, 'respondent', 'respondents')}, "
          f"{counted(summary.answers, 'sealed record', 'sealed records')}, "
          f"{counted(summary.bytes, 'byte', 'bytes')}.")
    print("It holds only sealed data. Copy it to a researcher's machine and open it there with "
          "`testimony-bot export`.")
    return 0


def run_purge(args: argparse.Namespace) -> int:
    if args.through is None and args.older_than is None:
        raise UserError("say what to purge: --through SNAPSHOT and/or --older-than DAYS")
    if args.older_than is not None and not 1 <= args.older_than <= MAX_DAYS:
        raise UserError(f"--older-than takes 1 to {MAX_DAYS} days")
    database = _database(args)
    try:
        if args.through is not None:
            count = _purge_through(database, args.through, args.dry_run)
            verb = "would be deleted" if args.dry_run else "deleted"
            print(f"{counted(count, 'sealed record', 'sealed records')} held by {args.through} "
                  f"{verb} from {_name(database)}.")
        if args.older_than is not None and not args.dry_run:
            before = datetime.now(UTC) - timedelta(days=args.older_than)
            ended = _expire_sessions(database, before)
            print(f"{counted(ended, 'session', 'sessions')} untouched for "
                  f"{counted(args.older_than, 'day', 'days')} ended.")
    except MaintenanceError as exc:
        raise UserError(str(exc)) from exc
    return 0


def _name(database: Path | str) -> str:
    """How to name the live database to the operator (never the URL: it may hold a
    password)."""
    return "the PostgreSQL database" if isinstance(database, str) else str(database)


def run_compact(args: argparse.Namespace) -> int:
    config = settings(args)
    if not config.database_url:
        raise UserError("compact is for PostgreSQL (DATABASE_URL); SQLite overwrites erased "
                        "rows at once (secure_delete)")
    from storage.pg.maintenance import rewrite_person_tables

    try:
        rewrite_person_tables(config.database_url.value)
    except MaintenanceError as exc:
        raise UserError(str(exc)) from exc
    print("Tables rewritten: erased rows are no longer in the live data files.")
    return 0
