-- What a seized disk shows: only keyed respondent ids, random row ids and days.
--
-- Question ids, languages, campaigns and exact times move inside the sealed payload of one
-- `records` table (answers, consent, completion). The tables of schema 1-3 are renamed
-- `legacy_*` here; the bot re-seals their rows into `records` the next time it starts
-- (storage/upgrade.py: that needs the researchers' public keys, which SQL does not have),
-- then drops them. Until then storage/reader.py reads both.

ALTER TABLE respondents RENAME TO legacy_respondents;
ALTER TABLE consents RENAME TO legacy_consents;
ALTER TABLE consent_items RENAME TO legacy_consent_items;
ALTER TABLE answers RENAME TO legacy_answers;
ALTER TABLE sessions RENAME TO legacy_sessions;
ALTER TABLE counters RENAME TO legacy_counters;
ALTER TABLE telegram_messages RENAME TO legacy_telegram_messages;

CREATE TABLE respondents (
    id BLOB PRIMARY KEY,               -- HMAC-SHA256(pseudonym key, "channel:user id")
    profile BLOB                       -- server state key: language, finished (see Store)
) STRICT;

CREATE TABLE records (                 -- answers, consent and completion, all sealed alike
    id BLOB PRIMARY KEY,               -- 16 random bytes, bound into the sealed blob
    respondent_id BLOB NOT NULL REFERENCES respondents(id) ON DELETE CASCADE,
    slot BLOB NOT NULL,                -- keyed tag of (respondent, question): replace or drop
    sealed BLOB NOT NULL,              -- storage.sealing; the header inside names the rest
    UNIQUE (respondent_id, slot)
) STRICT;

CREATE TABLE sessions (                -- working state, encrypted with the server's state key
    respondent_id BLOB PRIMARY KEY REFERENCES respondents(id) ON DELETE CASCADE,
    state BLOB NOT NULL,
    updated_on TEXT NOT NULL           -- YYYY-MM-DD: retention needs a day, not a time
) STRICT;

CREATE TABLE counters (                -- anonymous funnel counts per link (no respondent)
    link TEXT NOT NULL,                -- a code from `links` ('expired:' + code after its end),
                                       -- '' without one; nothing a person typed otherwise
    metric TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (link, metric)
) STRICT, WITHOUT ROWID;

CREATE TABLE erasures (                -- "this person used /delete", for older snapshots
    id BLOB PRIMARY KEY,               -- 16 random bytes, bound into the sealed blob
    sealed BLOB NOT NULL               -- sealed to the researchers: the respondent id only
) STRICT;

CREATE TABLE maintenance (             -- facts about the database, never about a person
    fact TEXT PRIMARY KEY,             -- e.g. 'purged': answers have left for a snapshot
    value TEXT NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE telegram_messages (       -- message ids that /exit may still delete (under 48 h)
    respondent_id BLOB NOT NULL REFERENCES respondents(id) ON DELETE CASCADE,
    message_id INTEGER NOT NULL,
    sent_on TEXT NOT NULL,             -- YYYY-MM-DD; pruned after three days
    PRIMARY KEY (respondent_id, message_id)
) STRICT, WITHOUT ROWID;

-- Keyed respondent ids carry over now (the profile is filled in by the upgrade step), so
-- sessions keep working; times of day are cut to days on the way.
INSERT INTO respondents (id) SELECT id FROM legacy_respondents;
INSERT INTO sessions (respondent_id, state, updated_on)
    SELECT respondent_id, state, substr(updated_at, 1, 10) FROM legacy_sessions;
INSERT INTO counters (link, metric, count)
    SELECT c.campaign, c.metric, c.count FROM legacy_counters c
    WHERE c.campaign = ''
       OR c.campaign IN (SELECT code FROM links)
       OR (c.campaign LIKE 'expired:%' AND substr(c.campaign, 9) IN (SELECT code FROM links));
DROP TABLE legacy_sessions;
DROP TABLE legacy_counters;
DROP TABLE legacy_telegram_messages;

DROP TABLE telegram_updates;
CREATE TABLE telegram_updates (        -- updates already handled, so a redelivery is ignored
    tag BLOB PRIMARY KEY,              -- ServerKeys.tag("telegram-update", update_id): keyed
    seen_on TEXT NOT NULL              -- YYYY-MM-DD; pruned after two days
) STRICT, WITHOUT ROWID;

UPDATE links SET created_at = substr(created_at, 1, 10);  -- a day is enough for ordering

-- Names this deployment, so researchers' tools can refuse to combine snapshots of two bots.
INSERT INTO maintenance (fact, value) VALUES ('deployment', lower(hex(randomblob(16))));
