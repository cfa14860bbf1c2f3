"""`export --db SNAPSHOT --key KEY --out DIR`: decrypt, anonymize and write files for reports.

Run it on a researcher's machine, never on the server. Exit status: 0 when everything was
exported, 1 when some records could not be opened (they are named; the rest is exported),
2 for anything to fix before trying again (nothing is written then).
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from bot.cli.common import Subparsers, UserError, add_passphrase_options, read_passphrase
from bot.export import wordlists
from bot.export.parallel import default_jobs
from bot.export.pipeline import (
    FORMATS,
    SHOWN_FAILURES,
    ExportError,
    ExportOptions,
    ExportSummary,
    describe_failures,
    run_export,
)
from bot.export.selection import Selection
from bot.flow import ConsentText, FlowError, Questionnaire, load_consent, load_questionnaire
from storage.keys import KeyFileError, KeyPair, read_private_key
from storage.reader import RecordFailure, SnapshotError

FLOWS_DIR = Path(__file__).resolve().parent.parent / "flows"


def register(commands: Subparsers) -> None:
    export = commands.add_parser(
        "export", help="decrypt, anonymize and export testimonies (researchers)",
        description="Decrypt a snapshot with the private key, anonymize it and write files "
        "for report writers. Plaintext is written only into --out.")
    add_source_options(export)
    export.add_argument("--out", type=Path, required=True, metavar="DIR",
                        help="folder for the files (created; must be empty unless --force)")
    export.add_argument("--format", action="append", metavar="FORMAT",
                        help=f"one or more of {', '.join(FORMATS)} (repeat or comma-separate; "
                        "default: all)")
    export.add_argument("--stable-ids", action="store_true",
                        help="same export ids as other exports made with this key "
                        "(default: new, unlinkable ids every time)")
    export.add_argument("--no-media", action="store_true",
                        help="leave voice notes and photos out")
    export.add_argument("--names", type=Path, action="append", default=[], metavar="FILE",
                        help="more names to redact, one per line")
    export.add_argument("--places", type=Path, action="append", default=[], metavar="FILE",
                        help="more places to redact, one per line")
    export.add_argument("--allow", type=Path, action="append", default=[], metavar="FILE",
                        help="capitalised words never to redact, one per line")
    export.add_argument("--phone-regions", default="", metavar="CC,CC",
                        help="country codes whose national phone formats to look for in "
                        "every testimony, besides each person's own regions (e.g. PH,HK)")
    export.add_argument("--force", action="store_true",
                        help="use a non-empty folder: first delete what an earlier export or "
                        "report wrote there")
    export.add_argument("--jobs", type=int, default=default_jobs(), metavar="N",
                        help="processes that decrypt and redact (default: every core)")
    export.set_defaults(handler=export_testimonies)


def add_source_options(parser: argparse.ArgumentParser) -> None:
    """Options shared with `report`: where the data is, the key, the filters."""
    parser.add_argument("--db", type=Path, required=True, action="append", metavar="SNAPSHOT",
                        help="a snapshot from `testimony-bot backup` (or the database), or a "
                        "folder of snapshots; repeat for several: they are combined by "
                        "respondent, and /delete reaches every one of them")
    parser.add_argument("--key", type=Path, required=True, help="the private key file")
    add_passphrase_options(parser)
    parser.add_argument("--flow", type=Path, default=FLOWS_DIR / "default.toml",
                        help="the questionnaire the testimonies were given with")
    parser.add_argument("--consent-flow", type=Path, default=FLOWS_DIR / "consent.toml",
                        help="the consent text they agreed to")
    parser.add_argument("--campaign", action="append", default=[], metavar="CODE",
                        help="only this campaign (repeatable)")
    parser.add_argument("--theme", action="append", default=[], metavar="ID",
                        help="only people who chose this theme (repeatable)")
    parser.add_argument("--language", action="append", default=[], metavar="CODE",
                        help="only this language (repeatable)")
    parser.add_argument("--since", type=_day, metavar="YYYY-MM-DD", help="started on or after")
    parser.add_argument("--until", type=_day, metavar="YYYY-MM-DD", help="started on or before")
    parser.add_argument("--complete-only", action="store_true",
                        help="only people who reached the end")
    parser.add_argument("--k", type=int, default=5,
                        help="k-anonymity: smallest group shown (default 5)")


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def selection(args: argparse.Namespace) -> Selection:
    return Selection(frozenset(args.campaign), frozenset(args.theme), frozenset(args.language),
                     args.since, args.until, args.complete_only)


def load_flows(args: argparse.Namespace) -> tuple[Questionnaire, ConsentText]:
    try:
        return load_questionnaire(args.flow), load_consent(args.consent_flow)
    except FlowError as exc:
        raise UserError(f"the flow file is invalid: {exc}") from exc


def open_key(args: argparse.Namespace) -> KeyPair:
    if args.k < 1:
        raise UserError("--k must be at least 1")
    for path in args.db:
        if not path.exists():
            raise UserError(f"{path} does not exist")
    try:
        return read_private_key(args.key, read_passphrase(args, "Passphrase for the key: "))
    except KeyFileError as exc:
        raise UserError(str(exc)) from exc


def _lines(paths: list[Path]) -> tuple[str, ...]:
    found: list[str] = []
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UserError(f"cannot read the word list {path}") from exc
        found += wordlists.parse(text)  # the format of the lists the package ships
    return tuple(found)


def _formats(values: list[str] | None) -> tuple[str, ...]:
    if not values:
        return FORMATS
    chosen = tuple(f.strip().lower() for value in values for f in value.split(",") if f.strip())
    unknown = sorted(set(chosen) - set(FORMATS))
    if unknown:
        raise UserError(f"unknown format {', '.join(unknown)}; choose from {', '.join(FORMATS)}")
    return chosen


def export_testimonies(args: argparse.Namespace) -> int:
    questionnaire, consent = load_flows(args)
    options = ExportOptions(
        snapshots=tuple(args.db), out=args.out, formats=_formats(args.format),
        selection=selection(args), k=args.k, stable_ids=args.stable_ids,
        media=not args.no_media, names=_lines(args.names), places=_lines(args.places),
        allowed=_lines(args.allow),
        phone_regions=tuple(c.strip().upper() for c in args.phone_regions.split(",")
                            if c.strip()),
        force=args.force, jobs=max(1, args.jobs),
    )
    key = open_key(args)
    try:
        summary = run_export(options, key, questionnaire, consent, progress=sys.stderr)
    except (ExportError, SnapshotError) as exc:
        raise UserError(str(exc)) from exc
    print_summary(summary, args.out)
    return report_problems(summary.foreign, summary.failures, "exported")


def report_problems(foreign: list[str], failures: list[RecordFailure], done: str) -> int:
    """Exit status 1, with names, when anything was left out that should not have been."""
    status = 0
    if foreign:
        shown = ", ".join(foreign[:SHOWN_FAILURES]) + (", ..." if len(foreign) >
                                                       SHOWN_FAILURES else "")
        print(f"error: {len(foreign)} testimonies hold records sealed to another key (such as "
              "the quickstart's demo answers left in a real database); they were left out "
              f"entirely, not counted and not in any k-anonymity group: respondents {shown}",
              file=sys.stderr)
        status = 1
    damaged = [f for f in failures if not f.foreign]
    if damaged:
        print(f"error: {len(damaged)} answer(s) could not be opened and were left out "
              f"(everything else was {done}):", file=sys.stderr)
        print(describe_failures(damaged), file=sys.stderr)
        status = 1
    return status


def print_summary(summary: ExportSummary, out: Path) -> None:
    print(f"Exported {summary.exported} testimonies to {out}")
    for path in summary.unchecked:
        print(f"  note: {path} was made before snapshots carried a deployment id; check "
              "yourself that it comes from the same bot")
    skipped = {"without a valid consent": summary.not_consented,
               "outside the filters": summary.filtered_out,
               "with no answers": summary.empty,
               "after /delete (erasure records)": summary.erased,
               "sealed to another key": len(summary.foreign)}
    for reason, count in skipped.items():
        if count:
            print(f"  left out {reason}: {count}")
    print(f"  redactions: {summary.placeholders} placeholders, {summary.flagged} answers "
          "flagged for a full reading (see redactions.csv; review before sharing)")
    if summary.media_written or summary.media_skipped:
        print(f"  media files: {summary.media_written} written, {summary.media_skipped} left "
              "out (format could not be cleaned of metadata)")
    if summary.disclosure:
        print(f"  checked for k-anonymity (k = {summary.disclosure.k}): "
              + ", ".join(summary.disclosure.quasi_identifiers))
        for line in summary.disclosure.lines()[2:]:
            print(f"  {line}")
    print(f"  files: {', '.join(summary.files)}")
