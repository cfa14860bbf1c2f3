-- Reminders people asked for (and only those), and the time zone of a campaign's link for
-- their quiet hours. A reminder row lives only as long as the person's session: ending it
-- (/exit, /delete, completing, a block, retention) deletes the reminder with it.

ALTER TABLE links ADD COLUMN timezone TEXT;  -- a zoneinfo name (Asia/Manila); NULL: UTC

CREATE TABLE reminders (               -- at most one pending reminder per person
    respondent_id BLOB PRIMARY KEY REFERENCES sessions(respondent_id) ON DELETE CASCADE,
    due_on TEXT NOT NULL,              -- YYYY-MM-DD (UTC): the job looks at due days only
    sealed BLOB NOT NULL               -- state key: where to send, the exact time, language
) STRICT, WITHOUT ROWID;
CREATE INDEX reminders_by_day ON reminders (due_on);
