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

from .support import FAST, TO, WAIT, create, json_headers, paths, post, respond

OTHER = "+3197010269999"


def client_over_http(fake: FakeBird, base_url: str, **options: Any) -> FlashCalls:
    return FlashCalls(fake.access_key, fake.workspace_id, fake.channel_id, base_url, **options)


# Create.


def test_create_answers_202_with_the_call_bird_picks_the_caller_number(
    fake: FakeBird, http: httpx.Client
) -> None:
    response = create(fake, http, {"to": TO})

    assert response.status_code == 202
    call = response.json()
    stamps = ("createdAt", "updatedAt")
    assert set(call) == {"id", "channelId", "from", "to", "status", "ringTimeout", *stamps}
    assert UUID(call["id"]).version == 4
    assert call["channelId"] == fake.channel_id
    assert call["from"] in CALLER_NUMBERS
    assert (call["to"], call["status"], call["ringTimeout"]) == (TO, "accepted", 30)
    assert all(datetime.fromisoformat(call[stamp]).tzinfo is not None for stamp in stamps)
    assert fake.calls[call["id"]] == call
    assert fake.handset_cli(call["id"]) == call["from"]


@pytest.mark.parametrize("ring_timeout", [3, 45, 120, 40.0])
def test_create_keeps_an_explicit_from_and_ring_timeout(
    fake: FakeBird, http: httpx.Client, ring_timeout: float
) -> None:
    # 40.0: an integral float is an integer, as in JSON Schema.
    response = create(fake, http, {"to": TO, "from": OTHER, "ringTimeout": ring_timeout})
    assert response.status_code == 202
    assert (response.json()["from"], response.json()["ringTimeout"]) == (OTHER, ring_timeout)


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


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"workspace_id": "not-a-uuid"}, "workspace_id"),
        ({"channel_id": f"urn:uuid:{uuid4()}"}, "channel_id"),
        ({"caller_numbers": []}, "caller_numbers"),
        ({"caller_numbers": ["+1"]}, "caller_numbers"),
        ({"caller_numbers": ["+3197010260000", "0970 1026 0000"]}, "caller_numbers"),
        ({"caller_numbers": "+3197010260000"}, "caller_numbers"),
        ({"hangup_answer": "sometimes"}, "hangup_answer must be one of random, full"),
    ],
)
def test_settings_that_make_no_sense_are_refused(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FakeBird(**settings)


# What each operation refuses: 422 with the bad fields named.


@pytest.mark.parametrize(
    ("operation", "body", "fields", "problem"),
    [
        ("create", {}, {"to"}, "is required"),
        ("create", {"from": "+3197010260000"}, {"to"}, "is required"),
        ("create", {"to": 31612345678}, {"to"}, "must be a string"),
        ("create", {"to": "0612345678"}, {"to"}, "E.164"),
        ("create", {"to": TO, "from": "bird"}, {"from"}, "E.164"),
        ("create", {"to": TO, "ringTimeout": 2}, {"ringTimeout"}, "between 3 and 120"),
        ("create", {"to": TO, "ringTimeout": 121}, {"ringTimeout"}, "between 3 and 120"),
        ("create", {"to": TO, "ringTimeout": "30"}, {"ringTimeout"}, "must be an integer"),
        ("create", {"to": TO, "ringTimeout": 30.5}, {"ringTimeout"}, "must be an integer"),
        ("create", {"to": TO, "ringTimeout": True}, {"ringTimeout"}, "must be an integer"),
        ("create", {"to": TO, "ringTimeout": None}, {"ringTimeout"}, "must be an integer"),
        ("create", {"to": TO, "callback": "x"}, {"callback"}, 'property "callback" is unsupported'),
        ("create", {"ringTimeout": 1, "extra": 1}, {"to", "ringTimeout", "extra"}, ""),
        ("end", {}, {"result"}, "is required"),
        ("end", {"result": "ok"}, {"result"}, ""),
        ("end", {"result": 1}, {"result"}, ""),
        ("end", {"result": "verified", "receivedCli": 316}, {"receivedCli"}, ""),
        ("end", {"result": "verified", "note": "x"}, {"note"}, ""),
        ("hangup", {"to": TO, "result": "canceled"}, {"from"}, "is required"),
        ("hangup", {"from": TO, "result": "canceled"}, {"to"}, "is required"),
        ("hangup", {"result": "canceled"}, {"from", "to"}, "is required"),
        ("hangup", {"from": TO, "to": TO, "result": "cancelled"}, {"result"}, ""),
        ("hangup", {"from": TO, "to": TO}, {"result"}, "is required"),
        ("hangup", {"from": TO, "to": TO, "result": "canceled", "ref": "x"}, {"ref"}, ""),
    ],
)
def test_invalid_fields_are_a_422_with_details_by_field(
    fake: FakeBird,
    http: httpx.Client,
    operation: str,
    body: dict[str, Any],
    fields: set[str],
    problem: str,
) -> None:
    call = create(fake, http, {"to": TO}).json()
    path = paths(fake)[operation].format(call_id=call["id"])

    response = post(http, path, body, json_headers(fake))

    assert response.status_code == 422
    error = response.json()
    assert (error["code"], bool(error["message"])) == ("InvalidPayload", True)
    assert set(error["details"]) == fields
    assert all(any(problem in text for text in error["details"][f]) for f in fields)
    assert list(fake.calls) == [call["id"]]
    assert "result" not in fake.calls[call["id"]]


# What is not a JSON object, sent as JSON, is a 400.

NOT_UTF8 = '{"to": "+31612345678"}'.encode("utf-16")


@pytest.mark.parametrize(
    ("content_type", "body", "what"),
    [
        ("application/json", b'{"to": "+31612345678", "ringTimeout": NaN}', "NaN is not a JSON"),
        ("application/json", b'{"ringTimeout": Infinity}', "Infinity is not a JSON number"),
        ("application/json", b'{"ringTimeout": -Infinity}', "-Infinity is not a JSON number"),
        ("application/json", b'{"ringTimeout": 1e400}', "too large"),
        ("application/json", b'{"to": "+31612345678", "to": "+3161"}', 'key "to" appears twice'),
        ("application/json", b'{"x": {"a": 1, "a": 2}}', 'the key "a" appears twice'),
        ("application/json", NOT_UTF8, "not UTF-8"),
        ("application/json", b'\xef\xbb\xbf{"to": "+31612345678"}', "not valid JSON"),
        ("application/json", b"{not json", "not valid JSON"),
        ("application/json", b"", "not valid JSON"),
        ("application/json", b"[1, 2]", "an array"),
        ("application/json", b'"to"', "a string"),
        ("application/json", b"null", "null"),
        ("application/json", b"12", "a number"),
        (None, b'{"to": "+31612345678"}', "application/json"),
        ("text/plain", b'{"to": "+31612345678"}', "application/json"),
        ("multipart/form-data", b'{"to": "+31612345678"}', "application/json"),
        ("application/x-www-form-urlencoded", b'{"to": "+31612345678"}', "application/json"),
        ("application/jsonx", b'{"to": "+31612345678"}', "application/json"),
        ("application/json; charset=utf-16", b'{"to": "+31612345678"}', "UTF-8"),
        ("application/json; charset=latin-1", b'{"to": "+31612345678"}', "UTF-8"),
    ],
)
@pytest.mark.parametrize("operation", ["create", "hangup"])
def test_a_body_that_is_not_a_json_object_sent_as_json_is_400(
    fake: FakeBird,
    http: httpx.Client,
    operation: str,
    content_type: str | None,
    body: bytes,
    what: str,
) -> None:
    headers = {"Authorization": f"AccessKey {fake.access_key}"}
    if content_type is not None:
        headers["Content-Type"] = content_type

    response = post(http, paths(fake)[operation], body, headers)

    assert response.status_code == 400
    assert response.headers["Messagebird-Request-Id"] == fake.requests[-1].request_id
    assert response.json()["code"] == "BadRequest"
    assert what in response.json()["message"]
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
    assert post(http, paths(fake)["create"], {"to": TO}, headers).status_code == 202


# Authentication.


@pytest.mark.parametrize(
    ("authorization", "status"),
    [
        (None, 401),
        ("", 401),
        ("AccessKey", 401),
        ("AccessKey wrong-key", 401),
        ("Bearer {key}", 401),
        ("{key}", 401),
        ("AccessKey {key}x", 401),
        ("accesskey {key}", 202),  # the scheme is case-insensitive
    ],
)
def test_a_missing_or_wrong_access_key_is_401(
    fake: FakeBird, http: httpx.Client, authorization: str | None, status: int
) -> None:
    headers = {"Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization.format(key=fake.access_key)

    response = post(http, paths(fake)["create"], {"to": TO}, headers)

    assert response.status_code == status
    if status == 401:
        assert set(response.json()) == {"code", "message"}
        assert fake.access_key not in response.text
        assert fake.calls == {}


def test_authentication_comes_before_everything_else(fake: FakeBird, http: httpx.Client) -> None:
    assert post(http, "/no/such/path", b"not json", {}).status_code == 401


# Not found.


def test_unknown_workspace_channel_call_or_path_is_404(fake: FakeBird, http: httpx.Client) -> None:
    good = paths(fake)["create"]
    cases = {
        "workspace": good.replace(fake.workspace_id, str(uuid4())),
        "channel": good.replace(fake.channel_id, str(uuid4())),
        "flash call": good + f"/{uuid4()}",
        "path": f"/workspaces/{fake.workspace_id}/channels/{fake.channel_id}/calls",
        "not a uuid": good.replace(fake.workspace_id, "my-workspace"),
    }
    for what, path in cases.items():
        response = post(http, path, {"result": "verified", "to": TO}, json_headers(fake))
        assert response.status_code == 404, what
        assert response.json()["code"] == "NotFound"
        assert response.json()["message"].startswith("The requested resource does not exist")
    assert "workspace not found" in post(http, cases["workspace"], {}, json_headers(fake)).text
    assert "channel not found" in post(http, cases["channel"], {}, json_headers(fake)).text


@pytest.mark.parametrize(
    ("spelling", "status"),
    [
        ("urn:uuid:{id}", 404),
        ("{{{id}}}", 404),
        ("{hex}", 404),
        ("{id}-", 404),
        (" {id}", 404),
        ("{upper}", 202),  # ids in the path match in any case
    ],
    ids=["urn", "braces", "no dashes", "trailing dash", "leading space", "upper case"],
)
@pytest.mark.parametrize("which", ["workspace", "channel", "call"])
def test_only_canonical_uuids_address_a_workspace_channel_or_call(
    fake: FakeBird, http: httpx.Client, spelling: str, status: int, which: str
) -> None:
    call = create(fake, http, {"to": TO}).json()
    ids = {"workspace": fake.workspace_id, "channel": fake.channel_id, "call": call["id"]}
    given = UUID(ids[which])
    ids[which] = spelling.format(id=given, hex=given.hex, upper=str(given).upper())
    path = f"/workspaces/{ids['workspace']}/channels/{ids['channel']}/flashcalls/{ids['call']}"

    response = post(http, path, {"result": "verified"}, json_headers(fake))

    assert response.status_code == status
    assert ("result" in fake.calls[call["id"]]) == (status == 202)


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

    body = {"result": "wrong_cli", "receivedCli": "+3197010261111"}
    response = post(http, path, body, json_headers(fake))
    assert (response.status_code, response.json()) == (202, body)
    record = fake.calls[call["id"]]
    assert (record["result"], record["receivedCli"]) == ("wrong_cli", "+3197010261111")

    # A later report replaces the earlier one (end is retried, so it must be repeatable).
    response = post(http, path, {"result": "timeout"}, json_headers(fake))
    assert response.json() == {"result": "timeout"}
    record = fake.calls[call["id"]]
    assert record["result"] == "timeout"
    assert "receivedCli" not in record
    assert record["updatedAt"] >= record["createdAt"]


@pytest.mark.parametrize("received_cli", [None, OTHER])
def test_hangup_ends_the_most_recent_call_with_that_from_and_to(
    fake: FakeBird, http: httpx.Client, received_cli: str | None
) -> None:
    older = create(fake, http, {"to": TO, "from": OTHER}).json()
    other = create(fake, http, {"to": "+31600000000", "from": OTHER}).json()
    newer = create(fake, http, {"to": TO, "from": OTHER}).json()
    body = {"from": OTHER, "to": TO, "result": "canceled"}
    if received_cli:
        body["receivedCli"] = received_cli

    response = post(http, paths(fake)["hangup"], body, json_headers(fake))

    assert response.status_code == 202
    # The 202 bodies end by from/to may give: {result, receivedCli}, {from, to}, or all.
    reported = {key: body[key] for key in ("result", "receivedCli") if key in body}
    assert response.json() in (reported, {"from": OTHER, "to": TO}, body)
    calls = fake.calls
    assert calls[newer["id"]]["result"] == "canceled"
    assert calls[newer["id"]].get("receivedCli") == received_cli
    assert "result" not in calls[older["id"]]
    assert "result" not in calls[other["id"]]


def test_hangup_without_a_matching_call_is_404(fake: FakeBird, http: httpx.Client) -> None:
    create(fake, http, {"to": TO, "from": OTHER})
    body = {"from": OTHER, "to": "+31600000000", "result": "canceled"}
    response = post(http, paths(fake)["hangup"], body, json_headers(fake))
    assert response.status_code == 404
    assert response.json()["code"] == "NotFound"


def hangup_answers(fake: FakeBird, count: int) -> list[frozenset[str]]:
    """The keys of each answer to ``count`` hangups over HTTP; each call ends as asked."""
    shapes = []
    with fake.serve() as base_url, httpx.Client(base_url=base_url) as http:
        for _ in range(count):
            call = create(fake, http, {"to": TO}).json()
            body = {"from": call["from"], "to": TO, "result": "timeout"}
            shapes.append(
                frozenset(post(http, paths(fake)["hangup"], body, json_headers(fake)).json())
            )
            assert fake.calls[call["id"]]["result"] == "timeout"
    return shapes


@pytest.mark.parametrize(
    ("answer", "keys"),
    [("result", {"result"}), ("numbers", {"from", "to"}), ("full", {"from", "to", "result"})],
)
def test_hangup_answers_in_the_shape_asked_for(answer: str, keys: set[str]) -> None:
    assert hangup_answers(FakeBird(hangup_answer=answer), 1) == [keys]


def test_hangup_answers_each_published_shape_at_random() -> None:
    first = hangup_answers(FakeBird(seed=7), 30)
    assert set(first) == {
        frozenset({"result"}),
        frozenset({"from", "to"}),
        frozenset({"from", "to", "result"}),
    }
    assert first == hangup_answers(FakeBird(seed=7), 30)  # the same seed, the same picks


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
    assert [request.request_id for request in fake.requests] == ids
    assert [request.status for request in fake.requests] == statuses


def test_requests_record_method_path_headers_and_json_body(
    fake: FakeBird, http: httpx.Client
) -> None:
    create(fake, http, {"to": TO, "ringTimeout": 10})
    create(fake, http, b"{broken")
    first, second = fake.requests

    assert (first.method, first.path) == ("POST", paths(fake)["create"])
    assert first.headers["authorization"] == f"AccessKey {fake.access_key}"
    assert first.json == {"to": TO, "ringTimeout": 10}
    assert (second.json, second.body) == (None, b"{broken")


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


def test_fake_response_json_reads_the_body() -> None:
    assert FakeResponse(202, {}, b'{"a": 1}').json() == {"a": 1}


# The public API through fake.client() and fake.async_client().


def test_the_client_runs_a_whole_verification(fake: FakeBird) -> None:
    with fake.client() as flash_calls:
        call = flash_calls.create(TO)
        assert flash_calls.verify(call, received_cli=fake.handset_cli(call.id)).verified
        assert fake.calls[call.id]["result"] == "verified"

        other = flash_calls.create(TO, from_=OTHER, ring_timeout=20)
        assert (other.from_, other.ring_timeout) == (OTHER, 20)
        assert not flash_calls.verify(other, received_cli="+3197010260000").verified
        assert fake.calls[other.id]["receivedCli"] == "+3197010260000"

        ended = flash_calls.hangup(from_=OTHER, to=TO, result="timeout")
        assert ended.result in ("timeout", UNSET)  # whichever published shape Bird gave
        assert fake.calls[other.id]["result"] == "timeout"

        assert flash_calls.verify_code(call, fake.handset_cli(call.id)[-4:]).verified


@pytest.mark.anyio
async def test_the_async_client_runs_a_whole_verification(fake: FakeBird) -> None:
    async with fake.async_client() as flash_calls:
        call = await flash_calls.create(TO)
        outcome = await flash_calls.verify(call, received_cli=fake.handset_cli(call.id))
        ended = await flash_calls.hangup(from_=call.from_, to=TO, result="canceled")
    assert outcome.verified
    assert ended.result in ("canceled", UNSET)
    assert fake.calls[call.id]["result"] == "canceled"


def test_the_client_sees_bird_errors_with_code_and_request_id(fake: FakeBird, served: str) -> None:
    with fake.client(max_retries=0) as flash_calls, pytest.raises(NotFoundError) as not_found:
        flash_calls.end(uuid4(), result="verified")
    assert not_found.value.code == "NotFound"
    assert not_found.value.request_id == fake.requests[-1].request_id

    stranger = FlashCalls("not-the-key", fake.workspace_id, fake.channel_id, served)
    with stranger, pytest.raises(AuthenticationError) as refused:
        stranger.create(TO)
    assert refused.value.code == "Unauthorized"
    assert fake.calls == {}


# In process and served: one core, the same answers.


def answer_of(status: int, headers: Any, body: bytes) -> tuple[Any, ...]:
    """What must not differ between the two: ids and timestamps reduced to their types."""
    data = json.loads(body)
    for volatile in ("id", "createdAt", "updatedAt"):
        if isinstance(data, dict) and volatile in data:
            data[volatile] = type(data[volatile]).__name__
    headers = httpx.Headers(headers)
    return status, headers["Content-Type"], "Messagebird-Request-Id" in headers, data


def exchange_script(fake: FakeBird) -> list[tuple[str, str, Any, dict[str, str], int]]:
    p, key = paths(fake), json_headers(fake)
    braced_channel = p["create"].replace(fake.channel_id, "{" + fake.channel_id + "}")
    return [
        ("POST", p["create"], {"to": TO}, key, 202),
        ("POST", p["create"], {"to": TO, "from": OTHER, "ringTimeout": 9}, key, 202),
        ("POST", p["end"], {"result": "verified", "receivedCli": TO}, key, 202),
        ("POST", p["hangup"], {"from": OTHER, "to": TO, "result": "canceled"}, key, 202),
        ("POST", p["hangup"], {"from": "+31600000000", "to": TO, "result": "canceled"}, key, 404),
        ("POST", p["hangup"], {"from": "+1", "to": TO, "result": "canceled"}, key, 422),
        ("POST", p["create"], {"ringTimeout": 0, "x": 1}, key, 422),
        ("POST", p["end"], {"result": "nope"}, key, 422),
        ("POST", p["create"], b"[]", key, 400),
        ("POST", p["create"], {"to": TO}, {"Authorization": "AccessKey nope"}, 401),
        ("GET", p["create"], b"", key, 405),
        ("TRACE", p["create"], b"", key, 405),
        ("POST", p["end"].format(call_id=uuid4()), {"result": "verified"}, key, 404),
        ("POST", p["create"], {"to": TO}, {**key, "Content-Type": "text/plain"}, 400),
        ("POST", p["create"], b'{"to": "+31612345678", "ringTimeout": NaN}', key, 400),
        ("POST", p["create"], b'{"to": "+31612345678", "to": "+31612345679"}', key, 400),
        ("POST", braced_channel, b"{}", key, 404),
    ]


def twins() -> tuple[FakeBird, FakeBird]:
    """Two fakes with the same settings and seed: they answer alike."""
    settings: dict[str, Any] = {"workspace_id": uuid4(), "channel_id": uuid4(), "seed": 3}
    settings.update(access_key="same-key", caller_numbers=["+3197010260003"])
    return FakeBird(**settings), FakeBird(**settings)


def test_the_server_answers_exactly_what_the_core_answers() -> None:
    in_process, over_http = twins()
    answers: dict[str, list[tuple[Any, ...]]] = {"core": [], "http": []}
    with over_http.serve() as base_url, httpx.Client(base_url=base_url) as http:
        for where, fake in (("core", in_process), ("http", over_http)):
            last_id = str(uuid4())
            for method, path, body, headers, status in exchange_script(fake):
                path = path.replace("{call_id}", last_id)
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                if where == "core":
                    reply = fake.respond(method, path, headers, data)
                    raw = (reply.status, reply.headers, reply.body)
                else:
                    response = http.request(method, path, content=data, headers=headers)
                    raw = (response.status_code, response.headers, response.content)
                assert raw[0] == status, (where, method, path, body)
                if status == 202 and "id" in json.loads(raw[2]):
                    last_id = json.loads(raw[2])["id"]
                answers[where].append(answer_of(*raw))
    assert answers["core"] == answers["http"]


def test_the_client_in_process_and_over_http_gets_the_same_results() -> None:
    def story(flash_calls: FlashCalls, fake: FakeBird) -> list[Any]:
        call = flash_calls.create(TO)
        seen: list[Any] = [(call.from_, call.to, str(call.status), call.ring_timeout)]
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

    in_process, over_http = twins()
    with in_process.client() as flash_calls:
        expected = story(flash_calls, in_process)
    with over_http.serve() as base_url, client_over_http(over_http, base_url) as flash_calls:
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
    assert (response.status_code, response.headers["Retry-After"]) == (429, "7")
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


@pytest.mark.parametrize("where", ["in process", "over http"])
def test_a_dropped_connection_after_bird_received_the_request(fake: FakeBird, where: str) -> None:
    with fake.serve() as base_url:
        flash_calls = (
            fake.client(backoff=FAST)
            if where == "in process"
            else client_over_http(fake, base_url, backoff=FAST)
        )
        with flash_calls:
            fake.fail_next(drop_connection=True)
            with pytest.raises(APIConnectionError) as error:
                flash_calls.create(TO)
            # Bird created the call; the client did not ring the phone a second time.
            assert error.value.may_have_been_delivered
            (call_id,) = fake.calls
            assert len(fake.requests) == 1

            fake.fail_next(drop_connection=True)  # end is repeatable: it is retried
            assert str(flash_calls.end(call_id, result="verified").result) == "verified"
    assert [request.status for request in fake.requests] == [202, 202, 202]
    assert fake.calls[call_id]["result"] == "verified"


@pytest.mark.parametrize("where", ["in process", "over http"])
def test_a_delay_longer_than_the_timeout_times_out(fake: FakeBird, where: str) -> None:
    # Slower than the timeout by a wide margin, so that a busy machine cannot blur the two.
    fake.fail_next(delay=30.0)
    with fake.serve() as base_url:
        options: dict[str, Any] = {"timeout": 0.2, "max_retries": 0}
        flash_calls = (
            fake.client(**options)
            if where == "in process"
            else client_over_http(fake, base_url, **options)
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
        return [respond(fake, "create", {"to": TO}).status for _ in range(200)]

    first = statuses(seed=7)
    assert first == statuses(seed=7)
    assert first != statuses(seed=8)
    assert 30 <= first.count(503) <= 90
    assert set(first) == {202, 503}

    fake = FakeBird()
    fake.fail_randomly(rate=1.0, status=500)
    assert respond(fake, "create", {"to": TO}).status == 500
    fake.fail_randomly(rate=0)
    assert respond(fake, "create", {"to": TO}).status == 202


def test_clear_faults_forgets_queued_and_random_faults(fake: FakeBird) -> None:
    fake.fail_next(status=503, times=5)
    fake.fail_randomly(rate=1.0)
    fake.clear_faults()
    assert respond(fake, "create", {"to": TO}).status == 202


@pytest.mark.parametrize(
    ("method", "arguments", "message"),
    [
        ("fail_next", {}, "nothing to inject"),
        ("fail_next", {"status": 200}, "400 to 599"),
        ("fail_next", {"status": True}, "400 to 599"),
        ("fail_next", {"status": 503, "drop_connection": True}, "either"),
        ("fail_next", {"retry_after": 1, "delay": 1}, "retry_after"),
        ("fail_next", {"status": 503, "retry_after": -1}, "retry_after"),
        ("fail_next", {"delay": -1}, "delay"),
        ("fail_next", {"status": 503, "times": 0}, "times"),
        ("fail_randomly", {"rate": -0.1}, "rate"),
        ("fail_randomly", {"rate": 1.5}, "rate"),
    ],
)
def test_faults_that_make_no_sense_are_refused(
    fake: FakeBird, method: str, arguments: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        getattr(fake, method)(**arguments)


# Load.


@pytest.mark.parametrize("where", ["in process", "over http"])
def test_eight_threads(fake: FakeBird, where: str) -> None:
    threads_count, calls_per_thread = 8, 25
    errors: list[BaseException] = []
    start = threading.Barrier(threads_count)

    def work(make_client: Callable[[], FlashCalls]) -> None:
        try:
            with make_client() as flash_calls:
                start.wait()
                for _ in range(calls_per_thread):
                    call = flash_calls.create(TO)
                    flash_calls.verify(call, fake.handset_cli(call.id))
        except BaseException as error:
            errors.append(error)

    with fake.serve() as base_url:
        make_client = (
            fake.client if where == "in process" else lambda: client_over_http(fake, base_url)
        )
        threads = [threading.Thread(target=work, args=(make_client,)) for _ in range(threads_count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(WAIT)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    assert len(fake.calls) == threads_count * calls_per_thread
    assert all(call["result"] == "verified" for call in fake.calls.values())
    assert len(fake.requests) == 2 * threads_count * calls_per_thread
    assert len({request.request_id for request in fake.requests}) == len(fake.requests)


@pytest.mark.anyio
@pytest.mark.parametrize("where", ["in process", "over http"])
async def test_64_concurrent_async_requests_with_random_faults(fake: FakeBird, where: str) -> None:
    fake.fail_randomly(rate=0.1, status=503, seed=3)
    options: dict[str, Any] = {"backoff": FAST, "max_retries": 8}
    with fake.serve() as base_url:
        flash_calls = (
            fake.async_client(**options)
            if where == "in process"
            else AsyncFlashCalls(
                fake.access_key, fake.workspace_id, fake.channel_id, base_url, **options
            )
        )
        async with flash_calls:
            created = await asyncio.gather(*(flash_calls.create(TO) for _ in range(64)))
    ids = {str(call.id) for call in created}
    assert len(ids) == 64
    assert set(fake.calls) == ids
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
        deadline = time.monotonic() + WAIT
        while not fake.requests and time.monotonic() < deadline:
            time.sleep(0.01)  # polling the condition "the request arrived"
        assert fake.requests
    client.join(WAIT)
    assert not client.is_alive()
    assert time.monotonic() - started < 30  # well under the 60 s delay
    assert len(outcome) == 1  # the connection closed without an answer


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10", "example.com", "::"])
def test_serve_refuses_addresses_that_are_not_loopback(fake: FakeBird, host: str) -> None:
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
    chunks = iter([body[:5], body[5:]])
    response = http.post(paths(fake)["create"], content=chunks, headers=json_headers(fake))
    assert response.status_code == 202
    assert fake.requests[-1].json == {"to": TO}


def test_a_body_over_one_mebibyte_is_a_json_413_even_when_chunked(
    fake: FakeBird, http: httpx.Client
) -> None:
    chunks = iter([b"{" + b" " * 600_000, b" " * 600_000 + b"}"])
    response = http.post(paths(fake)["create"], content=chunks, headers=json_headers(fake))
    assert response.status_code == 413
    assert response.json()["code"] == "RequestEntityTooLarge"
    assert response.headers["Messagebird-Request-Id"]


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
    url = httpx.URL(served)
    with socket.create_connection((url.host, url.port or 80), timeout=WAIT) as connection:
        connection.sendall(request_head.format(path=paths(fake)["create"]).encode())
        received = b""  # up to the close the server announces
        while chunk := connection.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {n.strip().lower(): v.strip() for n, _, v in (h.partition(":") for h in header_lines)}

    assert int(status_line.split()[1]) == status
    assert headers["content-type"] == "application/json"
    assert headers["messagebird-request-id"]
    assert headers["connection"] == "close"
    error = json.loads(body)
    assert set(error) == {"code", "message"}
    assert what in error["message"]
    assert fake.requests == []  # answered by the server; FakeBird never saw a request


def test_a_client_that_resets_its_connection_is_one_log_line(
    fake: FakeBird, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bird_flashcalls.testing")
    with fake.serve() as base_url:
        url = httpx.URL(base_url)
        connection = socket.create_connection((url.host, url.port or 80), timeout=WAIT)
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
