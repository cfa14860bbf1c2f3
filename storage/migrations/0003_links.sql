-- Campaign links that field workers hand out. Not respondent data, not secret either: who
-- answered through a link is never recorded here, only anonymous counters (see counters).

CREATE TABLE links (
    code TEXT PRIMARY KEY,             -- the opaque start payload, a-z and 2-9 (easy to type)
    campaign TEXT NOT NULL,
    partner TEXT NOT NULL,
    region TEXT NOT NULL,
    language TEXT,                     -- preselected in the language picker
    label TEXT,
    expires_on TEXT,                   -- YYYY-MM-DD, last day the link attributes
    active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_by BLOB,                   -- a field worker's pseudonym (NULL: made on the server)
    created_at TEXT NOT NULL
) STRICT;

CREATE INDEX links_by_campaign ON links (campaign);
CREATE INDEX links_by_creator ON links (created_by);
