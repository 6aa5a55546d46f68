"""Attacks run as a script would, on the defaults: the bounds the README's threat model quotes."""

from __future__ import annotations

import ipaddress
import random

import pytest
from bird_flashcalls.testing import FakeBird
from bird_flashcalls.verification import (
    VerificationDestinationRefused,
    VerificationEvent,
    VerificationRateLimited,
    client_key_for_ip,
)

from .support import PHONE, Clock, Env, memory_verifier, right_code

PUMPED = ("+979", "+88216", "+881", "+252", "+232")
HONEST = ("+316", "+447", "+1212", "+1415", "+1646")


def numbers(prefixes: tuple[str, ...], count: int, seed: int) -> list[str]:
    """``count`` distinct random numbers of 12 digits, each under one of ``prefixes`` in turn."""
    rng, seen = random.Random(seed), set()
    while len(seen) < count:
        prefix = prefixes[len(seen) % len(prefixes)]
        seen.add(prefix + "".join(rng.choices("0123456789", k=12 - len(prefix))))
    return sorted(seen, key=lambda number: rng.random())


async def test_pumping_calls_to_premium_and_unproven_ranges_places_at_most_30(env: Env) -> None:
    events: list[VerificationEvent] = []
    verifier = env.verifier(on_event=events.append)
    placed = refused = limited = 0
    for index, number in enumerate(numbers(PUMPED, 3000, seed=1)):
        env.clock.now += 0.02  # 3,000 starts in 60 s of clock
        try:
            await verifier.start(number, client_key=f"198.51.{index // 256}.{index % 256}")
            placed += 1
        except VerificationDestinationRefused:
            refused += 1
        except VerificationRateLimited as error:
            assert error.limit == "new_destination_limit"
            limited += 1

    assert (placed, refused, limited) == (30, 1800, 1170)
    assert len(env.fake.calls) == 30
    limited_at = {event.destination for event in events if event.kind == "rate_limited"}
    assert limited_at == {"SO", "SL"}  # the country, never the number
    assert {event.detail for event in events if event.kind == "refused"} == {"blocked_prefixes"}


async def test_honest_traffic_to_three_countries_is_all_placed(memory_env: Env) -> None:
    verifier = memory_env.verifier()
    for index, number in enumerate(numbers(HONEST, 1000, seed=2)):
        memory_env.clock.now += 3.6  # 1,000 starts in one hour
        challenge = await verifier.start(number, client_key=f"203.0.{index // 256}.{index % 256}")
        if index % 4:  # three users in four answer
            result = await verifier.check(challenge.id, code=right_code(memory_env.fake, challenge))
            assert (result.verified, result.phone) == (True, number)

    assert len(memory_env.fake.calls) == 1000


def test_one_number_rings_at_most_10_times_a_day_and_takes_30_guesses(fake_bird: FakeBird) -> None:
    clock = Clock()
    verifier = memory_verifier(fake_bird, clock=clock)
    placed = guesses = 0
    for index in range(2880):  # a start every 30 s for a day, each from a new client
        clock.advance(30)
        try:
            challenge = verifier.start(PHONE, client_key=f"2001:db8:{index:x}::1")
        except VerificationRateLimited as error:
            assert error.limit == "per_number_limit"
            continue
        placed += 1
        for _ in range(3):
            guesses += 1
            wrong = f"{(int(right_code(fake_bird, challenge)) + 1) % 10_000:04d}"
            verifier.check(challenge.id, code=wrong)

    assert (placed, guesses) == (10, 30)


def test_a_new_ipv6_address_per_request_is_the_same_client(fake_bird: FakeBird) -> None:
    clock = Clock()
    verifier = memory_verifier(fake_bird, clock=clock, new_destination_limit=None)
    rng, placed = random.Random(3), 0
    for number in numbers(("+316",), 100, seed=3):
        clock.advance(30)
        address = ipaddress.IPv6Address(0x20010DB800010002 << 64 | rng.getrandbits(64))
        try:
            verifier.start(number, client_key=client_key_for_ip(str(address)))
            placed += 1
        except VerificationRateLimited as error:
            assert error.limit == "per_client_limit"

    assert placed == 20


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"),
        ("[2001:DB8:1:2::1]", "2001:db8:1:2::/64"),
        ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
    ],
)
def test_client_key_for_ip_keys_ipv6_on_its_64(address: str, key: str) -> None:
    assert client_key_for_ip(address) == key


def test_client_key_for_ip_refuses_what_is_not_an_address() -> None:
    with pytest.raises(ValueError, match="needs an IPv4 or IPv6 address"):
        client_key_for_ip("testclient")


async def test_client_key_is_required(memory_env: Env) -> None:
    with pytest.raises(TypeError, match="client_key"):
        await memory_env.verifier().start(PHONE)
