"""What the verification tests share: a clock moved by hand, handles onto the three stores,
one async interface over Verifier and AsyncVerifier (``Driven``), records and answers."""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from bird_flashcalls.testing import FakeBird
from bird_flashcalls.verification import (
    AsyncVerifier,
    Challenge,
    MemoryStore,
    SQLiteStore,
    VerificationStore,
    Verifier,
)
from bird_flashcalls.verification._store import Record
from bird_flashcalls.verification._transitions import UNREPORTED_KEPT_FOR

PHONE = "+31612345678"
WRONG_CLI = "+3197010269999"
NOW = time.time()
STORES = ("memory", "sqlite", "redis")
MODES = ("sync", "async")


def store_params(kinds: tuple[str, ...] = STORES) -> list[Any]:
    """Fixture params for store kinds, the Redis one marked ``redis`` (``-m "not redis"``)."""
    return [
        pytest.param(kind, marks=pytest.mark.redis, id=kind) if kind == "redis" else kind
        for kind in kinds
    ]


class Clock:
    """Seconds since the epoch, moved by hand. It starts at the real time: Redis applies the
    records' expiries (PEXPIREAT) against its own clock."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Driven:
    """A Verifier or AsyncVerifier behind one async interface: every method a coroutine."""

    def __init__(self, verifier: Verifier | AsyncVerifier) -> None:
        self.verifier = verifier

    def __getattr__(self, name: str) -> Callable[..., Awaitable[Any]]:
        method = getattr(self.verifier, name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            result = method(*args, **kwargs)
            return await result if isinstance(self.verifier, AsyncVerifier) else result

        return call


class Env:
    """One store kind and one verifier kind, a FakeBird and a clock."""

    def __init__(
        self,
        kind: str,
        mode: str,
        fake: FakeBird,
        clock: Clock,
        new_store: Callable[[], VerificationStore],
        redis_prefix: str | None,
    ) -> None:
        self.kind = kind
        self.mode = mode
        self.fake = fake
        self.clock = clock
        self.new_store = new_store
        self.store = new_store()
        self.redis_prefix = redis_prefix
        self._clients: list[Any] = []

    def verifier(self, store: VerificationStore | None = None, **settings: Any) -> Driven:
        """A verifier on this env's store (or ``store``), with the clock and fast retries."""
        settings.setdefault("clock", self.clock)
        if self.mode == "sync":
            flash_calls: Any = self.fake.client(max_retries=0)
            verifier: Verifier | AsyncVerifier = Verifier(
                flash_calls, store or self.store, **settings
            )
        else:
            flash_calls = self.fake.async_client(max_retries=0)
            verifier = AsyncVerifier(flash_calls, store or self.store, **settings)
        self._clients.append(flash_calls)
        return Driven(verifier)

    def reports(self, call_id: object) -> list[str]:
        """The results reported to Bird for a call, in order (each accepted End request)."""
        return reports(self.fake, call_id)

    async def aclose(self) -> None:
        for client in self._clients:
            if hasattr(client, "aclose"):
                await client.aclose()
            else:
                client.close()


class SyncStores:
    """New handles onto one shared store of a kind, for verifiers in threads of this process."""

    def __init__(self, kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
        self.kind = kind
        self._opened: list[Any] = []
        self._memory = MemoryStore()
        self.path = tmp_path / "verification.db"
        self.prefix = f"test-{uuid.uuid4().hex[:12]}"
        self.url = request.getfixturevalue("redis_url") if kind == "redis" else ""

    def location(self) -> tuple[str, Any]:
        """Where a worker process finds the same store (SQLite and Redis only)."""
        return (
            (self.kind, self.path)
            if self.kind == "sqlite"
            else (self.kind, (self.url, self.prefix))
        )

    def new(self) -> VerificationStore:
        if self.kind == "memory":
            return self._memory
        if self.kind == "sqlite":
            store: Any = SQLiteStore(self.path)
            self._opened.append(store)
            return store
        import redis
        from bird_flashcalls.verification import RedisStore

        client = redis.Redis.from_url(self.url)
        self._opened.append(client)
        return RedisStore(client, prefix=self.prefix)

    def close(self) -> None:
        for resource in self._opened:
            resource.close()


def end_requests(fake: FakeBird, call_id: object) -> list[dict[str, Any]]:
    """The bodies of the End requests Bird accepted for a call, in order."""
    path_end = f"/flashcalls/{call_id}"
    return [
        request.json
        for request in fake.requests
        if request.path.endswith(path_end) and request.status == 202
    ]


def reports(fake: FakeBird, call_id: object) -> list[str]:
    """The results Bird accepted for a call, in order."""
    return [body["result"] for body in end_requests(fake, call_id)]


def wrong(code: str) -> str:
    """A code of the same length that is not ``code``."""
    return "".join(str((int(digit) + 1) % 10) for digit in code)


def right_code(fake: FakeBird, challenge: Challenge) -> str:
    return fake.handset_cli(challenge.call_id)[-challenge.code_digits :]


def record(challenge_id: str, **fields: Any) -> Record:
    """A pending record of a 300 s challenge that started at NOW, with ``fields`` changed."""
    defaults: dict[str, Any] = {
        "id": challenge_id,
        "call_id": "5e0d4c1e-8d43-4e5b-a5f1-0c9a2b6f7d10",
        "phone": PHONE,
        "expected_cli": "+3197010260002",
        "code_digits": 4,
        "max_attempts": 3,
        "expires_at": NOW + 300,
        "due_at": NOW + 300,
        "purge_at": NOW + 300 + UNREPORTED_KEPT_FOR,
    }
    defaults.update(fields)
    return Record(**defaults)


def memory_verifier(fake: FakeBird, **settings: Any) -> Verifier:
    """A sync Verifier on a MemoryStore of its own, a hand-moved clock and no HTTP retries."""
    settings.setdefault("clock", Clock())
    return Verifier(fake.client(max_retries=0), settings.pop("store", MemoryStore()), **settings)
