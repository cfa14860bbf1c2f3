"""`open --db FILE --key KEY`: print the stored testimonies, to prove the round trip.

Run it on a researcher's machine: it is the only command besides `export` that decrypts.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.cli.common import (
    Subparsers,
    UserError,
    add_passphrase_options,
    counted,
    read_passphrase,
)
from storage.keys import KeyFileError, read_private_key
from storage.reader import RecordFailure, SnapshotError, describe_answer, read_testimonies


def register(commands: Subparsers) -> None:
    opener = commands.add_parser("open", help="decrypt and print testimonies (researchers)")
    opener.add_argument("--db", type=Path, required=True, help="the database or a snapshot")
    opener.add_argument("--key", type=Path, required=True, help="the private key file")
    add_passphrase_options(opener)
    opener.set_defaults(handler=open_testimonies)


def open_testimonies(args: argparse.Namespace) -> int:
    try:
        key = read_private_key(args.key, read_passphrase(args))
    except KeyFileError as exc:
        raise UserError(str(exc)) from exc
    failures: list[RecordFailure] = []
    count = 0
    try:
        for testimony in read_testimonies(args.db, key, failures):
            count += 1
            consent = testimony.consent
            agreed = (", ".join(f"{k}={'yes' if v else 'no'}" for k, v in consent.items.items())
                      if consent else "none")
            print(f"== respondent {testimony.label}  campaign={testimony.campaign or '-'}  "
                  f"started={testimony.started_on}  completed={testimony.completed_on or '-'}")
            if consent:
                print(f"   consent {consent.version} ({consent.language}) at "
                      f"{consent.agreed_at}: {agreed}")
            for answer in testimony.answers:
                print(f"   {answer.question_id} [{answer.language}]: {describe_answer(answer)}")
    except SnapshotError as exc:
        raise UserError(str(exc)) from exc
    print(counted(count, "testimony", "testimonies"))
    if failures:
        for failure in failures:
            print(f"error: {failure}", file=sys.stderr)
        print(f"{counted(len(failures), 'record', 'records')} could not be opened",
              file=sys.stderr)
        return 1
    return 0
