"""Before consent, several workers carry the conversation in its own buttons (nothing is
stored): the carried state fits Telegram's 64 bytes for every language and the longest link
code, reads back as the state it was drawn in, and verifies for no one else and after no
change."""

from __future__ import annotations

import dataclasses
import secrets
from pathlib import Path

import pytest

from bot import button_state
from bot.button_state import carried, carry
from bot.channels.common.codec import MAX_CALLBACK_BYTES, decode_callback, encode_callback
from bot.channels.common.inbound import Press
from bot.engine import Phase, Script, SessionState
from bot.engine.state import Overlay
from storage.links import CODE_ALPHABET, CODE_LENGTH, EXPIRED_PREFIX
from storage.server_keys import ServerKeys
from tests.conftest import T0, OrchestratorFactory

ROOT = Path(__file__).resolve().parent.parent
WHATSAPP_ROW_ID = 200  # characters; reply buttons allow 256
LONGEST_CODE = CODE_ALPHABET[-1] * CODE_LENGTH  # the links' codes all have this length
ALICE, BOB = b"a" * 32, b"b" * 32  # keyed pseudonyms (HMAC-SHA256 digests)


def before_consent(script: Script, **changes: object) -> SessionState:
    """A conversation in the middle of consent, every field as large as it gets."""
    items = script.consent.items
    state = SessionState(
        sid=secrets.token_urlsafe(6), phase=Phase.CONSENT, language=script.languages[-1],
        language_chosen=True, campaign=EXPIRED_PREFIX + LONGEST_CODE,
        consent_step=len(items) - 1,
        consent_answers={item.id: n % 2 == 0 for n, item in enumerate(items[:-1])},
        seq=0xFFFF, paused=True, overlay=Overlay.LANGUAGE, overlay_seq=0xFFFF,
        counted=("opened", "language_chosen"))
    return state.evolve(**changes)


def test_the_script_speaks_every_language_of_locales(default_script: Script) -> None:
    shipped = {p.name for p in (ROOT / "locales").iterdir() if (p / "LC_MESSAGES").is_dir()}
    assert shipped and shipped <= set(default_script.languages)


@pytest.mark.parametrize("campaign", [None, LONGEST_CODE, EXPIRED_PREFIX + LONGEST_CODE])
@pytest.mark.parametrize("overlay", [None, Overlay.LANGUAGE, Overlay.CONFIRM_DELETE])
def test_every_language_and_the_longest_link_code_fit_in_64_bytes(
    default_script: Script, server_keys: ServerKeys, campaign: str | None,
    overlay: Overlay | None,
) -> None:
    for language in default_script.languages:
        state = before_consent(default_script, language=language, campaign=campaign,
                               overlay=overlay)
        token = carry(state, default_script, ALICE, server_keys)
        assert token is not None, language
        data = encode_callback(token, 99)  # refuses anything over Telegram's limit
        assert len(data.encode()) <= MAX_CALLBACK_BYTES and len(data) <= WHATSAPP_ROW_ID
        assert decode_callback(data) == Press(token, 99)
        assert carried(token, default_script, ALICE, server_keys) == state


def test_the_state_read_back_is_the_state_drawn_in(
    default_script: Script, server_keys: ServerKeys,
) -> None:
    first = SessionState(sid=secrets.token_urlsafe(6), phase=Phase.LANGUAGE, language="fr",
                         seq=1, counted=("opened",))
    states = [first, first.evolve(language=None), first.evolve(campaign="k7x2mnpq"),
              before_consent(default_script), before_consent(default_script, overlay=None,
                                                              paused=False, seq=3,
                                                              overlay_seq=0)]
    for state in states:
        token = carry(state, default_script, ALICE, server_keys)
        assert token is not None and button_state.is_carried(token)
        assert carried(token, default_script, ALICE, server_keys) == state
    # The same state draws the same token: a question asked again keeps its buttons working.
    assert carry(first, default_script, ALICE, server_keys) == carry(
        first, default_script, ALICE, server_keys)


def test_an_altered_forged_or_someone_elses_button_does_not_verify(
    default_script: Script, server_keys: ServerKeys,
) -> None:
    token = carry(before_consent(default_script), default_script, ALICE, server_keys)
    assert token is not None
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for at in range(1, len(token)):
        other = alphabet[(alphabet.index(token[at]) + 1) % len(alphabet)]
        altered = token[:at] + other + token[at + 1:]
        assert carried(altered, default_script, ALICE, server_keys) is None, at
    for shorter in (token[:-1], token[:-4], token[:12], "~", ""):
        assert carried(shorter, default_script, ALICE, server_keys) is None
    forged = "~" + secrets.token_urlsafe(len(token))[:len(token) - 1]
    assert carried(forged, default_script, ALICE, server_keys) is None
    assert carried(token, default_script, BOB, server_keys) is None, "someone else's"
    elsewhere = ServerKeys.from_secret(b"another deployment's secret!" * 2)
    assert carried(token, default_script, ALICE, elsewhere) is None
    other_languages = dataclasses.replace(default_script,
                                          languages=default_script.languages[::-1])
    assert carried(token, other_languages, ALICE, server_keys) is None, "another script"
    assert carried(token, default_script, ALICE, server_keys) is not None


def test_only_a_conversation_before_consent_that_fits_is_carried(
    default_script: Script, server_keys: ServerKeys,
) -> None:
    state = before_consent(default_script)
    for not_carried in (state.evolve(phase=Phase.NEW), state.evolve(phase=Phase.QUESTIONS),
                        state.evolve(phase=Phase.DONE), state.evolve(campaign="x" * 30),
                        state.evolve(seq=0x10000), state.evolve(sid="not-eight"),
                        state.evolve(language="xx"), state.evolve(overlay=Overlay.REMINDER)):
        assert carry(not_carried, default_script, ALICE, server_keys) is None


def test_every_field_of_the_state_is_carried_or_known_not_to_need_it() -> None:
    fields = {f.name for f in dataclasses.fields(SessionState)}
    decided = (button_state.CARRIED_FIELDS | button_state.EMPTY_BEFORE_CONSENT
               | button_state.CALLERS_FIELDS)
    assert fields == decided, "a new SessionState field needs a decision in bot/button_state.py"


def test_a_state_with_anything_of_the_questionnaire_is_not_carried(
    default_script: Script, server_keys: ServerKeys,
) -> None:
    state = before_consent(default_script)
    for name, value in (("current", "sector"), ("history", ("sector",)),
                        ("remembered", {"sector": ("care",)}), ("pending", ("care",)),
                        ("reminder_pending", True), ("reminded", True),
                        ("reminder_offered", True), ("heard_at", T0)):
        assert name in button_state.EMPTY_BEFORE_CONSENT
        assert carry(state.evolve(**{name: value}), default_script, ALICE, server_keys) is None


async def test_someone_who_asked_for_reminders_before_is_carried_too(
    default_script: Script, server_keys: ServerKeys,
) -> None:
    """The count of reminders asked comes from the person's profile at each event (it
    outlives sessions), so a person consenting again is carried like anyone else."""
    state = before_consent(default_script).evolve(reminders_asked=1)
    assert carry(state, default_script, ALICE, server_keys) is not None


async def test_one_worker_on_sqlite_draws_the_engines_own_buttons(
    mini_script: Script, orchestrator_for: OrchestratorFactory,
) -> None:
    """A single worker keeps the conversation before consent in memory only, as ever."""
    from bot import outbound as out
    from bot.engine import Start

    bot = orchestrator_for(mini_script)
    assert not bot.store.shared
    replies = await bot.handle("test", "1", Start(campaign=None))
    prompts = [r for r in replies if isinstance(r, out.Prompt)]
    assert prompts and not any(button_state.is_carried(p.token) for p in prompts)
