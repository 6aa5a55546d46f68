"""Verification sessions: the whole phone-verification flow by flash call, with limits and
destination checks on by default (the README's threat model says what they hold against).

    from bird_flashcalls.verification import Verifier, SQLiteStore

    verifier = Verifier(flash_calls, SQLiteStore("verification.db"))
    challenge = verifier.start("+31612345678", client_key=client_key_for_ip(request_ip))
    result = verifier.check(challenge.id, code="0000")   # or received_cli="+3197010260000"
    if result.verified: save(result.phone)

Stores: ``MemoryStore`` (the default; one process), ``SQLiteStore(path)`` (processes of one
machine), ``RedisStore(client)`` (many machines; ``pip install bird-flashcalls[redis]``).
``import bird_flashcalls`` does not load this package, and this package loads sqlite3 or redis
only when their store is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._guard import DEFAULT_BLOCKED_PREFIXES, client_key_for_ip
from ._models import (
    Challenge,
    ChallengeState,
    CheckResult,
    VerificationDestinationRefused,
    VerificationEvent,
    VerificationRateLimited,
)
from ._store import VerificationStore
from ._store_errors import StoreError
from ._verifier import AsyncVerifier, Verifier
from .stores.memory import MemoryStore

if TYPE_CHECKING:
    from .stores.redis import RedisStore
    from .stores.sqlite import SQLiteStore

__all__ = [
    "DEFAULT_BLOCKED_PREFIXES",
    "AsyncVerifier",
    "Challenge",
    "ChallengeState",
    "CheckResult",
    "MemoryStore",
    "RedisStore",
    "SQLiteStore",
    "StoreError",
    "VerificationDestinationRefused",
    "VerificationEvent",
    "VerificationRateLimited",
    "VerificationStore",
    "Verifier",
    "client_key_for_ip",
]


def __getattr__(name: str) -> Any:
    # The stores with a dependency are imported when first named.
    if name == "SQLiteStore":
        from .stores.sqlite import SQLiteStore

        return SQLiteStore
    if name == "RedisStore":
        from .stores.redis import RedisStore

        return RedisStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
