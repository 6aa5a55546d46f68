"""The wrapper against Stoplight Prism serving the merged spec.

Prism validates every request against the spec (findings come back in the ``sl-violations``
response header) and answers with responses the spec describes: static ones by default, random
spec-valid ones with ``-d``. ``Prefer: code=...`` picks the status it answers with.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

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
    HangupResult,
    NotFoundError,
    UnprocessableEntityError,
    Verification,
)

from . import prism as prism_module
from .prism import PrismServer, running_prism
from .support import (
    CALL_ID,
    CALLED,
    CALLER,
    CHANNEL_ID,
    MERGED_SPEC,
    SPEC_OPERATIONS,
    WORKSPACE_ID,
    Exchange,
    async_client,
    flash_call_body,
    send,
)

# One worker starts this module's Prism servers (make test runs the suite on xdist).
pytestmark = pytest.mark.xdist_group("prism")

CREATE, END, HANGUP = "createChannelFlashCall", "endChannelFlashCall", "endChannelFlashCallFromTo"
RESULT_TYPES = {CREATE: FlashCall, END: FlashCallHangup, HANGUP: FlashCallHangupFromTo}
A_FLASH_CALL = FlashCall.from_dict(flash_call_body({"from": CALLER, "to": CALLED}))

# name -> (the operation the call sends, the call on a FlashCalls or an AsyncFlashCalls);
# verify* calls return a Verification.
SCENARIOS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "create": (CREATE, lambda c: c.create(CALLED)),
    "create-longest-ring": (CREATE, lambda c: c.create(CALLED, from_=CALLER, ring_timeout=120)),
    "create-shortest-ring": (CREATE, lambda c: c.create("+31 6 1234-5678", ring_timeout=3)),
    "create-from": (CREATE, lambda c: c.create(CALLED, from_="0031 20 123 4567")),
    **{
        f"end-{result}": (END, lambda c, result=result: c.end(CALL_ID, result=result))
        for result in HangupResult
    },
    "end-received-cli": (
        END,
        lambda c: c.end(UUID(CALL_ID), result="wrong_cli", received_cli="+31209999999"),
    ),
    "end-flash-call": (END, lambda c: c.end(A_FLASH_CALL, result="timeout")),
    **{
        f"hangup-{result}": (
            HANGUP,
            lambda c, result=result: c.hangup(from_=CALLER, to=CALLED, result=result),
        )
        for result in HangupResult
    },
    "hangup-received-cli": (
        HANGUP,
        lambda c: c.hangup(from_=CALLER, to=CALLED, result="verified", received_cli=CALLER),
    ),
    "verify-match": (END, lambda c: c.verify(A_FLASH_CALL, CALLER)),
    "verify-mismatch": (END, lambda c: c.verify(CALL_ID, "+31209999999", expected_cli=CALLER)),
    # Not a phone number: reported as wrong_cli without receivedCli.
    "verify-unreadable-cli": (
        END,
        lambda c: c.verify(CALL_ID, "private number", expected_cli=CALLER),
    ),
    "verify-code": (END, lambda c: c.verify_code(CALL_ID, "4567", expected_cli=CALLER)),
    "verify-code-wrong": (END, lambda c: c.verify_code(A_FLASH_CALL, "1111", digits=4)),
}
FORCED_ERRORS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    404: NotFoundError,
    422: UnprocessableEntityError,
}


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
    """Random spec-valid answers unless a request prefers ``dynamic=false``."""
    log = tmp_path_factory.mktemp("prism") / "prism.log"
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


# Every call the wrapper makes is one the spec allows, and every answer parses: the static one,
# and many random ones. The sync client sends the same requests (test_wrapper_coverage.py).


@pytest.mark.prism
@pytest.mark.anyio
@pytest.mark.parametrize(("mode", "calls_per_scenario"), [("static", 1), ("dynamic", 10)])
async def test_prism_accepts_each_call_and_every_answer_parses(
    prism: PrismServer, mode: str, calls_per_scenario: int
) -> None:
    limit = asyncio.Semaphore(16)

    async def run(scenario: str, client: AsyncFlashCalls) -> Any:
        operation_id, call = SCENARIOS[scenario]
        async with limit:
            result = await call(client)
        expected = Verification if scenario.startswith("verify") else RESULT_TYPES[operation_id]
        assert isinstance(result, expected), f"{scenario} returned {result!r}"
        return result

    prefer = {"Prefer": f"dynamic={str(mode == 'dynamic').lower()}"}
    async with async_client(prism.base_url, prefer) as (client, exchanges):
        results = await asyncio.gather(
            *(run(scenario, client) for scenario in SCENARIOS for _ in range(calls_per_scenario))
        )

    errors = [(e.path, e.body, e.error_violations()) for e in exchanges if e.error_violations()]
    assert not errors, f"Prism found errors: {errors[:5]} (log: {prism.log_path})"
    assert {exchange.status_code for exchange in exchanges} == {202}
    # Static answers all carry the example's id; random ones really vary.
    ids = {result.id for result in results if isinstance(result, FlashCall)}
    assert (len(ids) == 1) if mode == "static" else (len(ids) > 2 * calls_per_scenario)


# Error answers become the right exceptions, with Bird's fields


@pytest.mark.prism
@pytest.mark.parametrize("status", sorted(FORCED_ERRORS))
@pytest.mark.parametrize("scenario", ["create", "end-verified", "hangup-verified", "verify-code"])
def test_forced_error_status_raises_its_exception(
    prism: PrismServer, scenario: str, status: int
) -> None:
    _, call = SCENARIOS[scenario]
    error, exchanges = send(call, prism.base_url, {"Prefer": f"code={status}, dynamic=false"})
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


# Security: the overlay's apiKey scheme is one Prism checks (its 401 reaches the client above)


@pytest.mark.prism
def test_prism_refuses_a_request_without_authorization(prism: PrismServer) -> None:
    path = SPEC_OPERATIONS[CREATE].path.format(workspaceId=WORKSPACE_ID, channelId=CHANNEL_ID)
    static = {"Prefer": "dynamic=false"}
    with httpx.Client(base_url=prism.base_url, headers=static, timeout=30) as http:
        refused = http.post(path, json={"to": CALLED})
        accepted = http.post(path, json={"to": CALLED}, headers={"Authorization": "AccessKey k"})
    assert refused.status_code == 401, refused.text
    # The overlay documents Bird's 401: a RequestError body.
    assert set(refused.json()) == {"code", "message"}
    assert accepted.status_code == 202, accepted.text
    assert "sl-violations" not in accepted.headers, accepted.headers["sl-violations"]


# Random error answers: their details reach the exception


@pytest.mark.prism
@pytest.mark.anyio
async def test_dynamic_422_details_reach_the_exception(prism: PrismServer) -> None:
    async with async_client(prism.base_url, {"Prefer": "code=422"}) as (client, exchanges):
        errors = []
        for _ in range(30):
            with pytest.raises(UnprocessableEntityError) as raised:
                await client.end(CALL_ID, result="verified")
            errors.append(raised.value)
    for error, exchange in zip(errors, exchanges, strict=True):
        body = exchange.response_json()
        assert error.code == body["code"]
        assert body["message"] in error.message
        assert error.details == body.get("details", {})
