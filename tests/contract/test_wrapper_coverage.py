"""Every operation of the spec has a wrapper method that calls it, and sends only what it declares."""

from __future__ import annotations

import inspect
import re
from typing import Any

import attrs
import httpx
import pytest
from bird_flashcalls import AsyncFlashCalls, FlashCalls
from bird_flashcalls._operations import OPERATIONS, Operation
from prism_support import (
    ACCESS_KEY,
    CALL_ID,
    CHANNEL_ID,
    MERGED_SPEC,
    WORKSPACE_ID,
    AsyncRecordingTransport,
    Exchange,
    RecordingTransport,
    load_json,
    request_body_schema,
    resolve,
    spec_conform_handler,
    spec_operations,
)

SPEC = load_json(MERGED_SPEC)
SPEC_OPERATIONS = spec_operations(SPEC)
BASE_URL = "http://127.0.0.1:9"  # never dialled: a MockTransport answers
PATH_VALUES = {"workspaceId": WORKSPACE_ID, "channelId": CHANNEL_ID, "callId": CALL_ID}
CALLER = "+31201234567"
CALLED = "+31612345678"


@attrs.frozen
class Call:
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = attrs.field(factory=dict)
    # The operation a method sends when it is not one of OPERATIONS itself.
    reports_through: str | None = None


# Every optional argument is set, so each body field the wrapper can send shows up.
CALLS: dict[str, Call] = {
    "create": Call((CALLED,), {"from_": CALLER, "ring_timeout": 30}),
    "end": Call((CALL_ID,), {"result": "wrong_cli", "received_cli": "+31209999999"}),
    "hangup": Call(
        kwargs={"from_": CALLER, "to": CALLED, "result": "verified", "received_cli": CALLER}
    ),
    "verify": Call(
        (CALL_ID, "+31209999999"), {"expected_cli": CALLER}, reports_through="endChannelFlashCall"
    ),
    "verify_code": Call(
        (CALL_ID, "4567"),
        {"expected_cli": CALLER, "digits": 4},
        reports_through="endChannelFlashCall",
    ),
}
# Public methods that send nothing.
LOCAL_METHODS = {"close", "with_options", "aclose"}
# A method of OPERATIONS missing from CALLS still gets (failing) tests.
SENDING_METHODS = sorted(set(CALLS) | {op.method_name for op in OPERATIONS})


def operation_of(method_name: str) -> str:
    call = CALLS[method_name]
    if call.reports_through is not None:
        return call.reports_through
    return next(op.operation_id for op in OPERATIONS if op.method_name == method_name)


def call_for(method_name: str) -> Call:
    if method_name not in CALLS:
        pytest.fail(
            f"no arguments for {method_name}(): add it to CALLS in {__name__} so its request "
            "can be checked against the spec"
        )
    return CALLS[method_name]


def send_sync(method_name: str) -> list[Exchange]:
    call = call_for(method_name)
    transport = RecordingTransport(httpx.MockTransport(spec_conform_handler(SPEC)))
    with (
        httpx.Client(transport=transport) as http,
        FlashCalls(ACCESS_KEY, WORKSPACE_ID, CHANNEL_ID, BASE_URL, http_client=http) as client,
    ):
        getattr(client, method_name)(*call.args, **call.kwargs)
    return transport.exchanges


async def send_async(method_name: str) -> list[Exchange]:
    call = call_for(method_name)
    transport = AsyncRecordingTransport(httpx.MockTransport(spec_conform_handler(SPEC)))
    async with (
        httpx.AsyncClient(transport=transport) as http,
        AsyncFlashCalls(ACCESS_KEY, WORKSPACE_ID, CHANNEL_ID, BASE_URL, http_client=http) as client,
    ):
        await getattr(client, method_name)(*call.args, **call.kwargs)
    return transport.exchanges


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def by_operation(operations: tuple[Operation[Any], ...]) -> Any:
    return pytest.mark.parametrize(
        "operation", operations, ids=[op.operation_id for op in operations]
    )


# The table in bird_flashcalls._operations matches the spec


@pytest.mark.parametrize("operation_id", sorted(SPEC_OPERATIONS))
def test_every_spec_operation_has_a_wrapper_method(operation_id: str) -> None:
    listed = {op.operation_id for op in OPERATIONS}
    assert operation_id in listed, (
        f"the spec's operation {operation_id} ({SPEC_OPERATIONS[operation_id].method} "
        f"{SPEC_OPERATIONS[operation_id].path}) has no wrapper method: add a method to "
        "FlashCalls and AsyncFlashCalls and its entry to bird_flashcalls._operations.OPERATIONS"
    )


def test_operations_table_names_only_spec_operations_once() -> None:
    unknown = [op.operation_id for op in OPERATIONS if op.operation_id not in SPEC_OPERATIONS]
    assert not unknown, f"OPERATIONS lists operations the spec does not have: {unknown}"
    ids = [op.operation_id for op in OPERATIONS]
    methods = [op.method_name for op in OPERATIONS]
    assert len(set(ids)) == len(ids), f"an operation is listed twice: {ids}"
    assert len(set(methods)) == len(methods), f"a method is listed for two operations: {methods}"


@by_operation(OPERATIONS)
def test_operation_method_exists_on_both_clients(operation: Operation[Any]) -> None:
    name = operation.method_name
    sync_method = getattr(FlashCalls, name, None)
    async_method = getattr(AsyncFlashCalls, name, None)
    assert callable(sync_method), f"FlashCalls has no method {name}() for {operation.operation_id}"
    assert callable(async_method), (
        f"AsyncFlashCalls has no method {name}() for {operation.operation_id}"
    )
    assert not inspect.iscoroutinefunction(sync_method), f"FlashCalls.{name} is a coroutine"
    assert inspect.iscoroutinefunction(async_method), (
        f"AsyncFlashCalls.{name} is not a coroutine function"
    )


@by_operation(OPERATIONS)
def test_operation_uses_the_generated_module_of_its_operation(operation: Operation[Any]) -> None:
    module = operation.generated.__name__
    assert (
        module
        == f"bird_flashcalls._generated.api.channel_flashcall.{snake(operation.operation_id)}"
    ), f"{operation.operation_id} points at {module}"


def test_every_public_method_that_sends_has_arguments_in_the_table() -> None:
    for client_class in (FlashCalls, AsyncFlashCalls):
        public = {
            name
            for name, member in inspect.getmembers(client_class, callable)
            if not name.startswith("_") and not inspect.isclass(member)
        }
        missing = sorted(public - LOCAL_METHODS - set(CALLS))
        assert not missing, (
            f"{client_class.__name__} has public methods with no entry in CALLS: {missing}"
        )


# Calling a method sends the request of its operation


def check_request(method_name: str, exchanges: list[Exchange]) -> None:
    operation_id = operation_of(method_name)
    expected = SPEC_OPERATIONS[operation_id]
    assert len(exchanges) == 1, f"{method_name}() sent {len(exchanges)} requests"
    (exchange,) = exchanges
    assert expected.matches(exchange.method, exchange.path), (
        f"{method_name}() sent {exchange.method} {exchange.path}, but {operation_id} is "
        f"{expected.method} {expected.path}"
    )
    named = re.sub(r"\{([^}]+)\}", r"(?P<\1>[^/]+)", expected.path)
    match = re.fullmatch(named, exchange.path)
    assert match is not None
    for name, value in match.groupdict().items():
        assert value == PATH_VALUES[name], f"{method_name}() put {value!r} in {{{name}}}"
    assert exchange.headers["Authorization"] == f"AccessKey {ACCESS_KEY}"
    assert exchange.headers["Content-Type"] == "application/json"


@pytest.mark.parametrize("method_name", SENDING_METHODS)
def test_method_sends_its_operation(method_name: str) -> None:
    check_request(method_name, send_sync(method_name))


@pytest.mark.anyio
@pytest.mark.parametrize("method_name", SENDING_METHODS)
async def test_async_method_sends_its_operation(method_name: str) -> None:
    check_request(method_name, await send_async(method_name))


# The body holds only fields the operation's request schema declares


def check_body(method_name: str, exchanges: list[Exchange]) -> None:
    operation_id = operation_of(method_name)
    schema = request_body_schema(SPEC, SPEC_OPERATIONS[operation_id])
    schema_name = schema.get("$ref", "(inline)").rsplit("/", 1)[-1]
    resolved = resolve(SPEC, schema)
    declared = set(resolved.get("properties", {}))
    (exchange,) = exchanges
    assert isinstance(exchange.body, dict), f"{method_name}() sent {exchange.body!r}"
    for field in exchange.body:
        assert field in declared, (
            f"{method_name}() sends body field {field!r}, which {operation_id}'s request "
            f"schema {schema_name} does not declare (it declares {sorted(declared)})"
        )
    missing = set(resolved.get("required", [])) - set(exchange.body)
    assert not missing, f"{method_name}() leaves out {sorted(missing)}, required by {operation_id}"


@pytest.mark.parametrize("method_name", SENDING_METHODS)
def test_method_sends_only_declared_body_fields(method_name: str) -> None:
    check_body(method_name, send_sync(method_name))


@pytest.mark.anyio
@pytest.mark.parametrize("method_name", SENDING_METHODS)
async def test_async_method_sends_only_declared_body_fields(method_name: str) -> None:
    check_body(method_name, await send_async(method_name))


@by_operation(OPERATIONS)
def test_every_declared_body_field_is_sent(operation: Operation[Any]) -> None:
    # With every optional argument set, the method sends each field the spec declares: the
    # field check above then covers them all, and no field of the spec is out of reach.
    schema = resolve(SPEC, request_body_schema(SPEC, SPEC_OPERATIONS[operation.operation_id]))
    (exchange,) = send_sync(operation.method_name)
    unsent = set(schema.get("properties", {})) - set(exchange.body)
    assert not unsent, (
        f"{operation.method_name}() never sends {sorted(unsent)}, declared by "
        f"{operation.operation_id}"
    )
