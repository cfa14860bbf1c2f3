"""The offer after a quiet while, from the bot as `make run` starts it (`testimony-bot run`
with a Telegram token, polling): the job beside retention and the reminders finds a person
who went quiet mid-questionnaire and offers once, with nobody calling it from a test."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from storage.keys import KeyPair
from storage.server_keys import ServerKeys
from storage.store import Store
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.updates import TgUser, UpdateFactory
from tests.telegram_support import run_env, run_until

NOOR = TgUser(8_100_200_404, "Noor", language_code="en")
OFFER = "Would you like one reminder to continue later?"


def a_zone_at_noon() -> str:
    """A fixed-offset zone where it is about noon now: the offer keeps the quiet hours
    (21:00-08:00 where the link is handed out), and the test runs at any hour."""
    offset = 12 - datetime.now(UTC).hour  # -11 .. +12, all of them real Etc zones
    return "Etc/GMT" + (f"{-offset:+d}" if offset else "")


async def test_the_running_bot_offers_once_to_someone_who_went_quiet(
        api: FakeBotApi, tmp_path: Path) -> None:
    pair, secret = KeyPair.generate(), "ab" * 32
    db = tmp_path / "data" / "testimonies.db"
    store = await Store.open(db, [pair.public],
                             ServerKeys.from_secret(bytes.fromhex(secret)))
    link = await store.links.create(campaign="c", partner="p", region="r",
                                    now=datetime.now(UTC), timezone=a_zone_at_noon())
    await store.close()

    env = run_env(api, tmp_path / "data", pair, secret,
                  REMINDER_OFFER_AFTER="0.0005")  # hours: 1.8 seconds of silence
    updates = UpdateFactory(api)
    seen = 0

    async def answered() -> None:
        nonlocal seen
        while len(api.sent_texts(NOOR.id)) <= seen:  # noqa: ASYNC110 - the fake
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)  # the whole reply (a question comes last)
        seen = len(api.sent_texts(NOOR.id))

    async def quiet_after_consent() -> None:
        while not api.calls_to("getUpdates"):  # noqa: ASYNC110 - the fake is in this loop
            await asyncio.sleep(0.05)
        api.push_update(updates.text(NOOR, f"/start {link.code}"))
        await answered()
        while True:  # the language, then every consent item: yes
            message = [m for m in api.messages(NOOR.id) if m.get("reply_markup")][-1]
            buttons = [b for row in message["reply_markup"]["inline_keyboard"] for b in row]
            chosen = next((b for b in buttons if b["text"].endswith("English")
                           or b["text"].startswith("Yes")), None)
            if chosen is None:
                break  # the first question of the questionnaire
            api.push_update(updates.callback(NOOR, message["message_id"],
                                             chosen["callback_data"]))
            await answered()
        # She says nothing more; the job notices within a quarter of the quiet time.
        while OFFER not in api.sent_texts(NOOR.id):  # noqa: ASYNC110 - the fake
            await asyncio.sleep(0.1)
        await asyncio.sleep(2)  # more quiet spells: still one offer

    status, _, err = await run_until(tmp_path, env, quiet_after_consent)
    assert status == 0, err.decode()[-2000:]
    assert api.sent_texts(NOOR.id).count(OFFER) == 1
