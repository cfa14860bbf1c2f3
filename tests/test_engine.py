"""Scripted conversations with the pure engine: every command and every bad-input case."""

from __future__ import annotations

import dataclasses

import pytest

from bot.engine import (
    Ask,
    CancelReminder,
    ChoiceAnswer,
    ChoiceIn,
    Completed,
    Count,
    DropAnswer,
    EndSession,
    Erase,
    MediaAnswer,
    MediaIn,
    MediaRef,
    Notice,
    NumberAnswer,
    Quiet,
    RecordConsent,
    Repeat,
    Say,
    ScheduleReminder,
    Script,
    SessionState,
    Settle,
    StoreAnswer,
    TextAnswer,
    Unsupported,
    WipeChat,
)
from bot.engine import messages as msg
from bot.engine.actions import DONE_KEY, SKIP_KEY
from bot.engine.state import Phase
from bot.engine.state_codec import decode_state, encode_state
from tests.conftest import T0
from tests.conversation import Conversation, asked, of_type, said

VOICE = MediaRef("voice", "file-1", "audio/ogg", size=2048, duration=12)


def consented(script: Script) -> Conversation:
    convo = Conversation(script)
    convo.agree_to_all()
    return convo


def test_nothing_is_asked_or_stored_before_consent(mini_script: Script) -> None:
    convo = Conversation(mini_script)
    first = convo.start(campaign="imrf-2022")
    assert said(first) == ["Please read: we keep answers sealed."]
    assert asked(first) == ["Do you agree to take part?"]
    assert of_type(first, Count) == [Count("opened"), Count("language_chosen")]
    convo.press("yes")
    convo.press("yes")
    before = [a for _, acts in convo.history for a in acts
              if isinstance(a, StoreAnswer | RecordConsent)]
    assert before == []
    last = convo.press("no")  # quote: optional, so "no" still takes part
    consent = of_type(last, RecordConsent)
    assert consent == [RecordConsent("c-7", "en", T0, {"take_part": True, "adult": True,
                                                       "quote": False})]
    assert asked(last) == ["sector"]
    assert convo.state is not None and convo.state.campaign == "imrf-2022"


def test_the_chat_app_and_contact_texts_follow_the_intro(mini_script: Script) -> None:
    consent = dataclasses.replace(mini_script.consent, chat_app="Telegram sees this chat.",
                                  contact="Ask whoever gave you the link.")
    first = Conversation(dataclasses.replace(mini_script, consent=consent)).start()
    says = [a.text for a in first if isinstance(a, Say)]
    assert [(t.context, t.msgid) for t in says] == [
        ("consent:intro", consent.intro), ("consent:chat_app", "Telegram sees this chat."),
        ("consent:contact", "Ask whoever gave you the link.")]
    assert asked(first) == ["Do you agree to take part?"]


@pytest.mark.parametrize(("item", "expected"), [(0, msg.DECLINED), (1, msg.UNDER_AGE)])
def test_declining_or_under_age_ends_politely_keeping_only_a_counter(
    mini_script: Script, item: int, expected: object
) -> None:
    convo = Conversation(mini_script)
    convo.start()
    for _ in range(item):
        convo.press("yes")
    actions = convo.press("no")
    assert said(actions) == [expected.msgid]  # type: ignore[attr-defined]
    assert of_type(actions, Count) == [Count("declined" if item == 0 else "under_age")]
    assert of_type(actions, EndSession) == [EndSession()]
    assert convo.state is None
    everything = [a for _, acts in convo.history for a in acts]
    assert not [a for a in everything if isinstance(a, StoreAnswer | RecordConsent)]


def test_full_walk_with_condition_number_testimony_and_text(mini_script: Script) -> None:
    convo = consented(mini_script)
    assert asked(convo.press("care")) == ["themes"]
    toggled = convo.press("wages")
    assert of_type(toggled, Ask)[0].refresh is True
    assert [o.key for o in of_type(toggled, Ask)[0].options if o.selected] == ["wages"]
    after_done = convo.press(DONE_KEY)
    assert said(after_done) == ["About wages"]  # the section title, once
    assert asked(after_done) == ["months_unpaid"]
    assert asked(convo.text(" 4 ")) == ["wages_story"]
    after_voice = convo.send(MediaIn(VOICE))
    assert said(after_voice) == [msg.RECEIVED.msgid]  # acknowledged before the next question
    assert asked(after_voice) == ["recommendation"]
    end = convo.text("Papers for all workers")
    assert said(end) == ["Thank you, all done.", "Stay safe."]
    assert Completed() in end and Count("completed") in end and EndSession() in end
    assert convo.state is None
    assert [(s.question_id, s.value) for s in convo.stored()] == [
        ("sector", ChoiceAnswer(("care",))),
        ("themes", ChoiceAnswer(("wages",))),
        ("months_unpaid", NumberAnswer(4)),
        ("wages_story", MediaAnswer(VOICE)),
        ("recommendation", TextAnswer("Papers for all workers")),
    ]
    assert {s.language for s in convo.stored()} == {"en"}
    assert {(s.flow_id, s.flow_version) for s in convo.stored()} == {("mini", "3")}
    counted = [a for _, acts in convo.history for a in acts if isinstance(a, Count)]
    assert [c.metric for c in counted].count("theme_answered") == 1


def test_condition_not_met_skips_the_section(mini_script: Script) -> None:
    convo = consented(mini_script)
    convo.press("farm")
    convo.press("health")
    assert asked(convo.press(DONE_KEY)) == ["recommendation"]


def test_skip_optional_and_refuse_to_skip_required(mini_script: Script) -> None:
    convo = consented(mini_script)
    refused = convo.command("skip")
    assert said(refused) == [msg.CANNOT_SKIP.msgid] and asked(refused) == ["sector"]
    convo.press("care")
    skipped = convo.press(SKIP_KEY)
    assert DropAnswer("themes") in skipped
    assert Settle(convo.history[-2][1][-1].token, (msg.SKIPPED,)) in skipped  # type: ignore[union-attr]
    assert asked(skipped) == ["recommendation"]  # no theme chosen: wages section hidden


def test_back_goes_to_previous_question_and_replaces_the_answer(mini_script: Script) -> None:
    convo = consented(mini_script)
    first = convo.command("back")
    assert said(first) == [msg.NOTHING_BEFORE.msgid] and asked(first) == ["sector"]
    convo.press("care")
    back = convo.command("back")
    assert said(back) == [msg.GOING_BACK.msgid] and asked(back) == ["sector"]
    convo.press("farm")
    assert [s.value for s in convo.stored() if s.question_id == "sector"] == [
        ChoiceAnswer(("care",)), ChoiceAnswer(("farm",))]


def test_stop_pauses_and_any_message_resumes_where_left(mini_script: Script) -> None:
    convo = consented(mini_script)
    convo.press("care")
    paused = convo.command("stop")
    assert said(paused) == [msg.PAUSED.msgid]
    assert convo.state is not None and convo.state.paused
    resumed = convo.text("hello again")
    assert said(resumed)[0] == msg.RESUMED.msgid
    assert said(resumed)[1] == "You have answered {count} question so far."
    assert asked(resumed) == ["themes"]
    assert not of_type(resumed, StoreAnswer)  # "hello again" is not taken as an answer


def test_start_again_resumes_and_never_resets(mini_script: Script) -> None:
    convo = consented(mini_script)
    convo.press("care")
    again = convo.start(campaign="other-code")
    assert asked(again) == ["themes"]
    assert convo.state is not None and convo.state.phase is Phase.QUESTIONS


def test_language_can_change_midway_and_answers_stay(translator: object) -> None:
    from tests.conftest import TEST_FLOWS, make_script

    script = make_script(translator, TEST_FLOWS / "mini.toml",  # type: ignore[arg-type]
                         TEST_FLOWS / "consent.toml", ("en", "ar"))
    convo = Conversation(script)
    first = convo.start(hint="ar")
    picker = of_type(first, Ask)[0]
    assert [(o.key, o.selected) for o in picker.options] == [("en", False), ("ar", True)]
    convo.press("ar")
    convo.press("yes")
    convo.press("yes")
    convo.press("yes")
    convo.press("care")
    switch = convo.command("language")
    assert asked(switch) == [msg.CHANGE_LANGUAGE.msgid]
    back_to_question = convo.press("en")
    assert said(back_to_question) == [msg.LANGUAGE_SET.msgid]
    assert asked(back_to_question) == ["themes"]
    convo.press("health")
    convo.press(DONE_KEY)
    assert [s.language for s in convo.stored()] == ["ar", "en"]


def test_delete_needs_confirmation(mini_script: Script) -> None:
    convo = consented(mini_script)
    convo.press("care")
    confirm = convo.command("delete")
    assert asked(confirm) == [msg.DELETE_CONFIRM.msgid]
    kept = convo.press("no")
    assert said(kept) == [msg.NOT_DELETED.msgid] and asked(kept) == ["themes"]
    convo.command("delete")
    erased = convo.press("yes")
    assert Erase() in erased and Count("deleted") in erased and EndSession() in erased
    assert said(erased) == [msg.DELETED.msgid]
    assert convo.state is None


def test_delete_before_consent_has_nothing_to_delete(mini_script: Script) -> None:
    convo = Conversation(mini_script)
    convo.start()
    actions = convo.command("delete")
    assert said(actions) == [msg.NOTHING_STORED.msgid]
    assert not of_type(actions, Erase)


def test_help_explains_and_asks_again(mini_script: Script) -> None:
    convo = consented(mini_script)
    actions = convo.command("help")
    assert said(actions) == [msg.HELP.msgid] and asked(actions) == ["sector"]


def test_exit_wipes_the_chat_and_forgets_the_session(mini_script: Script) -> None:
    convo = consented(mini_script)
    convo.press("care")
    actions = convo.command("exit")
    assert of_type(actions, WipeChat) == [WipeChat()]
    assert of_type(actions, EndSession) == [EndSession()]
    assert said(actions) == [msg.EXITED.msgid]
    assert convo.state is None


def test_unknown_command(mini_script: Script) -> None:
    convo = consented(mini_script)
    assert said(convo.command("frobnicate")) == [msg.UNKNOWN_COMMAND.msgid]


def test_stale_and_forged_buttons(mini_script: Script) -> None:
    convo = consented(mini_script)
    old_token = convo.last_ask.token
    convo.press("care")
    stale = convo.send(ChoiceIn(old_token, "farm"))
    assert stale == (Notice(msg.STALE_BUTTON),)
    other_session = convo.send(ChoiceIn("XX.3", "wages"))
    assert other_session == (Notice(msg.STALE_BUTTON),)
    before = convo.state
    forged = convo.press("no_such_choice")
    assert forged == () and convo.state == before


def test_text_where_a_button_is_expected_reprompts(mini_script: Script) -> None:
    convo = consented(mini_script)
    actions = convo.text("care work")
    assert said(actions) == [msg.CHOOSE_BUTTON_REQUIRED.msgid] and asked(actions) == ["sector"]
    assert not of_type(actions, StoreAnswer)


@pytest.mark.parametrize(
    ("typed", "reply"),
    [("lots", msg.NUMBER_RANGE.msgid), ("500", msg.NUMBER_RANGE.msgid),
     ("-1", msg.NUMBER_RANGE.msgid)],
)
def test_number_bad_input(mini_script: Script, typed: str, reply: str) -> None:
    convo = consented(mini_script)
    convo.press("care")
    convo.press("wages")
    convo.press(DONE_KEY)
    actions = convo.text(typed)
    assert said(actions) == [reply]
    assert not of_type(actions, StoreAnswer)
    assert convo.state is not None and convo.state.current == "months_unpaid"


def test_number_in_other_scripts(mini_script: Script) -> None:
    convo = consented(mini_script)
    convo.press("care")
    convo.press("wages")
    convo.press(DONE_KEY)
    convo.text("١٢")  # Arabic-Indic digits
    assert convo.stored()[-1].value == NumberAnswer(12)


def test_text_bad_input(mini_script: Script) -> None:
    convo = consented(mini_script)
    convo.press("care")
    convo.press(SKIP_KEY)
    assert said(convo.text(" \x00 \n ")) == [msg.EMPTY_TEXT.msgid]
    too_long = convo.text("x" * 51)
    assert said(too_long) == [msg.TOO_LONG.msgid]
    assert not of_type(too_long, StoreAnswer)
    convo.text("free\x00 papers")
    assert convo.stored()[-1].value == TextAnswer("free papers")


def test_media_and_unsupported_kinds(mini_script: Script) -> None:
    convo = consented(mini_script)
    on_button = convo.send(MediaIn(VOICE))
    assert said(on_button) == [msg.CHOOSE_BUTTON_REQUIRED.msgid]
    convo.press("care")
    convo.press(SKIP_KEY)
    on_text = convo.send(MediaIn(VOICE))
    assert said(on_text) == [msg.WRITE_PLEASE.msgid]
    assert said(convo.send(Unsupported("sticker"))) == [msg.UNSUPPORTED.msgid]
    assert said(convo.send(Unsupported("contact"))) == [msg.UNSUPPORTED_CONTACT.msgid]
    assert convo.stored()[-1].question_id == "sector"


def test_media_before_consent_is_not_kept(mini_script: Script) -> None:
    convo = Conversation(mini_script)
    convo.start()
    actions = convo.send(MediaIn(VOICE))
    assert not of_type(actions, StoreAnswer)
    assert asked(actions) == ["Do you agree to take part?"]


def test_multi_done_without_a_choice_is_refused_kindly(mini_script: Script) -> None:
    convo = consented(mini_script)
    convo.press("care")
    assert convo.press(DONE_KEY) == (Notice(msg.CHOOSE_AT_LEAST_ONE),)


def test_after_finishing(mini_script: Script) -> None:
    convo = Conversation(mini_script)
    convo.state = SessionState(sid="S2", phase=Phase.DONE, language="en")
    assert said(convo.text("hi")) == [msg.ALREADY_DONE.msgid]
    assert said(convo.start()) == [msg.ALREADY_DONE.msgid]
    confirm = convo.command("delete")
    assert asked(confirm) == [msg.DELETE_CONFIRM.msgid]
    assert Erase() in convo.press("yes")


def test_state_survives_a_json_round_trip(mini_script: Script) -> None:
    convo = consented(mini_script)
    convo.press("care")
    convo.press("wages")
    assert convo.state is not None
    assert decode_state(encode_state(convo.state)) == (convo.state, {})


def test_only_choices_needed_for_conditions_are_remembered(mini_script: Script) -> None:
    convo = consented(mini_script)
    convo.press("care")
    convo.press("wages")
    convo.press(DONE_KEY)
    assert convo.state is not None
    assert dict(convo.state.remembered) == {"themes": ("wages",)}
    assert dataclasses.asdict(convo.state)["remembered"] == {"themes": ("wages",)}


@pytest.mark.parametrize(("typed", "meaning"),
                         [("ｓｋｉｐ", "skip"), ("SKIP", "skip"), ("de\u200blete", "unknown"),
                          ("dele\u202ete", "unknown"), ("delete\u200d", "unknown")])
def test_commands_match_after_nfkc_and_invisible_characters_never_trigger(
    mini_script: Script, typed: str, meaning: str
) -> None:
    from bot.engine import CommandIn

    convo = consented(mini_script)
    convo.press("care")
    actions = convo.send(CommandIn(typed))
    if meaning == "skip":
        assert DropAnswer("themes") in actions
    else:
        assert said(actions) == [msg.UNKNOWN_COMMAND.msgid]
        assert not of_type(actions, Erase) and not asked(actions)


def test_a_first_help_explains_then_starts(mini_script: Script) -> None:
    from bot.engine import CommandIn

    convo = Conversation(mini_script)
    actions = convo.send(CommandIn("help"))
    assert said(actions)[0] == msg.HELP.msgid
    assert asked(actions) == ["Do you agree to take part?"]


def test_repeat_asks_the_current_question_again_and_stores_nothing(mini_script: Script) -> None:
    from bot.engine import Repeat

    convo = consented(mini_script)
    convo.press("care")
    actions = convo.send(Repeat())
    assert asked(actions) == ["themes"]
    assert not of_type(actions, StoreAnswer) and not said(actions)
    assert Conversation(mini_script).send(Repeat()) == ()


def test_every_copy_of_the_open_question_keeps_working(mini_script: Script) -> None:
    convo = consented(mini_script)
    first_copy = convo.last_ask.token
    convo.text("care work")  # typed instead of pressed: the question is asked again
    convo.command("help")  # and again
    assert convo.last_ask.token == first_copy
    actions = convo.send(ChoiceIn(first_copy, "farm"))  # the person scrolls up to the first
    assert Notice(msg.STALE_BUTTON) not in actions
    assert [s.value for s in of_type(actions, StoreAnswer)] == [ChoiceAnswer(("farm",))]
    assert convo.send(ChoiceIn(first_copy, "care")) == (Notice(msg.STALE_BUTTON),)  # now passed


def test_the_question_keeps_its_buttons_through_a_language_change(mini_script: Script) -> None:
    convo = consented(mini_script)
    question = convo.last_ask.token
    convo.command("language")
    picker = convo.last_ask.token
    assert picker != question
    convo.press("en")
    assert convo.last_ask.token == question  # asked again on its own number
    assert of_type(convo.send(ChoiceIn(question, "care")), StoreAnswer)
    assert convo.send(ChoiceIn(picker, "en")) == (Notice(msg.STALE_BUTTON),)


def test_answering_the_question_during_a_detour_ends_the_detour(mini_script: Script) -> None:
    convo = consented(mini_script)
    question = convo.last_ask.token
    convo.command("delete")
    confirm = convo.last_ask.token
    actions = convo.send(ChoiceIn(question, "care"))
    assert actions[0] == Settle(confirm, ())  # the confirmation's buttons go
    assert of_type(actions, StoreAnswer) and not of_type(actions, Erase)
    assert convo.state is not None and convo.state.overlay is None
    assert convo.send(ChoiceIn(confirm, "yes")) == (Notice(msg.STALE_BUTTON),)  # never deletes


def test_a_long_text_is_acknowledged_a_short_one_is_not(mini_script: Script) -> None:
    convo = consented(mini_script)
    convo.press("care")
    convo.press("wages")
    convo.press(DONE_KEY)
    convo.text("4")
    story = "They kept my passport and my pay for months. " * 5
    assert said(convo.text(story)) == [msg.RECEIVED.msgid]
    assert msg.RECEIVED.msgid not in said(convo.text("Papers for all"))  # a short answer


def test_changing_language_midway_does_not_greet_again(mini_script: Script) -> None:
    convo = consented(mini_script)
    assert asked(convo.command("language")) == [msg.CHANGE_LANGUAGE.msgid]
    assert "Hello" not in msg.CHANGE_LANGUAGE.msgid


# -- reminders, only on request --------------------------------------------------------------
def reminding(script: Script, options: tuple[str, ...] = ("1", "3")) -> Conversation:
    """A consented conversation on a channel that can remind (the caller sets the options)."""
    convo = Conversation(script)
    assert convo.state is not None
    convo.state = convo.state.evolve(reminder_options=options)
    convo.agree_to_all()
    return convo


def test_the_pause_offers_one_reminder_and_a_choice_schedules_it(mini_script: Script) -> None:
    convo = reminding(mini_script)
    paused = convo.command("stop")
    assert said(paused) == [msg.PAUSED.msgid] and asked(paused) == [msg.REMINDER_OFFER.msgid]
    assert [o.key for o in convo.last_ask.options] == ["1", "3", "no"]
    chosen = convo.press("3")
    assert of_type(chosen, ScheduleReminder) == [ScheduleReminder(3)]
    assert of_type(chosen, Count) == [Count("reminder_asked")]
    assert said(chosen) == [msg.REMINDER_SET.msgid]
    assert convo.state is not None and convo.state.paused and convo.state.reminder_pending
    back = convo.text("hi")  # the person is back: the reminder is not needed any more
    assert of_type(back, CancelReminder) == [CancelReminder()]
    assert said(back)[0] == msg.RESUMED.msgid and asked(back) == ["sector"]


def test_no_reminder_is_offered_unasked_before_consent_or_where_none_can_go(
        mini_script: Script) -> None:
    convo = Conversation(mini_script)
    convo.start()
    assert convo.state is not None
    convo.state = convo.state.evolve(reminder_options=("1", "3"))
    assert asked(convo.command("stop")) == []  # before consent: nothing to come back to
    plain = consented(mini_script)  # a channel that cannot remind (the terminal)
    assert asked(plain.command("stop")) == []
    declined = reminding(mini_script)
    declined.command("stop")
    answered = declined.press("no")
    assert not of_type(answered, ScheduleReminder) and said(answered) == []
    assert declined.state is not None and declined.state.paused


def test_at_most_two_reminders_and_only_the_options_the_channel_can_send(
        mini_script: Script) -> None:
    convo = reminding(mini_script, ("1",))
    for _ in range(2):
        convo.command("stop")
        assert [o.key for o in convo.last_ask.options] == ["1", "no"]
        convo.press("1")
        convo.text("back again")
    assert asked(convo.command("stop")) == []


def test_a_reminder_that_brought_someone_back_is_counted_once(mini_script: Script) -> None:
    convo = reminding(mini_script)
    convo.command("stop")
    convo.press("1")
    assert convo.state is not None
    convo.state = convo.state.evolve(reminder_pending=False, reminded=True)  # the job sent it
    back = convo.text("hello")
    assert of_type(back, Count) == [Count("reminder_continued")]
    assert not of_type(back, CancelReminder)
    assert convo.state is not None and not convo.state.reminded


def test_a_repeated_event_keeps_a_pending_reminder(mini_script: Script) -> None:
    convo = reminding(mini_script)
    convo.command("stop")
    convo.press("3")
    assert not of_type(convo.send(Repeat()), CancelReminder)
    assert convo.state is not None and convo.state.reminder_pending


# -- a quiet while mid-questionnaire: the one offer made unasked ----------------------------
def test_a_quiet_while_offers_one_reminder_once_per_session(mini_script: Script) -> None:
    convo = reminding(mini_script)
    offered = convo.send(Quiet())
    assert asked(offered) == [msg.REMINDER_OFFER.msgid] and said(offered) == []
    assert [o.key for o in convo.last_ask.options] == ["1", "3", "no"]
    assert not of_type(offered, Count) and not of_type(offered, CancelReminder)
    assert convo.send(Quiet()) == ()  # the offer is open: nothing more
    chosen = convo.press("1")
    assert of_type(chosen, ScheduleReminder) == [ScheduleReminder(1)]
    assert said(chosen) == [msg.REMINDER_SET.msgid]
    assert convo.state is not None and convo.state.paused and convo.state.reminder_pending
    assert convo.send(Quiet()) == ()  # waiting for the reminder
    back = convo.text("hi")
    assert said(back)[0] == msg.RESUMED.msgid and asked(back) == ["sector"]
    assert convo.send(Quiet()) == ()  # once per session, however quiet they go again
    assert convo.state is not None and convo.state.reminders_asked == 1


def test_no_to_a_quiet_offer_brings_the_question_back(mini_script: Script) -> None:
    convo = reminding(mini_script)
    convo.send(Quiet())
    answered = convo.press("no")
    assert not of_type(answered, ScheduleReminder)
    assert asked(answered) == ["sector"]  # no pause: the next message answers it
    assert convo.state is not None and not convo.state.paused
    assert convo.send(Quiet()) == ()
    convo.press("care")
    assert convo.stored()[-1].question_id == "sector"


def test_answering_the_question_instead_closes_a_quiet_offer(mini_script: Script) -> None:
    convo = reminding(mini_script)
    convo.send(Quiet())
    assert convo.state is not None
    offer, question = convo.state.token, convo.state.question_token
    pressed = convo.send(ChoiceIn(question, "care"))  # the question's own button answers
    assert of_type(pressed, Settle)[0] == Settle(offer, ())
    assert convo.stored()[-1].question_id == "sector"
    assert not of_type(pressed, ScheduleReminder)


def test_no_quiet_offer_unless_mid_questionnaire_and_not_yet_offered(
        mini_script: Script) -> None:
    before = Conversation(mini_script)
    before.start()
    assert before.state is not None
    before.state = before.state.evolve(reminder_options=("1", "3"))
    assert before.send(Quiet()) == ()  # before consent
    plain = consented(mini_script)
    assert plain.send(Quiet()) == ()  # a channel that cannot remind
    paused = reminding(mini_script)
    paused.command("stop")
    paused.press("no")  # the pause's offer, answered
    assert paused.send(Quiet()) == ()
    stopped_before = reminding(mini_script)
    stopped_before.command("stop")
    stopped_before.text("I am back")  # the pause's offer left open: offered already
    assert stopped_before.send(Quiet()) == ()
    used_up = reminding(mini_script)
    assert used_up.state is not None
    used_up.state = used_up.state.evolve(reminders_asked=2)  # two chosen before
    assert used_up.send(Quiet()) == ()
    finished = reminding(mini_script)
    finished.press("care")
    finished.press("wages")
    finished.press(DONE_KEY)
    finished.text("3")
    finished.command("skip")
    finished.text("Pay on time.")
    assert finished.state is None  # the session is over: nothing to tick
