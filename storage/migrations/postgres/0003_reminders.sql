-- Reminders people asked for (and only those), as SQLite's migration 0006 keeps them: one row
-- per person, the day it falls due in clear and everything else (where to send it, the exact
-- time, the language, the campaign link) encrypted with the server's state key. The row
-- lives only as long as the person's session: ending it (/exit, /delete, completing, a block,
-- retention) deletes the reminder with it, and the job deletes it before sending it.
-- (The links' time zone for quiet hours came in 0002.)

CREATE TABLE reminders (               -- at most one pending reminder per person
    respondent_id BYTEA PRIMARY KEY REFERENCES sessions(respondent_id) ON DELETE CASCADE,
    due_on TEXT NOT NULL,              -- YYYY-MM-DD (UTC): the job looks at due days only
    sealed BYTEA NOT NULL              -- state key: where to send, the exact time, language
) WITH (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1);
CREATE INDEX reminders_by_day ON reminders (due_on);
