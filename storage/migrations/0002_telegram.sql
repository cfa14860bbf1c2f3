-- Telegram channel bookkeeping. Neither table holds a Telegram id or any content.

CREATE TABLE telegram_updates (        -- updates already handled, so a redelivery is ignored
    tag BLOB PRIMARY KEY,              -- ServerKeys.tag("telegram-update", update_id): keyed
    seen_at TEXT NOT NULL              -- ISO 8601, UTC; rows older than a day are pruned
) STRICT, WITHOUT ROWID;

CREATE TABLE telegram_messages (       -- message ids that /exit may still delete (under 48 h)
    -- Only for people who consented (the foreign key makes an earlier insert impossible),
    -- removed when the session ends, and erased with the respondent.
    respondent_id BLOB NOT NULL REFERENCES respondents(id) ON DELETE CASCADE,
    message_id INTEGER NOT NULL,
    sent_at TEXT NOT NULL,             -- ISO 8601, UTC; rows older than 48 h are pruned
    PRIMARY KEY (respondent_id, message_id)
) STRICT, WITHOUT ROWID;
