"""The channels' shared ledger: what it keeps (keyed update tags, message ids only once a
person consented) and for how long; after migration 0005 rows of a database made with the
Telegram-only tables carry over, marked as Telegram's; WhatsApp's rows stay apart."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

from storage.db import migrate, migrations
from storage.ledger import ChannelLedger
from storage.server_keys import ServerKeys
from storage.store import Changes, ConsentIn, Store
from tests.conftest import T0, schema_at


def test_a_database_with_telegram_tables_upgrades(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    with sqlite3.connect(db, isolation_level=None) as conn:
        schema_at(conn, 4)
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("INSERT INTO respondents (id) VALUES (x'0102')")
        conn.execute("INSERT INTO telegram_updates VALUES (x'aa', '2026-11-01')")
        conn.execute("INSERT INTO telegram_messages VALUES (x'0102', 42, '2026-11-01')")
        assert migrate(conn) == [m.number for m in migrations()[4:]]  # 5 and any later
        assert conn.execute("SELECT channel, tag, seen_on FROM channel_updates").fetchall() == [
            ("telegram", b"\xaa", "2026-11-01")]
        assert conn.execute("SELECT channel, respondent_id, message_id, sent_on "
                            "FROM channel_messages").fetchall() == [
            ("telegram", b"\x01\x02", "42", "2026-11-01")]
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        assert not {t for t in tables if t.startswith("telegram_")}


async def test_channels_keep_their_own_rows(store: Store, server_keys: ServerKeys,
                                            db_path: Path) -> None:
    telegram = ChannelLedger(store, server_keys, 0.01, channel="telegram")
    whatsapp = ChannelLedger(store, server_keys, 0.01, channel="whatsapp")
    for ledger in (telegram, whatsapp):
        await ledger.start(T0)
    tag = whatsapp.claim("wamid.HBgLOTcxNTAxMjM0NTY3FQIAEhg", T0)
    assert tag is not None and telegram.claim("wamid.HBgLOTcxNTAxMjM0NTY3FQIAEhg", T0) != tag
    whatsapp.handled(tag, T0)
    person = server_keys.pseudonym("telegram", "5")
    await store.apply(Changes(person, T0.date(), T0, consent=ConsentIn("v", "en", T0, {})))
    telegram.track(person, [("7", T0), ("12", T0)])
    assert [m for m, _ in await telegram.tracked(person, T0)] == ["7", "12"]
    assert await whatsapp.tracked(person, T0) == []
    for ledger in (telegram, whatsapp):
        await ledger.close()
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT channel, count(*) FROM channel_updates GROUP BY channel"
                            ).fetchall() == [("whatsapp", 1)]
        raw = b"".join(bytes(r[0]) for r in conn.execute("SELECT tag FROM channel_updates"))
    assert b"HBgL" not in raw  # a keyed tag: never the id, whose encoding holds the number
    again = ChannelLedger(store, server_keys, channel="whatsapp")
    await again.start(T0 + timedelta(hours=2))
    assert again.claim("wamid.HBgLOTcxNTAxMjM0NTY3FQIAEhg", T0) is None  # across a restart
    await again.close()


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
