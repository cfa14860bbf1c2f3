"""`testimony-bot` command line. Each sub-command lives in its own module and registers itself.

Errors a person can fix (bad config, wrong passphrase, invalid flow) print one clear message and
exit with status 2; they never print a traceback full of values.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from bot import __version__
from bot.cli import backup, chat, export, flows, keys, links, migrate, opener, report, unlock
from bot.cli.common import UserError
from bot.config import ConfigError

COMMAND_MODULES = (chat, keys, unlock, flows, opener, links, backup, migrate, export, report)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="testimony-bot",
        description="A safe chatbot that gathers migrants' testimonies, sealed for researchers.",
    )
    root.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = root.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMAND_MODULES:
        module.register(commands)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    os.umask(0o077)  # keys, snapshots, exports and the database: for their owner only
    args = parser().parse_args(argv)
    try:
        status: int = args.handler(args)
    except (UserError, ConfigError) as exc:
        print(f"testimony-bot: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("", file=sys.stderr)
        return 130
    return status
