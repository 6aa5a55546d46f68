"""Phone-number normalisation and the comparison at the heart of flash-call verification."""

from __future__ import annotations

from uuid import UUID

import attrs
from bird_channels_api.models.hangup_result import HangupResult

from ._rules import ascii_digits, is_e164
from .errors import InvalidRequestError

# What people put between digits: every character str.isspace() accepts, and - . ( ) /.
# A table rather than a regex: compiling one costs import time and matching it costs per call.
_WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_DROP_SEPARATORS = str.maketrans("", "", _WHITESPACE + "-.()/")
_MAX_SHOWN = 40  # of a rejected input in an error message
MIN_CODE_DIGITS = 4


def _shown(value: str) -> str:
    return repr(value if len(value) <= _MAX_SHOWN else value[:_MAX_SHOWN] + "...")


def normalise_number(number: str, *, field: str) -> str:
    """``"+31 (0)6-1234.5678"``-style input to E.164 (``+316...``), or InvalidRequestError.

    Spaces, dashes, dots, slashes and parentheses are dropped and a ``00`` international prefix
    becomes ``+``. A national number (no country code) is refused rather than guessed.
    """
    if type(number) is str and is_e164(number):
        return number  # already E.164, as most numbers a backend stores are
    if not isinstance(number, str):
        raise InvalidRequestError(
            f"{field} must be a phone number as a string, got {type(number).__name__}",
            field=field,
        )
    if number.lstrip().startswith(("+", "00")):
        # "+31 (0)6 ...": the trunk zero in parentheses is dialled only from inside the country.
        number = number.replace("(0)", "", 1)
    compact = number.translate(_DROP_SEPARATORS)
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if not is_e164(compact):
        raise InvalidRequestError(
            f"{field}={_shown(number)} is not an international phone number: use E.164, "
            "'+' then the country code and number, 7 to 15 digits (for example +31612345678)",
            field=field,
        )
    return compact


def typed_code(code: str) -> str:
    if not isinstance(code, str):
        raise InvalidRequestError(
            f"code must be the digits the user typed, as a string, got {type(code).__name__}",
            field="code",
        )
    compact = code.translate(_DROP_SEPARATORS)
    if not ascii_digits(compact):
        raise InvalidRequestError(
            f"code={_shown(code)} must be digits only (the last digits of the missed call's "
            "number, as the user typed them)",
            field="code",
        )
    return compact


@attrs.frozen
class Verification:
    """The outcome of comparing what the handset saw with the number Bird called from.

    ``result`` is what was (or will be) reported to Bird: ``verified`` or ``wrong_cli``.
    """

    call_id: UUID
    verified: bool
    result: HangupResult
    expected_cli: str
    received_cli: str


def _same(a: str, b: str) -> bool:
    # The caller number is the secret of a flash-call check: compare in constant time.
    # Imported on first use: a process that never verifies need not load hmac.
    from hmac import compare_digest

    return compare_digest(a.encode(), b.encode())


def check_received_cli(call_id: UUID, expected_cli: str, received_cli: str) -> Verification:
    """Compare a full caller number reported by the handset with the expected one."""
    expected = normalise_number(expected_cli, field="expected_cli")
    try:
        received = normalise_number(received_cli, field="received_cli")
    except InvalidRequestError:
        if not isinstance(received_cli, str) or not received_cli.strip():
            raise
        # Whatever the handset read, it is not the number Bird called from.
        return Verification(call_id, False, HangupResult.WRONG_CLI, expected, received_cli)
    verified = _same(expected, received)
    result = HangupResult.VERIFIED if verified else HangupResult.WRONG_CLI
    return Verification(call_id, verified, result, expected, received)


def check_typed_code(
    call_id: UUID, expected_cli: str, code: str, digits: int | None
) -> Verification:
    """Compare the last digits of the expected caller number with what the user typed."""
    expected = normalise_number(expected_cli, field="expected_cli")
    typed = typed_code(code)
    expected_digits = expected[1:]
    if digits is not None and (
        isinstance(digits, bool) or not isinstance(digits, int) or digits < 1
    ):
        raise InvalidRequestError(
            f"digits must be a positive integer, got {digits!r}", field="digits"
        )
    if digits is None and len(typed) < MIN_CODE_DIGITS:
        # Otherwise whoever types a single digit passes one time in ten.
        raise InvalidRequestError(
            f"code has {len(typed)} digit(s): ask the user for at least {MIN_CODE_DIGITS}, or "
            "pass digits= to choose the length",
            field="code",
        )
    length = len(typed) if digits is None else digits
    if length > len(expected_digits):
        raise InvalidRequestError(
            f"cannot compare {length} digits: the caller number has {len(expected_digits)}",
            field="digits" if digits is not None else "code",
        )
    verified = len(typed) == length and _same(expected_digits[-length:], typed)
    result = HangupResult.VERIFIED if verified else HangupResult.WRONG_CLI
    return Verification(call_id, verified, result, expected, typed)
