"""Re-sealing rows of schema 1-3 into `records`, once, when the bot starts.

Migration 0004 renames the old tables `legacy_*`: their question ids, languages, campaigns and
times are in clear text, which a seized disk must not show. SQL cannot seal, so the bot does
it here with the researchers' public keys: each old answer becomes a record whose sealed
header names its question and flow and whose body is the old sealed blob, unchanged (the
server cannot open it, and does not need to); consents and completion dates become sealed
records too. The old rows are then deleted (secure_delete overwrites them), the old tables
dropped and the WAL checkpointed. All in one transaction: an interrupted upgrade is redone.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Sequence

from storage import db, payload
from storage.sealing import RecipientKey, seal
from storage.server_keys import ServerKeys

log = logging.getLogger(__name__)

# Children first (foreign keys). Deleting before dropping lets secure_delete overwrite rows.
_FORGET_LEGACY = (
    "DELETE FROM legacy_consent_items", "DROP TABLE legacy_consent_items",
    "DELETE FROM legacy_consents", "DROP TABLE legacy_consents",
    "DELETE FROM legacy_answers", "DROP TABLE legacy_answers",
    "DELETE FROM legacy_respondents", "DROP TABLE legacy_respondents",
)


def pending(conn: sqlite3.Connection) -> bool:
    return bool(conn.execute(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'legacy_respondents'"
    ).fetchone()[0])


def reseal_legacy(conn: sqlite3.Connection, recipients: Sequence[RecipientKey],
                  keys: ServerKeys) -> int:
    """Move every legacy row into sealed records; return how many people were moved."""
    if not pending(conn):
        return 0
    recipients = tuple(recipients)
    # Imported here: the store imports this module, and the profile format is the store's.
    from storage.store import COMPLETED_SLOT, CONSENT_SLOT, PROFILE_PURPOSE, Profile

    rows: list[tuple[bytes, bytes, bytes, bytes]] = []
    profiles: list[tuple[bytes, bytes]] = []

    def add(respondent: bytes, slot: str, header: dict[str, object], body: bytes = b"") -> None:
        record_id = os.urandom(16)
        rows.append((record_id, respondent, keys.slot(respondent, slot),
                     seal(payload.encode(header, body), recipients,
                          payload.record_aad(record_id, respondent))))

    people = conn.execute(
        "SELECT r.id, r.campaign, r.started_on, r.completed_on, c.consent_version, c.language, "
        "c.agreed_at FROM legacy_respondents r "
        "LEFT JOIN legacy_consents c ON c.respondent_id = r.id").fetchall()
    for rid, campaign, started_on, completed_on, version, language, agreed_at in people:
        respondent = bytes(rid)
        if version is not None:
            items = {str(item): bool(agreed) for item, agreed in conn.execute(
                "SELECT item_id, agreed FROM legacy_consent_items WHERE respondent_id = ?",
                (rid,))}
            add(respondent, CONSENT_SLOT, {
                "type": payload.CONSENT, "version": version, "language": language,
                "agreed_at": agreed_at or started_on, "items": items, "campaign": campaign})
        if completed_on is not None:
            add(respondent, COMPLETED_SLOT, {"type": payload.COMPLETED, "at": completed_on})
        for qid, flow_id, flow_version, answered_on, sealed in conn.execute(
            "SELECT question_id, flow_id, flow_version, answered_on, sealed "
            "FROM legacy_answers WHERE respondent_id = ? ORDER BY rowid", (rid,)
        ):
            add(respondent, str(qid), {
                "type": payload.LEGACY_ANSWER, "question_id": qid, "flow_id": flow_id,
                "flow_version": flow_version, "at": answered_on}, bytes(sealed))
        profiles.append((keys.seal_state(respondent, Profile(
            language, completed_on is not None).encode(), PROFILE_PURPOSE), respondent))
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("INSERT OR IGNORE INTO respondents (id) "
                     "SELECT id FROM legacy_respondents")
        conn.executemany("UPDATE respondents SET profile = ? WHERE id = ?", profiles)
        conn.executemany(
            "INSERT OR REPLACE INTO records (id, respondent_id, slot, sealed) "
            "VALUES (?, ?, ?, ?)", rows)
        for statement in _FORGET_LEGACY:
            conn.execute(statement)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    db.vacuum_if_fragmented(conn)
    if not db.checkpoint_sync(conn):
        log.warning("wal_checkpoint_incomplete at=upgrade")
    log.info("legacy_rows_resealed respondents=%d records=%d", len(people), len(rows))
    return len(people)
