"""Arguments refused before anything is sent, each with a message that says what to do."""

from __future__ import annotations

import re

import pytest
from bird_flashcalls import BirdError, InvalidRequestError, normalise_number
from bird_flashcalls._numbers import DROP_SEPARATORS
from bird_flashcalls._rules import E164_PATTERN, is_e164

from .support import CALL_ID, CALLEE, CALLER, ScriptedBird, a_flash_call

pytestmark = pytest.mark.anyio

NOT_E164 = [
    pytest.param("0612345678", id="national"),
    pytest.param("612345678", id="no-prefix"),
    pytest.param("+31abc45678", id="letters"),
    pytest.param("+31 6 CALL ME", id="words"),
    pytest.param("+1234567890123456", id="16-digits"),
    pytest.param("+0612345678", id="country-code-0"),
    pytest.param("+", id="plus-only"),
    pytest.param("", id="empty"),
    pytest.param("   ", id="blank"),
    pytest.param("++31612345678", id="double-plus"),
    pytest.param("tel:+31612345678", id="tel-uri"),
    pytest.param("+" + "".join(chr(0xFF10 + int(d)) for d in "31612345678"), id="fullwidth-digits"),
    pytest.param(None, id="None"),
    pytest.param(31612345678, id="int"),
]

# None means "not given" for the optional numbers.
NOT_E164_GIVEN = [number for number in NOT_E164 if number.values[0] is not None]


EXAMPLE = "+31612345678"  # what refusals suggest instead
SHOWN = re.compile(r"\((\d+) characters? starting ('[^']*')\)|\((\d+) characters?\)")


def assert_not_echoed(number: object, message: str) -> None:
    """At most the first 4 characters of a refused number and its length are in the message."""
    if not isinstance(number, str):
        return
    if not number:
        assert "empty" in message
        return
    if len(number) > 4:
        assert number not in message.replace(EXAMPLE, "")
    shown = SHOWN.search(message)
    assert shown is not None, message
    length = shown[1] or shown[3]
    assert int(length) == len(number)
    if shown[2] is not None:
        start = eval(shown[2])  # a repr of a str
        assert len(start) <= 4
        assert len(start) <= len(number) // 3
        assert number.startswith(start)


def assert_refusal(error: InvalidRequestError, field: str) -> None:
    assert isinstance(error, ValueError)
    assert isinstance(error, BirdError)
    assert error.field == field
    assert field in str(error)


@pytest.mark.parametrize("number", NOT_E164)
async def test_create_refuses_a_number_that_is_not_e164(flash, bird: ScriptedBird, number):
    with pytest.raises(InvalidRequestError) as caught:
        await flash().create(number)

    assert_refusal(caught.value, "to")
    message = str(caught.value)
    if isinstance(number, str):
        # What was refused is described, never echoed whole: it may be someone's number.
        assert_not_echoed(number, message)
        assert "E.164" in message
        assert "+31612345678" in message  # an example of what to send instead
    else:
        assert "string" in message
        assert type(number).__name__ in message
    assert bird.requests == []


@pytest.mark.parametrize("number", NOT_E164_GIVEN)
async def test_create_refuses_a_caller_that_is_not_e164(flash, bird: ScriptedBird, number):
    with pytest.raises(InvalidRequestError) as caught:
        await flash().create(CALLEE, from_=number)

    assert_refusal(caught.value, "from_")
    assert_not_echoed(number, str(caught.value))
    assert bird.requests == []


@pytest.mark.parametrize("number", NOT_E164)
async def test_hangup_refuses_numbers_that_are_not_e164(flash, bird: ScriptedBird, number):
    fc = flash()
    with pytest.raises(InvalidRequestError) as caught:
        await fc.hangup(from_=number, to=CALLEE, result="canceled")
    assert_refusal(caught.value, "from_")

    with pytest.raises(InvalidRequestError) as caught:
        await fc.hangup(from_=CALLER, to=number, result="canceled")
    assert_refusal(caught.value, "to")
    assert bird.requests == []


@pytest.mark.parametrize("number", NOT_E164_GIVEN)
async def test_end_refuses_a_received_cli_that_is_not_e164(flash, bird: ScriptedBird, number):
    with pytest.raises(InvalidRequestError) as caught:
        await flash().end(CALL_ID, result="wrong_cli", received_cli=number)

    assert_refusal(caught.value, "received_cli")
    assert_not_echoed(number, str(caught.value))
    assert bird.requests == []


async def test_a_long_rejected_value_is_shortened_in_the_message(flash):
    with pytest.raises(InvalidRequestError) as caught:
        await flash().create("x" * 5000)

    assert len(str(caught.value)) < 400
    assert "5000 characters starting 'xxxx'" in str(caught.value)


@pytest.mark.parametrize(
    ("number", "shown"),
    [
        ("+31 6 1234 5678 9012 34", "(23 characters starting '+31 ')"),  # 17 digits
        ("+123456789012345678", "(19 characters starting '+123')"),
        ("0612345678", "(10 characters starting '061')"),
        ("tel:+31612345678", "(16 characters starting 'tel:')"),
        ("+31 6 CALL ME", "(13 characters starting '+31 ')"),
        ("+0612", "(5 characters starting '+')"),
        ("12", "(2 characters)"),
    ],
)
async def test_a_refused_number_shows_only_its_first_characters_and_length(flash, number, shown):
    with pytest.raises(InvalidRequestError) as caught:
        await flash().create(number)

    message = str(caught.value)
    assert shown in message
    assert_not_echoed(number, message)
    assert number.translate(DROP_SEPARATORS) not in message.replace(EXAMPLE, "")


@pytest.mark.parametrize("code", ["+31 20 123 4567", "0201234567x", "4567 or 4568"])
async def test_a_refused_code_is_not_echoed(flash, bird: ScriptedBird, code):
    with pytest.raises(InvalidRequestError) as caught:
        await flash().verify_code(a_flash_call(), code)

    assert caught.value.field == "code"
    assert code not in str(caught.value)
    assert f"{len(code)} characters" in str(caught.value)
    assert bird.requests == []


@pytest.mark.parametrize("ring_timeout", [2, 121, 0, -30, 30.5, 30.0, True, "30"])
async def test_create_refuses_a_ring_timeout_outside_3_to_120_whole_seconds(
    flash, bird: ScriptedBird, ring_timeout
):
    with pytest.raises(InvalidRequestError) as caught:
        await flash().create(CALLEE, ring_timeout=ring_timeout)

    assert_refusal(caught.value, "ring_timeout")
    assert "3 to 120" in str(caught.value)
    assert repr(ring_timeout) in str(caught.value)
    assert bird.requests == []


@pytest.mark.parametrize("result", ["verifed", "VERIFIED", "cancelled", "", None, 1])
async def test_end_and_hangup_refuse_an_unknown_result(flash, bird: ScriptedBird, result):
    fc = flash()
    with pytest.raises(InvalidRequestError) as caught:
        await fc.end(CALL_ID, result=result)
    assert_refusal(caught.value, "result")
    # The message lists what is accepted.
    for known in ("canceled", "timeout", "unknown", "verified", "wrong_cli"):
        assert known in str(caught.value)

    with pytest.raises(InvalidRequestError) as caught:
        await fc.hangup(from_=CALLER, to=CALLEE, result=result)
    assert_refusal(caught.value, "result")
    assert bird.requests == []


BAD_CALL_IDS = [
    "../x",
    "a?b",
    "a#b",
    "a%2Fb",
    "{" + CALL_ID + "}",
    CALL_ID + "/../hangup",
    "../../../../../../../../../../../../",  # 36 characters
    CALL_ID[:-1] + "?",
    CALL_ID[:-1] + "/",
    "",
    "not-a-uuid",
    None,
    42,
]


@pytest.mark.parametrize("call", BAD_CALL_IDS)
async def test_end_refuses_a_call_id_that_is_not_a_uuid(flash, bird: ScriptedBird, call):
    with pytest.raises(InvalidRequestError) as caught:
        await flash().end(call, result="verified")

    assert isinstance(caught.value, ValueError)
    assert "call must be a UUID such as" in str(caught.value)
    assert bird.requests == []


async def test_a_refused_call_id_names_its_field(flash):
    # Every other refusal sets InvalidRequestError.field; a bad call id leaves it None.
    with pytest.raises(InvalidRequestError) as caught:
        await flash().end("../x", result="verified")

    assert caught.value.field == "call"


@pytest.mark.parametrize("call", BAD_CALL_IDS)
async def test_verify_refuses_a_call_id_that_is_not_a_uuid(flash, bird: ScriptedBird, call):
    fc = flash()
    with pytest.raises(InvalidRequestError, match="UUID"):
        await fc.verify(call, CALLER, expected_cli=CALLER)
    with pytest.raises(InvalidRequestError, match="UUID"):
        await fc.verify_code(call, "4567", expected_cli=CALLER)
    assert bird.requests == []


async def test_verify_refuses_an_expected_cli_that_is_not_e164(flash, bird: ScriptedBird):
    with pytest.raises(InvalidRequestError) as caught:
        await flash().verify(CALL_ID, CALLER, expected_cli="020 123 4567")

    assert_refusal(caught.value, "expected_cli")
    assert bird.requests == []


@pytest.mark.parametrize(
    ("written", "e164"),
    [
        ("+31612345678", "+31612345678"),
        ("+31 6 12 34 56 78", "+31612345678"),
        ("0031-6-1234-5678", "+31612345678"),
        ("+1 (415) 555.2671", "+14155552671"),
        ("+44/20/7946/0958", "+442079460958"),
        ("+31\u00a06\u202f1234\u20095678", "+31612345678"),
        ("+123456789012345", "+123456789012345"),  # 15 digits, the E.164 maximum
    ],
)
def test_normalise_number(written, e164):
    assert normalise_number(written, field="to") == e164


def test_every_whitespace_character_and_the_usual_punctuation_separate_digits():
    # The table must drop what str.isspace() accepts (what a regex's \s matches), nothing more.
    every_character = (chr(code) for code in range(0x110000))
    dropped = {char for char in every_character if char.translate(DROP_SEPARATORS) == ""}
    expected = {chr(code) for code in range(0x110000) if chr(code).isspace()} | set("-.()/")
    assert dropped == expected


@pytest.mark.parametrize(
    "candidate",
    [
        "+1",
        "+12",
        "+123456",
        "+1234567",
        "+0123",
        "+123456789012345",
        "+1234567890123456",
        "+12\u00b2",
        "+1\u0663",
        "",
        "+",
        "12",
        "+1a",
        "+31612345678",
        "+ 1234",
        "+\n123",
        "+123\n",
    ],
)
def test_is_e164_matches_the_e164_pattern(candidate):
    assert is_e164(candidate) is (re.fullmatch(E164_PATTERN, candidate) is not None)
