"""Phone numbers: E.164 normalisation, reading a number as a handset shows it, and comparing two
numbers in constant time.

A handset shows a caller number in E.164 (``+31 97 010 260 002``), with its country's
international call prefix (``0031 97010260002``) or as dialled inside the country
(``097010260002``). The two last forms are read in the country of the number the call came from.
With the ``phonenumbers`` package installed (``bird-flashcalls[phonenumbers]``) they are read by
Google's libphonenumber rules; without it by ``BUILT_IN_RULES`` and ``GENERAL_RULE``. Either
way a reading is one E.164 number or none, and a national reading keeps the expected number's
country code.
"""

from __future__ import annotations

from typing import Literal

import attrs

from ._rules import MAX_E164_DIGITS, ascii_digits, is_e164
from .errors import InvalidRequestError

# How a received number was read (see ``read_received``).
ReadAs = Literal["e164", "international_prefix", "national", "unparsed"]

# What people put between digits: every character str.isspace() accepts, and - . ( ) /.
_WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
DROP_SEPARATORS = str.maketrans("", "", _WHITESPACE + "-.()/")

# Room for the longest prefixes in use (8 digits: a carrier's code and 0011 in Australia);
# longer strings of digits are not read at all.
_MAX_RECEIVED_DIGITS = MAX_E164_DIGITS + 8

# Country calling codes are prefix-free: these are all the 1- and 2-digit ones, every other
# code has 3 digits (ITU-T E.164 assignments).
# fmt: off
_SHORT_COUNTRY_CODES = frozenset({
    "1", "7",
    "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46",
    "47", "48", "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63",
    "64", "65", "66", "81", "82", "84", "86", "90", "91", "92", "93", "94", "95", "98",
})
# fmt: on


@attrs.frozen
class DiallingRules:
    """How numbers are written inside one country calling code."""

    # Dialled before a number abroad, longest first where one is the start of another.
    international_prefixes: tuple[str, ...]
    # Dialled before the national number; "" where the national number is dialled as it is.
    national_prefixes: tuple[str, ...]


# Most countries dial 00 abroad and a trunk 0 before the national number.
GENERAL_RULE = DiallingRules(("00",), ("0",))

_NO_TRUNK_PREFIX = DiallingRules(("00",), ("",))

# The common countries whose numbers are written otherwise; a test compares each entry with
# libphonenumber's metadata.
BUILT_IN_RULES: dict[str, DiallingRules] = {
    # North America: 011 abroad; a national number with or without the trunk 1.
    "1": DiallingRules(("011",), ("1", "")),
    # Russia and Kazakhstan: 8, then 10 abroad; trunk 8.
    "7": DiallingRules(("810",), ("8",)),
    "36": DiallingRules(("00",), ("06",)),  # Hungary: trunk 06
    "61": DiallingRules(("0011",), ("0",)),  # Australia
    "65": DiallingRules(("001",), ("",)),  # Singapore
    "81": DiallingRules(("010",), ("0",)),  # Japan
    # No trunk prefix: the national number is dialled as it is, a leading 0 included (Italy).
    **dict.fromkeys(
        (
            "30",  # Greece
            "34",  # Spain
            "39",  # Italy, Vatican City
            "45",  # Denmark
            "47",  # Norway
            "48",  # Poland
            "52",  # Mexico
            "56",  # Chile
            "351",  # Portugal
            "352",  # Luxembourg
            "354",  # Iceland
            "356",  # Malta
            "357",  # Cyprus
            "371",  # Latvia
            "372",  # Estonia
            "376",  # Andorra
            "378",  # San Marino
            "420",  # Czechia
            "852",  # Hong Kong
            "965",  # Kuwait
            "968",  # Oman
            "973",  # Bahrain
            "974",  # Qatar
        ),
        _NO_TRUNK_PREFIX,
    ),
}


@attrs.frozen
class Reading:
    """What a received number was read as: an E.164 number, or None, and how."""

    e164: str | None
    interpreted_as: ReadAs


_UNPARSED = Reading(None, "unparsed")


def compact(number: str) -> str:
    """``number`` without the separators people write between digits.

    After ``+`` or ``00`` a trunk zero in parentheses, ``+31 (0)6 ...``, is dropped: it is
    dialled only from inside the country.
    """
    if number.lstrip().startswith(("+", "00")):
        number = number.replace("(0)", "", 1)
    return number.translate(DROP_SEPARATORS)


def drop_separators(text: str) -> str:
    return text.translate(DROP_SEPARATORS)


def summary(value: str) -> str:
    """A refused value for an error message: its length and at most its first 4 characters.

    A phone number never appears whole in a message.
    """
    if not value:
        return "an empty string"
    count = f"{len(value)} character{'' if len(value) == 1 else 's'}"
    keep = min(4, len(value) // 3)
    return f"{count} starting {value[:keep]!r}" if keep else count


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
    written = compact(number)
    if written.startswith("00"):
        written = "+" + written[2:]
    if not is_e164(written):
        raise InvalidRequestError(
            f"{field} is not an international phone number ({summary(number)}): use E.164, "
            "'+' then the country code and number, 7 to 15 digits (for example +31612345678)",
            field=field,
        )
    return written


def country_code(e164: str) -> str:
    """The country calling code of an E.164 number, without ``+``."""
    if e164[1:2] in _SHORT_COUNTRY_CODES:
        return e164[1:2]
    if e164[1:3] in _SHORT_COUNTRY_CODES:
        return e164[1:3]
    return e164[1:4]


def dialling_rules(code: str) -> DiallingRules:
    return BUILT_IN_RULES.get(code, GENERAL_RULE)


def read_received(received: str, expected: str) -> Reading:
    """The E.164 number ``received`` denotes, read in the country of ``expected`` (E.164).

    ``+`` numbers are read as written. Digits alone are read with libphonenumber's rules when
    the ``phonenumbers`` package is installed, with the built-in rules otherwise.
    """
    written = compact(received)
    if written.startswith("+"):
        return read_as_written(written)
    if not ascii_digits(written) or len(written) > _MAX_RECEIVED_DIGITS:
        return _UNPARSED
    if libphonenumber_available():
        return _read_with_libphonenumber(written, country_code(expected))
    return read_with_built_in_rules(written, country_code(expected))


def read_as_written(written: str) -> Reading:
    """A compact number written with ``+``: read the same in every country."""
    return Reading(written, "e164") if is_e164(written) else _UNPARSED


def read_with_built_in_rules(digits: str, code: str) -> Reading:
    rules = dialling_rules(code)
    for prefix in rules.international_prefixes:
        if digits.startswith(prefix):
            return _reading("+" + digits[len(prefix) :], "international_prefix")
    for prefix in rules.national_prefixes:
        if digits.startswith(prefix):
            return _reading("+" + code + digits[len(prefix) :], "national")
    return _UNPARSED


def _reading(candidate: str, interpreted_as: ReadAs) -> Reading:
    return Reading(candidate, interpreted_as) if is_e164(candidate) else _UNPARSED


# None until the first reading tries to import phonenumbers: `import bird_flashcalls` does not.
_libphonenumber: bool | None = None


def libphonenumber_available() -> bool:
    global _libphonenumber
    if _libphonenumber is None:
        try:
            import phonenumbers  # noqa: F401
        except ImportError:
            _libphonenumber = False
        else:
            _libphonenumber = True
    return _libphonenumber


def _read_with_libphonenumber(digits: str, code: str) -> Reading:
    import phonenumbers

    # The main region of the code: the regions that share one also share its prefixes, and a
    # region picked from the expected number's digits would take a time that depends on them.
    region = phonenumbers.region_code_for_country_code(int(code))
    if region not in phonenumbers.SUPPORTED_REGIONS:
        return _UNPARSED  # an unknown or non-geographic code: no national form to read
    try:
        parsed = phonenumbers.parse(digits, region, keep_raw_input=True)
    except phonenumbers.NumberParseException:
        return _UNPARSED
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    if parsed.country_code_source == phonenumbers.CountryCodeSource.FROM_NUMBER_WITH_IDD:
        return _reading(e164, "international_prefix")
    # As dialled inside the country: with or without its trunk prefix, or its own country
    # code without '+' (how North America writes its trunk 1).
    return _reading(e164, "national")


_WIDTH = MAX_E164_DIGITS + 1


def same_number(expected: str, received: str | None) -> bool:
    """Whether two E.164 numbers are the same, in a time that does not depend on their digits.

    Both are padded to the longest E.164 length, so the comparison covers the same number of
    bytes whatever was received; no reading compares as a space-padded empty string.
    """
    return same_digits(expected.ljust(_WIDTH), (received or "").ljust(_WIDTH))


def same_digits(a: str, b: str) -> bool:
    # The caller number is the secret of a flash-call check: compare in constant time.
    # Imported on first use: a process that never verifies need not load hmac.
    from hmac import compare_digest

    return compare_digest(a.encode(), b.encode())
