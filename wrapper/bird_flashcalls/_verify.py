"""Flash-call verification: what the handset saw against the number Bird called from.

The number rules (normalisation, national formats, constant-time comparison) are in
``_numbers``.
"""

from __future__ import annotations

from typing import Literal
from uuid import UUID

import attrs

from . import _numbers
from ._generated.models.flash_call_hangup import FlashCallHangup
from ._generated.models.hangup_result import HangupResult
from ._log import logger
from ._masking import masked_number
from ._numbers import normalise_number
from ._rules import MIN_CODE_DIGITS, ascii_digits
from .errors import InvalidRequestError

# How ``received_cli`` was read: as a number, or as the last digits typed for ``verify_code``.
Interpretation = _numbers.ReadAs | Literal["last_digits"]

__all__ = [
    "MIN_CODE_DIGITS",
    "Interpretation",
    "Verification",
    "check_received_cli",
    "check_typed_code",
    "normalise_number",
    "typed_code",
    "with_answer",
]


def typed_code(code: str) -> str:
    if not isinstance(code, str):
        raise InvalidRequestError(
            f"code must be the digits the user typed, as a string, got {type(code).__name__}",
            field="code",
        )
    compact = _numbers.drop_separators(code)
    if not ascii_digits(compact):
        raise InvalidRequestError(
            f"code must be digits only, the last digits of the missed call's number as the user "
            f"typed them ({_numbers.summary(code)})",
            field="code",
        )
    return compact


def _masked(number: str) -> str:
    return repr(masked_number(number))


@attrs.frozen
class Verification:
    """The outcome of comparing what the handset saw with the number Bird called from.

    ``result`` is what was (or will be) reported to Bird: ``verified`` or ``wrong_cli``.
    ``received_cli`` is the received number as it was read: the E.164 number (reported to Bird as
    ``receivedCli``), or the text as received when it could not be read, or the digits typed for
    ``verify_code``. ``interpreted_as`` says how it was read:

    - ``e164``: written with ``+`` and the country code;
    - ``international_prefix``: an international call prefix (``00``, ``011``...) then the
      country code;
    - ``national``: as dialled inside the country of ``expected_cli`` (``0...`` in most);
    - ``unparsed``: no phone number in any of those forms (never verified);
    - ``last_digits``: the last digits typed for ``verify_code``.

    ``reported`` is Bird's answer to the report, as Bird sent it (its ``result``, and any field
    the spec does not name in ``additional_properties``); ``None`` until the report is sent.
    ``disputed`` is true when that answer names another result than the one reported: Bird
    did not take the outcome as given, and ``verified`` is this client's decision alone (the
    ``bird_flashcalls`` logger warns of it too).

    The repr masks both numbers.
    """

    call_id: UUID
    verified: bool
    result: HangupResult
    expected_cli: str = attrs.field(repr=_masked)
    received_cli: str = attrs.field(repr=_masked)
    interpreted_as: Interpretation = "e164"
    reported: FlashCallHangup | None = attrs.field(default=None, repr=False)

    @property
    def disputed(self) -> bool:
        """Bird answered the report with a result other than the one sent."""
        return self.reported is not None and self.reported.result != self.result


def with_answer(verification: Verification, answer: FlashCallHangup) -> Verification:
    """The verification with Bird's answer to its report; a warning when Bird disputes it."""
    answered = attrs.evolve(verification, reported=answer)
    if answered.disputed:
        logger.warning(
            "Bird answered the report of flash call %s with result %r, not %r: read "
            "Verification.reported before acting on verified",
            verification.call_id,
            str(answer.result),
            str(verification.result),
        )
    return answered


def check_received_cli(call_id: UUID, expected_cli: str, received_cli: str) -> Verification:
    """Compare a full caller number reported by the handset with the expected one."""
    expected = normalise_number(expected_cli, field="expected_cli")
    if not isinstance(received_cli, str):
        raise InvalidRequestError(
            "received_cli must be the caller number the handset showed, as a string, got "
            f"{type(received_cli).__name__}",
            field="received_cli",
        )
    if not received_cli.strip():
        raise InvalidRequestError(
            "received_cli is empty: pass the caller number the handset showed, as it showed it",
            field="received_cli",
        )
    verified, reading = received_matches(expected, received_cli)
    result = HangupResult.VERIFIED if verified else HangupResult.WRONG_CLI
    # Whatever the handset showed that is not a number is kept as it was, for the caller to log.
    received = received_cli if reading.e164 is None else reading.e164
    return Verification(call_id, verified, result, expected, received, reading.interpreted_as)


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
    verified = code_matches(expected, typed, length)
    result = HangupResult.VERIFIED if verified else HangupResult.WRONG_CLI
    return Verification(call_id, verified, result, expected, typed, "last_digits")


def received_matches(expected: str, received_cli: str) -> tuple[bool, _numbers.Reading]:
    """Whether ``received_cli`` denotes ``expected`` (E.164), and how it was read."""
    reading = _numbers.read_received(received_cli, expected)
    # Compared even when nothing could be read: the same constant-time step for every input.
    return _numbers.same_number(expected, reading.e164), reading


def code_matches(expected: str, typed: str, length: int) -> bool:
    """Whether ``typed`` is the last ``length`` digits of ``expected`` (E.164)."""
    return len(typed) == length and _numbers.same_digits(expected[1:][-length:], typed)
