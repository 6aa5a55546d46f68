"""Usable before it is regenerated: fields Bird adds to answers are kept, new fields can be sent
(extra_body), and Bird's answer to a verification's report is shown."""

from __future__ import annotations

import json

import httpx
import pytest
from bird_flashcalls import FlashCall, FlashCallHangup, HangupResult, InvalidRequestError
from bird_flashcalls._verify import check_typed_code

from .support import (
    BOTH_CLIENTS,
    CALL_ID,
    CALLEE,
    CALLER,
    a_flash_call,
    flash_call_body,
    hangup_body,
)

pytestmark = pytest.mark.anyio

EXTRA = {"reference": "order-42", "tags": ["a", 1, None]}
SENDS = {
    "create": (lambda fc, extra: fc.create(CALLEE, from_=CALLER, extra_body=extra), ["to", "from"]),
    "end": (lambda fc, extra: fc.end(CALL_ID, result="verified", extra_body=extra), ["result"]),
    "hangup": (
        lambda fc, extra: fc.hangup(from_=CALLER, to=CALLEE, result="canceled", extra_body=extra),
        ["from", "to", "result"],
    ),
}


@BOTH_CLIENTS
@pytest.mark.parametrize("method", SENDS)
async def test_extra_body_is_sent_after_the_documented_fields(flash, bird, method):
    send, documented = SENDS[method]
    await send(flash(), EXTRA)
    await send(flash(), None)

    with_extra, plain = bird.bodies()
    assert list(with_extra) == [*plain, *EXTRA]
    assert with_extra == {**plain, **EXTRA}
    assert sorted(plain) == sorted(documented)


REFUSED = [
    ("create", {"to": CALLER}, "extra_body cannot set 'to': create() sends that documented field"),
    ("create", {"ringTimeout": 5}, "extra_body cannot set 'ringTimeout'"),  # documented, unsent
    ("end", {"receivedCli": CALLER}, "extra_body cannot set 'receivedCli': end() sends"),
    ("hangup", {"result": "verified"}, "extra_body cannot set 'result': hangup() sends"),
    ("create", {1: "x"}, "extra_body's field names must be strings, got int"),
    ("create", [("reference", "x")], "extra_body must be a mapping of JSON field names to values, got list"),
    ("end", {"when": object()}, "extra_body['when'] is not JSON (a object)"),
    ("end", {"ratio": float("nan")}, "extra_body['ratio'] is not JSON (a float)"),
]  # fmt: skip


@pytest.mark.parametrize(("method", "extra", "message"), REFUSED, ids=[r[2][:40] for r in REFUSED])
async def test_extra_body_cannot_override_a_documented_field_or_send_what_is_not_json(
    flash, bird, method, extra, message
):
    with pytest.raises(InvalidRequestError) as caught:
        await SENDS[method][0](flash(), extra)

    assert caught.value.field == "extra_body"
    assert str(caught.value).startswith(message)
    assert CALLER not in str(caught.value)  # values are never shown
    assert bird.requests == []


@pytest.mark.parametrize(
    ("model", "body"),
    [
        (FlashCall, flash_call_body(durationMs=1200)),
        (FlashCallHangup, hangup_body(durationMs=1200)),
    ],
    ids=["FlashCall", "FlashCallHangup"],
)
def test_a_field_the_spec_does_not_name_is_kept_shown_by_name_and_sent_back(model, body):
    parsed = model.from_dict({**body, "note": CALLER})

    assert parsed.additional_properties == {"durationMs": 1200, "note": CALLER}
    sent_back = parsed.to_dict()
    assert {key: sent_back[key] for key in body} == model.from_dict(body).to_dict()
    assert (sent_back["durationMs"], sent_back["note"]) == (1200, CALLER)
    assert "additional_properties=['durationMs', 'note']" in repr(parsed)
    assert CALLER not in repr(parsed)


ANSWERS = [
    ("verified", "verified", False),
    ("blocked", "verified", True),  # a result Bird added after this client was generated
    ("wrong_cli", "wrong_cli", False),
    ("verified", "wrong_cli", True),
]


@BOTH_CLIENTS
@pytest.mark.parametrize(
    ("answer", "decided", "disputed"), ANSWERS, ids=[f"{a}-{d}" for a, d, _ in ANSWERS]
)
@pytest.mark.parametrize("method", ["verify", "verify_code"])
async def test_a_verification_carries_bird_s_answer_to_its_report(
    flash, bird, caplog, method, answer, decided, disputed
):
    bird.then(lambda request: httpx.Response(202, json={"result": answer, "reason": "r"}))
    call = a_flash_call()
    if method == "verify":
        received = CALLER if decided == "verified" else CALLEE
        verification = await flash().verify(call, received)
    else:
        verification = await flash().verify_code(
            call, CALLER[-4:] if decided == "verified" else "0000"
        )

    assert json.loads(bird.requests[0].content)["result"] == decided
    assert verification.result == HangupResult(decided)
    assert verification.reported is not None
    assert verification.reported.result == HangupResult(answer)
    assert verification.reported.additional_properties == {"reason": "r"}
    assert verification.disputed is disputed
    assert verification.verified is (decided == "verified")
    warned = [r.getMessage() for r in caplog.records if "answered the report" in r.getMessage()]
    assert warned == (
        [f"Bird answered the report of flash call {call.id} with result {answer!r}, not "
         f"{decided!r}: read Verification.reported before acting on verified"] if disputed else []
    )  # fmt: skip


def test_a_verification_not_yet_reported_is_not_disputed():
    verification = check_typed_code(a_flash_call().id, CALLER, CALLER[-4:], None)
    assert (verification.reported, verification.disputed) == (None, False)
