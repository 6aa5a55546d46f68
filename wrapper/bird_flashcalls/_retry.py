"""When to try again, and how long to wait: pure decisions shared by the sync and async clients."""

from __future__ import annotations

import datetime
import random
import time
from collections.abc import Callable

import attrs

from . import _constants as constants
from .errors import ConfigurationError


@attrs.frozen
class Backoff:
    """Exponential backoff with jitter, and how far a server's Retry-After is honoured."""

    initial_delay: float = constants.INITIAL_RETRY_DELAY
    max_delay: float = constants.MAX_RETRY_DELAY
    max_retry_after: float = constants.MAX_RETRY_AFTER

    def __attrs_post_init__(self) -> None:
        for name in ("initial_delay", "max_delay", "max_retry_after"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
                raise ConfigurationError(
                    f"Backoff.{name} must be a number of seconds >= 0, got {value!r}"
                )

    def delay(self, retry_number: int, retry_after: float | None, jitter: float) -> float:
        """Seconds to wait before retry ``retry_number`` (0-based); ``jitter`` in [0, 1)."""
        if retry_after is not None and 0 <= retry_after <= self.max_retry_after:
            return retry_after
        # The exponent is capped: 2.0 ** 1024 overflows, and max_retries has no upper bound.
        exponential = min(self.initial_delay * 2.0 ** min(retry_number, 64), self.max_delay)
        return exponential * (1 - 0.25 * jitter)


def parse_retry_after(value: str | None, now: Callable[[], float] = time.time) -> float | None:
    """Retry-After as seconds: a number of seconds or an HTTP date; None when absent or garbage."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return seconds if seconds >= 0 and seconds == seconds and seconds != float("inf") else None
    # Imported here: HTTP dates in Retry-After are rare and email.utils costs import time.
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        # asctime and "-0000" dates carry no zone; HTTP dates are always GMT (RFC 9110 5.6.7).
        when = when.replace(tzinfo=datetime.UTC)
    return max(0.0, when.timestamp() - now())


def jitter() -> float:
    return random.random()
