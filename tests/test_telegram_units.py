"""The Telegram channel's small pure parts: splitting long texts (UTF-16 counted), keyboards,
answered questions, reading updates. The parts every channel shares (button data, typed codes,
photo scrubbing, the flood bucket) are in tests/test_channel_common.py, the ledger in
tests/test_channel_ledger.py, saved working states in tests/test_saved_state.py."""

from __future__ import annotations

import pytest

from bot import outbound as out
from bot.channels.common.inbound import Ignored, Said
from bot.channels.telegram.inbound import NotPrivate, read_update
from bot.channels.telegram.render import (
    MAX_TEXT,
    answered_text,
    keyboard,
    split_text,
    utf16_len,
)
from bot.engine import MediaIn, Start, TextIn, Unsupported
from bot.engine.actions import DONE_KEY, SKIP_KEY


# -- rendering ------------------------------------------------------------------------------
def test_long_texts_are_split_within_the_limit_at_paragraphs() -> None:
    paragraph = "Words of a long consent text. " * 40
    text = "\n\n".join([paragraph] * 12) + " 🙂" * 3000  # astral characters count twice
    parts = split_text(text)
    assert len(parts) > 3
    assert all(utf16_len(p) <= MAX_TEXT for p in parts)
    assert "".join(parts).replace(" ", "").replace("\n", "") == \
        text.replace(" ", "").replace("\n", "")
    assert split_text("   ") == ["…"]  # Telegram refuses empty texts


def test_keyboards_mark_choices_and_put_skip_last() -> None:
    prompt = out.Prompt("abc.4", "Pick", (out.Button("wages", "Wages", selected=True),
                                         out.Button(DONE_KEY, "Done")), multi=True,
                        skip_label="Skip")
    board = keyboard(prompt)
    assert board.keys == ("wages", DONE_KEY, SKIP_KEY)
    assert board.markup is not None
    rows = board.markup["inline_keyboard"]
    assert [r[0]["text"] for r in rows] == ["✓ Wages", "Done", "Skip"]
    assert [r[0]["callback_data"] for r in rows] == ["abc.4:0", "abc.4:1", "abc.4:2"]
    assert keyboard(out.Prompt("abc.5", "Tell us")).markup is None


def test_an_answered_question_stays_within_the_limit() -> None:
    assert answered_text("How old?", "25-34") == "How old?\n\n→ 25-34"
    assert utf16_len(answered_text("q" * 4090, "an answer")) <= MAX_TEXT


# -- reading updates ------------------------------------------------------------------------
PRIVATE = {"id": 5, "type": "private", "first_name": "A"}


@pytest.mark.parametrize("update", [
    {}, {"update_id": 1}, {"update_id": 1, "message": None}, {"update_id": 1, "message": []},
    {"update_id": 1, "message": {"chat": "x"}},
    {"update_id": 1, "message": {"chat": {"id": "5", "type": "private"}}},
    {"update_id": 1, "message": {"chat": PRIVATE}},  # no message_id, no content
    {"update_id": 1, "message": {"chat": PRIVATE, "message_id": 3, "date": 1,
                                 "new_chat_title": "x"}},
    {"update_id": 1, "callback_query": {"from": {"id": 5}, "message": {"chat": PRIVATE}}},
    {"update_id": 1, "poll_answer": {"poll_id": "1"}},
])
def test_odd_updates_are_ignored_not_a_crash(update: dict[str, object]) -> None:
    assert isinstance(read_update(update), Ignored)


def message(**content: object) -> dict[str, object]:
    return {"update_id": 9, "message": {"message_id": 3, "date": 1, "chat": PRIVATE,
                                        "from": {"id": 5, "language_code": "sw"}, **content}}


def test_messages_become_engine_events() -> None:
    said = read_update(message(text="/start wimn26"))
    assert isinstance(said, Said) and said.event == Start("wimn26")
    assert said.language_code == "sw" and said.event_id == "m3"
    assert isinstance(read_update(message(text="/start <b>")), Said)
    assert read_update(message(text="/start <b>")).event == Start(None)  # type: ignore[union-attr]
    assert read_update(message(text="/Skip@testimony_bot")).event.name == "skip"  # type: ignore[union-attr]
    assert read_update(message(text="hello")).event == TextIn("hello")  # type: ignore[union-attr]
    voice = read_update(message(voice={"file_id": "v", "duration": 7, "file_size": 9}))
    assert isinstance(voice, Said) and isinstance(voice.event, MediaIn)
    assert (voice.event.media.kind, voice.event.media.duration) == ("voice", 7)
    document = read_update(message(document={"file_id": "d", "mime_type": "image/png"}))
    assert isinstance(document, Said) and isinstance(document.event, MediaIn)
    assert document.event.media.kind == "photo"
    contact = read_update(message(contact={"phone_number": "+33612345678", "user_id": 5}))
    assert isinstance(contact, Said) and contact.event == Unsupported("contact")
    pdf = read_update(message(document={"file_id": "p", "mime_type": "application/pdf"}))
    assert isinstance(pdf, Said) and pdf.event == Unsupported("document")


def test_groups_and_channels_are_not_private() -> None:
    group = {"id": -100, "type": "supergroup", "title": "G"}
    assert isinstance(read_update({"update_id": 1, "message": {
        "message_id": 1, "date": 1, "chat": group, "text": "hi"}}), NotPrivate)
    assert isinstance(read_update({"update_id": 1, "my_chat_member": {
        "chat": group, "new_chat_member": {"status": "left"}}}), Ignored)


