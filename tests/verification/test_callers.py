"""caller_numbers picked per start; guess_chance() flags a small pool fast, never a large one."""

from __future__ import annotations

import collections
import logging
import random

import pytest
from bird_flashcalls.testing import CALLER_NUMBERS, FakeBird
from bird_flashcalls.verification import MemoryStore, VerificationEvent
from bird_flashcalls.verification._callers import (
    MIN_SAMPLES,
    WARN_EVERY,
    CallerWatch,
    ending_key,
    guess_chance,
)
from bird_flashcalls.verification._store import CallerSample

from .support import Env, memory_verifier, right_code

POOL = tuple(f"+319701026{n:04d}" for n in range(1000, 1100))
CALLER = "+3197010261234"
SALT = b"s" * 32


def flagged_at(endings: list[str], store: MemoryStore | None = None) -> int | None:
    """The start at which the verifier's decision flags ``endings`` (1-based), or None."""
    store, watch = store or MemoryStore(), CallerWatch()
    for index, ending in enumerate(endings, start=1):
        sample = store.note_caller(ending, 1000)
        if watch.should_warn(sample, guess_chance(sample, 3), 0.01, float(index)):
            return index
    return None


def test_a_five_number_pool_is_flagged_within_50_starts_in_every_run() -> None:
    runs = [flagged_at(random.Random(seed).choices("01234", k=50)) for seed in range(100)]
    assert all(at is not None and at <= 50 for at in runs)
    assert max(at for at in runs if at is not None) == 40  # the least it judges on


def test_uniform_random_4_digit_endings_are_not_flagged_in_1000_starts() -> None:
    rngs = [random.Random(seed) for seed in range(100)]
    runs = [flagged_at([f"{rng.randrange(10_000):04d}" for _ in range(1000)]) for rng in rngs]
    assert sum(at is not None for at in runs) <= 1  # in at least 99 of 100 seeded runs


@pytest.mark.parametrize(
    ("samples", "equal_pairs", "attempts", "chance"),
    [
        (1, 0, 3, 0.0),
        (2, 0, 1, 0.0),
        (2, 1, 1, 1.0),
        (3, 1, 1, 1 / 3),
        (3, 1, 6, 1.0),
        (10, 9, 1, 9 / 45),
        (100, 4950, 3, 1.0),  # one number only
    ],
)
def test_the_guess_chance_is_the_share_of_equal_pairs_times_the_attempts(
    samples: int, equal_pairs: int, attempts: int, chance: float
) -> None:
    assert guess_chance(CallerSample(samples, equal_pairs), attempts) == pytest.approx(chance)


def test_the_collision_estimate_is_exact_on_even_pools() -> None:
    # 5 numbers taken in turn: every fifth pair equal, 3 guesses win 3 times in 5.
    store = MemoryStore()
    for index in range(1000):
        sample = store.note_caller(str(index % 5), 1000)
    assert guess_chance(sample, 3) == pytest.approx(0.6, abs=0.003)
    # Only the last 1,000 are kept: older endings stop counting.
    for index in range(1000):
        sample = store.note_caller(f"new{index}", 1000)
    assert sample == CallerSample(1000, 0)


def test_a_weak_pool_is_warned_of_above_the_limit_once_per_period() -> None:
    watch, sample = CallerWatch(), CallerSample(MIN_SAMPLES, 0)
    assert not watch.should_warn(CallerSample(MIN_SAMPLES - 1, 0), 0.5, 0.01, 0.0)
    assert not watch.should_warn(sample, 0.01, 0.01, 0.0)  # at the limit: not over it
    assert watch.should_warn(sample, 0.02, 0.01, 0.0)
    assert not watch.should_warn(sample, 0.02, 0.01, WARN_EVERY - 1)
    assert watch.should_warn(sample, 0.02, 0.01, WARN_EVERY)


def test_a_caller_ending_is_keyed_on_its_last_digits_alone() -> None:
    assert ending_key(CALLER, 4, SALT) == ending_key("+447700901234", 4, SALT)
    assert ending_key(CALLER, 4, SALT) != ending_key("+3197010261235", 4, SALT)
    assert ending_key(CALLER, 4, SALT) != ending_key(CALLER, 4, b"t" * 32)


async def test_fakebirds_five_numbers_are_flagged_once_an_hour_by_every_store(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    env.fake.set_caller_numbers(CALLER_NUMBERS)
    events: list[VerificationEvent] = []
    verifier = env.verifier(on_event=events.append, new_destination_limit=None)
    caplog.set_level(logging.WARNING, "bird_flashcalls.verification")
    for index in range(50):
        env.clock.advance(1)
        await verifier.start(f"+3161234{index:04d}", client_key=None)

    weak = [event for event in events if event.kind == "weak_caller_pool"]
    assert len(weak) == 1 and float(weak[0].detail or 0) > 0.5
    # The collision estimate of the endings Bird rang from (3 guesses against 5 numbers: 0.6).
    endings = collections.Counter(call["from"][-4:] for call in env.fake.calls.values())
    pairs = sum(count * (count - 1) // 2 for count in endings.values())
    chance = await verifier.guess_chance()
    assert chance == pytest.approx(guess_chance(CallerSample(50, pairs), 3)) and 0.4 < chance < 0.8
    assert len([r for r in caplog.records if "caller numbers are predictable" in r.message]) == 1
    # Another worker on the same store sees the same figure.
    assert await env.verifier(store=env.new_store()).guess_chance() == (
        await verifier.guess_chance()
    )
    env.clock.advance(3600)
    await verifier.start("+31698765432", client_key=None)
    assert sum(event.kind == "weak_caller_pool" for event in events) == 2


def test_caller_numbers_are_picked_per_start_and_sent_as_from(fake_bird: FakeBird) -> None:
    verifier = memory_verifier(fake_bird, caller_numbers=POOL, new_destination_limit=None)
    challenges = [verifier.start(f"+3161234{n:04d}", client_key=None) for n in range(200)]

    used = [fake_bird.handset_cli(challenge.call_id) for challenge in challenges]
    assert set(used) <= set(POOL) and len(set(used)) > 50
    last = challenges[-1]
    assert verifier.check(last.id, code=right_code(fake_bird, last)).verified
    assert verifier.guess_chance() < 0.1
