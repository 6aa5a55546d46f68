"""SQLiteStore: the standard library's sqlite3 in WAL mode, for the processes of one machine.

Every operation that writes is one ``BEGIN IMMEDIATE`` transaction: it takes the database's
write lock before reading what it will change, so two processes cannot both decide. A wrong
answer that leaves attempts is one ``UPDATE`` that applies only if the attempt count it read is
still the record's. Every failure of SQLite or of the file system below it is raised as
``StoreError``.
"""

from __future__ import annotations

import contextlib
import functools
import os
import secrets
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ...errors import ConfigurationError
from .. import _transitions
from .._store import (
    FIELDS,
    CallerSample,
    CancelOutcome,
    CheckOutcome,
    Claim,
    Quota,
    Record,
    Refusal,
    Report,
    StoreOperations,
    UserAnswer,
    VerificationStore,
    record_from_row,
    record_to_row,
)
from . import _sqlite_sql as sql
from ._sqlite_errors import check_file, translated

# A connection and the process and thread that opened it.
_Opened = tuple[int, threading.Thread, sqlite3.Connection]
# Only the owner reads or writes the file: it holds phone numbers. SQLite gives the -wal and
# -shm files the database's own mode.
_FILE_MODE = 0o600


class SQLiteStore(VerificationStore, StoreOperations):
    """Challenges in an SQLite database file, shared by the processes of one machine.

    ``path`` is created if missing, readable by its owner only (mode 0600, whatever the umask),
    with its tables, all named ``bird_flashcalls_*``, so an application's own database will do.
    Its directory must exist, and an existing file must be an SQLite database:
    ``ConfigurationError`` otherwise. ``busy_timeout`` is how long an operation waits for
    another process's transaction, in seconds. Rows are removed by ``expire_due()``.

    Each thread (and each process after a fork) uses its own connection; ``close()`` closes
    them all. With AsyncVerifier, transactions run in worker threads.
    """

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout: float = 30.0) -> None:
        text = os.fspath(path)
        if not isinstance(text, str) or text in ("", ":memory:") or text.startswith("file:"):
            raise ConfigurationError(
                "SQLiteStore needs the path of a database file shared by the workers; for one "
                f"process use MemoryStore(). Got {text!r}"
            )
        self._path = str(Path(text))
        check_file(self._path)
        self._busy_timeout = float(busy_timeout)
        self._local = threading.local()
        # Every connection opened: by which process and thread, so that close() and the pruning
        # of dead threads' connections never touch another process's (a forked child must not
        # close its parent's: that would drop the parent's file locks).
        self._connections: list[_Opened] = []
        self._connections_lock = threading.Lock()
        self._salt: bytes | None = None
        self._open()

    @translated("open")
    def _open(self) -> None:
        with contextlib.suppress(FileExistsError):
            descriptor = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _FILE_MODE)
            try:
                if hasattr(os, "fchmod"):  # POSIX; the umask may have taken bits away
                    os.fchmod(descriptor, _FILE_MODE)
            finally:
                os.close(descriptor)
        connection = self._connection()
        # WAL: readers never wait for the writer; kept in the file once set.
        connection.execute("PRAGMA journal_mode=WAL")
        with self._write() as schema:
            for statement in sql.SCHEMA:
                schema.execute(statement)

    def __repr__(self) -> str:
        return f"SQLiteStore({self._path!r})"

    def sync_operations(self) -> StoreOperations:
        return self

    # Connections and transactions.

    def _connection(self) -> sqlite3.Connection:
        local = self._local
        connection: sqlite3.Connection | None = getattr(local, "connection", None)
        if connection is None or local.pid != os.getpid():
            connection = sqlite3.connect(
                self._path,
                timeout=self._busy_timeout,
                isolation_level=None,  # transactions are explicit: BEGIN IMMEDIATE ... COMMIT
                check_same_thread=False,  # only so that close() may close it from any thread
            )
            # In WAL mode NORMAL loses no committed transaction when a process dies (only on
            # power loss), and saves an fsync per transaction.
            connection.execute("PRAGMA synchronous=NORMAL")
            local.connection = connection
            local.pid = os.getpid()
            self._track(connection)
        return connection

    def _track(self, connection: sqlite3.Connection) -> None:
        pid = os.getpid()
        with self._connections_lock:
            kept: list[_Opened] = []
            finished: list[_Opened] = []
            for opened in self._connections:
                ours_and_done = opened[0] == pid and not opened[1].is_alive()
                (finished if ours_and_done else kept).append(opened)
            kept.append((pid, threading.current_thread(), connection))
            self._connections = kept
        for _, _, done in finished:
            done.close()

    def _write(self) -> _Transaction:
        return _Transaction(self._connection())

    def close(self) -> None:
        """Close every connection this store opened (a later operation opens a new one)."""
        pid = os.getpid()
        with self._connections_lock:
            ours = [opened for opened in self._connections if opened[0] == pid]
            self._connections = [opened for opened in self._connections if opened[0] != pid]
        for _, _, connection in ours:
            connection.close()
        self._local = threading.local()

    # Operations.

    @translated("salt")
    def salt(self) -> bytes:
        if self._salt is None:
            with self._write() as connection:
                connection.execute(
                    "INSERT OR IGNORE INTO bird_flashcalls_meta (name, value) VALUES ('salt', ?)",
                    (secrets.token_bytes(32),),
                )
                row = connection.execute(
                    "SELECT value FROM bird_flashcalls_meta WHERE name = 'salt'"
                ).fetchone()
            self._salt = bytes(row[0])
        return self._salt

    @translated("take_quotas")
    def take_quotas(self, quotas: Sequence[Quota], now: float, member: str) -> Refusal | None:
        with self._write() as connection:
            times = []
            for quota in quotas:
                connection.execute(
                    "DELETE FROM bird_flashcalls_starts WHERE key = ? AND at <= ?",
                    (quota.key, now - quota.window),
                )
                rows = connection.execute(
                    "SELECT at FROM bird_flashcalls_starts WHERE key = ?", (quota.key,)
                ).fetchall()
                times.append([row[0] for row in rows])
            refusal = _transitions.quota_refusal(quotas, times, now)
            if refusal is None:
                connection.executemany(
                    "INSERT INTO bird_flashcalls_starts (key, at, forget_at) VALUES (?, ?, ?)",
                    [(quota.key, now, now + quota.window) for quota in quotas],
                )
            return refusal

    @translated("create")
    def create(self, record: Record) -> None:
        with self._write() as connection:
            connection.execute(sql.INSERT, record_to_row(record))

    @translated("complete")
    def complete(self, record: Record) -> bool:
        with self._write() as connection:
            row = connection.execute(sql.GET, (record.id,)).fetchone()
            if row is None or not _transitions.on_complete(record_from_row(row)):
                return False
            _save(connection, record)
            return True

    @translated("snapshot")
    def snapshot(self, challenge_id: str) -> Record | None:
        row = self._connection().execute(sql.GET, (challenge_id,)).fetchone()
        return None if row is None else record_from_row(row)

    @translated("check")
    def check(
        self, challenge_id: str, answer: UserAnswer, now: float, claim: Claim
    ) -> CheckOutcome:
        connection = self._connection()
        # Compared outside any transaction: the fields read never change once the call is placed.
        fixed = connection.execute(sql.FIXED, (challenge_id,)).fetchone()
        if fixed is None or not fixed[2]:  # unknown, or its call still being placed
            return CheckOutcome("not_found", 0)
        matched, received_cli = answer.compare(fixed[0], fixed[1])
        if not matched:
            # A wrong answer that leaves attempts: one statement, atomic on its own, applied
            # only if no other check came in between. Any other case (the last attempt, expired,
            # ended, a concurrent check) is decided in the transaction below.
            attempts, max_attempts = fixed[3] + 1, fixed[4]
            if attempts < max_attempts:
                wrong = connection.execute(sql.WRONG, (attempts, challenge_id, fixed[3], now))
                if wrong.rowcount == 1:
                    return CheckOutcome("wrong", max_attempts - attempts)
        with self._write() as connection:
            row = connection.execute(sql.GET, (challenge_id,)).fetchone()
            if row is None:
                return CheckOutcome("not_found", 0)
            record = record_from_row(row)
            outcome = _transitions.on_check(record, matched, received_cli, now, claim)
            _save(connection, record, row)
            return outcome

    @translated("cancel")
    def cancel(self, challenge_id: str, now: float, claim: Claim) -> CancelOutcome:
        with self._write() as connection:
            row = connection.execute(sql.GET, (challenge_id,)).fetchone()
            if row is None:
                return CancelOutcome(False)
            record = record_from_row(row)
            outcome = _transitions.on_cancel(record, now, claim)
            _save(connection, record)
            return outcome

    @translated("claim_due")
    def claim_due(self, now: float, claim: Claim, limit: int) -> list[Report]:
        with self._write() as connection:
            connection.execute("DELETE FROM bird_flashcalls_challenges WHERE purge_at <= ?", (now,))
            connection.execute("DELETE FROM bird_flashcalls_starts WHERE forget_at <= ?", (now,))
            reports: list[Report] = []
            while len(reports) < limit:
                # Each row looked at leaves this range (due_at moves past now, or to NULL).
                rows = connection.execute(
                    f"SELECT {sql.COLUMNS} FROM bird_flashcalls_challenges "
                    "WHERE due_at <= ? ORDER BY due_at LIMIT ?",
                    (now, limit - len(reports)),
                ).fetchall()
                if not rows:
                    break
                for row in rows:
                    record = record_from_row(row)
                    report = _transitions.on_due(record, now, claim)
                    _save(connection, record)
                    if report is not None:
                        reports.append(report)
            return reports

    @translated("report_done")
    def report_done(self, challenge_id: str, token: str, now: float) -> None:
        with self._write() as connection:
            row = connection.execute(sql.GET, (challenge_id,)).fetchone()
            if row is not None:
                record = record_from_row(row)
                forget = _transitions.on_report_done(record, now)
                _save_or_delete(connection, record, forget)

    @translated("report_failed")
    def report_failed(self, challenge_id: str, token: str, now: float, give_up: bool) -> None:
        with self._write() as connection:
            row = connection.execute(sql.GET, (challenge_id,)).fetchone()
            if row is not None:
                record = record_from_row(row)
                forget = _transitions.on_report_failed(record, token, now, give_up)
                _save_or_delete(connection, record, forget)

    def note_caller(self, ending: str, keep: int) -> CallerSample:
        with self._write() as connection:
            connection.execute("INSERT INTO bird_flashcalls_callers (ending) VALUES (?)", (ending,))
            connection.execute(
                "DELETE FROM bird_flashcalls_callers WHERE seq <= "
                "(SELECT max(seq) FROM bird_flashcalls_callers) - ?",
                (keep,),
            )
            return _caller_sample(connection)

    def caller_sample(self) -> CallerSample:
        return _caller_sample(self._connection())


def _caller_sample(connection: sqlite3.Connection) -> CallerSample:
    samples, pairs = connection.execute(
        "SELECT coalesce(sum(n), 0), coalesce(sum(n * (n - 1) / 2), 0) FROM "
        "(SELECT count(*) AS n FROM bird_flashcalls_callers GROUP BY ending)"
    ).fetchone()
    return CallerSample(int(samples), int(pairs))


class _Transaction:
    """``BEGIN IMMEDIATE`` on entry; ``COMMIT``, or ``ROLLBACK`` after an error (also one of
    COMMIT's own, so that the connection is never left inside a transaction)."""

    __slots__ = ("_connection",)

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def __enter__(self) -> sqlite3.Connection:
        self._connection.execute("BEGIN IMMEDIATE")
        return self._connection

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        connection = self._connection
        try:
            if kind is None:
                connection.execute("COMMIT")
                return
        finally:
            if connection.in_transaction:
                connection.execute("ROLLBACK")


def _save(connection: sqlite3.Connection, record: Record, before: Sequence[Any] = ()) -> None:
    row = record_to_row(record)
    if not before:
        connection.execute(sql.SAVE, (*row[1:], row[0]))
        return
    # Only the columns that changed (a wrong answer: one), as it was read in this transaction.
    changed = tuple(index for index, old in enumerate(before) if old != row[index])
    if changed:
        connection.execute(_update(changed), (*(row[index] for index in changed), row[0]))


@functools.cache
def _update(columns: tuple[int, ...]) -> str:
    assignments = ", ".join(f"{FIELDS[index]} = ?" for index in columns)
    return f"UPDATE bird_flashcalls_challenges SET {assignments} WHERE id = ?"


def _save_or_delete(connection: sqlite3.Connection, record: Record, forget: bool) -> None:
    if forget:
        connection.execute(sql.DELETE, (record.id,))
    else:
        _save(connection, record)
