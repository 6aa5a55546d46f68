"""Each rule of the Flash Calling API, defined once.

The client, FakeBird and the command line all check input against these, so the three cannot
disagree about what Bird accepts. Where the spec states a rule, a contract test compares it with
the value here.
"""

from __future__ import annotations

import ipaddress
from uuid import UUID

from ._generated.models.hangup_result import HangupResult

# The results End accepts, as the spec lists them in its HangupResult enum.
RESULTS: tuple[str, ...] = tuple(result.value for result in HangupResult)

# ringTimeout of create, in seconds (the spec's minimum, maximum and default).
MIN_RING_TIMEOUT = 3
MAX_RING_TIMEOUT = 120
DEFAULT_RING_TIMEOUT = 30

# Digits a user types to verify a flash call by its last digits: fewer are guessed too easily.
MIN_CODE_DIGITS = 4

# E.164: '+', a country code that does not start with 0, and at most 15 digits in all. No
# country's numbers are shorter than 7 digits with their country code.
MIN_E164_DIGITS = 7
MAX_E164_DIGITS = 15
E164_PATTERN = rf"^\+[1-9][0-9]{{{MIN_E164_DIGITS - 1},{MAX_E164_DIGITS - 1}}}$"

# Hosts that plain http may reach: the access key never leaves the machine.
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})

_UUID_LENGTH = 36
_HEX = frozenset("0123456789abcdefABCDEF")
_DASHES_AT = (8, 13, 18, 23)


def is_e164(number: str) -> bool:
    """'+', a country code that does not start with 0, 7 to 15 digits in all (ASCII only)."""
    return (
        MIN_E164_DIGITS + 1 <= len(number) <= MAX_E164_DIGITS + 1
        and number[0] == "+"
        and number[1] != "0"
        and ascii_digits(number[1:])
    )


def ascii_digits(text: str) -> bool:
    # isdigit() alone also accepts superscripts and other scripts' digits.
    return text.isascii() and text.isdigit()


def is_loopback_host(host: str) -> bool:
    """127.0.0.0/8, ::1 (with or without brackets), localhost."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def canonical_uuid(text: str) -> UUID | None:
    """The UUID of ``8-4-4-4-12`` hex text, or None.

    ``UUID()`` also takes braces, ``urn:uuid:`` prefixes and hex without dashes; Bird's paths
    match none of those, so neither do ours.
    """
    if (
        len(text) != _UUID_LENGTH
        or any(text[position] != "-" for position in _DASHES_AT)
        or not _HEX.issuperset(text.replace("-", ""))
        or text.count("-") != len(_DASHES_AT)
    ):
        return None
    return UUID(text)
