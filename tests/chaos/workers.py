"""The chaos experiments' worker processes, each with its own store and client to FakeBird."""

from __future__ import annotations

import resource
import signal
from pathlib import Path
from typing import Any

from bird_flashcalls.verification import RedisStore, SQLiteStore, VerificationStore, Verifier

from .support import CALLER, SETTINGS, bird_client, run_load


def open_store(location: tuple[str, Any]) -> VerificationStore:
    kind, where = location
    if kind == "sqlite":
        return SQLiteStore(where)
    import redis

    return RedisStore(redis.Redis.from_url(where, socket_timeout=10), prefix="chaos")


def load_process(
    location: tuple[str, Any],
    bird: dict[str, str],
    worker: int,
    ledger: Path,
    stop: Path,
    file_size_limit: int | None = None,
    caller_known: bool = False,
) -> None:
    """The load until the file ``stop`` exists; ``file_size_limit``: a disk full for this process alone
    (RLIMIT_FSIZE); ``caller_known``: the verifier picks the caller number itself."""
    if file_size_limit is not None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a failed write, not a dead process
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))
    callers = {"caller_numbers": [CALLER]} if caller_known else {}
    verifier = Verifier(bird_client(bird), open_store(location), **SETTINGS, **callers)
    run_load(verifier, worker, ledger, stop)
