"""SQLiteStore's checks of its file, and sqlite3's errors as StoreError saying what to check."""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Concatenate, ParamSpec, Protocol, TypeVar

from ...errors import ConfigurationError
from .._store_errors import StoreError, store_error

_HEADER = b"SQLite format 3\x00"

P = ParamSpec("P")
T = TypeVar("T")


class _Store(Protocol):
    _path: str
    _busy_timeout: float


S = TypeVar("S", bound=_Store)


def check_file(path: str) -> None:
    """The directory must exist, and a file already there must be an SQLite database."""
    where = Path(path)
    if not where.parent.is_dir():
        raise ConfigurationError(
            f"SQLiteStore({path!r}): the directory {str(where.parent)!r} does not exist; create "
            "it first (the store creates only the database file)"
        )
    if where.is_dir():
        raise ConfigurationError(f"SQLiteStore({path!r}): that path is a directory, not a file")
    try:
        with where.open("rb") as file:
            header = file.read(len(_HEADER))
    except FileNotFoundError:
        return
    except OSError as error:
        raise ConfigurationError(
            f"SQLiteStore({path!r}): the file cannot be read ({type(error).__name__}); check "
            "its permissions"
        ) from error
    if header and header != _HEADER:
        raise ConfigurationError(
            f"SQLiteStore({path!r}): the file is not an SQLite database; give the path of a new "
            "file or of an SQLite database"
        )


def translated(
    operation: str,
) -> Callable[[Callable[Concatenate[S, P], T]], Callable[Concatenate[S, P], T]]:
    """Raise sqlite3's and the file system's errors of ``operation`` as StoreError."""

    def wrap(
        method: Callable[Concatenate[S, P], T],
    ) -> Callable[Concatenate[S, P], T]:
        @functools.wraps(method)
        def translated(store: S, /, *args: P.args, **kwargs: P.kwargs) -> T:
            try:
                return method(store, *args, **kwargs)
            except (sqlite3.Error, OSError) as error:
                raise _store_error(store, operation, error) from error

        return translated

    return wrap


def _store_error(store: _Store, operation: str, error: Exception) -> StoreError:
    path = repr(store._path)
    name = getattr(error, "sqlite_errorname", "") or ""
    kind = name.split("_")[1] if name.count("_") else ""
    what, check = {
        "FULL": ("the disk is full", f"the free space and quotas of the file system of {path}"),
        "READONLY": (
            "the database is read-only",
            f"the permissions of {path}, of its -wal and -shm files and of their directory",
        ),
        "BUSY": (
            f"the database stayed locked for more than busy_timeout ({store._busy_timeout:g} s)",
            f"for a process holding a long write transaction on {path}",
        ),
        "LOCKED": ("the database is locked", f"for a process holding a transaction on {path}"),
        "CORRUPT": (
            "the database file is corrupt",
            f"{path}: restore it from a backup or move it away (a new one is then created)",
        ),
        "NOTADB": ("the file is not an SQLite database", f"{path}"),
        "CANTOPEN": (
            "the database cannot be opened",
            f"that {path} and its directory exist and are writable",
        ),
        "IOERR": ("the file system failed", f"the disk holding {path}"),
    }.get(
        kind,
        (
            f"{type(error).__name__}{' ' + name if name else ''}",
            f"{path}, its directory and the disk holding them",
        ),
    )
    if name.startswith(("SQLITE_IOERR_WRITE", "SQLITE_IOERR_FSYNC", "SQLITE_IOERR_TRUNCATE")):
        # How a full disk shows in WAL mode (ENOSPC, EDQUOT, EFBIG on a write).
        what = "writing failed: the disk is full, over a quota or a file size limit, or failing"
        check = f"the free space, quotas and limits of the file system of {path}"
    if isinstance(error, OSError) and not isinstance(error, sqlite3.Error):
        what = f"the file system failed ({type(error).__name__})"
    return store_error("SQLiteStore", operation, what, check)
