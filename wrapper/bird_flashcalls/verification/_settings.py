"""A verifier's settings: one frozen value, checked once when it is made, passed whole."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import attrs

from .._rules import MIN_CODE_DIGITS
from ..errors import ConfigurationError
from ._models import VerificationEvent

# Defaults, in seconds where they are durations.
DEFAULT_TTL = 300.0
DEFAULT_MAX_ATTEMPTS = 3
DEFAULT_CODE_DIGITS = 4
DEFAULT_PER_NUMBER_LIMIT = (3, 600.0)
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


@attrs.frozen(init=False)
class Settings:
    """What a Verifier or AsyncVerifier was configured with, each value checked."""

    ttl: float
    max_attempts: int
    code_digits: int
    per_number_limit: Limit | None
    per_client_limit: Limit | None
    resend_cooldown: float
    report_lease: float
    clock: Callable[[], float] = attrs.field(repr=False)
    on_event: Callable[[VerificationEvent], None] | None = attrs.field(repr=False)

    def __init__(
        self,
        *,
        ttl: float = DEFAULT_TTL,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        code_digits: int = DEFAULT_CODE_DIGITS,
        per_number_limit: Limit | None = DEFAULT_PER_NUMBER_LIMIT,
        per_client_limit: Limit | None = DEFAULT_PER_CLIENT_LIMIT,
        resend_cooldown: float = DEFAULT_RESEND_COOLDOWN,
        report_lease: float = DEFAULT_REPORT_LEASE,
        clock: Callable[[], float] = time.time,
        on_event: Callable[[VerificationEvent], None] | None = None,
    ) -> None:
        # Checked in this order, so the first wrong argument is the one named.
        checked_ttl = _seconds("ttl", ttl, maximum=MAX_TTL)
        checked_attempts = _whole("max_attempts", max_attempts, 1, MAX_ATTEMPTS)
        checked_digits = _whole("code_digits", code_digits, MIN_CODE_DIGITS, MAX_CODE_DIGITS)
        checked_number_limit = _limit("per_number_limit", per_number_limit)
        checked_client_limit = _limit("per_client_limit", per_client_limit)
        checked_cooldown = _seconds("resend_cooldown", resend_cooldown, allow_zero=True)
        checked_lease = _seconds("report_lease", report_lease)
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
            checked_cooldown,
            checked_lease,
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
    if value is None:
        return None
    if not isinstance(value, tuple) or len(value) != 2:
        raise ConfigurationError(
            f"{name} must be (count, seconds), e.g. (3, 600) for 3 starts per 10 minutes, or "
            f"None to turn it off; got {value!r}"
        )
    count, window = value
    return _whole(f"{name}[0] (starts)", count, 1, MAX_LIMIT_STARTS), _seconds(
        f"{name}[1] (window)", window, maximum=MAX_LIMIT_WINDOW
    )
