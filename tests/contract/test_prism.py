"""The wrapper against Stoplight Prism serving the merged spec and each of Bird's fragments: Prism
checks each request (header ``sl-violations``) and answers as the spec says, statically or at
random (``Prefer: dynamic=...``), with the status ``Prefer: code=...`` asks for."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterator
from contextlib import AsyncExitStack, ExitStack
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from bird_flashcalls import (
    APIStatusError,
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
    FRAGMENTS,
    MERGED_SPEC,
    SPEC_OPERATIONS,
    async_client,
    flash_call_body,
    send,
    sent_json,
    violations,
)

# One worker starts this module's Prism servers (make test runs the suite on xdist).
pytestmark = pytest.mark.xdist_group("prism")

CREATE, END, HANGUP = "createChannelFlashCall", "endChannelFlashCall", "endChannelFlashCallFromTo"
RESULT_TYPES = {CREATE: FlashCall, END: FlashCallHangup, HANGUP: FlashCallHangupFromTo}
FRAGMENT_OF = {
    CREATE: "create-flash-call.json",
    END: "end-flash-call.json",
    HANGUP: "end-flash-call-from-to.json",
}
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
    # Not a phone number: reported as wrong_cli without receivedCli.
    "verify-unreadable": (END, lambda c: c.verify(CALL_ID, "private number", expected_cli=CALLER)),
    "verify-code": (END, lambda c: c.verify_code(CALL_ID, "4567", expected_cli=CALLER)),
}
FORCED_ERRORS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    404: NotFoundError,
    422: UnprocessableEntityError,
}
# Random answers per scenario: at least 100 for each operation of each fragment.
DYNAMIC_CALLS = 25


@pytest.fixture(scope="module")
def prisms(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, PrismServer]]:
    """Prism on the merged spec ("spec") and on each fragment (by its file name)."""
    logs = tmp_path_factory.mktemp("prism")
    specs = {"spec": MERGED_SPEC, **{name: FRAGMENTS / name for name in FRAGMENT_OF.values()}}
    # warn: Prism logs every request and response at info, which slows a few hundred calls.
    arguments = ["--dynamic", "--verboseLevel", "warn"]
    with ExitStack() as stack:
        yield {
            name: stack.enter_context(running_prism(spec, arguments, logs / f"{name}.log"))
            for name, spec in specs.items()
        }


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


# Every call the wrapper makes is one the spec and Bird's fragment allow, and every answer parses:
# the static one, and many random ones.


@pytest.mark.prism
@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["static", "dynamic"])
@pytest.mark.parametrize("served", ["spec", "fragments"])
async def test_prism_accepts_each_call_and_every_answer_parses(
    prisms: dict[str, PrismServer], served: str, mode: str
) -> None:
    prefer = {"Prefer": f"dynamic={str(mode == 'dynamic').lower()}"}
    limit = asyncio.Semaphore(16)
    async with AsyncExitStack() as stack:
        clients = {
            operation_id: await stack.enter_async_context(
                async_client(prisms["spec" if served == "spec" else fragment].base_url, prefer)
            )
            for operation_id, fragment in FRAGMENT_OF.items()
        }

        async def run(scenario: str) -> None:
            operation_id, call = SCENARIOS[scenario]
            async with limit:
                result = await call(clients[operation_id][0])
            expected = Verification if scenario.startswith("verify") else RESULT_TYPES[operation_id]
            assert isinstance(result, expected), f"{scenario} returned {result!r}"

        calls = DYNAMIC_CALLS if mode == "dynamic" else 1
        await asyncio.gather(*(run(scenario) for scenario in SCENARIOS for _ in range(calls)))

    for operation_id, (_, exchanges) in clients.items():
        errors = [(sent_json(r), violations(r)) for r in exchanges if violations(r)]
        assert not errors, (
            f"Prism found errors in {operation_id}: {errors[:5]} (logs in {prisms['spec'].log_path.parent})"
        )
        assert {response.status_code for response in exchanges} == {202}
        # Static answers are one example; random ones really vary.
        bodies = {response.content for response in exchanges}
        many = len(bodies) > len(exchanges) // 2
        assert (len(bodies) == 1) if mode == "static" else many, (operation_id, len(bodies))


@pytest.mark.prism
@pytest.mark.parametrize(
    ("operation_id", "body"),
    [
        (CREATE, {"to": CALLED, "callerId": CALLER}),
        (CREATE, {"to": CALLED, "ringTimeout": 121}),
        (CREATE, {"from": CALLER}),
        (END, {"result": "verified", "reason": "ok"}),
        (END, {"result": "maybe"}),
        (HANGUP, {"from": CALLER}),
    ],
)
def test_prism_flags_what_the_fragment_refuses(
    prisms: dict[str, PrismServer], operation_id: str, body: Any
) -> None:
    # The checks above are only worth something if Prism does check requests against them.
    url = prisms[FRAGMENT_OF[operation_id]].base_url + SPEC_OPERATIONS[operation_id].sent_path
    response = httpx.post(url, json=body, headers={"Authorization": "AccessKey k"}, timeout=30)
    assert response.status_code == 422 or violations(response), response.text


# Error answers become the right exceptions, with Bird's fields


@pytest.mark.prism
@pytest.mark.parametrize("status", sorted(FORCED_ERRORS))
@pytest.mark.parametrize("scenario", ["create", "end-verified", "hangup-verified", "verify-code"])
def test_forced_error_status_raises_its_exception(
    prisms: dict[str, PrismServer], scenario: str, status: int
) -> None:
    _, call = SCENARIOS[scenario]
    headers = {"Prefer": f"code={status}, dynamic=false"}
    error, exchanges = send(call, prisms["spec"].base_url, headers)
    (response,) = exchanges
    assert not violations(response), (sent_json(response), violations(response))
    assert response.status_code == status, "Prism did not answer with the status asked for"
    assert type(error) is FORCED_ERRORS[status]
    assert error.status_code == status
    body = response.json()
    assert error.code == body["code"]
    assert body["message"] in error.message
    if status == 422:
        assert body["details"], "Prism's 422 should carry details for this test to mean anything"
    assert error.details == body.get("details", {})


@pytest.mark.prism
def test_prism_refuses_a_request_without_authorization(prisms: dict[str, PrismServer]) -> None:
    # The overlay's apiKey scheme is one Prism checks: its 401 reaches the client above.
    path = SPEC_OPERATIONS[CREATE].sent_path
    static = {"Prefer": "dynamic=false"}
    with httpx.Client(base_url=prisms["spec"].base_url, headers=static, timeout=30) as http:
        refused = http.post(path, json={"to": CALLED})
        accepted = http.post(path, json={"to": CALLED}, headers={"Authorization": "AccessKey k"})
    assert refused.status_code == 401, refused.text
    # The overlay documents Bird's 401: a RequestError body.
    assert set(refused.json()) == {"code", "message"}
    assert accepted.status_code == 202, accepted.text
    assert "sl-violations" not in accepted.headers, accepted.headers["sl-violations"]


@pytest.mark.prism
@pytest.mark.anyio
async def test_dynamic_422_details_reach_the_exception(prisms: dict[str, PrismServer]) -> None:
    base_url = prisms["spec"].base_url
    async with async_client(base_url, {"Prefer": "code=422"}) as (client, exchanges):
        errors = []
        for _ in range(30):
            with pytest.raises(UnprocessableEntityError) as raised:
                await client.end(CALL_ID, result="verified")
            errors.append(raised.value)
    for error, response in zip(errors, exchanges, strict=True):
        body = response.json()
        assert error.code == body["code"]
        assert body["message"] in error.message
        assert error.details == body.get("details", {})
