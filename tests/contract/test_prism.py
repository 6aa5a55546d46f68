"""The wrapper against Stoplight Prism serving the merged spec, and against Bird's published fragments.

Prism validates every request against the spec (findings come back in the ``sl-violations``
response header) and answers with responses the spec describes: static ones by default, random
spec-valid ones with ``-d``. ``Prefer: code=...`` picks the status it answers with.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import attrs
import httpx
import pytest
from bird_flashcalls import (
    APIStatusError,
    AsyncFlashCalls,
    AuthenticationError,
    BadRequestError,
    FlashCall,
    FlashCallHangup,
    FlashCallHangupFromTo,
    FlashCalls,
    HangupResult,
    NotFoundError,
    UnprocessableEntityError,
    Verification,
)
from jsonschema import Draft4Validator
from referencing import Registry
from referencing.jsonschema import DRAFT4

from . import prism as prism_module
from .prism import PrismServer, running_prism
from .support import (
    ACCESS_KEY,
    CALL_ID,
    CALLED,
    CALLER,
    CHANNEL_ID,
    FRAGMENTS,
    MERGED_SPEC,
    SPEC_OPERATIONS,
    WORKSPACE_ID,
    Exchange,
    async_client,
    flash_call_body,
    load_json,
    send,
    spec_operations,
    sync_client,
)

# One worker starts this module's Prism servers (make test runs the suite on xdist).
pytestmark = pytest.mark.xdist_group("prism")

CREATE, END, HANGUP = "createChannelFlashCall", "endChannelFlashCall", "endChannelFlashCallFromTo"
A_FLASH_CALL = FlashCall.from_dict(flash_call_body({"from": CALLER, "to": CALLED}))
DYNAMIC_CALLS_PER_OPERATION = 200


@attrs.frozen
class Scenario:
    name: str
    operation_id: str  # the operation the call sends
    call: Callable[[Any], Any]  # client -> result (FlashCalls) or coroutine (AsyncFlashCalls)
    result_type: type


def _end(result: HangupResult) -> Scenario:
    return Scenario(f"end-{result}", END, lambda c: c.end(CALL_ID, result=result), FlashCallHangup)


def _hangup(result: HangupResult) -> Scenario:
    def call(c: Any) -> Any:
        return c.hangup(from_=CALLER, to=CALLED, result=result)

    return Scenario(f"hangup-{result}", HANGUP, call, FlashCallHangupFromTo)


SCENARIOS = [
    Scenario("create", CREATE, lambda c: c.create(CALLED), FlashCall),
    Scenario(
        "create-from-longest-ring",
        CREATE,
        lambda c: c.create(CALLED, from_=CALLER, ring_timeout=120),
        FlashCall,
    ),
    Scenario(
        "create-shortest-ring",
        CREATE,
        lambda c: c.create("+31 6 1234-5678", ring_timeout=3),
        FlashCall,
    ),
    Scenario(
        "create-from", CREATE, lambda c: c.create(CALLED, from_="0031 20 123 4567"), FlashCall
    ),
    *(_end(result) for result in HangupResult),
    Scenario(
        "end-received-cli",
        END,
        lambda c: c.end(UUID(CALL_ID), result="wrong_cli", received_cli="+31209999999"),
        FlashCallHangup,
    ),
    Scenario(
        "end-flash-call", END, lambda c: c.end(A_FLASH_CALL, result="timeout"), FlashCallHangup
    ),
    *(_hangup(result) for result in HangupResult),
    Scenario(
        "hangup-received-cli",
        HANGUP,
        lambda c: c.hangup(from_=CALLER, to=CALLED, result="verified", received_cli=CALLER),
        FlashCallHangupFromTo,
    ),
    Scenario("verify-match", END, lambda c: c.verify(A_FLASH_CALL, CALLER), Verification),
    Scenario(
        "verify-mismatch",
        END,
        lambda c: c.verify(CALL_ID, "+31209999999", expected_cli=CALLER),
        Verification,
    ),
    # Not a phone number: reported as wrong_cli without receivedCli.
    Scenario(
        "verify-unreadable-cli",
        END,
        lambda c: c.verify(CALL_ID, "private number", expected_cli=CALLER),
        Verification,
    ),
    Scenario(
        "verify-code",
        END,
        lambda c: c.verify_code(CALL_ID, "4567", expected_cli=CALLER),
        Verification,
    ),
    Scenario(
        "verify-code-wrong",
        END,
        lambda c: c.verify_code(A_FLASH_CALL, "1111", digits=4),
        Verification,
    ),
]
ERROR_SCENARIOS = [
    s for s in SCENARIOS if s.name in ("create", "end-verified", "hangup-verified", "verify-code")
]
FORCED_ERRORS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    404: NotFoundError,
    422: UnprocessableEntityError,
}
KINDS = pytest.mark.parametrize("kind", ["sync", "async"])


def by_name(scenarios: list[Scenario]) -> Any:
    return pytest.mark.parametrize("scenario", scenarios, ids=[s.name for s in scenarios])


def only_exchange(exchanges: list[Exchange], prism: PrismServer) -> Exchange:
    assert len(exchanges) == 1, f"expected one request, sent {len(exchanges)}"
    exchange = exchanges[0]
    errors = exchange.error_violations()
    assert not errors, (
        f"Prism found errors in {exchange.method} {exchange.path} {json.dumps(exchange.body)}: "
        f"{json.dumps(errors)} (Prism's log: {prism.log_path})"
    )
    return exchange


@pytest.fixture(scope="module")
def prism(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrismServer]:
    log = tmp_path_factory.mktemp("prism") / "prism-static.log"
    with running_prism(MERGED_SPEC, [], log) as server:
        yield server


@pytest.fixture(scope="module")
def dynamic_prism(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrismServer]:
    log = tmp_path_factory.mktemp("prism") / "prism-dynamic.log"
    # warn: Prism logs every request and response at info, which slows a few hundred calls.
    with running_prism(MERGED_SPEC, ["--dynamic", "--verboseLevel", "warn"], log) as server:
        yield server


# The servers themselves


def test_missing_prism_skips_with_install_hint_and_fails_under_ci(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(prism_module, "PRISM_BIN", tmp_path / "prism")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"make install"):
        prism_module.prism_or_skip()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"CI=true"):
        prism_module.prism_or_skip()


@pytest.mark.prism
def test_prism_is_stopped_even_when_the_block_fails(tmp_path: Path) -> None:
    with (
        pytest.raises(RuntimeError, match="boom"),
        running_prism(MERGED_SPEC, [], tmp_path / "prism.log") as server,
    ):
        process, base_url = server.process, server.base_url
        assert httpx.get(base_url, timeout=30).status_code == 404  # no such path: but it answers
        raise RuntimeError("boom")
    assert process.poll() is not None, "Prism still runs"
    with pytest.raises(ProcessLookupError):
        os.killpg(process.pid, 0)  # nothing left in its process group either
    with pytest.raises(httpx.ConnectError):
        httpx.get(base_url, timeout=30)


# Every call the wrapper makes is one the spec allows, and its answer parses


@pytest.mark.prism
@KINDS
@by_name(SCENARIOS)
def test_prism_accepts_each_call_and_its_answer_parses(
    prism: PrismServer, scenario: Scenario, kind: str
) -> None:
    result, exchanges = send(kind, scenario.call, prism.base_url)
    exchange = only_exchange(exchanges, prism)  # Prism's findings say why, if it refused
    operation = SPEC_OPERATIONS[scenario.operation_id]
    assert operation.matches(exchange.method, exchange.path), (
        f"{scenario.name} sent {exchange.method} {exchange.path}, not {scenario.operation_id}"
    )
    assert exchange.status_code == 202, exchange.response_body
    assert isinstance(result, scenario.result_type), f"{scenario.name} returned {result!r}"


def test_verify_reports_what_it_decided() -> None:
    # The scenarios above only check types; the reported result must match the decision.
    with sync_client() as (client, transport):
        matched = client.verify(A_FLASH_CALL, CALLER)
        mismatched = client.verify_code(A_FLASH_CALL, "1111", digits=4)
    assert (matched.verified, matched.result) == (True, HangupResult.VERIFIED)
    assert (mismatched.verified, mismatched.result) == (False, HangupResult.WRONG_CLI)
    assert [e.body["result"] for e in transport.exchanges] == ["verified", "wrong_cli"]


# Error answers become the right exceptions, with Bird's fields


@pytest.mark.prism
@KINDS
@pytest.mark.parametrize("status", sorted(FORCED_ERRORS))
@by_name(ERROR_SCENARIOS)
def test_forced_error_status_raises_its_exception(
    prism: PrismServer, scenario: Scenario, status: int, kind: str
) -> None:
    error, exchanges = send(kind, scenario.call, prism.base_url, {"Prefer": f"code={status}"})
    exchange = only_exchange(exchanges, prism)
    assert exchange.status_code == status, "Prism did not answer with the status asked for"
    assert type(error) is FORCED_ERRORS[status]
    assert error.status_code == status
    body = exchange.response_json()
    assert error.code == body["code"]
    assert body["message"] in error.message
    if status == 422:
        assert body["details"], "Prism's 422 should carry details for this test to mean anything"
    assert error.details == body.get("details", {})


# Security: the overlay's apiKey scheme is one Prism checks


@pytest.mark.prism
def test_prism_refuses_a_request_without_authorization(prism: PrismServer) -> None:
    path = SPEC_OPERATIONS[CREATE].path.format(workspaceId=WORKSPACE_ID, channelId=CHANNEL_ID)
    with httpx.Client(base_url=prism.base_url, timeout=30) as http:
        refused = http.post(path, json={"to": CALLED})
        accepted = http.post(path, json={"to": CALLED}, headers={"Authorization": "AccessKey k"})
    assert refused.status_code == 401, refused.text
    # The overlay documents Bird's 401: a RequestError body.
    assert set(refused.json()) == {"code", "message"}
    assert accepted.status_code == 202, accepted.text
    assert "sl-violations" not in accepted.headers, accepted.headers["sl-violations"]

    def drop_authorization(request: httpx.Request) -> None:
        del request.headers["Authorization"]

    with (
        httpx.Client(event_hooks={"request": [drop_authorization]}) as http,
        FlashCalls(
            ACCESS_KEY, WORKSPACE_ID, CHANNEL_ID, prism.base_url, http_client=http
        ) as client,
        pytest.raises(AuthenticationError) as raised,
    ):
        client.create(CALLED)
    assert raised.value.status_code == 401
    assert "access key" in str(raised.value)


# Dynamic answers: many random spec-valid responses, every one parses


def _dynamic_calls(client: AsyncFlashCalls, index: int) -> list[tuple[str, Any, type]]:
    result = list(HangupResult)[index % len(HangupResult)]
    received_cli = CALLER if index % 2 else None
    create = (
        client.create(CALLED, from_=CALLER, ring_timeout=3 + index % 118)
        if index % 2
        else client.create(CALLED)
    )
    return [
        (CREATE, create, FlashCall),
        (END, client.end(CALL_ID, result=result, received_cli=received_cli), FlashCallHangup),
        (HANGUP, client.hangup(from_=CALLER, to=CALLED, result=result), FlashCallHangupFromTo),
    ]


@pytest.mark.prism
@pytest.mark.anyio
async def test_every_dynamic_prism_answer_parses(dynamic_prism: PrismServer) -> None:
    limit = asyncio.Semaphore(16)
    parsed: Counter[str] = Counter()
    created: list[FlashCall] = []

    async def run(operation_id: str, call: Any, result_type: type) -> None:
        async with limit:
            result = await call
        assert isinstance(result, result_type), f"{operation_id} returned {type(result).__name__}"
        parsed[operation_id] += 1
        if isinstance(result, FlashCall):
            created.append(result)

    async with async_client(dynamic_prism.base_url, max_retries=0) as (client, transport):
        calls = [
            c for index in range(DYNAMIC_CALLS_PER_OPERATION) for c in _dynamic_calls(client, index)
        ]
        await asyncio.gather(*(run(*call) for call in calls))

    assert parsed == dict.fromkeys((CREATE, END, HANGUP), DYNAMIC_CALLS_PER_OPERATION)
    errors = [(e.path, e.error_violations()) for e in transport.exchanges if e.error_violations()]
    assert not errors, f"Prism found errors: {errors[:5]} (log: {dynamic_prism.log_path})"
    # Static answers would all carry the same id: make sure these really were generated.
    assert len({call.id for call in created}) > DYNAMIC_CALLS_PER_OPERATION // 2


@pytest.mark.prism
@pytest.mark.anyio
async def test_dynamic_422_details_reach_the_exception(dynamic_prism: PrismServer) -> None:
    prefer = {"Prefer": "code=422"}
    async with async_client(dynamic_prism.base_url, prefer, max_retries=0) as (client, transport):
        errors = []
        for _ in range(30):
            with pytest.raises(UnprocessableEntityError) as raised:
                await client.end(CALL_ID, result="verified")
            errors.append(raised.value)
    for error, exchange in zip(errors, transport.exchanges, strict=True):
        body = exchange.response_json()
        assert error.code == body["code"]
        assert body["message"] in error.message
        assert error.details == body.get("details", {})


# Requests also fit what Bird publishes (openapi/fragments/), not only our corrected spec


def _fragment_validators() -> dict[str, Draft4Validator]:
    validators = {}
    for path in sorted(FRAGMENTS.glob("*.json")):
        fragment = load_json(path)
        uri = f"urn:bird-fragment:{path.name}"
        registry = Registry().with_resource(uri, DRAFT4.create_resource(fragment))
        for operation_id, operation in spec_operations(fragment).items():
            assert operation_id not in validators, f"{operation_id} is in two fragments"
            escaped_path = operation.path.replace("~", "~0").replace("/", "~1")
            pointer = (
                f"/paths/{escaped_path}/{operation.method.lower()}"
                "/requestBody/content/application~1json/schema"
            )
            validators[operation_id] = Draft4Validator(
                {"$ref": f"{uri}#{pointer}"},
                registry=registry,
                format_checker=Draft4Validator.FORMAT_CHECKER,
            )
    return validators


FRAGMENT_VALIDATORS = _fragment_validators()


def test_every_spec_operation_has_a_published_fragment() -> None:
    assert sorted(FRAGMENT_VALIDATORS) == sorted(SPEC_OPERATIONS)


@by_name(SCENARIOS)
def test_request_body_fits_bird_published_fragment(scenario: Scenario) -> None:
    _, (exchange,) = send("sync", scenario.call)
    problems = [
        e.message for e in FRAGMENT_VALIDATORS[scenario.operation_id].iter_errors(exchange.body)
    ]
    assert not problems, (
        f"{scenario.name} sends {json.dumps(exchange.body)}, which Bird's published "
        f"{scenario.operation_id} refuses: {problems}"
    )


@pytest.mark.parametrize(
    ("operation_id", "body"),
    [
        (CREATE, {"to": CALLED, "callerId": CALLER}),
        (CREATE, {"to": CALLED, "ringTimeout": 121}),
        (CREATE, {"from": CALLER}),
        (END, {"result": "verified", "reason": "ok"}),
        (END, {"result": "maybe"}),
        (HANGUP, {"from": CALLER, "result": "verified"}),
    ],
)
def test_fragment_schemas_refuse_what_bird_refuses(operation_id: str, body: Any) -> None:
    # The check above is only worth something if the $refs inside the fragments resolve.
    assert not FRAGMENT_VALIDATORS[operation_id].is_valid(body)
