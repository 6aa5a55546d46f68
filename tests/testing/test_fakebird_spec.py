"""FakeBird never drifts from the merged spec: every answer body fits the documented schema of its
operation and status, and what it accepts is what the spec's request schemas accept."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import httpx
import pytest
from bird_flashcalls.testing import FakeBird
from fakebird_helpers import Spec, json_headers, load_spec, paths
from hypothesis import given, settings
from hypothesis import strategies as st

TO = "+31612345678"
CREATE = "/workspaces/{workspaceId}/channels/{channelId}/flashcalls"
END = "/workspaces/{workspaceId}/channels/{channelId}/flashcalls/{callId}"
HANGUP = "/workspaces/{workspaceId}/channels/{channelId}/flashcalls/hangup"

# The least body each operation of the spec accepts; a new operation in the spec fails the test
# below until FakeBird implements it.
MINIMAL_BODIES: dict[str, dict[str, Any]] = {
    "createChannelFlashCall": {"to": TO},
    "endChannelFlashCall": {"result": "verified"},
    "endChannelFlashCallFromTo": {"from": "{from}", "to": TO, "result": "canceled"},
}


def _send(http: httpx.Client, fake: FakeBird, template: str, body: Any, **headers: str) -> Any:
    p = paths(fake)
    path = {CREATE: p["create"], HANGUP: p["hangup"]}.get(template)
    if path is None:
        path = p["end"].format(call_id=headers.pop("call_id"))
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return http.post(path, content=content, headers=headers or json_headers(fake))


def test_fakebird_implements_every_operation_of_the_spec(
    spec: Spec, fake: FakeBird, http: httpx.Client
) -> None:
    operations = {
        item["post"]["operationId"]: template for template, item in spec.document["paths"].items()
    }
    assert set(operations) == set(MINIMAL_BODIES)

    call = _send(http, fake, CREATE, {"to": TO}).json()
    for operation_id, template in operations.items():
        body = {
            name: value.replace("{from}", call["from"]) if isinstance(value, str) else value
            for name, value in MINIMAL_BODIES[operation_id].items()
        }
        spec.validator(spec.request_pointer(template)).validate(body)
        response = _send(http, fake, template, body, **json_headers(fake), call_id=call["id"])
        assert response.status_code == 202, operation_id
        assert spec.response_pointer(template, 202) is not None
        spec.check_response(template, 202, response.json())


def _every_kind_of_answer(fake: FakeBird, http: httpx.Client) -> Iterator[tuple[str, Any]]:
    """(operation path template, response) for each status each operation can give."""
    call = _send(http, fake, CREATE, {"to": TO}).json()
    end = {"call_id": call["id"], **json_headers(fake)}
    unknown = {"call_id": str(uuid4()), **json_headers(fake)}
    wrong_key = {"Authorization": "AccessKey wrong"}
    hangup = {"from": call["from"], "to": TO, "result": "verified"}
    for template, body in ((CREATE, {"to": TO, "from": "+3197010269999", "ringTimeout": 5}),):
        yield template, _send(http, fake, template, body)
    yield CREATE, _send(http, fake, CREATE, {"ringTimeout": 500, "x": 1})
    yield CREATE, _send(http, fake, CREATE, b"[")
    yield CREATE, _send(http, fake, CREATE, {"to": TO}, **wrong_key)
    yield END, _send(http, fake, END, {"result": "verified", "receivedCli": TO}, **end)
    yield END, _send(http, fake, END, {"result": "timeout"}, **end)
    yield END, _send(http, fake, END, {"result": "maybe"}, **end)
    yield END, _send(http, fake, END, b"1", **end)
    yield END, _send(http, fake, END, {"result": "verified"}, **unknown)
    yield END, _send(http, fake, END, {"result": "verified"}, **{**end, **wrong_key})
    yield HANGUP, _send(http, fake, HANGUP, hangup)
    yield HANGUP, _send(http, fake, HANGUP, {**hangup, "receivedCli": TO})
    yield HANGUP, _send(http, fake, HANGUP, {**hangup, "to": "+31600000000"})
    yield HANGUP, _send(http, fake, HANGUP, {"result": "verified"})
    yield HANGUP, _send(http, fake, HANGUP, b"")
    yield HANGUP, _send(http, fake, HANGUP, hangup, **wrong_key)
    for status in (400, 404, 422, 429, 500, 502, 503, 504):
        fake.fail_next(status=status, retry_after=1 if status in (429, 503) else None)
        yield CREATE, _send(http, fake, CREATE, {"to": TO})


def test_every_answer_over_http_fits_the_spec(
    spec: Spec, fake: FakeBird, http: httpx.Client
) -> None:
    seen: set[tuple[str, int]] = set()
    for template, response in _every_kind_of_answer(fake, http):
        assert response.headers["Content-Type"] == "application/json"
        assert response.headers["Messagebird-Request-Id"]
        spec.check_response(template, response.status_code, response.json())
        seen.add((template, response.status_code))
    # Every documented status of every operation was produced and checked.
    documented = {
        (template, int(status))
        for template, item in spec.document["paths"].items()
        for status in item["post"]["responses"]
    }
    assert documented <= seen


def test_the_validator_does_catch_a_body_that_drifts(spec: Spec) -> None:
    # The check above is only as good as this: a call without `from`, a bad status, an extra
    # field or a timestamp without a zone must all fail.
    good = {
        "id": str(uuid4()),
        "channelId": str(uuid4()),
        "from": "+3197010260000",
        "to": TO,
        "status": "accepted",
        "createdAt": "2025-01-01T10:00:00.000Z",
        "updatedAt": "2025-01-01T10:00:00.000Z",
    }
    spec.check_response(CREATE, 202, good)
    drifted = [
        {key: value for key, value in good.items() if key != "from"},
        {**good, "status": "queued"},
        {**good, "result": "verified"},
        {**good, "id": "call-1"},
        {**good, "createdAt": "yesterday"},
    ]
    for body in drifted:
        with pytest.raises(AssertionError):
            spec.check_response(CREATE, 202, body)
    with pytest.raises(AssertionError):
        spec.check_response(CREATE, 422, {"code": "InvalidPayload", "details": {"to": "bad"}})


def test_ring_timeout_bounds_and_default_are_the_spec_s(spec: Spec, fake: FakeBird) -> None:
    schema = spec.document["components"]["schemas"]["CreateFlashCall"]["properties"]
    low, high = schema["ringTimeout"]["minimum"], schema["ringTimeout"]["maximum"]
    path = paths(fake)["create"]
    for ring_timeout, status in ((low - 1, 422), (low, 202), (high, 202), (high + 1, 422)):
        body = json.dumps({"to": TO, "ringTimeout": ring_timeout}).encode()
        assert fake.respond("POST", path, json_headers(fake), body).status == status, ring_timeout
    default = fake.respond("POST", path, json_headers(fake), json.dumps({"to": TO}).encode()).json()
    assert default["ringTimeout"] == schema["ringTimeout"]["default"]


# What FakeBird accepts is what the spec accepts (numbers in E.164: Bird cannot ring "abc").

_SPEC = load_spec()
_CREATE_SCHEMA = _SPEC.validator(_SPEC.request_pointer(CREATE))
_END_SCHEMA = _SPEC.validator(_SPEC.request_pointer(END))
_HANGUP_SCHEMA = _SPEC.validator(_SPEC.request_pointer(HANGUP))

_e164 = st.builds(
    "+{}{}".format,
    st.integers(min_value=1, max_value=9),
    st.text("0123456789", min_size=6, max_size=14),
)
_anything = st.one_of(
    st.sampled_from(
        [TO, "+1", "+123456", "0612345678", "+0123456789", "+1234567890123456", "", "verified"]
    ),
    st.integers(min_value=-5, max_value=200),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-5, max_value=200),
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=2),
)


def _mostly(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    # Two chances in three of a valid value, so that both answers are well exercised.
    # (one_of would flatten _anything's branches and make valid values rare.)
    return st.integers(min_value=0, max_value=2).flatmap(lambda n: valid if n else _anything)


_results = st.sampled_from(["unknown", "verified", "canceled", "timeout", "wrong_cli"])
_create_bodies = st.fixed_dictionaries(
    {"to": _mostly(_e164)},
    optional={
        "from": _mostly(_e164),
        "ringTimeout": _mostly(st.integers(min_value=3, max_value=120)),
        "callback": _anything,
    },
)
_end_bodies = st.fixed_dictionaries(
    {"result": _mostly(_results)},
    optional={"receivedCli": _mostly(_e164), "note": _anything},
)
_hangup_bodies = st.fixed_dictionaries(
    {"from": _mostly(_e164), "to": _mostly(_e164), "result": _mostly(_results)},
    optional={"receivedCli": _mostly(_e164), "note": _anything},
)


@settings(deadline=None)
@given(body=_create_bodies)
def test_create_accepts_exactly_what_the_spec_accepts(body: dict[str, Any]) -> None:
    fake = FakeBird()
    reply = fake.respond(
        "POST", paths(fake)["create"], json_headers(fake), json.dumps(body).encode()
    )
    assert (reply.status == 202) == _CREATE_SCHEMA.is_valid(body), reply.json()
    assert reply.status in (202, 422)
    _SPEC.check_response(CREATE, reply.status, reply.json())


@settings(deadline=None)
@given(body=_end_bodies)
def test_end_accepts_exactly_what_the_spec_accepts(body: dict[str, Any]) -> None:
    fake = FakeBird()
    call = fake.respond(
        "POST", paths(fake)["create"], json_headers(fake), b'{"to": "+31612345678"}'
    )
    path = paths(fake)["end"].format(call_id=call.json()["id"])
    reply = fake.respond("POST", path, json_headers(fake), json.dumps(body).encode())
    assert (reply.status == 202) == _END_SCHEMA.is_valid(body), reply.json()
    _SPEC.check_response(END, reply.status, reply.json())


@settings(deadline=None)
@given(body=_hangup_bodies)
def test_hangup_accepts_exactly_what_the_spec_accepts(body: dict[str, Any]) -> None:
    fake = FakeBird()
    valid = _HANGUP_SCHEMA.is_valid(body)
    if valid:  # a call with these numbers exists
        create = json.dumps({"from": body["from"], "to": body["to"]}).encode()
        made = fake.respond("POST", paths(fake)["create"], json_headers(fake), create)
        assert made.status == 202
    reply = fake.respond(
        "POST", paths(fake)["hangup"], json_headers(fake), json.dumps(body).encode()
    )
    assert reply.status == (202 if valid else 422), reply.json()
    _SPEC.check_response(HANGUP, reply.status, reply.json())
