"""A hand-moved clock, handles onto each store, one async interface over both verifiers."""

from __future__ import annotations

import contextlib
import sqlite3
import time
import uuid
from collections.abc import Iterator
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
from shared import Driver

PHONE = "+31612345678"
OTHER_PHONE = "+31612345679"
WRONG_CLI = "+3197010269999"
NOW = time.time()
# Off, for a test that starts many challenges for one number.
NO_LIMITS = {"resend_cooldown": 0, "per_number_limit": None, "new_destination_limit": None}


STORE_KINDS = ("memory", "sqlite", "redis", "cluster")
REDIS_KINDS = ("redis", "cluster")  # a redis-server, a 3-primary Redis Cluster


def store_params(kinds: tuple[str, ...] = STORE_KINDS) -> list[Any]:
    """Fixture params for store kinds, the Redis ones marked ``redis`` (``-m "not redis"``)."""
    return [pytest.param(kind, marks=[pytest.mark.redis] * (kind in REDIS_KINDS)) for kind in kinds]


def env_params(kinds: tuple[str, ...] = STORE_KINDS) -> list[Any]:
    """``env`` params: each store kind with each verifier, the Redis ones marked ``redis``."""
    return [
        pytest.param((kind, mode), id=f"{kind}-{mode}", marks=store_params((kind,))[0].marks)
        for kind in kinds
        for mode in ("sync", "async")
    ]


# The stores that worker processes can open too.
SHARED_STORES = pytest.mark.parametrize("stores", store_params(("sqlite", "redis")), indirect=True)


class Clock:
    """Seconds since the epoch, moved by hand, from the real time (Redis expires by its own)."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Stores:
    """Handles onto one store of a kind, as separate workers open it (MemoryStore: itself)."""

    def __init__(self, kind: str, tmp_path: Path, *redis_urls: str) -> None:
        self.kind = kind
        self.path = tmp_path / "verification.db"
        self.prefix = f"test-{uuid.uuid4().hex[:12]}"
        self.url = redis_urls[0] if redis_urls else ""
        self.nodes = redis_urls  # every node of a cluster
        self._memory = MemoryStore()
        self._opened: list[Any] = []

    def location(self) -> tuple[str, Any]:
        """Where a worker process finds the same store (SQLite and Redis only)."""
        return (self.kind, self.path if self.kind == "sqlite" else (self.url, self.prefix))

    def flush_scripts(self) -> None:
        """SCRIPT FLUSH on every node, as a restart or a failover leaves them."""
        import redis

        for url in self.nodes:
            with redis.Redis.from_url(url) as node:
                node.script_flush()

    def new(self, *, for_async: bool = False, decode: bool | None = None) -> VerificationStore:
        if self.kind == "memory":
            return self._memory
        if self.kind == "sqlite":
            store: Any = SQLiteStore(self.path)
            self._opened.append(store)
            return store
        from bird_flashcalls.verification import RedisStore

        client = self.redis_client(for_async=for_async, decode=decode)
        self._opened.append(client)
        return RedisStore(client, prefix=self.prefix)

    def redis_client(self, *, for_async: bool = False, decode: bool | None = None) -> Any:
        """A client of the kind's server; by default the sync one decodes, the async one not."""
        import redis
        import redis.asyncio
        import redis.asyncio.cluster

        if self.kind == "redis":
            kind: Any = redis.asyncio.Redis if for_async else redis.Redis
        else:
            kind = redis.asyncio.cluster.RedisCluster if for_async else redis.cluster.RedisCluster
        return kind.from_url(self.url, decode_responses=not for_async if decode is None else decode)

    async def aclose(self) -> None:
        opened, self._opened = self._opened, []
        for resource in opened:
            await resource.aclose() if hasattr(resource, "aclose") else resource.close()

    def close(self) -> None:
        for resource in self._opened:
            resource.close()


class Env:
    """One store kind and one verifier kind (sync or async), a FakeBird and a clock."""

    def __init__(self, stores: Stores, mode: str, clock: Clock) -> None:
        self.stores, self.kind, self.mode = stores, stores.kind, mode
        self.fake = FakeBird()
        self.clock = clock
        self.store = self.new_store()
        self._clients: list[Any] = []

    def new_store(self) -> VerificationStore:
        """Another worker's handle onto this env's store."""
        return self.stores.new(for_async=self.mode == "async")

    def verifier(self, store: VerificationStore | None = None, **settings: Any) -> Any:
        """A verifier on ``store`` (or the env's), the clock, no HTTP retries; methods awaited."""
        settings.setdefault("clock", self.clock)
        if self.mode == "sync":
            client: Any = self.fake.client(max_retries=0)
            verifier: Any = Verifier(client, store or self.store, **settings)
        else:
            client = self.fake.async_client(max_retries=0)
            verifier = AsyncVerifier(client, store or self.store, **settings)
        self._clients.append(client)
        return Driver(verifier)

    def reports(self, call_id: object) -> list[str]:
        return reports(self.fake, call_id)

    def reported(self, challenges: list[Challenge]) -> list[list[str]]:
        """The results Bird accepted for each challenge's call."""
        return [self.reports(challenge.call_id) for challenge in challenges]

    async def aclose(self) -> None:
        for client in self._clients:
            await client.aclose() if hasattr(client, "aclose") else client.close()
        await self.stores.aclose()


def end_requests(fake: FakeBird, call_id: object) -> list[dict[str, Any]]:
    """The bodies of the End requests Bird accepted for a call, in order."""
    path = f"/flashcalls/{call_id}"
    return [r.json for r in fake.requests if r.path.endswith(path) and r.status == 202]


def reports(fake: FakeBird, call_id: object) -> list[str]:
    """The results Bird accepted for a call, in order."""
    return [body["result"] for body in end_requests(fake, call_id)]


def wrong(answer: str) -> str:
    """The same answer (a code or a number) with its last digit changed."""
    return answer[:-1] + str((int(answer[-1]) + 1) % 10)


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
    return Record(**(defaults | fields))


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Another process's write transaction on an SQLite database, held."""
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        other.execute("ROLLBACK")
        other.close()


def memory_verifier(fake: FakeBird, **settings: Any) -> Verifier:
    """A sync Verifier on a MemoryStore of its own, a hand-moved clock and no HTTP retries."""
    settings.setdefault("clock", Clock())
    return Verifier(fake.client(max_retries=0), settings.pop("store", MemoryStore()), **settings)
