"""The PostgreSQL backend (DATABASE_URL): the same records as SQLite, shared by several workers."""
