"""FakeBird's core (``FakeBird.respond``): its answer to each operation and each bad request."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
from bird_flashcalls.testing import CALLER_NUMBERS, FakeBird, caller_pool

from .support import OTHER, TO, json_headers, paths, respond

# Create.


def test_create_answers_202_with_the_call_bird_picks_the_caller_number(fake: FakeBird) -> None:
    reply = respond(fake, "create", {"to": TO})

    assert reply.status == 202
    call = reply.json()
    stamps = ("createdAt", "updatedAt")
    assert set(call) == {"id", "channelId", "from", "to", "status", "ringTimeout", *stamps}
    assert UUID(call["id"]).version == 4
    assert call["channelId"] == fake.channel_id
    assert call["from"] in fake.caller_numbers
    assert (call["to"], call["status"], call["ringTimeout"]) == (TO, "accepted", 30)
    assert all(datetime.fromisoformat(call[stamp]).tzinfo is not None for stamp in stamps)
    assert fake.calls[call["id"]] == {**call, "reports": []}
    assert fake.handset_cli(call["id"]) == call["from"]


@pytest.mark.parametrize("ring_timeout", [3, 45, 120, 40.0])
def test_create_keeps_an_explicit_from_and_ring_timeout(
    fake: FakeBird, ring_timeout: float
) -> None:
    # 40.0: an integral float is an integer, as in JSON Schema.
    reply = respond(fake, "create", {"to": TO, "from": OTHER, "ringTimeout": ring_timeout})
    assert reply.status == 202
    assert (reply.json()["from"], reply.json()["ringTimeout"]) == (OTHER, ring_timeout)


def test_caller_numbers_can_be_chosen_and_are_all_used() -> None:
    fake = FakeBird(caller_numbers=CALLER_NUMBERS[:2])
    picked = {respond(fake, "create", {"to": TO}).json()["from"] for _ in range(40)}
    assert picked == set(CALLER_NUMBERS[:2])
    fake.set_caller_numbers([OTHER])
    assert respond(fake, "create", {"to": TO}).json()["from"] == OTHER


@pytest.mark.parametrize(("settings", "size"), [({}, 1000), ({"caller_pool_size": 10_000}, 10_000)])
def test_the_default_pool_has_distinct_codes_and_follows_the_seed(
    settings: dict[str, Any], size: int
) -> None:
    pool = FakeBird(seed=3, **settings).caller_numbers
    assert len({number[-4:] for number in pool}) == len(pool) == size
    assert all(number.startswith("+31970") and len(number) == 14 for number in pool)
    assert pool == FakeBird(seed=3, **settings).caller_numbers == caller_pool(size, 3)
    assert pool != FakeBird(seed=4, **settings).caller_numbers
    assert FakeBird().caller_numbers != FakeBird().caller_numbers


def test_ids_and_key_can_be_given_or_are_random() -> None:
    workspace, channel = uuid4(), uuid4()
    fake = FakeBird(workspace_id=workspace, channel_id=str(channel), access_key="k3y")
    given = (fake.workspace_id, fake.channel_id, fake.access_key)
    assert given == (str(workspace), str(channel), "k3y")
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
        ({"caller_pool_size": 0}, "caller_pool_size must be a whole number from 1 to 10000"),
        ({"caller_pool_size": 10_001}, "caller_pool_size"),
        ({"caller_numbers": [OTHER], "caller_pool_size": 5}, "not both"),
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
        ("create", {"to": TO, "ringTimeout": None}, {"ringTimeout"}, "must be an integer"),
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
    fake: FakeBird, operation: str, body: dict[str, Any], fields: set[str], problem: str
) -> None:
    call = respond(fake, "create", {"to": TO}).json()

    reply = respond(fake, operation, body, call["id"])

    assert reply.status == 422
    error = reply.json()
    assert (error["code"], bool(error["message"])) == ("InvalidPayload", True)
    assert set(error["details"]) == fields
    assert all(any(problem in text for text in error["details"][f]) for f in fields)
    assert list(fake.calls) == [call["id"]]
    assert "result" not in fake.calls[call["id"]]


# What is not a JSON object, sent as JSON, is a 400 (read the same way for every operation).

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
def test_a_body_that_is_not_a_json_object_sent_as_json_is_400(
    fake: FakeBird, content_type: str | None, body: bytes, what: str
) -> None:
    headers = {"Authorization": f"AccessKey {fake.access_key}"}
    if content_type is not None:
        headers["Content-Type"] = content_type

    reply = respond(fake, "create", body, headers=headers)

    assert reply.status == 400
    assert reply.headers["Messagebird-Request-Id"] == fake.requests[-1].request_id
    assert reply.json()["code"] == "BadRequest"
    assert what in reply.json()["message"]
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
def test_json_media_type_is_matched_as_http_says(fake: FakeBird, content_type: str) -> None:
    headers = {**json_headers(fake), "Content-Type": content_type}
    assert respond(fake, "create", {"to": TO}, headers=headers).status == 202


# Authentication, then the address.


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
    fake: FakeBird, authorization: str | None, status: int
) -> None:
    headers = {"Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization.format(key=fake.access_key)

    reply = respond(fake, "create", {"to": TO}, headers=headers)

    assert reply.status == status
    if status == 401:
        assert set(reply.json()) == {"code", "message"}
        assert fake.access_key.encode() not in reply.body
        assert fake.calls == {}


def test_authentication_comes_before_everything_else(fake: FakeBird) -> None:
    assert fake.respond("POST", "/no/such/path", {}, b"not json").status == 401


@pytest.mark.parametrize(
    ("spelling", "status"),
    [
        ("{other}", 404),
        ("urn:uuid:{id}", 404),
        ("{{{id}}}", 404),
        ("{hex}", 404),
        ("{id}-", 404),
        (" {id}", 404),
        ("{upper}", 202),  # ids in the path match in any case
    ],
    ids=["unknown", "urn", "braces", "no dashes", "trailing dash", "leading space", "upper case"],
)
@pytest.mark.parametrize("which", ["workspace", "channel", "flash call"])
def test_only_a_known_id_in_canonical_form_addresses_a_workspace_channel_or_call(
    fake: FakeBird, spelling: str, status: int, which: str
) -> None:
    call = respond(fake, "create", {"to": TO}).json()
    ids = {"workspace": fake.workspace_id, "channel": fake.channel_id, "flash call": call["id"]}
    given = UUID(ids[which])
    ids[which] = spelling.format(id=given, hex=given.hex, upper=str(given).upper(), other=uuid4())
    path = f"/workspaces/{ids['workspace']}/channels/{ids['channel']}/flashcalls/"

    body = b'{"result": "verified"}'
    reply = fake.respond("POST", path + ids["flash call"], json_headers(fake), body)

    assert reply.status == status
    assert ("result" in fake.calls[call["id"]]) == (status == 202)
    if status == 404:
        assert reply.json() == {
            "code": "NotFound",
            "message": f"The requested resource does not exist: {which} not found",
        }


def test_an_unknown_path_is_404(fake: FakeBird) -> None:
    path = paths(fake)["create"].replace("/flashcalls", "/calls")
    reply = fake.respond("POST", path, json_headers(fake), b'{"to": "+31612345678"}')
    assert (reply.status, reply.json()["code"]) == (404, "NotFound")
    assert reply.json()["message"].endswith("path not found")


# End by id and by from/to.


def test_end_records_the_result_and_answers_the_hangup_body(fake: FakeBird) -> None:
    call = respond(fake, "create", {"to": TO}).json()

    body = {"result": "wrong_cli", "receivedCli": "+3197010261111"}
    reply = respond(fake, "end", body, call["id"])
    assert (reply.status, reply.json()) == (202, body)
    record = fake.calls[call["id"]]
    assert (record["result"], record["receivedCli"]) == ("wrong_cli", "+3197010261111")

    # A later report is answered as the first was and kept; the first result stays the call's.
    assert respond(fake, "end", {"result": "timeout"}, call["id"]).json() == {"result": "timeout"}
    hangup = {"from": call["from"], "to": TO, "result": "canceled"}
    assert respond(fake, "hangup", hangup).status == 202
    record = fake.calls[call["id"]]
    assert (record["result"], record["receivedCli"]) == ("wrong_cli", "+3197010261111")
    reports = [{k: v for k, v in report.items() if k != "at"} for report in record["reports"]]
    assert reports == [body, {"result": "timeout"}, {"result": "canceled"}]
    stamps = [report["at"] for report in record["reports"]]
    assert record["createdAt"] <= stamps[0] <= stamps[1] <= stamps[2] == record["updatedAt"]


@pytest.mark.parametrize("received_cli", [None, OTHER])
def test_hangup_ends_the_most_recent_call_with_that_from_and_to(
    fake: FakeBird, received_cli: str | None
) -> None:
    older = respond(fake, "create", {"to": TO, "from": OTHER}).json()
    other = respond(fake, "create", {"to": "+31600000000", "from": OTHER}).json()
    newer = respond(fake, "create", {"to": TO, "from": OTHER}).json()
    body = {"from": OTHER, "to": TO, "result": "canceled"}
    if received_cli:
        body["receivedCli"] = received_cli

    reply = respond(fake, "hangup", body)

    assert reply.status == 202
    # The 202 bodies end by from/to may give: {result, receivedCli}, {from, to}, or all.
    reported = {key: body[key] for key in ("result", "receivedCli") if key in body}
    assert reply.json() in (reported, {"from": OTHER, "to": TO}, body)
    calls = fake.calls
    assert calls[newer["id"]]["result"] == "canceled"
    assert calls[newer["id"]].get("receivedCli") == received_cli
    assert "result" not in calls[older["id"]]
    assert "result" not in calls[other["id"]]


def hangup_answers(fake: FakeBird) -> list[frozenset[str]]:
    """The keys of each answer to 30 hangups; each call ends as asked."""
    shapes = []
    for _ in range(30):
        call = respond(fake, "create", {"to": TO}).json()
        body = {"from": call["from"], "to": TO, "result": "timeout"}
        shapes.append(frozenset(respond(fake, "hangup", body).json()))
        assert fake.calls[call["id"]]["result"] == "timeout"
    return shapes


def test_hangup_answers_each_published_shape_at_random() -> None:
    # Each shape asked for by name: tests/cli/test_cli.py's hangup test, answer by answer.
    first = hangup_answers(FakeBird(seed=7))
    assert set(first) == {
        frozenset({"result"}),
        frozenset({"from", "to"}),
        frozenset({"from", "to", "result"}),
    }
    assert first == hangup_answers(FakeBird(seed=7))  # the same seed, the same picks


# Request ids and the record of requests and calls.


def test_every_answer_carries_a_distinct_request_id_that_the_record_keeps(fake: FakeBird) -> None:
    fake.fail_next(status=503)
    replies = [
        respond(fake, "create", {"to": TO}),  # injected 503
        respond(fake, "create", {"to": TO}),  # 202
        respond(fake, "create", {}),  # 422
        respond(fake, "create", b"x"),  # 400
        respond(fake, "create", {"to": TO}, headers={}),  # 401
        respond(fake, "end", {}, uuid4()),  # 404
        fake.respond("GET", paths(fake)["create"], json_headers(fake), b""),  # 405
    ]
    statuses = [reply.status for reply in replies]
    assert statuses == [503, 202, 422, 400, 401, 404, 405]
    assert "GET" in replies[-1].json()["message"]
    ids = [reply.headers["Messagebird-Request-Id"] for reply in replies]
    assert len(set(ids)) == len(ids)
    assert [request.request_id for request in fake.requests] == ids
    assert [request.status for request in fake.requests] == statuses


def test_requests_record_method_path_headers_and_json_body(fake: FakeBird) -> None:
    respond(fake, "create", {"to": TO, "ringTimeout": 10})
    respond(fake, "create", b"{broken")
    first, second = fake.requests

    assert (first.method, first.path) == ("POST", paths(fake)["create"])
    assert first.headers["authorization"] == f"AccessKey {fake.access_key}"
    assert first.json == {"to": TO, "ringTimeout": 10}
    assert (second.json, second.body) == (None, b"{broken")


def test_calls_is_a_snapshot_keyed_by_id_string_or_uuid(fake: FakeBird) -> None:
    call_id = UUID(respond(fake, "create", {"to": TO}).json()["id"])
    snapshot = fake.calls
    snapshot[call_id]["result"] = "tampered"

    assert call_id in snapshot
    assert str(call_id) in snapshot
    assert str(call_id).upper() in snapshot
    assert 42 not in snapshot
    assert list(snapshot) == [str(call_id)]
    assert "result" not in fake.calls[call_id]
    with pytest.raises(KeyError, match="no flash call"):
        fake.handset_cli(uuid4())
