"""The models a call returns can be kept (pickle, copy, JSON) and logged (masked reprs)."""

from __future__ import annotations

import copy
import json
import pickle
import uuid
from typing import Any

import pytest
from bird_flashcalls import (
    FlashCall,
    FlashCallHangup,
    FlashCallHangupFromTo,
    FlashCallStatus,
    HangupResult,
)
from bird_flashcalls._generated.types import UNSET, Unset

from .support import CALLEE, CALLER, flash_call_body

EVERY_OPTIONAL_FIELD: dict[str, Any] = {
    "answeredAt": "2024-05-01T10:00:02.500Z",
    "ringingAt": "2024-05-01T10:00:01Z",
    "endedAt": "2024-05-01T10:00:05+02:00",
    "duration": 3,
    "reason": "user-busy",
    "attemptPrice": {"amount": 12, "currency": "EUR", "exponent": 3, "tier": "gold"},
    "connectionPrice": {"amount": 0, "currency": "EUR", "exponent": 3},
}


def _unknown(prefix: str) -> str:
    # Each unknown value is logged once per process: a fresh one for each use.
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def kept_ways(value: Any) -> list[tuple[str, Any]]:
    ways = [
        (f"pickle-{protocol}", pickle.loads(pickle.dumps(value, protocol=protocol)))
        for protocol in range(pickle.HIGHEST_PROTOCOL + 1)
    ]
    return [*ways, ("copy", copy.copy(value)), ("deepcopy", copy.deepcopy(value))]


def test_repr_lists_the_fields_bird_sent_and_masks_phone_numbers() -> None:
    call = FlashCall.from_dict(flash_call_body())
    hangup = FlashCallHangupFromTo.from_dict(
        {"from": CALLER, "to": CALLEE, "result": "wrong_cli", "receivedCli": "+31201230000"}
    )

    shown = repr(call)

    assert shown.startswith("FlashCall(channel_id=UUID(")
    for absent in ("Unset", "UNSET", " object at 0x", "answered_at", "attempt_price"):
        assert absent not in shown
    for absent in ("duration", "ended_at", "reason", "ringing"):
        assert absent not in shown
    assert "ring_timeout=30" in shown
    assert "status=<FlashCallStatus.ACCEPTED: 'accepted'>" in shown
    assert "from_='+312********'" in shown
    assert "to='+316********'" in shown
    assert "received_cli='+312********'" in repr(hangup)
    # Not even the last digits, which are what verify_code compares.
    for number in (CALLER, CALLEE, CALLER[-4:], CALLEE[-4:]):
        assert number not in shown
        assert number not in repr(hangup)
    # Of a field the spec does not know (the price's tier), only its name.
    every_field = repr(FlashCall.from_dict(flash_call_body(**EVERY_OPTIONAL_FIELD)))
    assert (
        "attempt_price=FlashCallAttemptPrice(amount=12, currency='EUR', exponent=3, " in every_field
    )
    assert "additional_properties=['tier']" in every_field
    assert "gold" not in every_field
    assert "Unset" not in every_field


@pytest.mark.parametrize(
    "fields",
    [{}, EVERY_OPTIONAL_FIELD, {"status": _unknown("voicemail")}],
    ids=["required-only", "every-field", "unknown-status"],
)
def test_a_flash_call_survives_pickle_and_copy_equal_and_json_ready(fields: dict) -> None:
    call = FlashCall.from_dict(flash_call_body(**fields))

    for way, kept in kept_ways(call):
        assert type(kept) is FlashCall, way
        assert kept == call, way
        assert isinstance(kept.status, FlashCallStatus), way  # an unknown one too
        assert kept.status == call.status, way
        assert repr(kept) == repr(call), way
        assert kept.to_dict() == call.to_dict(), way
        encoded = json.dumps(kept.to_dict())
        assert json.loads(encoded)["status"] == call.status, way
        assert FlashCall.from_dict(json.loads(encoded)) == call, way
        if call.duration is UNSET:  # still the one UNSET, left out of the dict
            assert isinstance(kept.duration, Unset), way
            assert kept.duration is UNSET, way
            assert "duration" not in kept.to_dict(), way


def test_the_other_results_and_the_enums_survive_pickle_and_copy() -> None:
    results = [
        FlashCallHangup.from_dict({"result": "verified", "receivedCli": CALLER}),
        FlashCallHangup.from_dict({"result": _unknown("approved")}),
        FlashCallHangupFromTo.from_dict({"from": CALLER, "to": CALLEE, "result": "canceled"}),
        FlashCallHangupFromTo.from_dict({"from": CALLER, "to": CALLEE, "carrier": "kpn"}),
    ]

    for result in results:
        for way, kept in kept_ways(result):
            assert kept == result, way
            assert json.loads(json.dumps(kept.to_dict())) == result.to_dict(), way
    for member in (FlashCallStatus.RINGING, HangupResult.WRONG_CLI):
        assert pickle.loads(pickle.dumps(member)) is member
