"""What the chaos experiments share: the load run while a fault lasts (start, answer rightly
seven times in ten, now and then ``expire_due()``; one caller number, so every answer is known;
one ledger file per worker, a line at a time), its worker processes, the sweep and the tally."""

from __future__ import annotations

import collections
import itertools
import random
import resource
import signal
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import attrs
from bird_flashcalls import BirdError, FlashCalls
from bird_flashcalls.testing import FakeBird
from bird_flashcalls.verification import (
    RedisStore,
    SQLiteStore,
    StoreError,
    VerificationEvent,
    VerificationStore,
    Verifier,
)

CALLER = "+3197010260002"  # FakeBird(caller_numbers=[CALLER]): the right answer, always
WRONG = "+3197010269999"
TTL = 60.0
LEASE = 30.0
SETTINGS: dict[str, Any] = {
    "ttl": TTL,
    "report_lease": LEASE,
    "resend_cooldown": 0,
    "per_number_limit": None,
    "per_client_limit": None,
    "new_destination_limit": None,
}
RESULTS = Path(__file__).resolve().parent / "results.md"


def bird_settings(fake: FakeBird, base_url: str) -> dict[str, str]:
    """What a worker process needs to reach a served FakeBird."""
    return {
        "access_key": fake.access_key,
        "workspace_id": fake.workspace_id,
        "channel_id": fake.channel_id,
        "base_url": base_url,
    }


def bird_client(bird: dict[str, str]) -> FlashCalls:
    return FlashCalls(**bird, max_retries=0)


def run_load(verifier: Verifier, worker: int, ledger: Path, stop: Path) -> None:
    """Start and answer verifications until the file ``stop`` exists, letting every failure go;
    each worker number rings numbers of its own."""
    rng = random.Random(worker)
    phones = (f"+316{worker:03d}{n:06d}" for n in itertools.count())
    with ledger.open("a", buffering=1) as lines:
        while not stop.exists():
            try:
                challenge = verifier.start(next(phones), client_key=None)
            except BirdError as error:
                lines.write(f"error {kind_of(error)}\n")
                continue
            lines.write("started\n")
            right = rng.random() < 0.7
            if right:  # written before the check: a worker killed during it is counted right
                lines.write(f"right {challenge.call_id}\n")
            try:
                result = verifier.check(challenge.id, received_cli=CALLER if right else WRONG)
                if result.verified and not right:
                    lines.write(f"wrong-verified {challenge.call_id}\n")
                if rng.random() < 0.1:
                    verifier.expire_due()
            except BirdError as error:
                lines.write(f"error {kind_of(error)}\n")


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
    """A worker process: the load until ``stop`` exists; ``file_size_limit``: a disk full for it
    alone (RLIMIT_FSIZE); ``caller_known``: the verifier picks the caller number itself."""
    if file_size_limit is not None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a failed write, not a dead process
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))
    callers = {"caller_numbers": [CALLER]} if caller_known else {}
    verifier = Verifier(bird_client(bird), open_store(location), **SETTINGS, **callers)
    run_load(verifier, worker, ledger, stop)


# What a StoreError's message says, as one word per kind of fault.
FAULTS = {
    "disk is full": "disk-full",
    "out of memory": "out-of-memory",
    "could not reach": "unreachable",
    "did not answer in time": "timeout",
    "locked": "locked",
}


def kind_of(error: BirdError) -> str:
    if not isinstance(error, StoreError):
        return type(error).__name__
    return next((kind for words, kind in FAULTS.items() if words in error.message), "store-other")


# Experiments wait on what the load has done, not on the clock: on a busy machine it does less
# per second. The bound only turns a load that makes no progress into a failure that says so.
PROGRESS_TIMEOUT = 120.0


def wait_until(done: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + PROGRESS_TIMEOUT
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"the load did not get there in {PROGRESS_TIMEOUT:.0f} s: {what}")
        time.sleep(0.05)  # polling what the load wrote


def seen(folder: Path, line: str) -> int:
    """How many times the ledgers in ``folder`` hold ``line`` so far (``started``, or
    ``error out-of-memory``...)."""
    return sum(ledger.read_text().count(line + "\n") for ledger in folder.glob("*.log"))


def settle(flash_calls: FlashCalls, store: VerificationStore) -> int:
    """One worker, its clock past every ttl and lease, reports what is left; the orphans found."""
    later = time.time() + TTL + LEASE + 1
    events: list[VerificationEvent] = []
    verifier = Verifier(flash_calls, store, clock=lambda: later, on_event=events.append, **SETTINGS)
    for _ in range(50):
        if verifier.expire_due() == 0 and verifier.flush() == 0:
            return sum(event.kind == "orphaned" for event in events)
    raise AssertionError("reports were still waiting after 50 sweeps")


@attrs.frozen
class Tally:
    """One experiment's row: calls placed, reports accepted, calls never reported, reports
    beyond a call's first, and verified results a wrong answer got."""

    calls: int
    reports: int
    lost: int
    duplicates: int
    wrong_verified: int

    def row(self, experiment: str, note: str = "") -> str:
        cells = (self.calls, self.reports, self.lost, self.duplicates, self.wrong_verified)
        return f"| {experiment} | " + " | ".join(f"{n:,}" for n in cells) + f" | {note} |"


def tally(fake: FakeBird, ledgers: Iterable[Path]) -> Tally:
    right: set[str] = set()
    wrong_verified = 0
    for ledger in ledgers:
        for line in ledger.read_text().splitlines():
            kind, _, call_id = line.partition(" ")
            if kind == "right":
                right.add(call_id)
            elif kind == "wrong-verified":
                wrong_verified += 1
    by_number = {call["to"]: call_id for call_id, call in fake.calls.items()}
    results: dict[str, list[str]] = collections.defaultdict(list)
    for request in fake.requests:
        tail = request.path.rsplit("/", 1)[1]
        if request.status != 202 or tail in ("", "flashcalls"):  # flashcalls: a create
            continue
        call_id = by_number[request.json["to"]] if tail == "hangup" else tail
        results[call_id].append(request.json["result"])
    verified_unanswered = sum(
        "verified" in results[call_id] and call_id not in right for call_id in fake.calls
    )
    return Tally(
        calls=len(fake.calls),
        reports=sum(len(found) for found in results.values()),
        lost=sum(not results[call_id] for call_id in fake.calls),
        duplicates=sum(max(0, len(found) - 1) for found in results.values()),
        wrong_verified=wrong_verified + verified_unanswered,
    )


def recorded(
    fake: FakeBird, folder: Path, experiment: str, note: str | None = None
) -> tuple[Tally, collections.Counter[str]]:
    """The experiment's tally and failed operations by kind; its row (``note``, else the errors)
    replaces its last one in results.md, where the README's table under Reliability comes from."""
    ledgers = list(folder.glob("*.log"))
    result = tally(fake, ledgers)
    failed = collections.Counter(
        line.split()[1]
        for ledger in ledgers
        for line in ledger.read_text().splitlines()
        if line.startswith("error ")
    )
    if note is None:
        note = ", ".join(f"{count:,} {kind}" for kind, count in sorted(failed.items())) + " errors"
    row = result.row(experiment, note)
    header = (
        "| experiment | calls | reports | lost | duplicates | wrong `verified` | notes |\n"
        "|---|---|---|---|---|---|---|\n"
    )
    text = RESULTS.read_text() if RESULTS.exists() else ""
    lines = text.splitlines()[2:] if text.startswith("| experiment") else []
    # A re-run keeps its row's place, so the table stays in the README's order.
    rows = [row if line.split("|")[1] == row.split("|")[1] else line for line in lines]
    if row not in rows:
        rows.append(row)
    RESULTS.write_text(header + "".join(f"{line}\n" for line in rows))
    return result, failed
