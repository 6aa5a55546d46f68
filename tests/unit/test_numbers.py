"""Received numbers as handsets show them: E.164, an international call prefix, or as dialled
inside the country of the expected number; read by libphonenumber's rules (the phonenumbers
extra) or by the built-in ones, with the same results for every case the README documents."""

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
    GENERAL_RULE,
    Reading,
    country_code,
    dialling_rules,
    read_received,
    read_with_built_in_rules,
    same_number,
)
from bird_flashcalls._rules import is_e164
from bird_flashcalls._verify import check_received_cli, check_typed_code
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .support import CALL_ID, ScriptedBird, a_flash_call

pytestmark = pytest.mark.anyio

RULES = ["libphonenumber", "built-in"]


@pytest.fixture(params=RULES)
def rules(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Which rules read national numbers: the phonenumbers package's, or the built-in ones
    because importing phonenumbers fails as it does where it is not installed."""
    if request.param == "built-in":
        monkeypatch.setitem(sys.modules, "phonenumbers", None)
    else:
        pytest.importorskip("phonenumbers")
    # Forget the outcome of an earlier import attempt: the next reading tries again.
    monkeypatch.setattr(_numbers, "_libphonenumber", None)
    return str(request.param)


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
async def test_verify_reads_the_documented_cases(
    flash, bird: ScriptedBird, rules, expected, received, interpreted_as, read_as, verified
):
    call = a_flash_call(**{"from": expected})

    outcome = await flash().verify(call, received)

    assert outcome == Verification(
        call_id=UUID(CALL_ID),
        verified=verified,
        result=HangupResult.VERIFIED if verified else HangupResult.WRONG_CLI,
        expected_cli=expected,
        received_cli=received if read_as is None else read_as,
        interpreted_as=interpreted_as,
    )
    # Bird's receivedCli is E.164: the number as it was read, or nothing.
    reported = {} if read_as is None else {"receivedCli": read_as}
    assert bird.bodies() == [{"result": str(outcome.result), **reported}]


@pytest.mark.parametrize(("expected", "received"), LIBPHONENUMBER_ONLY)
def test_libphonenumber_reads_more_national_forms(rules, expected, received):
    outcome = check_received_cli(UUID(CALL_ID), expected, received)

    if rules == "libphonenumber":
        assert (outcome.verified, outcome.interpreted_as) == (True, "national")
        assert outcome.received_cli == expected
    else:
        assert (outcome.verified, outcome.interpreted_as) == (False, "unparsed")
        assert outcome.received_cli == received


def test_each_documented_reading_denotes_a_number_of_the_expected_country_or_is_e164():
    for param in DOCUMENTED:
        expected, _, interpreted_as, read_as, _ = param.values
        if interpreted_as == "national":
            assert read_as.startswith("+" + country_code(expected)), param.id


@pytest.mark.parametrize("received", ["", "   ", "\n", None, 31201234567, b"+31201234567"])
async def test_verify_refuses_no_number_at_all(flash, bird: ScriptedBird, received):
    with pytest.raises(InvalidRequestError) as caught:
        await flash().verify(a_flash_call(), received)

    assert caught.value.field == "received_cli"
    assert bird.requests == []


# How the check is made.


def test_verification_repr_masks_both_numbers(rules):
    outcome = check_received_cli(UUID(CALL_ID), "+3197010260002", "097 010 260 002")

    shown = repr(outcome)
    assert "+3197010260002" not in shown
    assert "97010260002" not in shown
    assert "expected_cli='+319**********'" in shown
    assert "received_cli='+319**********'" in shown
    assert "interpreted_as='national'" in shown
    assert "verified=True" in shown


def test_verification_repr_masks_what_could_not_be_read():
    outcome = check_received_cli(UUID(CALL_ID), "+31201234567", "tel:0201234567")

    assert outcome.interpreted_as == "unparsed"
    assert "0201234567" not in repr(outcome)


def test_verify_code_says_it_compared_last_digits():
    outcome = check_typed_code(UUID(CALL_ID), "+31201234567", "4567", None)

    assert (outcome.verified, outcome.interpreted_as) == (True, "last_digits")


def test_a_verification_made_without_interpretation_is_of_an_e164_number():
    # Code written against the five original fields keeps working.
    made = Verification(UUID(CALL_ID), True, HangupResult.VERIFIED, "+31201234567", "+31201234567")

    assert made.interpreted_as == "e164"


@pytest.mark.parametrize(
    "received",
    [
        "+31201234567",
        "+31201234568",
        "0201234567",
        "0201234568",
        "0031201234567",
        "+3120123456789",
        "+3120123",
        "Unknown",
        "0",
        "x" * 500,
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


# phonenumbers is optional and loaded on first use.


def run_python(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_phonenumbers_is_loaded_on_the_first_reading_of_a_number_without_plus():
    pytest.importorskip("phonenumbers")
    output = run_python(
        """
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
    )

    assert output.splitlines() == [
        "after import: False",
        "after an E.164 number: False",
        "after a national number: True True",
    ]


def test_without_phonenumbers_the_built_in_rules_read_national_numbers():
    output = run_python(
        """
        import sys
        sys.modules["phonenumbers"] = None  # as if not installed: importing it fails
        from uuid import uuid4
        from bird_flashcalls._verify import check_received_cli
        for received in ("097010260002", "0031 97 010 260 002", "97010260002"):
            outcome = check_received_cli(uuid4(), "+3197010260002", received)
            print(outcome.verified, outcome.interpreted_as)
        """
    )

    assert output.splitlines() == [
        "True national",
        "True international_prefix",
        "False unparsed",
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


def test_other_countries_follow_the_general_rule():
    assert dialling_rules("31") is GENERAL_RULE
    assert GENERAL_RULE.international_prefixes == ("00",)
    assert GENERAL_RULE.national_prefixes == ("0",)


# Properties.

PROPERTIES = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
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
    received=st.one_of(
        st.text(max_size=40),
        st.text("+0123456789 -()", max_size=25),
    ),
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
