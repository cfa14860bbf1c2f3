-- The PostgreSQL schema: the same tables, columns and meaning as the SQLite schema after its
-- migration 0004 (storage/migrations/0004_sealed_metadata.sql), so `backup` can copy rows into
-- a snapshot in the SQLite format unchanged. Days are kept as 'YYYY-MM-DD' text there too.
--
-- Tables that hold a person's data are vacuumed after every few deletions (autovacuum
-- settings below): a deleted row is a dead tuple, still on disk, until VACUUM reclaims it.

CREATE TABLE respondents (
    id BYTEA PRIMARY KEY,              -- HMAC-SHA256(pseudonym key, "channel:user id")
    profile BYTEA                      -- server state key: language, finished (see Store)
) WITH (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1);

CREATE TABLE records (                 -- answers, consent and completion, all sealed alike
    id BYTEA PRIMARY KEY,              -- 16 random bytes, bound into the sealed blob
    respondent_id BYTEA NOT NULL REFERENCES respondents(id) ON DELETE CASCADE,
    slot BYTEA NOT NULL,               -- keyed tag of (respondent, question): replace or drop
    sealed BYTEA NOT NULL,             -- storage.sealing; the header inside names the rest
    seq BIGINT GENERATED ALWAYS AS IDENTITY,  -- first written first, as SQLite's rowid: a
                                       -- snapshot lists a person's answers in this order
    UNIQUE (respondent_id, slot)
) WITH (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1);

CREATE TABLE sessions (                -- working state, encrypted with the server's state key
    respondent_id BYTEA PRIMARY KEY REFERENCES respondents(id) ON DELETE CASCADE,
    state BYTEA NOT NULL,
    updated_on TEXT NOT NULL           -- YYYY-MM-DD: retention needs a day, not a time
) WITH (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1);

-- Before consent nothing is stored for good. A single SQLite worker keeps that conversation
-- in memory; several workers must share it, so it lives here: UNLOGGED (never written to the
-- WAL, so never in a replica, a WAL archive or a base backup; emptied by a crash), encrypted
-- with the server's state key, deleted at consent or when the conversation ends, and expired
-- with the other sessions.
CREATE UNLOGGED TABLE pending_sessions (
    respondent_id BYTEA PRIMARY KEY,   -- the keyed pseudonym; no row in respondents yet
    state BYTEA NOT NULL,
    updated_on TEXT NOT NULL
) WITH (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1);

CREATE TABLE counters (                -- anonymous funnel counts per link (no respondent)
    link TEXT NOT NULL,                -- a code from `links`, 'expired:' + code, or ''
    metric TEXT NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (link, metric)
);

CREATE TABLE erasures (                -- "this person used /delete", for older snapshots
    id BYTEA PRIMARY KEY,
    sealed BYTEA NOT NULL
);

CREATE TABLE maintenance (             -- facts about the database, never about a person
    fact TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE links (
    code TEXT PRIMARY KEY,
    campaign TEXT NOT NULL,
    partner TEXT NOT NULL,
    region TEXT NOT NULL,
    language TEXT,
    label TEXT,
    expires_on TEXT,                   -- YYYY-MM-DD, last day the link attributes
    active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_by BYTEA,                  -- a field worker's pseudonym (NULL: made on the server)
    created_at TEXT NOT NULL           -- YYYY-MM-DD
);
CREATE INDEX links_by_campaign ON links (campaign);
CREATE INDEX links_by_creator ON links (created_by);

CREATE TABLE channel_messages (        -- message ids that /exit may still delete (under 48 h)
    channel TEXT NOT NULL,             -- 'telegram', 'whatsapp'
    respondent_id BYTEA NOT NULL REFERENCES respondents(id) ON DELETE CASCADE,
    message_id TEXT NOT NULL,          -- the platform's id of a message in the person's chat
    sent_on TEXT NOT NULL,             -- YYYY-MM-DD; pruned after three days
    PRIMARY KEY (channel, respondent_id, message_id)
) WITH (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1);
CREATE INDEX channel_messages_by_day ON channel_messages (sent_on);

CREATE TABLE channel_updates (         -- updates already handled, so a redelivery is ignored
    channel TEXT NOT NULL,
    tag BYTEA NOT NULL,                -- ServerKeys.tag("<channel>-update", id): keyed
    seen_on TEXT NOT NULL,             -- YYYY-MM-DD; pruned after two days
    PRIMARY KEY (channel, tag)
);

-- Names this deployment, so researchers' tools can refuse to combine snapshots of two bots
-- (`migrate` replaces it with the SQLite deployment's own).
INSERT INTO maintenance (fact, value) VALUES ('deployment', replace(gen_random_uuid()::text, '-', ''));
