-- The first schema. Nothing here holds a platform id or an answer in clear text:
-- respondents are keyed HMAC pseudonyms and answers are sealed to the researchers' keys.

CREATE TABLE respondents (
    id BLOB PRIMARY KEY,               -- HMAC-SHA256(pseudonym key, "channel:user id")
    campaign TEXT,                     -- attribution code from a link; never trusted further
    started_on TEXT NOT NULL,          -- YYYY-MM-DD (a day, not a time: less to link)
    completed_on TEXT
) STRICT;

CREATE TABLE consents (
    respondent_id BLOB PRIMARY KEY REFERENCES respondents(id) ON DELETE CASCADE,
    consent_version TEXT NOT NULL,     -- the version of the consent text agreed to
    language TEXT NOT NULL,            -- the language it was read in
    agreed_at TEXT NOT NULL            -- ISO 8601, UTC
) STRICT;

CREATE TABLE consent_items (           -- each consent item on its own (take part, be quoted…)
    respondent_id BLOB NOT NULL REFERENCES consents(respondent_id) ON DELETE CASCADE,
    item_id TEXT NOT NULL,
    agreed INTEGER NOT NULL CHECK (agreed IN (0, 1)),
    PRIMARY KEY (respondent_id, item_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE answers (
    respondent_id BLOB NOT NULL REFERENCES respondents(id) ON DELETE CASCADE,
    question_id TEXT NOT NULL,
    flow_id TEXT NOT NULL,
    flow_version TEXT NOT NULL,
    answered_on TEXT NOT NULL,         -- YYYY-MM-DD
    sealed BLOB NOT NULL,              -- storage.sealing format; opens only with a private key
    PRIMARY KEY (respondent_id, question_id)
) STRICT;

CREATE TABLE sessions (                -- working state, encrypted with the server's state key
    respondent_id BLOB PRIMARY KEY REFERENCES respondents(id) ON DELETE CASCADE,
    state BLOB NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;

CREATE TABLE counters (                -- anonymous funnel counts: no respondent reference
    campaign TEXT NOT NULL,            -- '' when the person came without a campaign code
    metric TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (campaign, metric)
) STRICT, WITHOUT ROWID;
