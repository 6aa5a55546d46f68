"""Where a verifier may ring: blocked ranges, exact allowed countries, libphonenumber's tables."""

from __future__ import annotations

from collections.abc import Iterator

import phonenumbers
import pytest
from bird_flashcalls import _numbers
from bird_flashcalls.testing import FakeBird
from bird_flashcalls.verification import (
    DEFAULT_BLOCKED_PREFIXES,
    VerificationDestinationRefused,
    VerificationEvent,
)
from bird_flashcalls.verification._countries import CALLING_CODES, SPLITS
from bird_flashcalls.verification._guard import (
    PROVEN_FOR,
    ProvenDestinations,
    built_in_country,
    destination_refusal,
)

from .support import memory_verifier

US = frozenset({"US"})
GB = frozenset({"GB"})
RU = frozenset({"RU"})


@pytest.fixture(params=["phonenumbers", "built-in"])
def rules(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setattr(_numbers, "_libphonenumber", request.param == "phonenumbers")
    yield request.param


@pytest.mark.parametrize(
    ("allowed", "phone", "refused"),
    [
        (US, "+12015550123", None),
        (US, "+18762101234", "JM (+1)"),  # Jamaica
        (US, "+18092345678", "DO (+1)"),  # Dominican Republic
        (US, "+12423591234", "BS (+1)"),  # Bahamas
        (GB, "+447400123456", None),
        (GB, "+441481256789", "GG (+44)"),  # Guernsey
        (GB, "+447781123456", "GG (+44)"),
        (GB | {"GG"}, "+441481256789", None),
        (RU, "+79123456789", None),
        (RU, "+77710009998", "KZ (+7)"),  # Kazakhstan
        (frozenset({"NL"}), "+31612345678", None),
        (frozenset({"NL"}), "+32470123456", "BE (+32)"),
        (None, "+97912345678", "+979 numbers are refused (blocked_prefixes)"),
        (frozenset({"NL"}), "+8816123456789", "+881 numbers are refused (blocked_prefixes)"),
    ],
)
def test_allowed_countries_are_exact_inside_shared_codes(
    rules: str, allowed: frozenset[str] | None, phone: str, refused: str | None
) -> None:
    refusal = destination_refusal(phone, DEFAULT_BLOCKED_PREFIXES, allowed)
    message = None if refusal is None else refusal[1]
    assert (message is None) == (refused is None)
    assert message is None or refused in message


def test_a_country_that_cannot_be_told_is_refused_with_the_reason(rules: str) -> None:
    # +262 is Réunion and Mayotte: the built-in tables cannot tell them apart.
    refusal = destination_refusal("+262639012345", (), frozenset({"RE"}))
    if rules == "built-in":
        assert refusal == (
            "allowed_countries",
            "a +262 number is refused (allowed_countries): its country cannot be told without "
            "the phonenumbers extra (pip install bird-flashcalls[phonenumbers])",
        )
        assert destination_refusal("+262639012345", (), frozenset({"RE", "YT"})) is None
    else:
        assert refusal == (
            "allowed_countries",
            "calls to YT (+262) are refused (allowed_countries)",
        )
    invalid = destination_refusal("+12000000000", (), US)  # no area code 200
    assert (invalid is None) == (rules == "built-in")


def test_a_refused_destination_places_no_call_and_says_where(fake_bird: FakeBird) -> None:
    events: list[VerificationEvent] = []
    verifier = memory_verifier(fake_bird, allowed_countries={"GB"}, on_event=events.append)
    with pytest.raises(VerificationDestinationRefused) as caught:
        verifier.start("+441481256789", client_key=None)

    assert (caught.value.setting, caught.value.field) == ("allowed_countries", "phone")
    assert "256789" not in str(caught.value)
    assert events == [VerificationEvent("refused", None, "allowed_countries", "GG")]
    assert fake_bird.calls == {}


def test_a_country_stays_proven_for_30_days_after_a_verified_check() -> None:
    proven = ProvenDestinations()
    assert not proven.holds("NL", 0.5, None)
    assert proven.holds("NL", 0.5, frozenset({"NL"}))
    assert not proven.holds("NL", 0.5, frozenset({"BE"}))
    proven.add("NL", 1000.0)
    assert proven.holds("NL", 1000.0 + PROVEN_FOR - 1, None)
    assert not proven.holds("NL", 1000.0 + PROVEN_FOR, None)
    assert not proven.holds("BE", 1000.0, None)


def test_the_calling_codes_are_libphonenumbers() -> None:
    expected = {
        str(code): regions
        for code, regions in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.items()
        if regions != (phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY,)
    }
    assert expected == CALLING_CODES


@pytest.mark.parametrize("code", sorted(SPLITS))
def test_each_split_region_is_told_from_its_example_numbers(code: str) -> None:
    for region in CALLING_CODES[code]:
        for kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is not None:
                e164 = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
                assert built_in_country(e164) == region, e164
