"""`report --db SNAPSHOT --key KEY --out DIR`: a one-page summary for report writers.

Only closed answers are opened; counts below k are suppressed. Same filters as `export`.
"""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

from bot.cli.common import Subparsers, UserError
from bot.cli.export import add_source_options, load_flows, open_key, report_problems, selection
from bot.export import folder
from bot.export.consent import ConsentPolicy
from bot.export.pipeline import describe_failures
from bot.export.report import OUTPUTS, write_report
from bot.export.sources import SourceError, open_sources
from bot.export.summary import count, tables
from storage.reader import RecordFailure, SnapshotError


def register(commands: Subparsers) -> None:
    report = commands.add_parser(
        "report", help="a one-page summary (HTML and charts) with small numbers hidden")
    add_source_options(report)
    report.add_argument("--out", type=Path, required=True, metavar="DIR",
                        help="folder for report.html and the charts (created; must be "
                        "empty unless --force)")
    report.add_argument("--force", action="store_true",
                        help="use a non-empty folder: first delete what an earlier export or "
                        "report wrote there")
    report.set_defaults(handler=make_report)


def make_report(args: argparse.Namespace) -> int:
    questionnaire, consent = load_flows(args)
    out: Path = args.out
    try:
        folder.check(out, args.force)  # before the passphrase and the long count
    except folder.FolderError as exc:
        raise UserError(str(exc)) from exc
    key = open_key(args)
    failures: list[RecordFailure] = []
    try:
        sources = open_sources(args.db, key)
        tally = count(sources, key, questionnaire, ConsentPolicy.from_text(consent),
                      selection(args), failures)
    except (SnapshotError, SourceError) as exc:
        raise UserError(str(exc)) from exc
    failures += sources.erasure_failures
    if failures and not tally.testimonies:
        raise UserError("this key opens none of the answers tried: it is not a key these "
                        "testimonies were sealed to. Nothing was written.\n"
                        + describe_failures(failures))
    try:
        folder.prepare(out, args.force, OUTPUTS)
    except folder.FolderError as exc:
        raise UserError(str(exc)) from exc
    written = write_report(out, tally, tables(tally, questionnaire, args.k), args.k,
                           date.today())
    folder.record(out, written)
    print(f"Summary of {tally.testimonies} testimonies written to {out}: {', '.join(written)}")
    if sources.erased:
        print(f"  left out after /delete (erasure records): {sources.erased}")
    return report_problems(tally.foreign, failures, "counted")
