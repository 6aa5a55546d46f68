"""Nothing secret handed out, shown, logged or stored; constant-time compares; expiring records."""

from __future__ import annotations

import gc
import hmac
import logging
import pickle
import sqlite3
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bird_flashcalls.testing import FakeBird
from bird_flashcalls.verification import (
    SQLiteStore,
    VerificationEvent,
    VerificationRateLimited,
    Verifier,
)

from .support import OTHER_PHONE, PHONE, WRONG_CLI, Clock, Stores, memory_verifier, right_code

CLIENT_KEY = "203.0.113.7"
# What would give a phone number away in a key or a log line.
PHONE_PARTS = (PHONE, PHONE[1:], PHONE[3:])

_SKIPPED = (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType, types.CodeType)


def reachable_text(root: object, *, limit: int = 200_000) -> Iterator[str]:
    """Every string and bytes reachable from ``root``, not through classes, modules, functions;
    a walk that would go on past ``limit`` objects fails rather than prove less than it says."""
    seen: set[int] = set()
    stack = [root]
    while stack and len(seen) < limit:
        item = stack.pop()
        if id(item) in seen or isinstance(item, _SKIPPED):
            continue
        seen.add(id(item))
        if isinstance(item, str):
            yield item
            continue
        if isinstance(item, bytes | bytearray):
            yield bytes(item).decode("latin-1")
            continue
        stack.extend(gc.get_referents(item))
    assert not stack, f"more than {limit} objects reachable: the walk proves nothing past them"


def assert_hidden(obj: object, secrets: tuple[str, ...]) -> None:
    for text in reachable_text(obj):
        for secret in secrets:
            assert secret not in text, f"{type(obj).__name__} reaches {secret!r}"


def run_everything(verifier: Verifier, fake: FakeBird, clock: Clock) -> list[Any]:
    """Every kind of outcome and object verification hands out, collected."""
    handed_out: list[Any] = []
    challenge = verifier.start(PHONE, client_key=CLIENT_KEY)
    seen = fake.handset_cli(challenge.call_id)
    handed_out += [
        challenge,
        verifier.check(challenge.id, code="0" * 4 if seen[-4:] != "0000" else "1111"),
    ]
    fake.fail_next(status=503)
    handed_out += [verifier.check(challenge.id, received_cli=seen), verifier.flush()]
    try:
        verifier.start(PHONE, client_key=CLIENT_KEY)
    except VerificationRateLimited as error:
        handed_out.append(error)
    other = verifier.start("+31612345679", client_key=CLIENT_KEY)
    handed_out += [other, verifier.state(other.id)]
    clock.advance(400)
    handed_out += [verifier.expire_due(), verifier.state(other.id), verifier.cancel(other.id)]
    return handed_out


def stored_keys(stores: Stores, store: Any) -> list[str]:
    if stores.kind == "memory":
        return list(store._starts) + list(store._records)
    if stores.kind == "sqlite":
        with sqlite3.connect(stores.path) as connection:
            rows = connection.execute("SELECT key FROM bird_flashcalls_starts").fetchall()
        return [row[0] for row in rows]
    with stores.redis_client(decode=True) as client:  # on a cluster, one that scans every node
        return list(client.scan_iter(match=f"{stores.prefix}:*"))


def test_nothing_secret_is_handed_out_stored_shown_or_logged(
    stores: Stores, fake_bird: FakeBird, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    events: list[VerificationEvent] = []
    store = stores.new()
    verifier = Verifier(fake_bird.client(max_retries=0), store, clock=clock, on_event=events.append)

    with caplog.at_level(logging.DEBUG):
        handed_out = run_everything(verifier, fake_bird, clock)

    assert any(isinstance(item, VerificationRateLimited) for item in handed_out)
    key = fake_bird.access_key
    # The access key reaches nothing handed out or stored.
    for item in [*handed_out, *events, store]:
        # A raised exception's traceback holds the frames it left, as any exception's does:
        # what it carries itself is checked.
        assert_hidden(vars(item) if isinstance(item, Exception) else item, (key,))
        assert_hidden(getattr(item, "args", ()), (key,))
        assert key not in repr(item)
    for item in [*handed_out, *events]:
        assert key.encode() not in pickle.dumps(item)
    # Reprs, logs (even at debug) and store keys show no phone number, caller number or key.
    callers = tuple(fake_bird.calls[call_id]["from"] for call_id in fake_bird.calls)
    for item in [*handed_out, verifier]:
        for text in (repr(item), str(item)):
            for secret in (*PHONE_PARTS, *callers, key):
                assert secret not in text, (type(item).__name__, text)
    assert any(r.name == "bird_flashcalls.verification" for r in caplog.records)
    for record in caplog.records:
        text = record.getMessage() + str(record.args) + (record.exc_text or "")
        for secret in (*PHONE_PARTS, *callers, CLIENT_KEY, key):
            assert secret not in text, (record.name, text)
    keys = stored_keys(stores, store)
    assert any(key.startswith(("number:", f"{stores.prefix}:limit:{{number:")) for key in keys)
    for stored in keys:
        for secret in (*PHONE_PARTS, CLIENT_KEY, "612345678"):
            assert secret not in stored


def test_rate_limit_hashes_are_keyed_by_a_secret_of_each_store(
    stores: Stores, tmp_path: Path
) -> None:
    # A hash of a phone number alone can be reversed by trying every number.
    salt = stores.new().sync_operations().salt()
    (tmp_path / "other").mkdir()
    other = Stores(stores.kind, tmp_path / "other", stores.url)

    assert len(salt) >= 16 and stores.new().sync_operations().salt() == salt
    assert other.new().sync_operations().salt() != salt
    other.close()


def test_answers_are_compared_in_constant_time(
    fake_bird: FakeBird, monkeypatch: pytest.MonkeyPatch
) -> None:
    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    verifier = memory_verifier(fake_bird, resend_cooldown=0)
    typed, seen = verifier.start(PHONE, client_key=None), verifier.start(PHONE, client_key=None)
    code, cli = right_code(fake_bird, typed), fake_bird.handset_cli(seen.call_id)

    assert verifier.check(typed.id, code=code).verified
    assert verifier.check(seen.id, received_cli=cli).verified

    # (FakeBird compares access keys with it too.) Full numbers are compared padded to one
    # length, so the time does not depend on how long either number is.
    assert (code.encode(),) * 2 in compared
    assert any(a == b and a.strip() == cli.encode() for a, b in compared)


@pytest.mark.redis
def test_redis_records_and_limits_expire_by_themselves(
    tmp_path: Path, redis_url: str, fake_bird: FakeBird
) -> None:
    stores = Stores("redis", tmp_path, redis_url)
    client = stores.redis_client(decode=True)
    verifier = Verifier(fake_bird.client(), stores.new(), ttl=300, max_attempts=1)
    challenge = verifier.start(PHONE, client_key=CLIENT_KEY)
    key = f"{stores.prefix}:challenge:{{{challenge.id}}}"

    # One key per challenge, with its id as hash tag (one cluster slot).
    assert list(client.scan_iter(match=f"{stores.prefix}:challenge:*")) == [key]
    # Pending: kept until a day past its expiry at most, waiting for expire_due().
    assert 0 < client.pttl(key) <= (300 + 86400) * 1000
    limits = list(client.scan_iter(match=f"{stores.prefix}:limit:*"))
    assert len(limits) == 5
    windows = {"resend": 30, "number": 600, "number1": 86400, "client": 3600, "destinations": 60}
    for limit in limits:
        kind = limit.split("{", 1)[1].split(":", 1)[0]
        assert 0 < client.pttl(limit) <= windows[kind] * 1000
    for callers in client.scan_iter(match=f"{stores.prefix}:callers:*"):
        assert 0 < client.pttl(callers) <= 30 * 86400 * 1000
    # Locked and reported: kept an hour past its expiry, to answer "locked".
    verifier.check(challenge.id, received_cli=WRONG_CLI)
    assert 0 < client.pttl(key) <= (300 + 3600) * 1000
    # Verified and reported: gone at once.
    other = verifier.start(OTHER_PHONE, client_key=None)
    verifier.check(other.id, received_cli=fake_bird.handset_cli(other.call_id))
    assert not client.exists(f"{stores.prefix}:challenge:{{{other.id}}}")
    client.close()
    stores.close()


def test_sqlite_rows_are_removed_by_expire_due(
    tmp_path: Path, fake_bird: FakeBird, clock: Clock
) -> None:
    path = tmp_path / "v.db"
    limits = {"per_number_limit": (3, 600), "new_destination_limit": None}
    verifier = Verifier(fake_bird.client(), SQLiteStore(path), ttl=60, clock=clock, **limits)
    verifier.start(PHONE, client_key=None)
    clock.advance(60)
    verifier.expire_due()  # reports the timeout; the row stays an hour to answer "expired"

    def rows() -> tuple[int, int]:
        with sqlite3.connect(path) as connection:
            challenges = connection.execute("SELECT count(*) FROM bird_flashcalls_challenges")
            starts = connection.execute("SELECT count(*) FROM bird_flashcalls_starts")
            return challenges.fetchone()[0], starts.fetchone()[0]

    assert rows() == (1, 1)  # the resend cooldown's start is forgotten after 30 s
    clock.advance(3600)
    verifier.expire_due()
    assert rows() == (0, 0)


def test_unreported_records_are_not_kept_forever(fake_bird: FakeBird, clock: Clock) -> None:
    verifier = memory_verifier(fake_bird, ttl=60, clock=clock)
    challenge = verifier.start(PHONE, client_key=None)
    clock.advance(60)
    fake_bird.fail_next(status=503, times=10)
    assert verifier.expire_due() == 1  # decided; Bird down

    clock.advance(86400)
    fake_bird.clear_faults()
    verifier.expire_due()

    assert verifier.state(challenge.id) is None
    assert "result" not in fake_bird.calls[challenge.call_id]  # given up after a day


def test_the_steps_of_a_flow_keep_numbers_and_answers_out_of_their_reprs() -> None:
    # A traceback with local variables shows each step's repr.
    from bird_flashcalls.verification._answers import GivenAnswer
    from bird_flashcalls.verification._steps import Ring

    shown = repr(Ring(PHONE)) + repr(GivenAnswer("4711", WRONG_CLI))
    for secret in (PHONE, WRONG_CLI, "4711"):
        assert secret not in shown
