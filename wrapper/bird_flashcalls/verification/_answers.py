"""The user's answer to a challenge: read and bounded before any store operation, compared with
a record by the client's own functions (in constant time, in every number format they accept)."""

from __future__ import annotations

import attrs

from .._numbers import compact, read_as_written
from .._rules import MIN_CODE_DIGITS
from .._verify import code_matches, received_matches, typed_code
from ..errors import InvalidRequestError
from ._settings import MAX_CODE_DIGITS

# The longest answer read at all: a caller number written with every separator fits.
MAX_ANSWER_LENGTH = 64


@attrs.define
class GivenAnswer:
    """The user's answer, compared with a record by the client's own functions: in constant
    time, and in every number format they accept."""

    # What the user typed or their phone saw: out of reprs and tracebacks.
    code: str | None = attrs.field(repr=False)
    received_cli: str | None = attrs.field(repr=False)

    def compare(self, expected_cli: str, code_digits: int) -> tuple[bool, str | None]:
        if self.code is not None:
            if len(self.code) != code_digits:
                raise wrong_code_length(self.code, code_digits)
            return code_matches(expected_cli, self.code, code_digits), None
        assert self.received_cli is not None
        matched, reading = received_matches(expected_cli, self.received_cli)
        return matched, reading.e164

    def readable_alone(self) -> tuple[str, str] | None:
        """The answer as a store can compare it without this code: ("code", the digits) to match
        the caller number's last digits, ("cli", the E.164 number or "" for none) to match it
        whole; None when reading it needs the caller number's country (digits without ``+``)."""
        if self.code is not None:
            return "code", self.code
        assert self.received_cli is not None
        if not self.received_cli.startswith("+"):
            return None
        return "cli", read_as_written(self.received_cli).e164 or ""


def wrong_code_length(code: str, code_digits: int) -> InvalidRequestError:
    # Raised before the store writes anything: no attempt is used.
    return InvalidRequestError(
        f"code has {len(code)} digits; this challenge's code has {code_digits}", field="code"
    )


def given_answer(received_cli: str | None, code: str | None) -> GivenAnswer:
    """The answer read and bounded before any store operation: a wrong one uses no attempt and
    no store lock waits on reading it."""
    if (received_cli is None) == (code is None):
        raise InvalidRequestError(
            "check needs exactly one answer: received_cli= (the number the phone saw) or "
            "code= (the digits the user typed)",
            field="received_cli" if received_cli is not None else "code",
        )
    if code is not None:
        _bounded("code", code)
        digits = typed_code(code)
        if not MIN_CODE_DIGITS <= len(digits) <= MAX_CODE_DIGITS:
            raise InvalidRequestError(
                f"code has {len(digits)} digits: a code has {MIN_CODE_DIGITS} to "
                f"{MAX_CODE_DIGITS}, as many as the challenge's code_digits",
                field="code",
            )
        return GivenAnswer(digits, None)
    assert received_cli is not None
    if not isinstance(received_cli, str):
        raise InvalidRequestError(
            "received_cli must be the caller number the handset showed, as a string, got "
            f"{type(received_cli).__name__}",
            field="received_cli",
        )
    _bounded("received_cli", received_cli)
    if not received_cli.strip():
        raise InvalidRequestError(
            "received_cli is empty: pass the caller number the handset showed, as it showed it",
            field="received_cli",
        )
    return GivenAnswer(None, compact(received_cli))


def _bounded(field: str, given: str) -> None:
    if isinstance(given, str) and len(given) > MAX_ANSWER_LENGTH:
        raise InvalidRequestError(
            f"{field} has {len(given)} characters: an answer has at most {MAX_ANSWER_LENGTH}",
            field=field,
        )
