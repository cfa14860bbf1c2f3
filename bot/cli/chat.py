"""`chat` (the terminal channel) and `run` (Telegram when a token is set, else the terminal)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os

from bot.cli.common import Subparsers, settings
from bot.config import Settings
from bot.runtime import build, running


def register(commands: Subparsers) -> None:
    chat = commands.add_parser("chat", help="talk to the bot in this terminal")
    chat.add_argument("--user", default=None, help="who is talking (default: your login)")
    chat.add_argument("--demo", action="store_true", help="use throwaway demo keys")
    chat.set_defaults(handler=run_chat)
    run = commands.add_parser("run", help="run the bot (Telegram if TELEGRAM_BOT_TOKEN is set)")
    run.add_argument("--demo", action="store_true", help="use throwaway demo keys")
    run.set_defaults(handler=run_bot)


def run_chat(args: argparse.Namespace) -> int:
    return asyncio.run(_chat(quiet(settings(args)), args.user or getpass.getuser()))


def quiet(config: Settings) -> Settings:
    """In a terminal conversation, log lines would land between the bot's sentences: only
    warnings, unless LOG_LEVEL asks for more."""
    if "LOG_LEVEL" not in os.environ:
        logging.getLogger().setLevel(logging.WARNING)
    return config


async def _chat(config: Settings, user: str) -> int:
    from bot.channels.terminal import TerminalChat

    orchestrator = await build(config)
    try:
        async with running(config, orchestrator, []):
            await TerminalChat(orchestrator, user=user).run()
    finally:
        await orchestrator.store.close()
    return 0


def run_bot(args: argparse.Namespace) -> int:
    config = settings(args)
    if not config.telegram_bot_token:
        print("TELEGRAM_BOT_TOKEN is not set: starting the terminal chat instead.")
        return asyncio.run(_chat(quiet(config), getpass.getuser()))
    from bot.channels.telegram.app import run_telegram

    return run_telegram(config)
