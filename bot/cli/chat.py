"""`chat` (the terminal channel) and `run` (Telegram when a token is set, else the terminal)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
from collections.abc import Callable

from bot.cli.common import Subparsers, settings
from bot.config import Settings
from bot.orchestrator import Orchestrator
from bot.runtime import ChannelService, serve, started


def register(commands: Subparsers) -> None:
    chat = commands.add_parser("chat", help="talk to the bot in this terminal")
    chat.add_argument("--user", default=None, help="who is talking (default: your login)")
    chat.add_argument("--demo", action="store_true", help="use throwaway demo keys")
    chat.set_defaults(handler=run_chat)
    run = commands.add_parser("run", help="run the bot on every configured channel "
                              "(Telegram, WhatsApp), else the terminal chat")
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

    async with started(config, lambda _: ()) as (orchestrator, _):
        await TerminalChat(orchestrator, user=user).run()
    return 0


def run_bot(args: argparse.Namespace) -> int:
    """Every configured channel (Telegram, WhatsApp, or both) in one process; neither
    configured: the terminal chat."""
    config = settings(args)
    if not config.telegram_bot_token and not config.whatsapp_configured:
        print("Neither TELEGRAM_BOT_TOKEN nor WhatsApp is set: starting the terminal chat.")
        return asyncio.run(_chat(quiet(config), getpass.getuser()))
    if not config.whatsapp_configured:
        from bot.channels.telegram.app import run_telegram

        return run_telegram(config)
    return asyncio.run(_serve(config))


async def _serve(config: Settings) -> int:
    from bot.channels.whatsapp.app import WhatsAppService, check_settings

    check_settings(config)  # before anything else: no keys loaded, no database opened
    channels_for: list[Callable[[Orchestrator], ChannelService]] = [
        lambda orchestrator: WhatsAppService(config, orchestrator)]
    if config.telegram_bot_token:
        from bot.channels.telegram.app import (
            TelegramService,
            check_token,
            webhook_path,
        )

        check_token(config)
        if config.webhook_url:
            webhook_path(config.webhook_url)
        channels_for.insert(0, lambda orchestrator: TelegramService(config, orchestrator))
    return await serve(config, lambda orchestrator: [make(orchestrator)
                                                     for make in channels_for])
