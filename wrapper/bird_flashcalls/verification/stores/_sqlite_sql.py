"""The tables SQLiteStore keeps and the statements it runs on every operation."""

from __future__ import annotations

from .._store import FIELDS

# Columns in the order of Record's fields: a row is what the record codec reads and writes.
COLUMNS = ", ".join(FIELDS)
SCHEMA = (
    """CREATE TABLE IF NOT EXISTS bird_flashcalls_challenges (
        id TEXT PRIMARY KEY,
        call_id TEXT NOT NULL,
        phone TEXT NOT NULL,
        expected_cli TEXT NOT NULL,
        code_digits INTEGER NOT NULL,
        max_attempts INTEGER NOT NULL,
        expires_at REAL NOT NULL,
        attempts INTEGER NOT NULL,
        state TEXT NOT NULL,
        report TEXT,
        report_cli TEXT,
        claim TEXT,
        lease_until REAL NOT NULL,
        due_at REAL,
        purge_at REAL NOT NULL
    ) WITHOUT ROWID""",
    """CREATE INDEX IF NOT EXISTS bird_flashcalls_challenges_due
        ON bird_flashcalls_challenges (due_at) WHERE due_at IS NOT NULL""",
    """CREATE INDEX IF NOT EXISTS bird_flashcalls_challenges_purge
        ON bird_flashcalls_challenges (purge_at)""",
    # One row per start counted under a rate-limit key (a hash).
    """CREATE TABLE IF NOT EXISTS bird_flashcalls_starts (
        key TEXT NOT NULL,
        at REAL NOT NULL,
        forget_at REAL NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS bird_flashcalls_starts_key ON bird_flashcalls_starts (key, at)",
    """CREATE INDEX IF NOT EXISTS bird_flashcalls_starts_forget
        ON bird_flashcalls_starts (forget_at)""",
    """CREATE TABLE IF NOT EXISTS bird_flashcalls_meta (
        name TEXT PRIMARY KEY,
        value BLOB NOT NULL
    )""",
    # The last caller endings seen (keyed hashes), oldest first: for guess_chance().
    """CREATE TABLE IF NOT EXISTS bird_flashcalls_callers (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        ending TEXT NOT NULL
    )""",
)
INSERT = (
    f"INSERT INTO bird_flashcalls_challenges ({COLUMNS}) VALUES ({', '.join('?' * len(FIELDS))})"
)
# Every field but the id, then the id.
SAVE = (
    "UPDATE bird_flashcalls_challenges SET "
    + ", ".join(f"{name} = ?" for name in FIELDS[1:])
    + " WHERE id = ?"
)
GET = f"SELECT {COLUMNS} FROM bird_flashcalls_challenges WHERE id = ?"
DELETE = "DELETE FROM bird_flashcalls_challenges WHERE id = ?"
FIXED = (
    "SELECT expected_cli, code_digits, call_id, attempts, max_attempts "
    "FROM bird_flashcalls_challenges WHERE id = ?"
)
# _transitions.on_check for a wrong answer that leaves at least one attempt.
WRONG = (
    "UPDATE bird_flashcalls_challenges SET attempts = ? "
    "WHERE id = ? AND attempts = ? AND state = 'pending' AND expires_at > ?"
)
