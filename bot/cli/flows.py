"""`flow check FILE…`: validate consent and questionnaire files as the bot would."""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.cli.common import Subparsers
from bot.flow import FlowError, Questionnaire
from bot.flow.loader import load_any


def register(commands: Subparsers) -> None:
    flow = commands.add_parser("flow", help="work with flow files")
    sub = flow.add_subparsers(dest="flow_command", metavar="ACTION", required=True)
    check = sub.add_parser("check", help="validate consent/questionnaire files")
    check.add_argument("files", type=Path, nargs="+", metavar="FILE")
    check.set_defaults(handler=check_flows)


def check_flows(args: argparse.Namespace) -> int:
    failed = 0
    for path in args.files:
        try:
            flow = load_any(path)
        except FlowError as exc:
            print(f"error: {exc}")
            failed += 1
            continue
        if isinstance(flow, Questionnaire):
            print(f"ok: {path}: questionnaire '{flow.id}' version {flow.version}, "
                  f"{len(flow.sections)} sections, {len(flow.questions)} questions")
        else:
            print(f"ok: {path}: consent '{flow.id}' version {flow.version}, "
                  f"{len(flow.items)} items")
    return 1 if failed else 0
