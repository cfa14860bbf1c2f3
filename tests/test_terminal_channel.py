"""The terminal channel in-process: typed lines in, what a person reads out."""

from __future__ import annotations

import io

from bot.channels.terminal import TerminalChat
from bot.engine import Script
from bot.engine import messages as msg
from bot.engine.text import flow_text
from bot.orchestrator import Orchestrator
from tests.conftest import OrchestratorFactory


async def chat(orchestrator: Orchestrator, *lines: str) -> list[str]:
    """One run of `testimony-bot chat` (one process): what the screen shows after each typed
    line (the greeting first)."""
    screen = io.StringIO()
    await TerminalChat(orchestrator, user="amina", reader=io.StringIO("\n".join(lines) + "\n"),
                       writer=screen).run()
    return screen.getvalue().split("> ")[:-1]


async def test_a_restarted_chat_is_heard(orchestrator_for: OrchestratorFactory,
                                         mini_script: Script) -> None:
    first = await chat(orchestrator_for(mini_script), "1", "1", "1")  # agree to everything
    assert "Where do you work?" in first[-1]
    # The bot restarts (a new process, nothing in memory): the next answers are taken.
    again = await chat(orchestrator_for(mini_script), "1", "/delete", "1")
    assert "Everything you told us has been deleted" in again[-1]


THEMES_MENU = "Pick themes."  # the mini flow's several-answer question: 1 Wages, 2 Health, 3 Done


async def test_typed_numbers_tick_answers_until_done(orchestrator_for: OrchestratorFactory,
                                                     mini_script: Script) -> None:
    *_, wages, health, done = await chat(orchestrator_for(mini_script),
                                         "1", "1", "1", "1", "1", "2", "3")
    assert "[x] Wages" in wages and "[ ] Health" in wages
    assert "[x] Wages" in health and "[x] Health" in health
    assert "How many months" not in wages + health  # nothing sent before Done
    assert "How many months" in done


async def test_several_numbers_on_one_line_show_the_menu_once(
        orchestrator_for: OrchestratorFactory, mini_script: Script) -> None:
    last = (await chat(orchestrator_for(mini_script), "1", "1", "1", "1", "1 2 3"))[-1]
    assert last.count("Health") == 1 and "[x] Health" in last  # one reprint, both ticked
    assert "How many months" in last


async def test_done_with_nothing_ticked_says_type_not_tap(
        orchestrator_for: OrchestratorFactory, mini_script: Script) -> None:
    last = (await chat(orchestrator_for(mini_script), "1", "1", "1", "1", "3"))[-1]
    assert "Please type the number of at least one answer" in last
    assert "tap" not in last.lower()


async def test_after_declining_the_chosen_language_stays(
        orchestrator_for: OrchestratorFactory, default_script: Script) -> None:
    orchestrator = orchestrator_for(default_script)
    arabic_intro = orchestrator.translator.render(
        flow_text(default_script.consent.id, "intro", default_script.consent.intro), "ar")
    *_, declined, again = await chat(orchestrator, "ar", "2", "hello")
    assert "Thank you for your time" not in declined  # said in Arabic
    assert arabic_intro.splitlines()[0] in again
    hello = orchestrator.translator.render(msg.CHOOSE_LANGUAGE, "en")
    assert hello not in again and "Hello" not in again  # not greeted, nor asked, again


async def test_a_glance_at_the_state_does_not_forget_the_chosen_language(
        orchestrator_for: OrchestratorFactory, default_script: Script) -> None:
    orchestrator = orchestrator_for(default_script)
    await chat(orchestrator, "ar", "2")  # chose Arabic, declined
    assert (await orchestrator.peek("terminal", "amina")).language == "ar"  # a channel's notice
    arabic_intro = orchestrator.translator.render(
        flow_text(default_script.consent.id, "intro", default_script.consent.intro), "ar")
    greeting = (await chat(orchestrator))[0]  # opens the chat again: /start
    assert arabic_intro.splitlines()[0] in greeting
