"""Worker processes: each opens its own store and client to the test's served FakeBird."""

from __future__ import annotations

import threading
import time
from typing import Any

from bird_flashcalls import FlashCalls
from bird_flashcalls.verification import (
    RedisStore,
    SQLiteStore,
    VerificationEvent,
    VerificationStore,
    Verifier,
)

# What a worker needs to reach the served FakeBird.
Bird = dict[str, str]
# ("sqlite", path) or ("redis", (url, prefix)).
Location = tuple[str, Any]


def open_store(location: Location) -> VerificationStore:
    kind, where = location
    if kind == "sqlite":
        return SQLiteStore(where)
    import redis

    url, prefix = where
    return RedisStore(redis.Redis.from_url(url), prefix=prefix)


def bird_client(bird: Bird) -> FlashCalls:
    return FlashCalls(
        access_key=bird["access_key"],
        workspace_id=bird["workspace_id"],
        channel_id=bird["channel_id"],
        base_url=bird["base_url"],
        max_retries=0,
    )


def run_scenarios(
    location: Location,
    bird: Bird,
    scenarios: list[tuple[str, dict[str, Any], float]],
    barrier: Any,
    results: Any,
    threads: int,
) -> None:
    """Each (operation, arguments, clock offset) run by every thread; puts (number, result)."""
    flash_calls = bird_client(bird)
    store = open_store(location)

    def work(number: int, operation: str, arguments: dict[str, Any], verifier: Verifier) -> None:
        barrier.wait(timeout=60)
        if operation == "check":
            result: Any = verifier.check(**arguments).status
        else:
            result = verifier.expire_due()
        results.put((number, result))

    for number, (operation, arguments, offset) in enumerate(scenarios):
        verifier = Verifier(flash_calls, store, clock=lambda ahead=offset: time.time() + ahead)
        workers = [
            threading.Thread(target=work, args=(number, operation, arguments, verifier))
            for _ in range(threads)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    store.close()
    flash_calls.close()


def decide_then_hang(
    location: Location,
    bird: Bird,
    operation: str,
    arguments: dict[str, Any],
    at: float,
    decided: Any,
    never: Any,
) -> None:
    """Run ``operation``; on its decision (on_event), set ``decided`` and block until killed."""

    def hang_after_decision(event: VerificationEvent) -> None:
        if event.kind in ("checked", "expired"):
            decided.set()
            never.wait()

    verifier = Verifier(
        bird_client(bird), open_store(location), clock=lambda: at, on_event=hang_after_decision
    )
    if operation == "check":
        verifier.check(**arguments)
    else:
        verifier.expire_due()
