"""Many calls at once against FakeBird over HTTP on 127.0.0.1: nothing lost, mixed up or leaked."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from bird_flashcalls import (
    AsyncFlashCalls,
    Backoff,
    BirdError,
    FlashCall,
    FlashCalls,
    InternalServerError,
)
from bird_flashcalls._constants import MAX_CONNECTIONS
from bird_flashcalls.testing import FakeBird

from .support import fake_options

CREATES = 1000
CONCURRENCY = 64
THREADS = 8
CALLS_PER_THREAD = 125
FAST_BACKOFF = Backoff(initial_delay=0.001, max_delay=0.01)
_PROC_TCP = Path("/proc/net/tcp")
_ESTABLISHED = "01"


def number(index: int) -> str:
    """A distinct callee per call, so a response given to the wrong caller shows."""
    return f"+3161{index:07d}"


def established_connections(port: int) -> int:
    """Server-side TCP connections on ``port`` that are open (ESTABLISHED) right now."""
    count = 0
    for line in _PROC_TCP.read_text().splitlines()[1:]:
        fields = line.split()
        local_port = int(fields[1].rsplit(":", 1)[1], 16)
        if local_port == port and fields[3] == _ESTABLISHED:
            count += 1
    return count


class PeakConnections:
    """Samples the server's open connections ten times a second while the load runs.

    (Sampling after every call instead would read /proc/net/tcp 1,000 times; with the
    TIME_WAIT entries of closed connections each read costs milliseconds.)
    """

    def __init__(self, port: int, every: float = 0.1) -> None:
        self.port = port
        self.every = every
        self.peak = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="connection-sampler")

    def _run(self) -> None:
        while True:
            self.peak = max(self.peak, established_connections(self.port))
            self.samples += 1
            if self._stop.wait(self.every):
                return

    def __enter__(self) -> PeakConnections:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()


needs_proc = pytest.mark.skipif(not _PROC_TCP.exists(), reason="counts sockets via /proc/net/tcp")


def client_options(fake: FakeBird, base_url: str) -> dict[str, object]:
    # Not a test of time: a busy machine must not turn a slow answer into an error.
    return fake_options(fake, base_url, timeout=30.0, backoff=FAST_BACKOFF)


@needs_proc
@pytest.mark.slow
@pytest.mark.anyio
async def test_async_creates_with_injected_503s(no_leaks: None) -> None:
    fake = FakeBird()
    fake.fail_randomly(rate=0.05, status=503, seed=20240501)
    outcomes: dict[int, FlashCall | BirdError] = {}
    with fake.serve() as base_url:
        port = urlsplit(base_url).port
        assert port is not None
        indexes = iter(range(CREATES))

        async with AsyncFlashCalls(**client_options(fake, base_url)) as client:

            async def worker() -> None:
                for index in indexes:
                    try:
                        outcomes[index] = await client.create(number(index))
                    except BirdError as error:
                        outcomes[index] = error

            with PeakConnections(port) as connections:
                await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        assert established_connections(port) == 0

    assert sorted(outcomes) == list(range(CREATES))
    created = {index: o for index, o in outcomes.items() if isinstance(o, FlashCall)}
    failed = [o for o in outcomes.values() if not isinstance(o, FlashCall)]
    # Three 503s in a row are the only way a create may fail here.
    assert all(type(error) is InternalServerError for error in failed), failed[:3]
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
    assert connections.samples >= 5
    assert 0 < connections.peak <= MAX_CONNECTIONS


@pytest.mark.slow
def test_sync_client_shared_by_threads(no_leaks: None) -> None:
    fake = FakeBird()
    results: dict[int, list[FlashCall]] = {}
    errors: list[BaseException] = []
    with fake.serve() as base_url, FlashCalls(**client_options(fake, base_url)) as client:
        start = threading.Barrier(THREADS)

        def work(thread_index: int) -> None:
            created: list[FlashCall] = []
            try:
                start.wait()
                for call_index in range(CALLS_PER_THREAD):
                    index = thread_index * CALLS_PER_THREAD + call_index
                    call = client.create(number(index))
                    created.append(call)
                    client.end(call, result="verified")
            except BaseException as error:
                errors.append(error)
            results[thread_index] = created

        threads = [
            threading.Thread(target=work, args=(index,), name=f"caller-{index}")
            for index in range(THREADS)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert errors == []
    everything = [call for created in results.values() for call in created]
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
