"""Many calls at once against FakeBird over HTTP on 127.0.0.1: nothing lost, mixed up or leaked."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import bird_flashcalls as bird
import pytest
from bird_flashcalls._constants import MAX_CONNECTIONS
from bird_flashcalls.testing import FakeBird

from .support import fake_options

CREATES = 300
CONCURRENCY = 16
# The server's open connections are counted after every tenth create: a fixed number of samples,
# however fast or slow the machine.
SAMPLE_EVERY = 10
THREADS = 8
CALLS_PER_THREAD = 50
FAST_BACKOFF = bird.Backoff(initial_delay=0.001, max_delay=0.01)
_PROC_TCP = Path("/proc/net/tcp")


def number(index: int) -> str:
    """A distinct callee per call, so a response given to the wrong caller shows."""
    return f"+3161{index:07d}"


def established_connections(port: int) -> int:
    """Server-side TCP connections on ``port`` that are open (ESTABLISHED) right now."""
    local = f":{port:04X}"
    rows = [line.split() for line in _PROC_TCP.read_text().splitlines()[1:]]
    return sum(row[1].endswith(local) and row[3] == "01" for row in rows)


def client_options(fake: FakeBird, base_url: str) -> dict[str, object]:
    # Not a test of time: a busy machine must not turn a slow answer into an error.
    return fake_options(fake, base_url, timeout=60.0, backoff=FAST_BACKOFF)


@pytest.mark.skipif(not _PROC_TCP.exists(), reason="counts sockets via /proc/net/tcp")
@pytest.mark.slow
@pytest.mark.anyio
async def test_async_creates_with_injected_503s(no_leaks: None) -> None:
    fake = FakeBird()
    fake.fail_randomly(rate=0.05, status=503, seed=20240501)
    outcomes: dict[int, bird.FlashCall | bird.BirdError] = {}
    connections: list[int] = []
    with fake.serve() as base_url:
        port = urlsplit(base_url).port
        assert port is not None
        indexes = iter(range(CREATES))

        async with bird.AsyncFlashCalls(**client_options(fake, base_url)) as client:

            async def worker() -> None:
                for index in indexes:
                    try:
                        outcomes[index] = await client.create(number(index))
                    except bird.BirdError as error:
                        outcomes[index] = error
                    if index % SAMPLE_EVERY == 0:
                        connections.append(established_connections(port))

            await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        assert established_connections(port) == 0

    assert sorted(outcomes) == list(range(CREATES))
    created = {index: o for index, o in outcomes.items() if isinstance(o, bird.FlashCall)}
    failed = [o for o in outcomes.values() if not isinstance(o, bird.FlashCall)]
    # Three 503s in a row are the only way a create may fail here.
    assert all(type(error) is bird.InternalServerError for error in failed), failed[:3]
    for index, call in created.items():
        assert call.to == number(index)

    calls = fake.calls
    assert len(calls) == len(created)
    assert {str(call.id) for call in created.values()} == set(calls)
    for call in created.values():
        assert calls[call.id]["to"] == call.to

    statuses = Counter(request.status for request in fake.requests)
    assert statuses[202] == len(created)
    assert statuses[503] > 0  # the faults did happen, and retries absorbed them
    assert sum(statuses.values()) == len(created) + statuses[503]
    assert len(created) >= CREATES - 5
    # Within the client's limit. (Not within CONCURRENCY: a connection the pool has let go of
    # can still be open for a moment while its replacement connects.)
    assert len(connections) == CREATES // SAMPLE_EVERY
    assert 0 < max(connections) <= MAX_CONNECTIONS


@pytest.mark.slow
def test_sync_client_shared_by_threads(no_leaks: None) -> None:
    fake = FakeBird()
    with fake.serve() as base_url, bird.FlashCalls(**client_options(fake, base_url)) as client:
        start = threading.Barrier(THREADS)

        def work(thread_index: int) -> list[bird.FlashCall]:
            start.wait()
            created = []
            for call_index in range(CALLS_PER_THREAD):
                call = client.create(number(thread_index * CALLS_PER_THREAD + call_index))
                client.end(call, result="verified")
                created.append(call)
            return created

        with ThreadPoolExecutor(THREADS, thread_name_prefix="caller") as pool:
            everything = [call for created in pool.map(work, range(THREADS)) for call in created]

    assert len(everything) == THREADS * CALLS_PER_THREAD
    assert len({call.id for call in everything}) == len(everything)
    assert sorted(call.to for call in everything) == sorted(
        number(index) for index in range(THREADS * CALLS_PER_THREAD)
    )
    calls = fake.calls
    assert len(calls) == len(everything)
    for call in everything:
        assert calls[call.id]["to"] == call.to
        assert calls[call.id]["result"] == "verified"
    assert len(fake.requests) == 2 * len(everything)
