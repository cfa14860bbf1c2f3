-- Channel bookkeeping under channel-neutral names: Telegram and WhatsApp keep one ledger,
-- each row marked with its channel. Still no platform id of a person, no content and no
-- time of day: keyed tags for updates, and message ids (which /exit needs to delete the
-- messages) only for people who consented, by keyed respondent id, with the day they were sent.

CREATE TABLE channel_updates (         -- updates/messages already handled: redeliveries ignored
    channel TEXT NOT NULL,             -- 'telegram', 'whatsapp'
    tag BLOB NOT NULL,                 -- ServerKeys.tag("<channel>-update", id): keyed, not the id
    seen_on TEXT NOT NULL,             -- YYYY-MM-DD; pruned after two days
    PRIMARY KEY (channel, tag)
) STRICT, WITHOUT ROWID;
INSERT INTO channel_updates (channel, tag, seen_on)
    SELECT 'telegram', tag, seen_on FROM telegram_updates;
DROP TABLE telegram_updates;

CREATE TABLE channel_messages (        -- message ids that /exit may still delete
    channel TEXT NOT NULL,
    respondent_id BLOB NOT NULL REFERENCES respondents(id) ON DELETE CASCADE,
    message_id TEXT NOT NULL,          -- the platform's id of a message in the person's chat
    sent_on TEXT NOT NULL,             -- YYYY-MM-DD; pruned after three days
    PRIMARY KEY (channel, respondent_id, message_id)
) STRICT, WITHOUT ROWID;
INSERT INTO channel_messages (channel, respondent_id, message_id, sent_on)
    SELECT 'telegram', respondent_id, CAST(message_id AS TEXT), sent_on FROM telegram_messages;
DROP TABLE telegram_messages;
CREATE INDEX channel_messages_by_day ON channel_messages (sent_on);
