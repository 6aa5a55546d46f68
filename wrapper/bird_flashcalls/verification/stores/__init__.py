"""Where verification sessions are kept: memory (one process), SQLite (one machine), Redis."""
