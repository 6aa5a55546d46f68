"""The numbers FakeBird rings from when a create request names none, as Bird picks from its pool.

The default pool looks like production: 1,000 Dutch 097 numbers whose last four digits (the code
a user types) are all different, drawn from a seeded generator so a run can be repeated.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from .._rules import is_e164

# A small fixed pool (the default before 1,000 numbers): codes 0000 to 0004. For tests that want
# predictable numbers, pass it as FakeBird(caller_numbers=CALLER_NUMBERS).
CALLER_NUMBERS = (
    "+3197010260000",
    "+3197010260001",
    "+3197010260002",
    "+3197010260003",
    "+3197010260004",
)
DEFAULT_CALLER_POOL_SIZE = 1000
# Distinct last four digits: there are only so many.
MAX_CALLER_POOL_SIZE = 10_000


def caller_pool(size: int = DEFAULT_CALLER_POOL_SIZE, seed: int | None = None) -> tuple[str, ...]:
    """``size`` numbers ``+31970XXXXYYYY`` with distinct last four digits ``YYYY``; the same
    ``seed`` gives the same pool (None: a fresh one)."""
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_CALLER_POOL_SIZE:
        raise ValueError(
            f"caller_pool_size must be a whole number from 1 to {MAX_CALLER_POOL_SIZE} (numbers "
            f"with distinct last four digits), got {size!r}"
        )
    # A generator of its own: the pool does not shift the picks that share the seed.
    rng = random.Random(None if seed is None else f"caller numbers {seed}")
    endings = rng.sample(range(MAX_CALLER_POOL_SIZE), size)
    middles = rng.choices(range(10_000), k=size)
    return tuple(
        f"+31970{middle:04d}{ending:04d}" for middle, ending in zip(middles, endings, strict=True)
    )


def checked_caller_numbers(numbers: object) -> tuple[str, ...]:
    """``numbers`` as a tuple, or the ValueError that says what a pool must be."""
    if (
        isinstance(numbers, str | bytes)
        or not isinstance(numbers, Sequence)
        or not numbers
        or not all(isinstance(number, str) and is_e164(number) for number in numbers)
    ):
        raise ValueError(
            "caller_numbers must be a non-empty list of E.164 numbers such as +3197010260000"
        )
    return tuple(numbers)
