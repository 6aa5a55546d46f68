"""A verifier's settings: one frozen value, checked once when it is made, passed whole."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Collection, Sequence

import attrs

from .._rules import MIN_CODE_DIGITS, ascii_digits
from ..errors import ConfigurationError
from ._callers import DEFAULT_MAX_GUESS_CHANCE, checked_caller_numbers
from ._countries import REGIONS
from ._guard import DEFAULT_BLOCKED_PREFIXES
from ._models import VerificationEvent

# Defaults, in seconds where they are durations.
DEFAULT_TTL = 300.0
DEFAULT_MAX_ATTEMPTS = 3
DEFAULT_CODE_DIGITS = 4
# Three calls in 10 minutes, ten a day: a victim's phone rings at most 10 times a day.
DEFAULT_PER_NUMBER_LIMIT = ((3, 600.0), (10, 86400.0))
# Starts to countries where no challenge has been verified lately (and not named in
# allowed_countries), across all clients: toll fraud rings numbers nobody answers, honest
# traffic proves its countries with its first verified check.
DEFAULT_NEW_DESTINATION_LIMIT = (30, 60.0)
DEFAULT_PER_CLIENT_LIMIT = (20, 3600.0)
DEFAULT_RESEND_COOLDOWN = 30.0
# Longer than a report with all its retries can take (3 attempts of 10 s, backoff, Retry-After):
# a worker that died holding a report is taken over after this.
DEFAULT_REPORT_LEASE = 120.0

MAX_TTL = 86400.0
MAX_ATTEMPTS = 100
MAX_CODE_DIGITS = 6  # the prefix shown keeps the country code and most of the number
MAX_LIMIT_STARTS = 1_000_000
MAX_LIMIT_WINDOW = 30 * 86400.0

# (starts, window in seconds): at most that many starts in any window that long.
Limit = tuple[int, float]
# The same, or several of them, each holding (a short and a daily window).
Limits = Limit | Sequence[Limit]


@attrs.frozen(init=False)
class VerifierSettings:
    """What a Verifier or AsyncVerifier was configured with, each value checked."""

    ttl: float
    max_attempts: int
    code_digits: int
    per_number_limit: tuple[Limit, ...]
    per_client_limit: Limit | None
    new_destination_limit: Limit | None
    blocked_prefixes: tuple[str, ...]
    allowed_countries: frozenset[str] | None
    resend_cooldown: float
    report_lease: float
    caller_numbers: tuple[str, ...] | None = attrs.field(repr=False)
    max_guess_chance: float
    clock: Callable[[], float] = attrs.field(repr=False)
    on_event: Callable[[VerificationEvent], None] | None = attrs.field(repr=False)

    def __init__(
        self,
        *,
        ttl: float = DEFAULT_TTL,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        code_digits: int = DEFAULT_CODE_DIGITS,
        per_number_limit: Limits | None = DEFAULT_PER_NUMBER_LIMIT,
        per_client_limit: Limit | None = DEFAULT_PER_CLIENT_LIMIT,
        new_destination_limit: Limit | None = DEFAULT_NEW_DESTINATION_LIMIT,
        blocked_prefixes: Sequence[str] = DEFAULT_BLOCKED_PREFIXES,
        allowed_countries: Collection[str] | None = None,
        resend_cooldown: float = DEFAULT_RESEND_COOLDOWN,
        report_lease: float = DEFAULT_REPORT_LEASE,
        caller_numbers: Sequence[str] | None = None,
        max_guess_chance: float = DEFAULT_MAX_GUESS_CHANCE,
        clock: Callable[[], float] = time.time,
        on_event: Callable[[VerificationEvent], None] | None = None,
    ) -> None:
        # Checked in this order, so the first wrong argument is the one named.
        checked_ttl = _seconds("ttl", ttl, maximum=MAX_TTL)
        checked_attempts = _whole("max_attempts", max_attempts, 1, MAX_ATTEMPTS)
        checked_digits = _whole("code_digits", code_digits, MIN_CODE_DIGITS, MAX_CODE_DIGITS)
        checked_number_limit = _limits("per_number_limit", per_number_limit)
        checked_client_limit = _limit("per_client_limit", per_client_limit)
        checked_destination_limit = _limit("new_destination_limit", new_destination_limit)
        checked_prefixes = _prefixes(blocked_prefixes)
        checked_countries = _countries(allowed_countries)
        checked_cooldown = _seconds("resend_cooldown", resend_cooldown, allow_zero=True)
        checked_lease = _seconds("report_lease", report_lease)
        checked_callers = checked_caller_numbers(caller_numbers)
        if (
            isinstance(max_guess_chance, bool)
            or not isinstance(max_guess_chance, int | float)
            or not 0 < max_guess_chance <= 1
        ):
            raise ConfigurationError(
                f"max_guess_chance must be a probability > 0 and <= 1, got {max_guess_chance!r}"
            )
        if not callable(clock):
            raise ConfigurationError(
                "clock must be a function returning seconds since the epoch, like time.time"
            )
        if on_event is not None and not callable(on_event):
            raise ConfigurationError("on_event must be a function taking a VerificationEvent")
        self.__attrs_init__(
            checked_ttl,
            checked_attempts,
            checked_digits,
            checked_number_limit,
            checked_client_limit,
            checked_destination_limit,
            checked_prefixes,
            checked_countries,
            checked_cooldown,
            checked_lease,
            checked_callers,
            float(max_guess_chance),
            clock,
            on_event,
        )


def _seconds(
    name: str, value: float, *, maximum: float = math.inf, allow_zero: bool = False
) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value < 0
        or (value == 0 and not allow_zero)
        or value > maximum
    ):
        bound = "" if maximum == math.inf else f" and at most {maximum:g}"
        least = ">= 0" if allow_zero else "> 0"
        raise ConfigurationError(
            f"{name} must be a number of seconds {least}{bound}, got {value!r}"
        )
    return float(value)


def _whole(name: str, value: int, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigurationError(
            f"{name} must be a whole number from {low} to {high}, got {value!r}"
        )
    return value


def _limit(name: str, value: Limit | None) -> Limit | None:
    return None if value is None else _checked_limit(name, value)


def _checked_limit(name: str, value: Limit) -> Limit:
    if not isinstance(value, tuple) or len(value) != 2:
        raise ConfigurationError(
            f"{name} must be (count, seconds), e.g. (3, 600) for 3 starts per 10 minutes, or "
            f"None to turn it off; got {value!r}"
        )
    count, window = value
    return _whole(f"{name}[0] (starts)", count, 1, MAX_LIMIT_STARTS), _seconds(
        f"{name}[1] (window)", window, maximum=MAX_LIMIT_WINDOW
    )


def _limits(name: str, value: Limits | None) -> tuple[Limit, ...]:
    if value is None:
        return ()
    if isinstance(value, tuple) and len(value) == 2 and not isinstance(value[0], tuple):
        return (_checked_limit(name, value),)
    if not isinstance(value, Sequence) or isinstance(value, str) or not value:
        raise ConfigurationError(
            f"{name} must be (count, seconds), a sequence of them such as ((3, 600), (10, 86400)), "
            f"or None to turn it off; got {value!r}"
        )
    limits: Sequence[Limit] = value  # type: ignore[assignment]
    return tuple(_checked_limit(f"{name}[{index}]", limit) for index, limit in enumerate(limits))


def _prefixes(value: Sequence[str]) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise ConfigurationError(
            "blocked_prefixes must be a sequence of '+' and digits, e.g. "
            f"(*DEFAULT_BLOCKED_PREFIXES, '+252'), or () to block nothing; got {value!r}"
        )
    for prefix in value:
        if not (isinstance(prefix, str) and prefix[:1] == "+" and ascii_digits(prefix[1:])):
            raise ConfigurationError(
                f"blocked_prefixes holds {prefix!r}: each must be '+' then digits, e.g. '+979'"
            )
    return tuple(value)


def _countries(value: Collection[str] | None) -> frozenset[str] | None:
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, Collection):
        raise ConfigurationError(
            f"allowed_countries must be a collection of ISO 3166-1 alpha-2 codes such as "
            f"{{'NL', 'GB'}}, or None to allow every country; got {value!r}"
        )
    unknown = sorted(repr(code) for code in value if code not in REGIONS)
    if unknown:
        raise ConfigurationError(
            f"allowed_countries holds {', '.join(unknown)}: not an ISO 3166-1 alpha-2 code of a "
            "country with phone numbers (upper case, e.g. 'GB')"
        )
    return frozenset(value)
