"""The shortcuts taken for speed give exactly what the plain ways give: evolving a state,
cleaning text, encoding a keyboard, and the engine's remembered options and texts."""

from __future__ import annotations

import dataclasses
import json
import unicodedata
from datetime import UTC, datetime

import pytest

from bot import outbound as out
from bot.channels.telegram.render import keyboard
from bot.engine import ChoiceIn, Script, SessionState, Start, step
from bot.engine.actions import DONE_KEY, Ask
from bot.engine.state import Overlay, Phase
from bot.engine.step import clean_text
from bot.engine.text import flow_text

NOW = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


def test_evolve_is_dataclasses_replace() -> None:
    state = SessionState(sid="abc", phase=Phase.QUESTIONS, language="ar", seq=4,
                         remembered={"themes": ("wages",)}, counted=("opened",))
    changes = {"seq": 5, "pending": ("care",), "overlay": Overlay.LANGUAGE, "paused": True}
    evolved = state.evolve(**changes)
    assert evolved == dataclasses.replace(state, **changes)
    assert evolved.question_token == "abc.5" and state.seq == 4  # the original is untouched
    with pytest.raises(dataclasses.FrozenInstanceError):
        evolved.seq = 6  # type: ignore[misc]
    with pytest.raises(TypeError):
        state.evolve(sequence=5)


def test_clean_text_drops_exactly_the_control_characters() -> None:
    def by_category(text: str) -> str:
        return "".join(ch for ch in text
                       if ch in "\n\t" or unicodedata.category(ch) != "Cc").strip()

    every_low = "".join(chr(code) for code in range(0x300))
    sample = every_low + "\u200b\u202e\u2028\ufeff مرحبا 🙂 \x00\x1b[31m \r\n end\t"
    assert clean_text(sample) == by_category(sample)


def test_a_keyboard_is_the_json_of_its_buttons() -> None:
    prompt = out.Prompt("abc.4", "Pick", (out.Button("a", 'Say "no" \\ \u2028 né'),
                                         out.Button("b", "两", selected=True)),
                        skip_label="Skip")
    board = keyboard(prompt)
    assert board.encoded == json.dumps({"inline_keyboard": [
        [{"text": 'Say "no" \\ \u2028 né', "callback_data": "abc.4:0"}],
        [{"text": "✓ 两", "callback_data": "abc.4:1"}],
        [{"text": "Skip", "callback_data": "abc.4:2"}],
    ]}, ensure_ascii=False, separators=(",", ":"))


def test_remembered_options_are_the_ones_built_afresh(default_script: Script) -> None:
    """Walk the default questionnaire (toggling a multi-choice question on the way): every
    question asked offers the options and texts the flow file defines."""
    flow = default_script.questionnaire
    state, actions = step(default_script, SessionState(sid="s1"), Start(), NOW)
    seen_multi, checked = False, 0
    while state is not None and state.phase is not Phase.DONE:
        ask = [a for a in actions if isinstance(a, Ask)][-1]
        if state.phase is Phase.QUESTIONS and ask.question_id:
            question = flow.question(ask.question_id)
            expected = tuple((c.id, flow_text(flow.id, f"{question.id}.{c.id}", c.label),
                              c.id in state.pending) for c in question.choices)
            assert tuple((o.key, o.label, o.selected) for o in ask.options
                         if o.key != DONE_KEY) == expected
            assert ask.text == flow_text(flow.id, question.id, question.text)
            checked += 1
            if ask.multi and not state.pending:
                seen_multi = True
                state, actions = step(default_script, state,
                                      ChoiceIn(ask.token, ask.options[0].key), NOW)
                continue
        key = ask.options[0].key if ask.options else None
        if key is None:
            break
        if ask.multi and state.pending:
            key = DONE_KEY
        state, actions = step(default_script, state, ChoiceIn(ask.token, key), NOW)
    assert seen_multi and checked >= 5
