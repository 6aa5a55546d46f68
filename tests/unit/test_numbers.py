"""Received numbers as handsets show them (E.164, an international prefix, or national), read
alike by libphonenumber's rules and the built-in ones; typed codes; the rules at their edges."""

from __future__ import annotations

import hmac
import re
import subprocess
import sys
import textwrap
from uuid import UUID

import pytest
from bird_flashcalls import HangupResult, InvalidRequestError, Verification, _numbers
from bird_flashcalls._numbers import (
    BUILT_IN_RULES,
    DROP_SEPARATORS,
    Reading,
    country_code,
    dialling_rules,
    normalise_number,
    read_received,
    read_with_built_in_rules,
    same_number,
)
from bird_flashcalls._rules import (
    DEFAULT_RING_TIMEOUT,
    E164_PATTERN,
    MAX_RING_TIMEOUT,
    MIN_RING_TIMEOUT,
    RESULTS,
    canonical_uuid,
    is_e164,
    is_loopback_host,
)
from bird_flashcalls._verify import check_received_cli, check_typed_code
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .support import CALL_ID, CALLER

RULES = ["libphonenumber", "built-in"]


@pytest.fixture(params=RULES)
def rules(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """libphonenumber's rules, or the built-in ones: importing phonenumbers fails as if absent."""
    if request.param == "built-in":
        monkeypatch.setitem(sys.modules, "phonenumbers", None)
    else:
        pytest.importorskip("phonenumbers")
    # Forget the outcome of an earlier import attempt: the next reading tries again.
    monkeypatch.setattr(_numbers, "_libphonenumber", None)
    return str(request.param)


def verification(verified: bool, expected: str, received: str, interpreted_as: str):
    result = HangupResult.VERIFIED if verified else HangupResult.WRONG_CLI
    return Verification(UUID(CALL_ID), verified, result, expected, received, interpreted_as)


def case(expected: str, received: str, interpreted_as: str, read_as: str | None, verified: bool):
    return pytest.param(
        expected, received, interpreted_as, read_as, verified, id=f"{expected}<-{received}"
    )


def national(expected: str, received: str):
    return case(expected, received, "national", expected, True)


def international(expected: str, received: str):
    return case(expected, received, "international_prefix", expected, True)


def e164(expected: str, received: str):
    return case(expected, received, "e164", expected, True)


def unparsed(received: str, expected: str = "+31201234567"):
    return case(expected, received, "unparsed", None, False)


# The cases the README documents: the same result with and without the phonenumbers extra.
DOCUMENTED = [
    # Netherlands: trunk 0, 00 abroad.
    national("+3197010260002", "097010260002"),
    national("+3197010260002", "097 010 260 002"),
    national("+31201234567", "020-123 4567"),
    national("+31612345678", "06 12345678"),
    international("+3197010260002", "0031 97 010 260 002"),
    e164("+3197010260002", "+31 97 010 260 002"),
    e164("+3197010260002", "+31 (0)97 010 260 002"),
    e164("+31201234567", "+31-20-123-4567"),
    e164("+31201234567", "+31.20.123.45.67"),
    e164("+31201234567", "(+31) 20 1234567"),
    e164("+31201234567", " +31 20 123 4567\n"),
    e164("+31201234567", "+31 (0)20 123 4567"),  # the trunk 0 in parentheses is dropped
    international("+31201234567", "0031201234567"),
    case("+3197010260002", "097010260003", "national", "+3197010260003", False),
    # Germany.
    national("+4930123456", "030 123456"),
    national("+4915123456789", "01512 3456789"),
    international("+4930123456", "0049 30 123456"),
    case("+4930123456", "030 123457", "national", "+4930123457", False),
    # United Kingdom.
    national("+442079460958", "020 7946 0958"),
    national("+447400123456", "07400 123456"),
    international("+442079460958", "00 44 20 7946 0958"),
    # France.
    national("+33142685300", "01 42 68 53 00"),
    national("+33612345678", "06.12.34.56.78"),
    international("+33142685300", "00 33 1 42 68 53 00"),
    # United States and Canada: trunk 1 or none, 011 abroad.
    national("+14155552671", "(415) 555-2671"),
    national("+14155552671", "1 (415) 555-2671"),
    national("+14155552671", "1-415-555-2671"),
    national("+16135550123", "613-555-0123"),
    international("+14155552671", "011 1 415 555 2671"),
    e164("+14155552671", "+1 415-555-2671"),
    case("+14155552671", "(415) 555-2672", "national", "+14155552672", False),
    # Italy: no trunk prefix; the leading 0 belongs to the number and stays in E.164.
    national("+390212345678", "02 1234 5678"),
    national("+393123456789", "312 345 6789"),
    international("+390212345678", "0039 02 1234 5678"),
    case("+390212345678", "2 1234 5678", "national", "+39212345678", False),
    case("+390212345678", "+39 2 1234 5678", "e164", "+39212345678", False),
    # Spain: no trunk prefix either.
    national("+34612345678", "612 34 56 78"),
    # Russia: trunk 8, 8 10 abroad. Hungary: trunk 06. Australia: 0011 abroad. Japan: 010.
    national("+74951234567", "8 (495) 123-45-67"),
    international("+74951234567", "8 10 7 495 123 45 67"),
    national("+3612345678", "06 1 234 5678"),
    national("+61212345678", "(02) 1234 5678"),
    international("+61212345678", "0011 61 2 1234 5678"),
    national("+81312345678", "03-1234-5678"),
    international("+81312345678", "010 81 3 1234 5678"),
    # Another country's number never matches, whatever its digits.
    case("+31201234567", "+32 20 123 4567", "e164", "+32201234567", False),
    case("+31201234567", "0032 20 123 4567", "international_prefix", "+32201234567", False),
    case("+31201234567", "0049 20 1234567", "international_prefix", "+49201234567", False),
    case("+4930123456", "0031 30 123456", "international_prefix", "+3130123456", False),
    case("+14155552671", "+44 415 555 2671", "e164", "+444155552671", False),
    # In the Netherlands 011 is no international prefix: 0 then 11..., a Dutch number.
    case("+31201234567", "011 31 20 123 4567", "national", "+311131201234567", False),
    # Not a phone number in any of those forms.
    unparsed("Unknown"),
    unparsed("private number"),
    unparsed("+31abc"),
    unparsed("tel:+31201234567"),
    unparsed("++31201234567"),
    unparsed("+"),
    unparsed("0"),
    unparsed("00"),
    unparsed("0031"),
    unparsed("1" * 40),
    unparsed("020 123 4567 ext. 5"),
    unparsed("".join(chr(0xFF10 + int(digit)) for digit in "0201234567")),  # fullwidth
    unparsed("+31 20 123 4567 8901 2345"),  # 17 digits
    unparsed("020 123 456x"),
]

# Where the phonenumbers extra reads more than the built-in rules: a national number written
# without its trunk prefix, a country code without '+', numbering plans the table lacks.
LIBPHONENUMBER_ONLY = [
    ("+31201234567", "201234567"),
    ("+31201234567", "31201234567"),
    ("+5511961234567", "(11) 96123-4567"),  # Brazil
    ("+8613123456789", "131 2345 6789"),  # a mobile number in China
    ("+4232345678", "234 56 78"),  # Liechtenstein
]


@pytest.mark.parametrize(
    ("expected", "received", "interpreted_as", "read_as", "verified"), DOCUMENTED
)
def test_the_documented_cases_are_read_alike_by_either_rules(
    rules, expected, received, interpreted_as, read_as, verified
):
    outcome = check_received_cli(UUID(CALL_ID), expected, received)

    shown = received if read_as is None else read_as
    assert outcome == verification(verified, expected, shown, interpreted_as)


@pytest.mark.parametrize(("expected", "received"), LIBPHONENUMBER_ONLY)
def test_libphonenumber_reads_more_national_forms(rules, expected, received):
    outcome = check_received_cli(UUID(CALL_ID), expected, received)

    if rules == "libphonenumber":
        assert (outcome.verified, outcome.interpreted_as) == (True, "national")
        assert outcome.received_cli == expected
    else:
        assert (outcome.verified, outcome.interpreted_as) == (False, "unparsed")
        assert outcome.received_cli == received


@pytest.mark.parametrize("received", ["", "   ", "\n", None, 31201234567, b"+31201234567"])
def test_no_number_at_all_is_refused(received):
    with pytest.raises(InvalidRequestError) as caught:
        check_received_cli(UUID(CALL_ID), CALLER, received)

    assert caught.value.field == "received_cli"


# How the check is made.


def test_a_verifications_repr_masks_both_numbers_and_what_could_not_be_read(rules):
    read = check_received_cli(UUID(CALL_ID), "+3197010260002", "097 010 260 002")
    unread = check_received_cli(UUID(CALL_ID), "+31201234567", "tel:0201234567")

    assert repr(read) == (
        f"Verification(call_id=UUID('{CALL_ID}'), verified=True, "
        "result=<HangupResult.VERIFIED: 'verified'>, expected_cli='+319**********', "
        "received_cli='+319**********', interpreted_as='national')"
    )
    assert unread.interpreted_as == "unparsed"
    assert "0201234567" not in repr(unread)
    # Made with the five original fields: a reading of an E.164 number.
    assert (
        Verification(UUID(CALL_ID), True, HangupResult.VERIFIED, CALLER, CALLER).interpreted_as
        == "e164"
    )


@pytest.mark.parametrize(
    "received",
    [
        *("+31201234567", "+31201234568", "0201234567", "0201234568", "0031201234567"),
        *("+3120123456789", "+3120123", "Unknown", "0", "x" * 500),
    ],
)
def test_every_check_compares_the_same_number_of_bytes_in_constant_time(
    rules, monkeypatch: pytest.MonkeyPatch, received
):
    compared: list[tuple[int, int]] = []
    real_compare_digest = hmac.compare_digest

    def recording_compare_digest(a: bytes, b: bytes) -> bool:
        compared.append((len(a), len(b)))
        return real_compare_digest(a, b)

    monkeypatch.setattr(hmac, "compare_digest", recording_compare_digest)

    outcome = check_received_cli(UUID(CALL_ID), "+31201234567", received)

    # One comparison of equal, fixed lengths whatever was received, read or not.
    assert compared == [(16, 16)]
    assert outcome.verified is (outcome.received_cli == "+31201234567")


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("+31201234567", "+31201234567", True),
        ("+31201234567", "+31201234568", False),
        ("+31201234567", "+312012345670", False),
        ("+312012345670", "+31201234567", False),
        ("+123456789012345", "+123456789012345", True),
        ("+31201234567", None, False),
    ],
)
def test_same_number(a, b, same):
    assert same_number(a, b) is same


# Typed codes: the last digits of the number Bird called from.


@pytest.mark.parametrize(
    ("code", "digits", "verified"),
    [
        ("4567", None, True),
        ("45 67", None, True),
        ("45-67", None, True),
        ("1234567", None, True),
        ("31201234567", None, True),
        ("567", 3, True),
        ("7", 1, True),  # fewer than four when asked for
        ("4568", None, False),
        ("5467", None, False),
        ("8", 1, False),
        ("567", 4, False),  # fewer digits than asked for
        ("14567", 4, False),  # more digits than asked for
    ],
)
def test_a_typed_code_is_compared_with_the_last_digits(code, digits, verified):
    outcome = check_typed_code(UUID(CALL_ID), CALLER, code, digits)

    typed = _numbers.drop_separators(code)  # as typed, without separators
    assert outcome == verification(verified, CALLER, typed, "last_digits")


@pytest.mark.parametrize(
    ("code", "digits", "field", "says"),
    [
        ("45a7", None, "code", "code must be digits only"),
        ("", None, "code", "code must be digits only"),
        ("+4567", None, "code", "code must be digits only"),
        (4567, None, "code", "code must be the digits the user typed, as a string, got int"),
        ("4567", 0, "digits", "digits must be a positive integer, got 0"),
        ("4567", -1, "digits", "digits must be a positive integer, got -1"),
        ("4567", True, "digits", "digits must be a positive integer, got True"),
        ("123456789012", None, "code", "cannot compare 12 digits: the caller number has 11"),
        ("4567", 12, "digits", "cannot compare 12 digits: the caller number has 11"),
        # Too short to mean anything: one typed digit would pass one time in ten.
        ("7", None, "code", "code has 1 digit(s): ask the user for at least 4, or pass digits="),
        ("567", None, "code", "code has 3 digit(s): ask the user for at least 4"),
    ],
)
def test_a_code_that_cannot_be_compared_is_refused(code, digits, field, says):
    with pytest.raises(InvalidRequestError) as caught:
        check_typed_code(UUID(CALL_ID), CALLER, code, digits)

    assert caught.value.field == field
    assert str(caught.value).startswith(says)


def test_a_bad_expected_cli_is_named_by_either_check():
    with pytest.raises(InvalidRequestError) as number:
        check_received_cli(UUID(CALL_ID), "12345", CALLER)
    with pytest.raises(InvalidRequestError) as code:
        check_typed_code(UUID(CALL_ID), "12345", "4567", None)

    assert number.value.field == code.value.field == "expected_cli"


# Normalising a number to E.164; what is refused is described, never echoed whole.

USE_E164 = ": use E.164, '+' then the country code and number, 7 to 15 digits"
FULLWIDTH = "".join(chr(0xFF10 + int(digit)) for digit in "31612345678")


@pytest.mark.parametrize(
    ("number", "shown"),
    [
        ("0612345678", "(10 characters starting '061')"),  # national
        ("612345678", "(9 characters starting '612')"),  # no prefix
        ("+31abc45678", "(11 characters starting '+31')"),
        ("+31 6 CALL ME", "(13 characters starting '+31 ')"),
        ("+1234567890123456", "(17 characters starting '+123')"),  # 16 digits
        ("+31 6 1234 5678 9012 34", "(23 characters starting '+31 ')"),  # 17 digits
        ("+123456789012345678", "(19 characters starting '+123')"),
        ("+0612345678", "(11 characters starting '+06')"),  # country code 0
        ("+0612", "(5 characters starting '+')"),
        ("12", "(2 characters)"),
        ("+", "(1 character)"),
        ("", "(an empty string)"),
        ("   ", "(3 characters starting ' ')"),
        ("++31612345678", "(13 characters starting '++31')"),
        ("tel:+31612345678", "(16 characters starting 'tel:')"),
        ("+" + FULLWIDTH, f"(12 characters starting '+{FULLWIDTH[:3]}')"),
        ("x" * 5000, "(5000 characters starting 'xxxx')"),
        (None, "must be a phone number as a string, got NoneType"),
        (31612345678, "must be a phone number as a string, got int"),
    ],
    ids=lambda value: repr(value)[:20],
)
def test_a_number_that_is_not_e164_is_refused_showing_only_its_length_and_start(number, shown):
    with pytest.raises(InvalidRequestError) as caught:
        normalise_number(number, field="to")

    assert isinstance(caught.value, ValueError)
    assert caught.value.field == "to"
    if isinstance(number, str):
        # At most its first 4 characters and a third of it; an example of what to send instead.
        expected = f"to is not an international phone number {shown}{USE_E164}"
        assert str(caught.value) == f"{expected} (for example +31612345678)"
    else:
        assert str(caught.value) == f"to {shown}"


@pytest.mark.parametrize("code", ["+31 20 123 4567", "0201234567x", "4567 or 4568"])
def test_a_refused_code_is_not_echoed(code):
    with pytest.raises(InvalidRequestError) as caught:
        check_typed_code(UUID(CALL_ID), CALLER, code, None)

    assert caught.value.field == "code"
    assert code not in str(caught.value)
    assert f"{len(code)} characters" in str(caught.value)


@pytest.mark.parametrize(
    ("written", "e164"),
    [
        ("+31612345678", "+31612345678"),
        ("+31 6 12 34 56 78", "+31612345678"),
        ("0031-6-1234-5678", "+31612345678"),
        ("+1 (415) 555.2671", "+14155552671"),
        ("+44/20/7946/0958", "+442079460958"),
        ("+31\u00a06\u202f1234\u20095678", "+31612345678"),
        ("  +31 (0)6 1234 5678", "+31612345678"),
        ("0031 (0)6 1234 5678", "+31612345678"),
        ("+31 (0)6 1234 (0)678", "+31612340678"),  # only the trunk zero is dropped
    ],
)
def test_a_number_is_normalised_to_e164(written, e164):
    assert normalise_number(written, field="to") == e164


def test_every_whitespace_character_and_the_usual_punctuation_separate_digits():
    # The table must drop what str.isspace() accepts (what a regex's \s matches), nothing more.
    dropped = {chr(c) for c in range(0x110000) if chr(c).translate(DROP_SEPARATORS) == ""}
    expected = {chr(c) for c in range(0x110000) if chr(c).isspace()} | set("-.()/")
    assert dropped == expected


# The rules at their edges: E.164's length, UUIDs' dashes, loopback hosts, ring timeouts.


@pytest.mark.parametrize(
    ("number", "e164"),
    [
        ("+3123456", True),  # 7 digits: the shortest
        ("+312345", False),
        ("+" + "3" * 15, True),  # 15 digits: the longest
        ("+" + "3" * 16, False),
        ("+0312345678", False),  # no country code starts with 0
        ("31234567", False),
        ("+31\uff1223456", False),  # a fullwidth digit
        *[(other, False) for other in ("+1", "+123456", "+12\u00b2", "+1\u0663", "", "+", "+1a")],
        *[(other, False) for other in ("+ 1234567", "+\n1234567", "+1234567\n", "12")],
    ],
)
def test_an_e164_number_has_7_to_15_digits_after_the_plus(number, e164):
    assert is_e164(number) is e164
    assert (re.fullmatch(E164_PATTERN, number) is not None) is e164
    if e164:
        assert normalise_number(number, field="to") == number
    elif number.translate(DROP_SEPARATORS) == number:  # nothing for normalising to drop
        with pytest.raises(InvalidRequestError):
            normalise_number(number, field="to")


@pytest.mark.parametrize(
    ("text", "uuid"),
    [
        ("5a3e1f5b-3c5b-4b59-9a3e-1c2d3e4f5a6b", True),
        ("5A3E1F5B-3C5B-4B59-9A3E-1C2D3E4F5A6B", True),
        ("5a3e1f5b3-c5b-4b59-9a3e-1c2d3e4f5a6b", False),  # each dash one place off
        ("5a3e1f5b-3c5b4-b59-9a3e-1c2d3e4f5a6b", False),
        ("5a3e1f5b-3c5b-4b599-a3e-1c2d3e4f5a6b", False),
        ("5a3e1f5b-3c5b-4b59-9a3e1-c2d3e4f5a6b", False),
        ("5a3e1f5b-3c5b-4b59-9a3e-1c2d3e4f5a6b-", False),
        ("5a3e1f5b-3c5b-4b59-9a3e-1c2d3e4f5a6", False),
        ("5a3e1f5b-3c5b-4b59-9a3e-1c2d3e4f5a6g", False),
        ("5a3e1f5b-3c5b-4b59-9a3e--c2d3e4f5a6b", False),
        ("{5a3e1f5b3c5b4b59-9a3e-1c2d3e4f5a6b}", False),
        ("5a3e1f5b3c5b-4b59-9a3e-1c2d3e4f5a6b-", False),
        # What UUID() reads and a path must not hold; what would bend a path.
        *[(text, False) for text in ("{" + CALL_ID + "}", f"urn:uuid:{CALL_ID}")],
        *[(text, False) for text in (CALL_ID.replace("-", ""), CALL_ID + "/../hangup")],
        *[(text, False) for text in ("not-a-uuid", "../x", "a?b", "a#b", "a%2Fb", "", "../" * 12)],
        *[(CALL_ID[:-1] + last, False) for last in ("?", "/")],
    ],
)
def test_a_uuid_is_only_its_canonical_8_4_4_4_12_form(text, uuid):
    assert (canonical_uuid(text) == UUID(text)) if uuid else (canonical_uuid(text) is None)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("[::1]", True),
        ("::1", True),
        ("127.0.0.1", True),
        ("127.255.0.9", True),
        ("LocalHost", True),
        ("localhost.localdomain", True),
        ("[::2]", False),
        ("128.0.0.1", False),
        ("localhost.example.com", False),
        (" 127.0.0.1", False),
    ],
)
def test_loopback_hosts_with_or_without_brackets(host, loopback):
    assert is_loopback_host(host) is loopback


def test_ring_timeouts_are_3_to_120_seconds_30_by_default():
    assert (MIN_RING_TIMEOUT, DEFAULT_RING_TIMEOUT, MAX_RING_TIMEOUT) == (3, 30, 120)
    assert RESULTS == ("canceled", "timeout", "unknown", "verified", "wrong_cli")


# phonenumbers is optional and loaded on first use.


def test_phonenumbers_is_loaded_on_the_first_reading_of_a_number_without_plus():
    pytest.importorskip("phonenumbers")
    code = """
        import sys
        from uuid import uuid4
        import bird_flashcalls
        from bird_flashcalls._verify import check_received_cli
        print("after import:", "phonenumbers" in sys.modules)
        check_received_cli(uuid4(), "+31201234567", "+31 20 123 4567")
        print("after an E.164 number:", "phonenumbers" in sys.modules)
        outcome = check_received_cli(uuid4(), "+31201234567", "201234567")
        print("after a national number:", "phonenumbers" in sys.modules, outcome.verified)
    """
    run = [sys.executable, "-c", textwrap.dedent(code)]
    result = subprocess.run(run, capture_output=True, text=True, timeout=60, check=True)

    assert result.stdout.splitlines() == [
        "after import: False",
        "after an E.164 number: False",
        "after a national number: True True",
    ]


def test_the_import_is_tried_once(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(sys.modules, "phonenumbers", None)
    monkeypatch.setattr(_numbers, "_libphonenumber", None)

    assert _numbers.libphonenumber_available() is False
    monkeypatch.delitem(sys.modules, "phonenumbers")
    assert _numbers.libphonenumber_available() is False  # remembered, not retried


# The built-in rules against libphonenumber's metadata.


def test_the_built_in_country_codes_are_libphonenumbers():
    phonenumbers = pytest.importorskip("phonenumbers")
    codes = phonenumbers.COUNTRY_CODE_TO_REGION_CODE
    for code in codes:
        assert country_code(f"+{code}1234567") == str(code)
    assert {str(code) for code in codes if code < 100} == _numbers._SHORT_COUNTRY_CODES


@pytest.mark.parametrize("code", sorted(BUILT_IN_RULES))
def test_each_built_in_rule_agrees_with_libphonenumber(code):
    phonenumbers = pytest.importorskip("phonenumbers")
    rule = BUILT_IN_RULES[code]
    for region in phonenumbers.COUNTRY_CODE_TO_REGION_CODE[int(code)]:
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
        trunk = [prefix for prefix in rule.national_prefixes if prefix]
        assert metadata.national_prefix == (trunk[0] if trunk else None), region
        for prefix in rule.international_prefixes:
            assert re.fullmatch(metadata.international_prefix, prefix), region


# Countries where the built-in rules read the national and international forms of
# libphonenumber's example numbers (fixed line and mobile) as libphonenumber does.
# fmt: off
BUILT_IN_REGIONS = [
    "NL", "BE", "LU", "DE", "AT", "CH", "FR", "GB", "IE", "IT", "SM", "VA", "ES", "AD", "PT",
    "DK", "NO", "SE", "FI", "IS", "PL", "CZ", "SK", "HU", "RO", "BG", "GR", "CY", "MT", "EE",
    "LV", "LT", "SI", "HR", "BA", "RS", "ME", "MK", "AL", "UA", "MD", "TR", "RU", "KZ",
    "US", "CA", "PR", "MX", "CL", "AU", "NZ", "JP", "IN", "PK", "BD", "LK", "ZA", "EG", "MA",
    "DZ", "AE", "SA", "QA", "KW", "BH", "OM", "IL", "JO", "SG", "HK", "MY", "PH", "VN",
]
# fmt: on


def example_numbers(phonenumbers, region: str):
    for kind in (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE):
        number = phonenumbers.example_number_for_type(region, kind)
        if number is not None:
            yield number


@pytest.mark.parametrize("region", BUILT_IN_REGIONS)
def test_the_built_in_rules_read_example_numbers_as_libphonenumber_formats_them(region):
    phonenumbers = pytest.importorskip("phonenumbers")
    for number in example_numbers(phonenumbers, region):
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        code = country_code(e164)
        written = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
        assert read_with_built_in_rules(_numbers.compact(written), code) == Reading(
            e164, "national"
        ), written
        abroad = dialling_rules(code).international_prefixes[0] + e164[1:]
        assert read_with_built_in_rules(abroad, code) == Reading(e164, "international_prefix")


def test_libphonenumber_reads_every_regions_example_numbers_in_national_format(
    monkeypatch: pytest.MonkeyPatch,
):
    phonenumbers = pytest.importorskip("phonenumbers")
    monkeypatch.setattr(_numbers, "_libphonenumber", None)
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for number in example_numbers(phonenumbers, region):
            e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
            written = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
            outcome = check_received_cli(UUID(CALL_ID), e164, written)
            assert (outcome.verified, outcome.interpreted_as) == (True, "national"), (
                region,
                written,
            )


# Properties.

PROPERTIES = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
SEPARATORS = ["", "", "", " ", "-", ".", "/", "\u00a0"]
COUNTRIES = [*sorted(BUILT_IN_RULES), "31", "32", "33", "41", "44", "49", "353", "380", "971"]
ANY_COUNTRY = st.sampled_from(COUNTRIES)


@st.composite
def numbers(draw, codes=ANY_COUNTRY):
    """An E.164 number: a country code and a national number that starts with 2 to 9."""
    code = draw(codes)
    length = draw(st.integers(max(1, 6 - len(code)), 14 - len(code)))
    national_number = draw(st.sampled_from("23456789")) + draw(
        st.text("0123456789", min_size=length, max_size=length)
    )
    return "+" + code + national_number


@st.composite
def written(draw, digits: str) -> str:
    """``digits`` with what people put between them."""
    separators = draw(
        st.lists(st.sampled_from(SEPARATORS), min_size=len(digits), max_size=len(digits))
    )
    return "".join(digit + separator for digit, separator in zip(digits, separators, strict=True))


@PROPERTIES
@given(data=st.data(), number=numbers())
def test_built_in_national_and_international_forms_read_as_the_number(data, number):
    code = country_code(number)
    rule = dialling_rules(code)
    national_number = number[1 + len(code) :]
    trunk = data.draw(st.sampled_from(rule.national_prefixes))
    international_prefix = data.draw(st.sampled_from(rule.international_prefixes))

    as_dialled_at_home = data.draw(written(trunk + national_number))
    as_dialled_abroad = data.draw(written(international_prefix + number[1:]))

    assert read_with_built_in_rules(_numbers.compact(as_dialled_at_home), code) == Reading(
        number, "national"
    )
    assert read_with_built_in_rules(_numbers.compact(as_dialled_abroad), code) == Reading(
        number, "international_prefix"
    )


@PROPERTIES
@given(data=st.data(), expected=numbers())
def test_a_number_of_another_country_never_matches(rules, data, expected):
    code = country_code(expected)
    other = data.draw(numbers(st.sampled_from([c for c in COUNTRIES if c != code])))
    other_code = country_code(other)
    # Any number of the other country, and one with the expected number's national digits.
    same_national_number = "+" + other_code + expected[1 + len(code) :]
    forms = [other, same_national_number]
    if rules == "built-in":
        # libphonenumber knows more international prefixes: Hong Kong's 001 reads 00 1...
        # as 001 then a country code; the built-in rules dial 00 there.
        international_prefix = dialling_rules(code).international_prefixes[0]
        forms += [international_prefix + number[1:] for number in forms]
    for form in forms:
        outcome = check_received_cli(UUID(CALL_ID), expected, form)
        assert not outcome.verified, form
        if outcome.interpreted_as != "unparsed":
            assert outcome.received_cli.startswith("+" + other_code), form


@PROPERTIES
@given(
    expected=numbers(),
    received=st.one_of(st.text(max_size=40), st.text("+0123456789 -()", max_size=25)),
)
def test_any_text_is_read_as_one_e164_number_or_none(rules, expected, received):
    reading = read_received(received, expected)

    assert reading.e164 is None or is_e164(reading.e164)
    assert (reading.e164 is None) is (reading.interpreted_as == "unparsed")
    if received.strip():
        outcome = check_received_cli(UUID(CALL_ID), expected, received)
        assert outcome.verified is (reading.e164 == expected)
        if reading.interpreted_as == "national":
            assert reading.e164.startswith("+" + country_code(expected))
