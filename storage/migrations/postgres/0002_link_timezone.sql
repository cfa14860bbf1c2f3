-- The time zone of a campaign's link (quiet hours of reminders; reminders themselves are
-- SQLite-only for now, so on PostgreSQL none is offered yet).
ALTER TABLE links ADD COLUMN timezone TEXT;  -- a zoneinfo name (Asia/Manila); NULL: UTC
