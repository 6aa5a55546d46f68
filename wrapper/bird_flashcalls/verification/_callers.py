"""How predictable the codes are: the caller numbers a verifier rings from, and the estimated
chance that an attacker who knows their recent endings wins a challenge. Pure, no I/O."""

from __future__ import annotations

import threading

from .._numbers import normalise_number
from ..errors import ConfigurationError, InvalidRequestError
from ._store import CallerSample
from ._transitions import limit_key

DEFAULT_MAX_GUESS_CHANCE = 0.01
# Endings kept in the store, every worker's together: the recent distribution.
KEPT_ENDINGS = 1000
# Fewer endings than this say too little to raise an alarm on.
MIN_SAMPLES = 40
# A verifier warns about a weak caller pool at most this often (seconds of its clock).
WARN_EVERY = 3600.0


def checked_caller_numbers(numbers: object) -> tuple[str, ...] | None:
    """``caller_numbers`` as E.164 numbers, or ConfigurationError naming the one refused."""
    if numbers is None:
        return None
    if isinstance(numbers, str | bytes) or not isinstance(numbers, list | tuple | frozenset | set):
        raise ConfigurationError(
            "caller_numbers must be a sequence of the E.164 numbers your Bird channel may call "
            f"from, or None to let Bird pick; got {type(numbers).__name__}"
        )
    checked = []
    for index, number in enumerate(numbers):
        try:
            checked.append(normalise_number(number, field=f"caller_numbers[{index}]"))
        except InvalidRequestError as error:
            raise ConfigurationError(str(error)) from None
    if not checked:
        raise ConfigurationError("caller_numbers is empty: give at least one, or None")
    return tuple(dict.fromkeys(checked))


def ending_key(caller: str, digits: int, salt: bytes) -> str:
    """A keyed hash of a caller number's last ``digits`` digits: the store never keeps a code."""
    return limit_key("ending:" + caller[-digits:], salt)


def guess_chance(sample: CallerSample, attempts: int) -> float:
    """The chance that ``attempts`` guesses win one challenge, by the collision estimator: the
    share of equal pairs among the endings kept is an unbiased estimate of the chance that two
    endings drawn from the pool are equal (sum of p_i squared, Renyi entropy of order 2); each
    guess of a well-informed attacker wins about that often. 0.0 while fewer than two are kept.

    Unlike "how often the most frequent ending came up", it does not read chance repeats in a
    small sample of a large pool as a weak pool."""
    if sample.samples < 2:
        return 0.0
    pairs = sample.samples * (sample.samples - 1) // 2
    return min(1.0, attempts * sample.equal_pairs / pairs)


class CallerWatch:
    """One verifier's memory of when it last warned about a weak caller pool."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._warned_at: float | None = None

    def should_warn(self, sample: CallerSample, chance: float, limit: float, now: float) -> bool:
        """Whether ``chance`` is too high on enough endings, and an hour has passed since the
        last warning (then it counts as given)."""
        if sample.samples < MIN_SAMPLES or chance <= limit:
            return False
        with self._lock:
            if self._warned_at is not None and now - self._warned_at < WARN_EVERY:
                return False
            self._warned_at = now
            return True
