"""Settings are checked once, when a verifier is made, with errors that say what to do."""

from __future__ import annotations

import math
from typing import Any

import pytest
from bird_flashcalls import ConfigurationError
from bird_flashcalls.testing import FakeBird
from bird_flashcalls.verification import (
    DEFAULT_BLOCKED_PREFIXES,
    AsyncVerifier,
    MemoryStore,
    RedisStore,
    Verifier,
)
from bird_flashcalls.verification._settings import VerifierSettings

CALLERS = "caller_numbers must be a sequence of the E.164 numbers"


def test_the_defaults_are_the_documented_ones() -> None:
    settings = VerifierSettings()

    assert (settings.ttl, settings.max_attempts, settings.code_digits) == (300.0, 3, 4)
    assert settings.per_number_limit == ((3, 600.0), (10, 86400.0))
    assert (settings.per_client_limit, settings.new_destination_limit) == ((20, 3600.0), (30, 60))
    assert (settings.resend_cooldown, settings.report_lease) == (30.0, 120.0)
    assert (settings.blocked_prefixes, settings.allowed_countries) == (
        DEFAULT_BLOCKED_PREFIXES,
        None,
    )
    assert {"+800", "+808", "+870", "+881", "+882", "+883", "+979"} <= set(DEFAULT_BLOCKED_PREFIXES)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"ttl": 0}, "ttl must be a number of seconds > 0 and at most 86400, got 0"),
        ({"ttl": math.inf}, "ttl must be"),
        ({"ttl": 86400.5}, "ttl must be a number of seconds > 0 and at most 86400, got 86400.5"),
        ({"ttl": True}, "ttl must be"),
        ({"max_attempts": 0}, "max_attempts must be a whole number from 1 to 100, got 0"),
        ({"max_attempts": 101}, "max_attempts must be a whole number from 1 to 100, got 101"),
        ({"max_attempts": 2.5}, "max_attempts"),
        ({"code_digits": 3}, "code_digits must be a whole number from 4 to 6, got 3"),
        ({"code_digits": 7}, "code_digits"),
        ({"per_number_limit": 3}, r"per_number_limit must be (count, seconds)"),
        ({"per_number_limit": (0, 600)}, "per_number_limit[0] (starts)"),
        ({"per_number_limit": (1_000_001, 60)}, "per_number_limit[0] (starts) must be"),
        ({"per_number_limit": (3, 30 * 86400 + 1)}, "per_number_limit[1] (window) must be"),
        (
            {"per_client_limit": (0, 60)},
            "per_client_limit[0] (starts) must be a whole number from 1 to 1000000, got 0",
        ),
        ({"per_client_limit": (20, -1)}, "per_client_limit[1] (window)"),
        ({"per_number_limit": ((3, 600), (0, 60))}, "per_number_limit[1][0] (starts) must be"),
        ({"per_number_limit": ()}, "per_number_limit must be (count, seconds), a sequence"),
        ({"new_destination_limit": (5, 0)}, "new_destination_limit[1] (window) must be"),
        ({"blocked_prefixes": "+979"}, "blocked_prefixes must be a sequence of '+' and digits"),
        ({"blocked_prefixes": ["979"]}, "blocked_prefixes holds '979': each must be '+' then"),
        ({"allowed_countries": "NL"}, "allowed_countries must be a collection of ISO 3166-1"),
        ({"allowed_countries": {"NL", "uk", "XX"}}, "allowed_countries holds 'XX', 'uk': not"),
        ({"resend_cooldown": -1}, "resend_cooldown must be a number of seconds >= 0, got -1"),
        (
            {"resend_cooldown": math.nan},
            "resend_cooldown must be a number of seconds >= 0, got nan",
        ),
        ({"report_lease": 0}, "report_lease must be a number of seconds > 0, got 0"),
        ({"report_lease": math.inf}, "report_lease must be a number of seconds > 0, got inf"),
        ({"clock": 12.0}, "clock must be a function"),
        ({"on_event": "log"}, "on_event must be a function"),
        ({"caller_numbers": "+3197010260000"}, CALLERS),
        ({"caller_numbers": {"+3197010260000": 1}}, CALLERS),
        ({"caller_numbers": []}, "caller_numbers is empty"),
        (
            {"caller_numbers": ["+3197010260000", "0612345678"]},
            "caller_numbers[1] is not an international phone",
        ),
        ({"max_guess_chance": 0}, "max_guess_chance must be a probability"),
    ],
)
def test_a_refused_setting_is_named_with_its_bounds(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        VerifierSettings(**settings)

    assert str(caught.value).startswith(message)


@pytest.mark.parametrize(
    "settings",
    [
        {"ttl": 86400},
        {"max_attempts": 100},
        {"max_attempts": 1},
        {"code_digits": 6},
        {"per_number_limit": ((1_000_000, 30 * 86400),)},
        {"per_number_limit": ((1, 0.001), (5, 60))},
        {"blocked_prefixes": ()},
        {"allowed_countries": frozenset({"GB", "GG"})},
        {"per_client_limit": (1, 0.001)},
        {"resend_cooldown": 0},
    ],
)
def test_settings_at_their_bounds_are_taken(settings: dict[str, Any]) -> None:
    name, value = next(iter(settings.items()))
    assert getattr(VerifierSettings(**settings), name) == value


def test_the_verifiers_check_their_settings_store_and_client(fake_bird: FakeBird) -> None:
    with pytest.raises(ConfigurationError, match="code_digits must be"):
        Verifier(fake_bird.client(), code_digits=3)
    with pytest.raises(ConfigurationError, match="ttl must be"):
        AsyncVerifier(fake_bird.async_client(), ttl=0)
    with pytest.raises(ConfigurationError, match=r"store must be a MemoryStore\(\), SQLiteStore"):
        Verifier(fake_bird.client(), {})  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="use AsyncVerifier with an AsyncFlashCalls"):
        Verifier(fake_bird.async_client())  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="use Verifier with a FlashCalls"):
        AsyncVerifier(fake_bird.client())  # type: ignore[arg-type]


def test_the_default_store_is_a_memory_store_of_its_own(fake_bird: FakeBird) -> None:
    first, second = Verifier(fake_bird.client()), Verifier(fake_bird.client())
    assert isinstance(first.store, MemoryStore)
    assert first.store is not second.store
    assert "MemoryStore" in repr(first) and "ttl=300" in repr(first)


@pytest.mark.redis
def test_a_redis_store_goes_with_the_verifier_of_its_client(
    fake_bird: FakeBird, redis_url: str
) -> None:
    import redis
    import redis.asyncio

    with pytest.raises(ConfigurationError, match="use it with AsyncVerifier"):
        Verifier(fake_bird.client(), RedisStore(redis.asyncio.Redis.from_url(redis_url)))
    with pytest.raises(ConfigurationError, match="give AsyncVerifier a"):
        AsyncVerifier(fake_bird.async_client(), RedisStore(redis.Redis.from_url(redis_url)))
    with pytest.raises(ConfigurationError, match=r"needs a redis\.Redis"):
        RedisStore(object())
    with pytest.raises(ConfigurationError, match="prefix"):
        RedisStore(redis.Redis.from_url(redis_url), prefix="{x}")
