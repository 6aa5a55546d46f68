"""The edges of the attack defences, pinned directly: which argument an answer is refused on,
the answer length bound, the caller-pool estimate and warning at their thresholds, client keys
of bracketed IPv6 addresses, and how long a verified country stays proven."""

from __future__ import annotations

import pytest
from bird_flashcalls import ConfigurationError, InvalidRequestError
from bird_flashcalls.verification import client_key_for_ip
from bird_flashcalls.verification._answers import MAX_ANSWER_LENGTH, GivenAnswer, given_answer
from bird_flashcalls.verification._callers import (
    MIN_SAMPLES,
    WARN_EVERY,
    CallerWatch,
    checked_caller_numbers,
    ending_key,
    guess_chance,
)
from bird_flashcalls.verification._guard import PROVEN_FOR, ProvenDestinations
from bird_flashcalls.verification._store import CallerSample

CALLER = "+3197010261234"
SALT = b"s" * 32


@pytest.mark.parametrize(
    ("answer", "field"),
    [
        (lambda: given_answer(None, "1" * (MAX_ANSWER_LENGTH + 1)), "code"),
        (lambda: given_answer("+3" + "1" * MAX_ANSWER_LENGTH, None), "received_cli"),
        (lambda: given_answer(31612345678, None), "received_cli"),  # type: ignore[arg-type]
        (lambda: given_answer("  ", None), "received_cli"),
        (lambda: GivenAnswer("123456", None).compare(CALLER, 4), "code"),
    ],
    ids=["code-too-long", "cli-too-long", "cli-not-text", "cli-blank", "code-wrong-length"],
)
def test_a_refused_answer_names_its_argument(answer: object, field: str) -> None:
    with pytest.raises(InvalidRequestError) as refused:
        answer()  # type: ignore[operator]
    assert refused.value.field == field


def test_an_answer_of_the_longest_allowed_length_is_read() -> None:
    longest = "+31 970 1026 1234".ljust(MAX_ANSWER_LENGTH)
    assert given_answer(longest, None).compare(CALLER, 4) == (True, CALLER)


def test_caller_numbers_must_be_a_sequence_of_numbers() -> None:
    with pytest.raises(ConfigurationError, match="sequence"):
        checked_caller_numbers({CALLER: 1})


def test_a_caller_ending_is_keyed_on_its_last_digits_alone() -> None:
    assert ending_key(CALLER, 4, SALT) == ending_key("+447700901234", 4, SALT)
    assert ending_key(CALLER, 4, SALT) != ending_key("+3197010261235", 4, SALT)
    assert ending_key(CALLER, 4, SALT) != ending_key(CALLER, 4, b"t" * 32)


@pytest.mark.parametrize(
    ("samples", "equal_pairs", "attempts", "chance"),
    [(1, 0, 3, 0.0), (2, 0, 1, 0.0), (2, 1, 1, 1.0), (3, 1, 1, 1 / 3), (3, 1, 6, 1.0)],
)
def test_the_guess_chance_at_its_smallest_samples(
    samples: int, equal_pairs: int, attempts: int, chance: float
) -> None:
    assert guess_chance(CallerSample(samples, equal_pairs), attempts) == pytest.approx(chance)


def test_a_weak_pool_is_warned_of_above_the_limit_once_per_period() -> None:
    watch, sample = CallerWatch(), CallerSample(MIN_SAMPLES, 0)
    assert not watch.should_warn(CallerSample(MIN_SAMPLES - 1, 0), 0.5, 0.01, 0.0)
    assert not watch.should_warn(sample, 0.01, 0.01, 0.0)  # at the limit: not over it
    assert watch.should_warn(sample, 0.02, 0.01, 0.0)
    assert not watch.should_warn(sample, 0.02, 0.01, WARN_EVERY - 1)
    assert watch.should_warn(sample, 0.02, 0.01, WARN_EVERY)


def test_a_bracketed_ipv6_address_is_keyed_on_its_64() -> None:
    assert client_key_for_ip("[2001:db8:1:2:3:4:5:6]") == "2001:db8:1:2::/64"


def test_a_country_stays_proven_for_30_days_after_a_verified_check() -> None:
    proven = ProvenDestinations()
    assert not proven.holds("NL", 0.5, None)
    assert proven.holds("NL", 0.5, frozenset({"NL"}))
    assert not proven.holds("NL", 0.5, frozenset({"BE"}))
    proven.add("NL", 1000.0)
    assert proven.holds("NL", 1000.0 + PROVEN_FOR - 1, None)
    assert not proven.holds("NL", 1000.0 + PROVEN_FOR, None)
    assert not proven.holds("BE", 1000.0, None)
