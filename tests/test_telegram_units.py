"""The channel's small pure parts, and its ledger on a real database: callback data, typed
codes, splitting long texts, keyboards, photo scrubbing, update reading, the flood bucket."""

from __future__ import annotations

import io
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image

from bot import outbound as out
from bot.channels.common.codec import (
    MAX_CALLBACK_BYTES,
    decode_callback,
    encode_callback,
)
from bot.channels.common.flood import FloodLimits, TokenBucket
from bot.channels.common.inbound import Ignored, Said
from bot.channels.common.media import PhotoError, strip_photo
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
from bot.links.codes import typed_code
from storage.ledger import ChannelLedger
from storage.server_keys import ServerKeys
from storage.store import Changes, ConsentIn, Store
from tests.conftest import T0
from tests.telegram_support import jpeg_with_metadata


# -- callback data and codes ----------------------------------------------------------------
def test_callback_data_round_trips_and_always_fits() -> None:
    longest = "A" * 24 + "." + "9" * 9  # the largest token the codec accepts
    data = encode_callback(longest, 99)
    assert len(data.encode()) <= MAX_CALLBACK_BYTES
    press = decode_callback(data)
    assert press is not None and (press.token, press.position) == (longest, 99)
    assert decode_callback(encode_callback("x-Y_z1.3", 0)) is not None


@pytest.mark.parametrize("data", [None, "", "tok:1", "a.1", "a.1:", "a.1:x", "a.1:100",
                                  "a b.1:1", "a.1:1\n", "é.1:1", "a.1:1:2", "x" * 65])
def test_malformed_callback_data_decodes_to_nothing(data: str | None) -> None:
    assert decode_callback(data) is None


@pytest.mark.parametrize(("text", "code"), [
    ("wimn26", "wimn26"), ("  start   KL-07 ", "KL-07"), ("/START abc", "abc"),
    ("start: x_1", "x_1"), ("Hello", None), ("yes", None), ("42", None), ("ab1", None),
    ("two words1", None), ("start", None), ("wimn26!", None), ("a" * 64 + "1", None),
])
def test_typed_codes(text: str, code: str | None) -> None:
    assert typed_code(text) == code


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


# -- photos ---------------------------------------------------------------------------------
def test_photos_lose_every_piece_of_metadata_and_stay_upright() -> None:
    original = jpeg_with_metadata()
    clean = strip_photo(original)
    for secret in (b"SecretPhoneMaker", b"bakery", b"48.85", b"TRAILING", b"Exif"):
        assert secret not in clean
    with Image.open(io.BytesIO(clean)) as image:
        assert image.format == "JPEG" and image.size == (20, 40)  # turned as the phone showed
        assert not image.getexif() and "comment" not in image.info


def test_images_sent_as_files_are_re_encoded_too() -> None:
    buffer = io.BytesIO()
    Image.new("RGBA", (10, 10)).save(buffer, format="PNG")
    with Image.open(io.BytesIO(strip_photo(buffer.getvalue()))) as image:
        assert image.format == "JPEG"


@pytest.mark.parametrize("data", [b"", b"not an image", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40])
def test_unreadable_images_are_refused(data: bytes) -> None:
    with pytest.raises(PhotoError):
        strip_photo(data)


def test_a_decompression_bomb_is_refused() -> None:
    buffer = io.BytesIO()
    Image.new("1", (12_000, 12_000)).save(buffer, format="PNG")  # 144 Mpx, tiny file
    with pytest.raises(PhotoError):
        strip_photo(buffer.getvalue())


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


# -- flood bucket ---------------------------------------------------------------------------
def test_the_bucket_lets_a_burst_through_then_paces() -> None:
    now = [0.0]
    bucket = TokenBucket(FloodLimits(burst=3, per_second=2.0), clock=lambda: now[0])
    assert [bucket.take() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take() == pytest.approx(0.5)
    assert bucket.take() == pytest.approx(1.0)  # queued behind the one before
    now[0] = 10.0
    assert bucket.take() == 0.0 and bucket.refilled(20.0)


# -- the ledger -----------------------------------------------------------------------------
async def test_the_ledger_keeps_update_ids_and_only_consented_message_ids(
        db_path: Path, store: Store, server_keys: ServerKeys) -> None:
    ledger = ChannelLedger(store, server_keys, flush_interval=0.01)
    await ledger.start(T0)
    tag = ledger.claim("77", T0)
    assert tag is not None and ledger.claim("77", T0) is None
    ledger.handled(tag, T0)
    person = server_keys.pseudonym("telegram", "5")
    ledger.track(person, [("1", T0), ("2", T0)])
    await ledger.flush()
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT count(*) FROM channel_messages").fetchone()[0] == 0
        stored = [bytes(r[0]) for r in conn.execute("SELECT tag FROM channel_updates")]
    assert stored == [tag] and b"77" not in tag  # a keyed tag, not the id
    await store.apply(Changes(person, T0.date(), T0, consent=ConsentIn("v", "en", T0, {})))
    ledger.track(person, [("3", T0)])
    assert [m for m, _ in await ledger.tracked(person, T0)] == ["1", "2", "3"]  # waited, then kept
    assert await ledger.tracked(person, T0 + timedelta(hours=49)) == []
    ledger.forget(person)
    assert await ledger.tracked(person, T0) == []
    await ledger.close()

    reopened = ChannelLedger(store, server_keys)
    await reopened.start(T0 + timedelta(hours=1))
    assert reopened.claim("77", T0) is None  # survives a restart
    await reopened.close()
    later = ChannelLedger(store, server_keys)
    # Telegram stops redelivering after 24 h; the database keeps days, so a tag is kept
    # until its whole day is over that.
    await later.start(T0 + timedelta(hours=50))
    assert later.claim("77", T0) is not None
    await later.close()


# -- the orchestrator's saved state (rewritten for speed in this issue) ---------------------
def test_saved_working_state_round_trips_and_reads_rows_of_the_old_form() -> None:
    import json

    from bot.engine.state import Overlay, Phase, SessionState
    from bot.orchestrator import _Session

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
