"""FakeBird behaves as Bird's spec says, in process and over HTTP, under faults and load."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import struct
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from bird_flashcalls import (
    APIConnectionError,
    APITimeoutError,
    AsyncFlashCalls,
    AuthenticationError,
    FlashCalls,
    InternalServerError,
    NotFoundError,
    RateLimitError,
)
from bird_flashcalls._generated.types import UNSET
from bird_flashcalls.testing import CALLER_NUMBERS, FakeBird, FakeResponse
from fakebird_helpers import FAST, json_headers, paths

TO = "+31612345678"


def post(http: httpx.Client, path: str, body: Any, headers: dict[str, str]) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return http.post(path, content=content, headers={"Content-Type": "application/json", **headers})


def create(fake: FakeBird, http: httpx.Client, body: Any) -> httpx.Response:
    return post(http, paths(fake)["create"], body, json_headers(fake))


# Create.


def test_create_answers_202_with_the_call_bird_picks_the_caller_number(
    fake: FakeBird, http: httpx.Client
) -> None:
    response = create(fake, http, {"to": TO})

    assert response.status_code == 202
    call = response.json()
    assert set(call) == {
        "id",
        "channelId",
        "from",
        "to",
        "status",
        "ringTimeout",
        "createdAt",
        "updatedAt",
    }
    assert UUID(call["id"]).version == 4
    assert call["channelId"] == fake.channel_id
    assert call["from"] in CALLER_NUMBERS
    assert (call["to"], call["status"], call["ringTimeout"]) == (TO, "accepted", 30)
    for stamp in ("createdAt", "updatedAt"):
        assert datetime.fromisoformat(call[stamp]).tzinfo is not None
    assert fake.calls[call["id"]] == call
    assert fake.handset_cli(call["id"]) == call["from"]


def test_create_keeps_an_explicit_from_and_ring_timeout(fake: FakeBird, http: httpx.Client) -> None:
    for ring_timeout in (3, 45, 120):
        call = create(
            fake, http, {"to": TO, "from": "+3197010269999", "ringTimeout": ring_timeout}
        ).json()
        assert (call["from"], call["ringTimeout"]) == ("+3197010269999", ring_timeout)


def test_caller_numbers_can_be_chosen_and_are_all_used() -> None:
    fake = FakeBird(caller_numbers=["+3197010260000", "+3197010260001"])
    with fake.client() as flash_calls:
        picked = {flash_calls.create(TO).from_ for _ in range(40)}
    assert picked == {"+3197010260000", "+3197010260001"}


def test_ids_and_key_can_be_given_or_are_random() -> None:
    workspace, channel = uuid4(), uuid4()
    fake = FakeBird(workspace_id=workspace, channel_id=str(channel), access_key="k3y")
    assert (fake.workspace_id, fake.channel_id, fake.access_key) == (
        str(workspace),
        str(channel),
        "k3y",
    )
    first, second = FakeBird(), FakeBird()
    assert first.workspace_id != second.workspace_id
    assert first.channel_id != second.channel_id
    assert first.access_key != second.access_key
    assert len(first.access_key) >= 24
    with pytest.raises(ValueError, match="workspace_id"):
        FakeBird(workspace_id="not-a-uuid")
    with pytest.raises(ValueError, match="channel_id"):
        FakeBird(channel_id=f"urn:uuid:{uuid4()}")
    for numbers in ([], ["+1"], ["+3197010260000", "0970 1026 0000"], "+3197010260000"):
        with pytest.raises(ValueError, match="caller_numbers"):
            FakeBird(caller_numbers=numbers)


@pytest.mark.parametrize(
    ("body", "field", "problem"),
    [
        ({}, "to", "is required"),
        ({"from": "+3197010260000"}, "to", "is required"),
        ({"to": 31612345678}, "to", "must be a string"),
        ({"to": "0612345678"}, "to", "E.164"),
        ({"to": TO, "from": "bird"}, "from", "E.164"),
        ({"to": TO, "ringTimeout": 2}, "ringTimeout", "between 3 and 120"),
        ({"to": TO, "ringTimeout": 121}, "ringTimeout", "between 3 and 120"),
        ({"to": TO, "ringTimeout": "30"}, "ringTimeout", "must be an integer"),
        ({"to": TO, "ringTimeout": 30.5}, "ringTimeout", "must be an integer"),
        ({"to": TO, "ringTimeout": True}, "ringTimeout", "must be an integer"),
        ({"to": TO, "ringTimeout": None}, "ringTimeout", "must be an integer"),
        ({"to": TO, "callback": "https://x"}, "callback", 'property "callback" is unsupported'),
    ],
)
def test_create_refuses_invalid_fields_with_422_details_by_field(
    fake: FakeBird, http: httpx.Client, body: dict[str, Any], field: str, problem: str
) -> None:
    response = create(fake, http, body)

    assert response.status_code == 422
    error = response.json()
    assert error["code"] == "InvalidPayload"
    assert error["message"]
    assert list(error["details"]) == [field]
    assert any(problem in text for text in error["details"][field])
    assert fake.calls == {}


def test_a_422_lists_every_bad_field(fake: FakeBird, http: httpx.Client) -> None:
    response = create(fake, http, {"ringTimeout": 1, "extra": 1})
    assert response.status_code == 422
    assert set(response.json()["details"]) == {"to", "ringTimeout", "extra"}


def test_an_integral_float_ring_timeout_is_an_integer_as_in_json_schema(
    fake: FakeBird, http: httpx.Client
) -> None:
    response = create(fake, http, {"to": TO, "ringTimeout": 40.0})
    assert response.status_code == 202
    assert response.json()["ringTimeout"] == 40


@pytest.mark.parametrize(
    ("body", "what"),
    [
        (b'{"to": "+31612345678", "ringTimeout": NaN}', "NaN is not a JSON number"),
        (b'{"to": "+31612345678", "ringTimeout": Infinity}', "Infinity is not a JSON number"),
        (b'{"to": "+31612345678", "ringTimeout": -Infinity}', "-Infinity is not a JSON number"),
        (b'{"to": "+31612345678", "ringTimeout": 1e400}', "too large"),
        (b'{"to": "+31612345678", "to": "+31612345679"}', 'the key "to" appears twice'),
        (b'{"to": "+31612345678", "x": {"a": 1, "a": 2}}', 'the key "a" appears twice'),
        ('{"to": "+31612345678"}'.encode("utf-16"), "not UTF-8"),
        (b'\xef\xbb\xbf{"to": "+31612345678"}', "not valid JSON"),
    ],
    ids=["NaN", "Infinity", "-Infinity", "1e400", "key twice", "nested key twice", "UTF-16", "BOM"],
)
def test_json_that_is_not_strict_json_is_400(
    fake: FakeBird, http: httpx.Client, body: bytes, what: str
) -> None:
    in_process = fake.respond("POST", paths(fake)["create"], json_headers(fake), body)
    over_http = post(http, paths(fake)["create"], body, json_headers(fake))

    assert (in_process.status, over_http.status_code) == (400, 400)
    assert in_process.json() == over_http.json()
    assert in_process.json()["code"] == "BadRequest"
    assert what in in_process.json()["message"]
    assert fake.calls == {}


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "text/plain",
        "multipart/form-data",
        "application/x-www-form-urlencoded",
        "application/jsonx",
        "application/json; charset=utf-16",
        "application/json; charset=latin-1",
    ],
)
def test_a_body_not_sent_as_json_is_400(
    fake: FakeBird, http: httpx.Client, content_type: str | None
) -> None:
    headers = {"Authorization": f"AccessKey {fake.access_key}"}
    if content_type is not None:
        headers["Content-Type"] = content_type
    body = json.dumps({"to": TO}).encode()

    response = http.post(paths(fake)["create"], content=body, headers=headers)

    assert response.status_code == 400
    assert response.headers["Messagebird-Request-Id"] == fake.requests[-1].request_id
    error = response.json()
    assert error["code"] == "BadRequest"
    assert "application/json" in error["message"] or "UTF-8" in error["message"]
    assert fake.calls == {}


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "Application/JSON",
        "application/json; charset=UTF-8",
        "application/json;",
    ],
)
def test_json_media_type_is_matched_as_http_says(
    fake: FakeBird, http: httpx.Client, content_type: str
) -> None:
    headers = {**json_headers(fake), "Content-Type": content_type}
    response = http.post(paths(fake)["create"], content=b'{"to": "+31612345678"}', headers=headers)
    assert response.status_code == 202


@pytest.mark.parametrize(
    ("body", "what"),
    [
        (b"{not json", "not valid JSON"),
        (b"", "not valid JSON"),
        (b"[1, 2]", "an array"),
        (b'"to"', "a string"),
        (b"null", "null"),
        (b"12", "a number"),
    ],
)
def test_a_body_that_is_not_a_json_object_is_400(
    fake: FakeBird, http: httpx.Client, body: bytes, what: str
) -> None:
    for path in (paths(fake)["create"], paths(fake)["hangup"]):
        response = post(http, path, body, json_headers(fake))
        assert response.status_code == 400
        assert response.json()["code"] == "BadRequest"
        assert what in response.json()["message"]


# Authentication.


@pytest.mark.parametrize(
    "authorization",
    [None, "", "AccessKey", "AccessKey wrong-key", "Bearer {key}", "{key}", "AccessKey {key}x"],
)
def test_a_missing_or_wrong_access_key_is_401(
    fake: FakeBird, http: httpx.Client, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    headers = {name: value.format(key=fake.access_key) for name, value in headers.items()}
    response = post(http, paths(fake)["create"], {"to": TO}, headers)

    assert response.status_code == 401
    assert set(response.json()) == {"code", "message"}
    assert fake.access_key not in response.text
    assert fake.calls == {}


def test_the_scheme_is_case_insensitive(fake: FakeBird, http: httpx.Client) -> None:
    headers = {"Authorization": f"accesskey {fake.access_key}"}
    assert post(http, paths(fake)["create"], {"to": TO}, headers).status_code == 202


def test_authentication_comes_before_everything_else(fake: FakeBird, http: httpx.Client) -> None:
    response = post(http, "/no/such/path", b"not json", {})
    assert response.status_code == 401


# Not found.


def test_unknown_workspace_channel_call_or_path_is_404(fake: FakeBird, http: httpx.Client) -> None:
    good = paths(fake)["create"]
    cases = {
        "workspace": good.replace(fake.workspace_id, str(uuid4())),
        "channel": good.replace(fake.channel_id, str(uuid4())),
        "flash call": good + f"/{uuid4()}",
        "path": f"/workspaces/{fake.workspace_id}/channels/{fake.channel_id}/calls",
    }
    cases["not a uuid"] = good.replace(fake.workspace_id, "my-workspace")
    for what, path in cases.items():
        response = post(http, path, {"result": "verified", "to": TO}, json_headers(fake))
        assert response.status_code == 404, what
        error = response.json()
        assert error["code"] == "NotFound"
        assert error["message"].startswith("The requested resource does not exist")
    assert "workspace not found" in post(http, cases["workspace"], {}, json_headers(fake)).text
    assert "channel not found" in post(http, cases["channel"], {}, json_headers(fake)).text


@pytest.mark.parametrize(
    "spelling",
    ["urn:uuid:{id}", "{{{id}}}", "{hex}", "{id}-", " {id}"],
    ids=["urn", "braces", "no dashes", "trailing dash", "leading space"],
)
@pytest.mark.parametrize("which", ["workspace", "channel", "call"])
def test_only_canonical_uuids_address_a_workspace_channel_or_call(
    fake: FakeBird, http: httpx.Client, spelling: str, which: str
) -> None:
    call = create(fake, http, {"to": TO}).json()
    ids = {"workspace": fake.workspace_id, "channel": fake.channel_id, "call": call["id"]}
    given = UUID(ids[which])
    ids[which] = spelling.format(id=given, hex=given.hex)
    path = f"/workspaces/{ids['workspace']}/channels/{ids['channel']}/flashcalls/{ids['call']}"

    response = post(http, path, {"result": "verified"}, json_headers(fake))

    assert response.status_code == 404
    assert response.json()["code"] == "NotFound"
    assert "result" not in fake.calls[call["id"]]


def test_ids_in_the_path_match_in_any_case(fake: FakeBird, http: httpx.Client) -> None:
    path = paths(fake)["create"].replace(fake.workspace_id, fake.workspace_id.upper())
    assert post(http, path, {"to": TO}, json_headers(fake)).status_code == 202


@pytest.mark.parametrize(
    "method", ["GET", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "QUERY", "PROPFIND", "BREW"]
)
def test_other_methods_are_a_json_405_with_allow_post(
    fake: FakeBird, http: httpx.Client, method: str
) -> None:
    response = http.request(method, paths(fake)["create"], headers=json_headers(fake))
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"
    assert response.headers["Messagebird-Request-Id"]
    assert response.json()["code"] == "MethodNotAllowed"
    assert method in response.json()["message"]


# End by id and by from/to.


def test_end_records_the_result_and_answers_the_hangup_body(
    fake: FakeBird, http: httpx.Client
) -> None:
    call = create(fake, http, {"to": TO}).json()
    path = paths(fake)["end"].format(call_id=call["id"])

    response = post(
        http, path, {"result": "wrong_cli", "receivedCli": "+3197010261111"}, json_headers(fake)
    )
    assert response.status_code == 202
    assert response.json() == {"result": "wrong_cli", "receivedCli": "+3197010261111"}
    record = fake.calls[call["id"]]
    assert (record["result"], record["receivedCli"]) == ("wrong_cli", "+3197010261111")

    # A later report replaces the earlier one (end is retried, so it must be repeatable).
    response = post(http, path, {"result": "timeout"}, json_headers(fake))
    assert response.json() == {"result": "timeout"}
    record = fake.calls[call["id"]]
    assert record["result"] == "timeout"
    assert "receivedCli" not in record
    assert record["updatedAt"] >= record["createdAt"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "result"),
        ({"result": "ok"}, "result"),
        ({"result": 1}, "result"),
        ({"result": "verified", "receivedCli": 316}, "receivedCli"),
        ({"result": "verified", "note": "x"}, "note"),
    ],
)
def test_end_refuses_invalid_fields_with_422(
    fake: FakeBird, http: httpx.Client, body: dict[str, Any], field: str
) -> None:
    call = create(fake, http, {"to": TO}).json()
    response = post(http, paths(fake)["end"].format(call_id=call["id"]), body, json_headers(fake))
    assert response.status_code == 422
    assert list(response.json()["details"]) == [field]
    assert "result" not in fake.calls[call["id"]]


def test_hangup_ends_the_most_recent_call_with_that_from_and_to(
    fake: FakeBird, http: httpx.Client
) -> None:
    older = create(fake, http, {"to": TO, "from": "+3197010269999"}).json()
    other = create(fake, http, {"to": "+31600000000", "from": "+3197010269999"}).json()
    newer = create(fake, http, {"to": TO, "from": "+3197010269999"}).json()

    body = {"from": "+3197010269999", "to": TO, "result": "canceled"}
    response = post(http, paths(fake)["hangup"], body, json_headers(fake))

    assert response.status_code == 202
    assert response.json() in hangup_shapes(body)
    calls = fake.calls
    assert calls[newer["id"]]["result"] == "canceled"
    assert "result" not in calls[older["id"]]
    assert "result" not in calls[other["id"]]


def test_hangup_with_received_cli(fake: FakeBird, http: httpx.Client) -> None:
    call = create(fake, http, {"to": TO}).json()
    body = {"from": call["from"], "to": TO, "result": "verified", "receivedCli": call["from"]}
    response = post(http, paths(fake)["hangup"], body, json_headers(fake))

    assert response.status_code == 202
    assert response.json() in hangup_shapes(body)
    assert fake.calls[call["id"]]["receivedCli"] == call["from"]


def hangup_shapes(sent: dict[str, str]) -> list[dict[str, str]]:
    """The 202 bodies end by from/to may give: {result, receivedCli}, {from, to}, or all."""
    result = {key: sent[key] for key in ("result", "receivedCli") if key in sent}
    return [result, {"from": sent["from"], "to": sent["to"]}, {**sent}]


@pytest.mark.parametrize(
    ("answer", "keys"),
    [
        ("result", {"result"}),
        ("numbers", {"from", "to"}),
        ("full", {"from", "to", "result"}),
    ],
)
def test_hangup_answers_in_the_shape_asked_for(answer: str, keys: set[str]) -> None:
    fake = FakeBird(hangup_answer=answer)
    with fake.serve() as base_url, httpx.Client(base_url=base_url) as http:
        call = create(fake, http, {"to": TO}).json()
        body = {"from": call["from"], "to": TO, "result": "timeout"}
        response = post(http, paths(fake)["hangup"], body, json_headers(fake))

    assert set(response.json()) == keys
    assert fake.calls[call["id"]]["result"] == "timeout"


def _hangup_shapes_seen(fake: FakeBird, count: int) -> list[frozenset[str]]:
    shapes = []
    with fake.serve() as base_url, httpx.Client(base_url=base_url) as http:
        for _ in range(count):
            call = create(fake, http, {"to": TO}).json()
            body = {"from": call["from"], "to": TO, "result": "canceled"}
            answer = post(http, paths(fake)["hangup"], body, json_headers(fake)).json()
            shapes.append(frozenset(answer))
    return shapes


def test_hangup_answers_each_published_shape_at_random() -> None:
    first, second = (
        _hangup_shapes_seen(FakeBird(seed=7), 30),
        _hangup_shapes_seen(FakeBird(seed=7), 30),
    )
    assert set(first) == {
        frozenset({"result"}),
        frozenset({"from", "to"}),
        frozenset({"from", "to", "result"}),
    }
    assert first == second  # the same seed, the same picks


def test_an_unknown_hangup_answer_is_refused() -> None:
    with pytest.raises(ValueError, match="hangup_answer must be one of random, full"):
        FakeBird(hangup_answer="sometimes")


def test_hangup_without_a_matching_call_is_404(fake: FakeBird, http: httpx.Client) -> None:
    create(fake, http, {"to": TO, "from": "+3197010269999"})
    body = {"from": "+3197010269999", "to": "+31600000000", "result": "canceled"}
    response = post(http, paths(fake)["hangup"], body, json_headers(fake))
    assert response.status_code == 404
    assert response.json()["code"] == "NotFound"


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"to": TO, "result": "canceled"}, {"from"}),
        ({"from": TO, "result": "canceled"}, {"to"}),
        ({"result": "canceled"}, {"from", "to"}),
        ({"from": TO, "to": TO, "result": "cancelled"}, {"result"}),
        ({"from": TO, "to": TO}, {"result"}),
        ({"from": TO, "to": TO, "result": "canceled", "ref": "signup-1"}, {"ref"}),
    ],
)
def test_hangup_refuses_missing_from_to_bad_result_or_unknown_fields_with_422(
    fake: FakeBird, http: httpx.Client, body: dict[str, Any], fields: set[str]
) -> None:
    response = post(http, paths(fake)["hangup"], body, json_headers(fake))
    assert response.status_code == 422
    assert set(response.json()["details"]) == fields


# Request ids and the record of requests.


def test_every_response_carries_a_distinct_request_id_that_the_record_keeps(
    fake: FakeBird, http: httpx.Client
) -> None:
    fake.fail_next(status=503)
    responses = [
        create(fake, http, {"to": TO}),  # injected 503
        create(fake, http, {"to": TO}),  # 202
        create(fake, http, {}),  # 422
        create(fake, http, b"x"),  # 400
        post(http, paths(fake)["create"], {"to": TO}, {}),  # 401
        post(http, paths(fake)["end"].format(call_id=uuid4()), {}, json_headers(fake)),  # 404
        http.get(paths(fake)["create"], headers=json_headers(fake)),  # 405
    ]
    statuses = [response.status_code for response in responses]
    assert statuses == [503, 202, 422, 400, 401, 404, 405]
    ids = [response.headers["Messagebird-Request-Id"] for response in responses]
    assert len(set(ids)) == len(ids)
    recorded = fake.requests
    assert [request.request_id for request in recorded] == ids
    assert [request.status for request in recorded] == statuses


def test_requests_record_method_path_headers_and_json_body(
    fake: FakeBird, http: httpx.Client
) -> None:
    create(fake, http, {"to": TO, "ringTimeout": 10})
    create(fake, http, b"{broken")
    first, second = fake.requests

    assert (first.method, first.path) == ("POST", paths(fake)["create"])
    assert first.headers["authorization"] == f"AccessKey {fake.access_key}"
    assert first.json == {"to": TO, "ringTimeout": 10}
    assert second.json is None
    assert second.body == b"{broken"


def test_calls_is_a_snapshot_keyed_by_id_string_or_uuid(fake: FakeBird) -> None:
    with fake.client() as flash_calls:
        call = flash_calls.create(TO)
    snapshot = fake.calls
    snapshot[call.id]["result"] = "tampered"

    assert call.id in snapshot
    assert str(call.id) in snapshot
    assert str(call.id).upper() in snapshot
    assert 42 not in snapshot
    assert list(snapshot) == [str(call.id)]
    assert "result" not in fake.calls[call.id]
    with pytest.raises(KeyError, match="no flash call"):
        fake.handset_cli(uuid4())


# The public API through fake.client() and fake.async_client().


def test_the_client_runs_a_whole_verification(fake: FakeBird) -> None:
    with fake.client() as flash_calls:
        call = flash_calls.create(TO)
        outcome = flash_calls.verify(call, received_cli=fake.handset_cli(call.id))
        assert outcome.verified
        assert fake.calls[call.id]["result"] == "verified"

        other = flash_calls.create(TO, from_="+3197010269999", ring_timeout=20)
        assert (other.from_, other.ring_timeout) == ("+3197010269999", 20)
        wrong = flash_calls.verify(other, received_cli="+3197010260000")
        assert not wrong.verified
        assert fake.calls[other.id]["receivedCli"] == "+3197010260000"

        ended = flash_calls.hangup(from_="+3197010269999", to=TO, result="timeout")
        assert ended.result in ("timeout", UNSET)  # whichever published shape Bird gave
        assert fake.calls[other.id]["result"] == "timeout"

        code = fake.handset_cli(call.id)[-4:]
        assert flash_calls.verify_code(call, code).verified


def test_the_client_sees_bird_errors_with_code_and_request_id(fake: FakeBird, served: str) -> None:
    with fake.client(max_retries=0) as flash_calls:
        with pytest.raises(NotFoundError) as not_found:
            flash_calls.end(uuid4(), result="verified")
        assert not_found.value.code == "NotFound"
        assert not_found.value.request_id == fake.requests[-1].request_id

    with (
        FlashCalls("not-the-key", fake.workspace_id, fake.channel_id, served) as stranger,
        pytest.raises(AuthenticationError) as refused,
    ):
        stranger.create(TO)
    assert refused.value.code == "Unauthorized"
    assert fake.calls == {}


@pytest.mark.anyio
async def test_the_async_client_runs_a_whole_verification(fake: FakeBird) -> None:
    async with fake.async_client() as flash_calls:
        call = await flash_calls.create(TO)
        outcome = await flash_calls.verify(call, received_cli=fake.handset_cli(call.id))
        ended = await flash_calls.hangup(from_=call.from_, to=TO, result="canceled")
    assert outcome.verified
    # Bird may answer {result}, {from, to} or both: what it recorded is what counts.
    assert ended.result in ("canceled", UNSET)
    assert fake.calls[call.id]["result"] == "canceled"


# In process and served: one core, the same answers.


def _normalised(status: int, headers: httpx.Headers | dict[str, str], body: bytes) -> Any:
    data = json.loads(body)
    for volatile in ("id", "createdAt", "updatedAt"):
        if isinstance(data, dict) and volatile in data:
            data[volatile] = type(data[volatile]).__name__
    content_type = httpx.Headers(headers)["Content-Type"]
    return status, content_type, "Messagebird-Request-Id" in httpx.Headers(headers), data


def _exchange_script(fake: FakeBird) -> list[tuple[str, str, Any, dict[str, str]]]:
    p, key = paths(fake), json_headers(fake)
    return [
        ("POST", p["create"], {"to": TO}, key),
        ("POST", p["create"], {"to": TO, "from": "+3197010269999", "ringTimeout": 9}, key),
        ("POST", p["end"], {"result": "verified", "receivedCli": TO}, key),
        ("POST", p["hangup"], {"from": "+3197010269999", "to": TO, "result": "canceled"}, key),
        ("POST", p["hangup"], {"from": "+31600000000", "to": TO, "result": "canceled"}, key),
        ("POST", p["hangup"], {"from": "+1", "to": TO, "result": "canceled"}, key),
        ("POST", p["create"], {"ringTimeout": 0, "x": 1}, key),
        ("POST", p["end"], {"result": "nope"}, key),
        ("POST", p["create"], b"[]", key),
        ("POST", p["create"], {"to": TO}, {"Authorization": "AccessKey nope"}),
        ("GET", p["create"], b"", key),
        ("TRACE", p["create"], b"", key),
        ("POST", p["end"].format(call_id=uuid4()), {"result": "verified"}, key),
        ("POST", p["create"], {"to": TO}, {**key, "Content-Type": "text/plain"}),
        ("POST", p["create"], b'{"to": "+31612345678", "ringTimeout": NaN}', key),
        ("POST", p["create"], b'{"to": "+31612345678", "to": "+31612345679"}', key),
        ("POST", p["create"].replace(fake.channel_id, "{" + fake.channel_id + "}"), b"{}", key),
    ]


def test_the_server_answers_exactly_what_the_core_answers() -> None:
    settings: dict[str, Any] = {
        "workspace_id": uuid4(),
        "channel_id": uuid4(),
        "access_key": "same-key",
        "caller_numbers": ["+3197010260003"],
        "seed": 3,
    }
    in_process, over_http = FakeBird(**settings), FakeBird(**settings)
    core_answers, http_answers = [], []
    with over_http.serve() as base_url, httpx.Client(base_url=base_url) as http:
        for fake, answers, send in (
            (in_process, core_answers, None),
            (over_http, http_answers, http),
        ):
            last_id = str(uuid4())
            for method, path, body, headers in _exchange_script(fake):
                path = path.replace("{call_id}", last_id)
                content = body if isinstance(body, bytes) else json.dumps(body).encode()
                if send is None:
                    reply = fake.respond(method, path, headers, content)
                    answer = _normalised(reply.status, reply.headers, reply.body)
                    data = reply.json()
                else:
                    response = send.request(method, path, content=content, headers=headers)
                    answer = _normalised(response.status_code, response.headers, response.content)
                    data = response.json()
                if answer[0] == 202 and "id" in data:
                    last_id = data["id"]
                answers.append(answer)
    assert core_answers == http_answers
    assert [answer[0] for answer in core_answers] == [
        202,
        202,
        202,
        202,
        404,
        422,
        422,
        422,
        400,
        401,
        405,
        405,
        404,
        400,
        400,
        400,
        404,
    ]


def test_the_client_in_process_and_over_http_gets_the_same_results() -> None:
    def story(flash_calls: FlashCalls, fake: FakeBird) -> list[Any]:
        seen: list[Any] = []
        call = flash_calls.create(TO)
        seen.append((call.from_, call.to, str(call.status), call.ring_timeout))
        seen.append(flash_calls.verify(call, fake.handset_cli(call.id)).result)
        seen.append(flash_calls.end(call, result="timeout").to_dict())
        for attempt in (
            lambda: flash_calls.end(uuid4(), result="verified"),
            lambda: flash_calls.hangup(from_="+31600000000", to=TO, result="canceled"),
        ):
            with pytest.raises(NotFoundError) as error:
                attempt()
            seen.append((error.value.status_code, error.value.code, error.value.details))
        seen.append(dict(fake.calls[call.id], id=None, createdAt=None, updatedAt=None))
        return seen

    settings: dict[str, Any] = {"caller_numbers": ["+3197010260001"], "access_key": "k"}
    settings.update(workspace_id=uuid4(), channel_id=uuid4())
    in_process, over_http = FakeBird(**settings), FakeBird(**settings)
    with in_process.client() as flash_calls:
        expected = story(flash_calls, in_process)
    with (
        over_http.serve() as base_url,
        FlashCalls(
            access_key="k",
            workspace_id=over_http.workspace_id,
            channel_id=over_http.channel_id,
            base_url=base_url,
        ) as flash_calls,
    ):
        assert story(flash_calls, over_http) == expected


# Faults.


def test_fail_next_answers_statuses_with_bird_error_bodies_then_recovers(fake: FakeBird) -> None:
    fake.fail_next(status=503, times=2)
    with fake.client(backoff=FAST) as flash_calls:
        call = flash_calls.create(TO)
    assert [request.status for request in fake.requests] == [503, 503, 202]
    assert list(fake.calls) == [str(call.id)]

    fake.fail_next(status=500, times=3)
    with fake.client(backoff=FAST) as flash_calls, pytest.raises(InternalServerError) as error:
        flash_calls.create(TO)
    assert error.value.code == "InternalServerError"
    assert error.value.request_id == fake.requests[-1].request_id


def test_fail_next_sends_retry_after(fake: FakeBird, http: httpx.Client) -> None:
    fake.fail_next(status=429, retry_after=7)
    response = create(fake, http, {"to": TO})
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert response.json()["code"] == "TooManyRequests"

    fake.fail_next(status=429, retry_after=30)
    with fake.client(backoff=FAST) as flash_calls, pytest.raises(RateLimitError) as error:
        flash_calls.create(TO)
    assert error.value.retry_after == 30


def test_faults_queue_up_in_order(fake: FakeBird, http: httpx.Client) -> None:
    fake.fail_next(status=502)
    fake.fail_next(status=404, times=2)
    statuses = [create(fake, http, {"to": TO}).status_code for _ in range(4)]
    assert statuses == [502, 404, 404, 202]


def test_a_dropped_connection_in_process_after_bird_received_the_create(
    fake: FakeBird,
) -> None:
    fake.fail_next(drop_connection=True)
    with fake.client(backoff=FAST) as flash_calls, pytest.raises(APIConnectionError) as error:
        flash_calls.create(TO)
    # Bird created the call; the client did not ring the phone a second time.
    assert error.value.may_have_been_delivered
    assert len(fake.calls) == 1
    assert len(fake.requests) == 1


def test_a_dropped_connection_over_http_and_end_is_retried(fake: FakeBird, served: str) -> None:
    with FlashCalls(
        access_key=fake.access_key,
        workspace_id=fake.workspace_id,
        channel_id=fake.channel_id,
        base_url=served,
        backoff=FAST,
    ) as flash_calls:
        fake.fail_next(drop_connection=True)
        with pytest.raises(APIConnectionError) as error:
            flash_calls.create(TO)
        assert error.value.may_have_been_delivered
        (call_id,) = fake.calls

        fake.fail_next(drop_connection=True)
        ended = flash_calls.end(call_id, result="verified")
    assert str(ended.result) == "verified"
    assert [request.status for request in fake.requests] == [202, 202, 202]
    assert fake.calls[call_id]["result"] == "verified"


@pytest.mark.parametrize("where", ["in process", "over http"])
def test_a_delay_longer_than_the_timeout_times_out(fake: FakeBird, where: str) -> None:
    # Slower than the timeout by a wide margin, so that a busy machine cannot blur the two.
    fake.fail_next(delay=30.0)
    with fake.serve() as base_url:
        flash_calls = (
            fake.client(timeout=0.2, max_retries=0)
            if where == "in process"
            else FlashCalls(
                access_key=fake.access_key,
                workspace_id=fake.workspace_id,
                channel_id=fake.channel_id,
                base_url=base_url,
                timeout=0.2,
                max_retries=0,
            )
        )
        started = time.monotonic()
        with flash_calls, pytest.raises(APITimeoutError):
            flash_calls.create(TO)
        assert time.monotonic() - started < 10.0
    assert len(fake.calls) == 1  # Bird got the request; its answer was late


@pytest.mark.anyio
async def test_a_short_delay_is_a_slow_but_correct_answer(fake: FakeBird) -> None:
    fake.fail_next(delay=0.05, times=2)
    async with fake.async_client() as flash_calls:
        started = time.monotonic()
        call = await flash_calls.create(TO)
        await flash_calls.end(call, result="timeout")
    assert time.monotonic() - started >= 0.1
    assert fake.calls[call.id]["result"] == "timeout"


def test_fail_randomly_is_repeatable_with_a_seed_and_can_be_stopped() -> None:
    def statuses(seed: int) -> list[int]:
        fake = FakeBird()
        fake.fail_randomly(rate=0.3, status=503, seed=seed)
        path, key = paths(fake)["create"], json_headers(fake)
        body = json.dumps({"to": TO}).encode()
        return [fake.respond("POST", path, key, body).status for _ in range(200)]

    first = statuses(seed=7)
    assert first == statuses(seed=7)
    assert first != statuses(seed=8)
    assert 30 <= first.count(503) <= 90
    assert set(first) == {202, 503}

    fake = FakeBird()
    fake.fail_randomly(rate=1.0, status=500)
    body = json.dumps({"to": TO}).encode()
    assert fake.respond("POST", paths(fake)["create"], json_headers(fake), body).status == 500
    fake.fail_randomly(rate=0)
    assert fake.respond("POST", paths(fake)["create"], json_headers(fake), body).status == 202


def test_clear_faults_forgets_queued_and_random_faults(fake: FakeBird) -> None:
    fake.fail_next(status=503, times=5)
    fake.fail_randomly(rate=1.0)
    fake.clear_faults()
    with fake.client(max_retries=0) as flash_calls:
        flash_calls.create(TO)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({}, "nothing to inject"),
        ({"status": 200}, "400 to 599"),
        ({"status": True}, "400 to 599"),
        ({"status": 503, "drop_connection": True}, "either"),
        ({"retry_after": 1, "delay": 1}, "retry_after"),
        ({"status": 503, "retry_after": -1}, "retry_after"),
        ({"delay": -1}, "delay"),
        ({"status": 503, "times": 0}, "times"),
    ],
)
def test_fail_next_refuses_faults_that_make_no_sense(
    fake: FakeBird, arguments: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        fake.fail_next(**arguments)


def test_fail_randomly_refuses_a_rate_outside_0_to_1(fake: FakeBird) -> None:
    for rate in (-0.1, 1.5):
        with pytest.raises(ValueError, match="rate"):
            fake.fail_randomly(rate)


# Thread safety.


def _hammer(fake: FakeBird, make_client: Callable[[], FlashCalls]) -> None:
    threads_count, calls_per_thread = 8, 25
    errors: list[BaseException] = []
    start = threading.Barrier(threads_count)

    def work() -> None:
        try:
            with make_client() as flash_calls:
                start.wait()
                for _ in range(calls_per_thread):
                    call = flash_calls.create(TO)
                    flash_calls.verify(call, fake.handset_cli(call.id))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    calls = fake.calls
    assert len(calls) == threads_count * calls_per_thread
    assert all(call["result"] == "verified" for call in calls.values())
    assert len(fake.requests) == 2 * threads_count * calls_per_thread
    assert len({request.request_id for request in fake.requests}) == len(fake.requests)


def test_eight_threads_in_process(fake: FakeBird) -> None:
    _hammer(fake, fake.client)


def test_eight_threads_over_http(fake: FakeBird, served: str) -> None:
    def client() -> FlashCalls:
        return FlashCalls(fake.access_key, fake.workspace_id, fake.channel_id, served)

    _hammer(fake, client)


@pytest.mark.anyio
@pytest.mark.parametrize("where", ["in process", "over http"])
async def test_64_concurrent_async_requests_with_random_faults(fake: FakeBird, where: str) -> None:
    fake.fail_randomly(rate=0.1, status=503, seed=3)
    with fake.serve() as base_url:
        flash_calls = (
            fake.async_client(backoff=FAST, max_retries=8)
            if where == "in process"
            else AsyncFlashCalls(
                fake.access_key,
                fake.workspace_id,
                fake.channel_id,
                base_url,
                backoff=FAST,
                max_retries=8,
            )
        )
        async with flash_calls:
            created = await asyncio.gather(*(flash_calls.create(TO) for _ in range(64)))
    ids = {call.id for call in created}
    assert len(ids) == 64
    assert set(fake.calls) == {str(call_id) for call_id in ids}
    statuses = [request.status for request in fake.requests]
    assert statuses.count(202) == 64
    assert set(statuses) <= {202, 503}


# The server itself.


def test_serve_stops_its_threads_and_frees_its_port_even_with_idle_connections(
    fake: FakeBird,
) -> None:
    before = set(threading.enumerate())
    with fake.serve() as base_url:
        port = httpx.URL(base_url).port
        # A pooled keep-alive connection stays open while the server stops.
        http = httpx.Client(base_url=base_url)
        assert create(fake, http, {"to": TO}).status_code == 202
        assert set(threading.enumerate()) - before
    assert set(threading.enumerate()) <= before
    http.close()
    with socket.socket() as probe, pytest.raises(ConnectionRefusedError):
        probe.connect(("127.0.0.1", port or 0))


def test_serve_cuts_a_pending_delay_short_on_exit(fake: FakeBird) -> None:
    fake.fail_next(delay=60)
    outcome: list[BaseException] = []

    def slow_request(base_url: str) -> None:
        try:
            httpx.post(base_url + paths(fake)["create"], json={"to": TO}, timeout=30)
        except httpx.HTTPError as error:
            outcome.append(error)

    started = time.monotonic()
    with fake.serve() as base_url:
        client = threading.Thread(target=slow_request, args=(base_url,))
        client.start()
        deadline = time.monotonic() + 10
        while not fake.requests and time.monotonic() < deadline:
            time.sleep(0.01)  # polling the condition "the request arrived"
        assert fake.requests
    client.join()
    assert time.monotonic() - started < 10
    assert len(outcome) == 1  # the connection closed without an answer


def test_serve_refuses_addresses_that_are_not_loopback(fake: FakeBird) -> None:
    for host in ("0.0.0.0", "192.0.2.10", "example.com", "::"):
        with pytest.raises(ValueError, match="loopback"), fake.serve(host=host):
            pass


def test_serve_on_localhost_and_ipv6_loopback(fake: FakeBird) -> None:
    with fake.serve(host="localhost") as base_url:
        assert base_url.startswith("http://127.0.0.1:")
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    try:
        with fake.serve(host="::1") as base_url, httpx.Client(base_url=base_url) as http:
            assert base_url.startswith("http://[::1]:")
            assert create(fake, http, {"to": TO}).status_code == 202
    except OSError as error:
        pytest.skip(f"no IPv6 loopback here: {error}")


def test_the_server_reads_chunked_bodies(fake: FakeBird, http: httpx.Client) -> None:
    body = json.dumps({"to": TO}).encode()
    response = http.post(
        paths(fake)["create"],
        content=iter([body[:5], body[5:]]),
        headers={**json_headers(fake), "Content-Type": "application/json"},
    )
    assert response.status_code == 202
    assert fake.requests[-1].json == {"to": TO}


def _raw_exchange(served: str, data: bytes) -> tuple[int, dict[str, str], Any]:
    """Send bytes as they are; read the answer up to the close the server announces."""
    url = httpx.URL(served)
    with socket.create_connection((url.host, url.port or 80), timeout=5) as connection:
        connection.sendall(data)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, json.loads(body)


@pytest.mark.parametrize(
    ("request_head", "status", "what"),
    [
        ("POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n", 413, "larger"),
        ("POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", 400, "not a number"),
        ("POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400, "not a number"),
        ("POST {path} HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400, "chunk size"),
        ("THIS IS NOT HTTP\r\n", 400, "not valid HTTP"),
        ("GET {path}\r\n\r\n", 400, "not valid HTTP"),
        ("POST {path} HTTP/2.0\r\nHost: x\r\n\r\n", 505, "HTTP"),
    ],
    ids=["too large", "garbage length", "negative length", "bad chunk", "bad line", "0.9", "h2"],
)
def test_requests_the_server_cannot_read_get_bird_shaped_json(
    fake: FakeBird, served: str, request_head: str, status: int, what: str
) -> None:
    head = request_head.format(path=paths(fake)["create"])

    answered, headers, error = _raw_exchange(served, head.encode())

    assert answered == status
    assert headers["content-type"] == "application/json"
    assert headers["messagebird-request-id"]
    assert headers["connection"] == "close"
    assert set(error) == {"code", "message"}
    assert what in error["message"]
    assert fake.requests == []  # answered by the server; FakeBird never saw a request


def test_a_body_over_one_mebibyte_is_a_json_413_even_when_chunked(
    fake: FakeBird, http: httpx.Client
) -> None:
    chunks = iter([b"{" + b" " * 600_000, b" " * 600_000 + b"}"])
    response = http.post(paths(fake)["create"], content=chunks, headers=json_headers(fake))
    assert response.status_code == 413
    assert response.json()["code"] == "RequestEntityTooLarge"
    assert response.headers["Messagebird-Request-Id"]


def test_a_client_that_resets_its_connection_is_one_log_line(
    fake: FakeBird, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bird_flashcalls.testing")
    with fake.serve() as base_url:
        url = httpx.URL(base_url)
        connection = socket.create_connection((url.host, url.port or 80), timeout=5)
        connection.sendall(f"POST {paths(fake)['create']} HTTP/1.1\r\nHost: x\r\n".encode())
        # Linger 0: close sends a reset instead of a clean end.
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        connection.close()
        # Connections are accepted in order: once a later one is answered, the reset one has
        # its thread, and leaving serve() joins it.
        with httpx.Client(base_url=base_url) as http:
            assert create(fake, http, {"to": TO}).status_code == 202
    records = [r for r in caplog.records if r.name == "bird_flashcalls.testing"]
    assert len(records) == 1
    assert records[0].levelno == logging.INFO
    assert "ended early: ConnectionResetError" in records[0].getMessage()
    assert records[0].exc_info is None


def test_fake_response_json_reads_the_body() -> None:
    reply = FakeResponse(202, {}, b'{"a": 1}')
    assert reply.json() == {"a": 1}
