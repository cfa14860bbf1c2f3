"""Saved working states survive upgrades: versioned, older forms read, damage met kindly."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from bot import outbound as out
from bot.engine import Script, TextIn
from bot.engine.state import Overlay, Phase, SessionState
from bot.engine.state_codec import STATE_VERSION, UnreadableState, decode_state, encode_state
from bot.orchestrator import STATE_UNREADABLE, Orchestrator, _Session
from storage.server_keys import ServerKeys
from storage.store import Changes, Store
from tests.conftest import T0, OrchestratorFactory
from tests.test_store import Person, texts

STATES = Path(__file__).resolve().parent / "data" / "state"

# What tests/data/state/session-unversioned.json holds: written by the code before saved
# states had a version (the "previous version" every running deployment has on disk).
UNVERSIONED = SessionState(
    sid="Zx9-ab", phase=Phase.QUESTIONS, language="ar", campaign="imrf-2022", consent_step=2,
    consent_answers={"take_part": True, "adult": True, "quote": False}, current="sector",
    history=("gender", "age_band", "themes"), remembered={"themes": ("wages", "care")},
    pending=("domestic",), seq=9, paused=True, overlay=Overlay.LANGUAGE,
    counted=("opened", "language_chosen", "consented", "theme_answered"))


def test_a_state_saved_before_versions_is_read() -> None:
    session = _Session.from_bytes((STATES / "session-unversioned.json").read_bytes())
    assert session.seen == ("u101", "u102")
    # Its open language detour took number 9: the buttons on the person's screen still work.
    assert session.state == UNVERSIONED.evolve(overlay_seq=9)
    assert session.state.token == "Zx9-ab.9"


def test_the_saved_form_has_a_version_and_round_trips() -> None:
    raw = _Session(UNVERSIONED, ("m1",)).to_bytes()
    assert json.loads(raw)["version"] == STATE_VERSION
    again = _Session.from_bytes(raw)
    assert (again.state, again.seen) == (UNVERSIONED, ("m1",))


def test_missing_fields_take_defaults_and_unknown_fields_are_ignored() -> None:
    saved = json.loads(encode_state(UNVERSIONED))
    del saved["state"]["counted"], saved["state"]["pending"], saved["state"]["paused"]
    saved["state"]["a_field_from_a_newer_version"] = {"anything": [1, 2]}
    saved["version"] = STATE_VERSION + 1
    state, extras = decode_state(json.dumps(saved).encode())
    assert state == UNVERSIONED.evolve(counted=(), pending=(), paused=False)
    assert extras == {}


def test_a_version_4_state_reads_as_no_offer_made_yet() -> None:
    """Before version 5 a state did not say whether a reminder was offered in the session."""
    waiting = UNVERSIONED.evolve(overlay=Overlay.REMINDER, reminder_options=("1", "3"),
                                 reminders_asked=1)
    saved = json.loads(encode_state(waiting))
    del saved["state"]["reminder_offered"]
    saved["version"] = 4
    state, _ = decode_state(json.dumps(saved).encode())
    assert state == waiting and not state.reminder_offered


def test_a_version_5_state_reads_as_not_known_when_the_person_last_wrote() -> None:
    """Before version 6 a state did not say when the person last wrote (kept only where
    several workers share the database); now it does, to the second and with its offset."""
    heard = UNVERSIONED.evolve(overlay=None, heard_at=T0)
    saved = json.loads(encode_state(heard))
    assert saved["state"]["heard_at"] == "2026-11-02T09:30:00+00:00"
    assert decode_state(json.dumps(saved).encode())[0] == heard
    del saved["state"]["heard_at"]
    saved["version"] = 5
    state, _ = decode_state(json.dumps(saved).encode())
    assert state == heard.evolve(heard_at=None)


@pytest.mark.parametrize("when", ["2026-11-02T09:30:00", "yesterday", 1764927000, True])
def test_a_time_without_an_offset_or_not_a_time_is_damage(when: object) -> None:
    saved = json.loads(encode_state(UNVERSIONED))
    saved["state"]["heard_at"] = when
    with pytest.raises(UnreadableState, match="heard_at"):
        decode_state(json.dumps(saved).encode())


def test_the_first_form_a_bare_object_is_read() -> None:
    paused = UNVERSIONED.evolve(overlay=None)
    fields = json.loads(encode_state(paused))["state"]
    assert decode_state(json.dumps(fields).encode()) == (paused, {})


@pytest.mark.parametrize("raw", [
    b"", b"\xff\xfe", b"[]", b'{"version": 2}', b'{"state": {"phase": "new"}}',
    b'{"state": {"sid": "a", "phase": "nonsense"}}', b'{"state": {"sid": "a", "seq": "7"}}',
    b'{"state": {"sid": "a", "paused": 1}}', b'{"state": {"sid": "a", "history": "abc"}}',
    b'{"state": "{not json"}',
])
def test_damaged_states_are_recognised(raw: bytes) -> None:
    with pytest.raises(UnreadableState):
        decode_state(raw)


async def test_an_unreadable_state_starts_the_person_again_once_kindly(
        orchestrator_for: OrchestratorFactory, mini_script: Script, store: Store,
        server_keys: ServerKeys) -> None:
    orchestrator: Orchestrator = orchestrator_for(mini_script)
    person = Person(orchestrator)
    await person.consent()
    respondent = server_keys.pseudonym("test", person.user)
    # A state no version of the code can read (as after a damaged disk or a bad upgrade).
    await store.apply(Changes(respondent=respondent, today=date(2026, 11, 2), now=T0,
                              state=b'{"version": 2, "state": {"sid": 7}}'))
    fresh = Person(orchestrator_for(mini_script))  # a restarted bot: nothing in memory

    first = await fresh.send(TextIn("hello?"))
    assert first[0] == out.Message(STATE_UNREADABLE.msgid)
    assert isinstance(first[-1], out.Prompt)  # begun again: the consent questions
    assert (await store.status(respondent)).state is None  # the unreadable row is gone

    second = await fresh.send(TextIn("hello?"))
    assert STATE_UNREADABLE.msgid not in texts(second)
    later = Person(orchestrator_for(mini_script))  # and after another restart too
    assert STATE_UNREADABLE.msgid not in texts(await later.send(TextIn("hello?")))


def test_saved_working_state_round_trips_and_reads_rows_of_the_old_form() -> None:
    state = SessionState(sid="Ab3_x-9Z", phase=Phase.QUESTIONS, language="sw",
                         campaign="wimn26", consent_step=2, consent_answers={"quote": False},
                         current="themes", history=("gender", "age_band"),
                         remembered={"themes": ("wages", "health")}, pending=("wages",),
                         seq=12, paused=True, overlay=Overlay.LANGUAGE, counted=("opened",))
    again = _Session.from_bytes(_Session(state, ("m1", "c2")).to_bytes())
    assert (again.state, again.seen) == (state, ("m1", "c2"))
    fields = json.loads(_Session(state, ()).to_bytes())["state"]
    old_form = json.dumps({"state": json.dumps(fields), "seen": ["m1"]}).encode()
    assert _Session.from_bytes(old_form).state == state.evolve(overlay_seq=state.seq)
