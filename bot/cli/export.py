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
from bot.export.pipeline import (
    FORMATS,
    ExportError,
    ExportOptions,
    ExportSummary,
    describe_failures,
    run_export,
)
from bot.export.selection import Selection
from bot.flow import ConsentText, FlowError, Questionnaire, load_consent, load_questionnaire
from storage.keys import KeyFileError, KeyPair, read_private_key
from storage.reader import SnapshotError

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
    export.add_argument("--force", action="store_true", help="write into a non-empty folder")
    export.set_defaults(handler=export_testimonies)


def add_source_options(parser: argparse.ArgumentParser) -> None:
    """Options shared with `report`: where the data is, the key, the filters."""
    parser.add_argument("--db", type=Path, required=True, metavar="SNAPSHOT",
                        help="a snapshot from `testimony-bot backup` (or the database)")
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
    if not args.db.is_file():
        raise UserError(f"{args.db} does not exist")
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
        snapshot=args.db, out=args.out, formats=_formats(args.format),
        selection=selection(args), k=args.k, stable_ids=args.stable_ids,
        media=not args.no_media, names=_lines(args.names), places=_lines(args.places),
        allowed=_lines(args.allow),
        phone_regions=tuple(c.strip().upper() for c in args.phone_regions.split(",")
                            if c.strip()),
        force=args.force,
    )
    key = open_key(args)
    try:
        summary = run_export(options, key, questionnaire, consent, progress=sys.stderr)
    except (ExportError, SnapshotError) as exc:
        raise UserError(str(exc)) from exc
    print_summary(summary, args.out)
    if summary.failures:
        print(f"error: {len(summary.failures)} answer(s) could not be opened and were left "
              "out (everything else was exported):", file=sys.stderr)
        print(describe_failures(summary.failures), file=sys.stderr)
        return 1
    return 0


def print_summary(summary: ExportSummary, out: Path) -> None:
    print(f"Exported {summary.exported} testimonies to {out}")
    skipped = {"without a valid consent": summary.not_consented,
               "outside the filters": summary.filtered_out,
               "with no answers": summary.empty}
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
