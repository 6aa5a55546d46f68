"""FakeBird's control API under /_fakebird/, and FakeBirdControl against a served FakeBird."""

from __future__ import annotations

import json
import socket
from typing import Any
from uuid import uuid4

import pytest
from bird_flashcalls import FlashCalls
from bird_flashcalls.errors import ConfigurationError
from bird_flashcalls.testing import FakeBird, FakeBirdControl, FakeBirdControlError

from .support import OTHER, TO, respond


def control(
    fake: FakeBird, method: str, route: str, body: Any = None, key: str | None = None
) -> tuple[int, dict[str, str], Any]:
    """The control API's answer, from the core; ``body`` as JSON unless it is bytes."""
    headers = {"Authorization": f"AccessKey {fake.access_key if key is None else key}"}
    content = (
        body if isinstance(body, bytes) else b"" if body is None else json.dumps(body).encode()
    )
    reply = fake.respond(method, f"/_fakebird{route}", headers, content)
    return reply.status, reply.headers, reply.json()


def state(fake: FakeBird) -> tuple[Any, ...]:
    return dict(fake.calls), fake.requests, fake.caller_numbers


GOOD_FAULT = {"status": 503, "rate": 1, "operations": ["create"], "count": 2, "retry_after": 1}
BAD_REQUESTS = {
    "no key": ("GET", "/calls", None, "", 401, "Unauthorized", None),
    "wrong key": ("POST", "/faults", GOOD_FAULT, "nope", 401, "Unauthorized", None),
    "wrong key on reset": ("POST", "/reset", None, "nope", 401, "Unauthorized", None),
    "unknown call": ("GET", f"/calls/{uuid4()}", None, None, 404, "NotFound", None),
    "not a call id": ("GET", "/calls/../requests", None, None, 404, "NotFound", None),
    "unknown path": ("GET", "/state", None, None, 404, "NotFound", None),
    "wrong method": ("GET", "/reset", None, None, 405, "MethodNotAllowed", None),
    "malformed fault": ("POST", "/faults", b'{"status": 503', None, 400, "BadRequest", None),
    "fault not an object": ("POST", "/faults", [503], None, 422, "InvalidPayload", "fault"),
    "unknown fault field": ("POST", "/faults", {"code": 1}, None, 422, "InvalidPayload", "code"),
    "status not a number": ("POST", "/faults", {"status": "503"}, None, 422, "", "status"),
    "status not an error": ("POST", "/faults", {"status": 200}, None, 422, "", "status"),
    "rate above 1": ("POST", "/faults", {"rate": 2}, None, 422, "", "rate"),
    "unknown operation": ("POST", "/faults", {"operations": ["ring"]}, None, 422, "", "operations"),
    "count 0": ("POST", "/faults", {"count": 0}, None, 422, "", "count"),
    "count a boolean": ("POST", "/faults", {"count": True}, None, 422, "", "count"),
    "malformed numbers": ("PUT", "/caller-numbers", b"[+31", None, 400, "BadRequest", None),
    "numbers not a list": ("PUT", "/caller-numbers", {"n": OTHER}, None, 422, "", "callerNumbers"),
    "a bad number": ("PUT", "/caller-numbers", [OTHER, "0612"], None, 422, "", "callerNumbers"),
    "no numbers": ("PUT", "/caller-numbers", [], None, 422, "", "callerNumbers"),
}


@pytest.mark.parametrize(
    ("method", "route", "body", "key", "status", "code", "field"),
    list(BAD_REQUESTS.values()),
    ids=list(BAD_REQUESTS),
)
def test_a_refused_control_request_is_a_bird_error_and_changes_nothing(
    method: str, route: str, body: Any, key: str | None, status: int, code: str, field: str | None
) -> None:
    fake = FakeBird(caller_numbers=[OTHER])
    fake.fail_randomly(rate=1, status=500, operations=["hangup"])
    call_id = respond(fake, "create", {"to": TO}).json()["id"]
    before = state(fake)

    answered, headers, error = control(fake, method, route, body, key)

    assert (answered, set(error) - {"details"}) == (status, {"code", "message"})
    assert error["code"] == (code or "InvalidPayload")
    assert headers["Messagebird-Request-Id"]
    if field is not None:
        assert field in error["details"]
    if status == 405:
        assert headers["Allow"] == "POST"
    assert state(fake) == before
    # The fault is as it was: hangups still fail, creates do not.
    assert respond(fake, "hangup", {"from": OTHER, "to": TO, "result": "canceled"}).status == 500
    assert respond(fake, "end", {"result": "verified"}, call_id).status == 202


def test_each_endpoint_does_what_it_says(fake: FakeBird) -> None:
    first = respond(fake, "create", {"to": TO}).json()
    respond(fake, "end", {"result": "wrong_cli", "receivedCli": OTHER}, first["id"])
    respond(fake, "end", {"result": "timeout"}, first["id"])

    status, _, listed = control(fake, "GET", "/calls")
    assert (status, listed) == (200, {"calls": [fake.calls[first["id"]]]})
    assert control(fake, "GET", f"/calls/{first['id'].upper()}")[2] == fake.calls[first["id"]]
    requests = control(fake, "GET", "/requests")[2]["requests"]
    assert [(r["method"], r["status"]) for r in requests] == [("POST", 202)] * 3
    assert [r["requestId"] for r in requests] == [r.request_id for r in fake.requests]
    assert fake.access_key not in json.dumps(requests)

    assert control(fake, "PUT", "/caller-numbers", [OTHER])[:1] == (200,)
    assert control(fake, "POST", "/faults", GOOD_FAULT)[2] == {
        "faults": {**GOOD_FAULT, "drop_connection": False, "delay": 0.0, "seed": None}
    }
    assert [respond(fake, "create", {"to": TO}).status for _ in range(3)] == [503, 503, 202]
    assert list(fake.calls.values())[-1]["from"] == OTHER
    assert control(fake, "DELETE", "/faults")[2] == {"faults": None}

    assert control(fake, "POST", "/reset")[2] == {"calls": 2, "requests": 6}
    assert (fake.calls, fake.requests) == ({}, [])
    # Control requests are FakeBird's own: never faulted, never listed.
    fake.fail_randomly(rate=1)
    assert control(fake, "GET", "/requests")[:1] == (200,)
    assert fake.requests == []


# FakeBirdControl against a served FakeBird.


def test_fakebird_control_reads_and_steers_a_served_fakebird(fake: FakeBird, served: str) -> None:
    with (
        FakeBirdControl(served, fake.access_key) as steer,
        FlashCalls(
            fake.access_key, fake.workspace_id, fake.channel_id, served, max_retries=0
        ) as fc,
    ):
        call = fc.create(TO)
        assert steer.handset_cli(TO) == call.from_
        assert fc.verify(call, steer.handset_cli(TO)).verified
        fc.end(call, result="timeout")  # a second report

        (seen,) = steer.calls()
        assert seen == steer.call(call.id)
        assert (seen.id, seen.from_, seen.result) == (call.id, call.from_, "verified")
        assert [report.result for report in seen.reports] == ["verified", "timeout"]
        assert seen.reports[0].received_cli == call.from_
        assert call.from_ not in repr(seen) and TO not in repr(seen)

        steer.set_caller_numbers([OTHER])
        assert fc.create(TO).from_ == OTHER == steer.handset_cli(TO)
        assert [r.status for r in steer.requests()] == [202, 202, 202, 202]
        assert steer.requests()[0].path.endswith("/flashcalls")

        steer.reset()
        assert (steer.calls(), steer.requests()) == ([], [])


def test_fakebird_control_errors_say_what_went_wrong(fake: FakeBird, served: str) -> None:
    with (
        FakeBirdControl(served, "not-the-key") as wrong,
        pytest.raises(FakeBirdControlError, match="the access key is not") as refused,
    ):
        wrong.calls()
    assert (refused.value.status, refused.value.code) == (401, "Unauthorized")
    assert "not-the-key" not in str(refused.value)
    with FakeBirdControl(served, fake.access_key) as steer:
        with pytest.raises(FakeBirdControlError, match="404") as unknown:
            steer.call(uuid4())
        assert unknown.value.code == "NotFound"
        with pytest.raises(FakeBirdControlError, match="no call to that number") as none:
            steer.handset_cli(TO)
        assert TO not in str(none.value)
        with pytest.raises(FakeBirdControlError) as bad:
            steer.fail(503, operations=["ring"])
        assert (bad.value.status, list(bad.value.details)) == (422, ["operations"])
        assert fake.access_key not in repr(steer)


def test_fakebird_control_refuses_what_cannot_be_a_served_fakebird(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with (
        FakeBirdControl(f"http://127.0.0.1:{port}", "k", timeout=5) as nobody,
        pytest.raises(FakeBirdControlError, match="cannot reach FakeBird") as unreachable,
    ):
        nobody.reset()
    assert unreachable.value.status is None
    for base_url, key, field in [
        ("https://api.bird.com", "k", "base_url"),
        ("127.0.0.1:2473", "k", "base_url"),
        ("http://127.0.0.1:2473", " ", "access_key"),
    ]:
        with pytest.raises(ConfigurationError) as refused:
            FakeBirdControl(base_url, key)
        assert refused.value.field == field
    monkeypatch.delenv("BIRD_BASE_URL", raising=False)
    with pytest.raises(ConfigurationError, match="BIRD_BASE_URL is not set"):
        FakeBirdControl.from_env()
    monkeypatch.setenv("BIRD_BASE_URL", "http://127.0.0.1:2473")
    monkeypatch.setenv("BIRD_ACCESS_KEY", "k")
    with FakeBirdControl.from_env() as from_env:
        assert from_env.base_url == "http://127.0.0.1:2473"
