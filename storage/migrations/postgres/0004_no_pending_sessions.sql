-- Before consent nothing is stored, on PostgreSQL as on SQLite. Several workers used to share
-- the conversation before consent in the UNLOGGED table `pending_sessions` (encrypted, never
-- in the WAL, but still rows on the server's disk while the person had not agreed to
-- anything). The workers now carry that conversation in the buttons they draw, authenticated
-- with a key derived from SERVER_SECRET (bot/button_state.py), so the table goes, with
-- whatever it still holds: someone in the middle of it is greeted again at their next message
-- and chooses their language again (nothing of theirs was kept).
-- (0003 is the reminders' migration; the two do not depend on each other.)

DROP TABLE IF EXISTS pending_sessions;
