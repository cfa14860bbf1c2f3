"""The terminal channel in-process: typed lines in, what a person reads out."""

from __future__ import annotations

import io

from bot.channels.terminal import TerminalChat
from bot.engine import Script
from bot.orchestrator import Orchestrator
from tests.conftest import OrchestratorFactory


async def chat(orchestrator: Orchestrator, *lines: str) -> str:
    """One run of `testimony-bot chat` (one process): the lines typed, the screen after."""
    screen = io.StringIO()
    await TerminalChat(orchestrator, user="amina", reader=io.StringIO("\n".join(lines) + "\n"),
                       writer=screen).run()
    return screen.getvalue()


async def test_a_restarted_chat_is_heard(orchestrator_for: OrchestratorFactory,
                                         mini_script: Script) -> None:
    first = await chat(orchestrator_for(mini_script), "1", "1", "1")  # agree to everything
    assert "Where do you work?" in first.split("> ")[-2]
    # The bot restarts (a new process, nothing in memory): the next answers are taken.
    again = await chat(orchestrator_for(mini_script), "1", "/delete", "1")
    assert "Everything you told us has been deleted" in again
