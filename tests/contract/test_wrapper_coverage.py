"""Every operation of the spec has a wrapper method that calls it, and sends only what it declares."""

from __future__ import annotations

import inspect
import re
from typing import Any

import pytest
from bird_flashcalls import AsyncFlashCalls, FlashCalls
from bird_flashcalls._operations import OPERATIONS, Operation

from .support import (
    ACCESS_KEY,
    CALL_ID,
    CALLED,
    CALLER,
    SPEC_OPERATIONS,
    send,
    sent_json,
)

END = "endChannelFlashCall"

# Arguments for each method, every optional one that names a body field set (so each field the
# wrapper can send shows up), then the operation it sends when it is not one of OPERATIONS itself.
CALLS: dict[str, tuple[tuple[Any, ...], dict[str, Any], str | None]] = {
    "create": ((CALLED,), {"from_": CALLER, "ring_timeout": 30}, None),
    "end": ((CALL_ID,), {"result": "wrong_cli", "received_cli": "+31209999999"}, None),
    "hangup": (
        (),
        {"from_": CALLER, "to": CALLED, "result": "verified", "received_cli": CALLER},
        None,
    ),
    "verify": ((CALL_ID, "+31209999999"), {"expected_cli": CALLER}, END),
    "verify_code": ((CALL_ID, "4567"), {"expected_cli": CALLER, "digits": 4}, END),
}
# Public methods that send nothing.
LOCAL_METHODS = {"close", "with_options", "aclose"}
# A method of OPERATIONS missing from CALLS still gets (failing) tests.
SENDING_METHODS = sorted(set(CALLS) | {op.method_name for op in OPERATIONS})


# The table in bird_flashcalls._operations matches the spec


def test_the_operations_table_lists_each_spec_operation_once() -> None:
    ids = [op.operation_id for op in OPERATIONS]
    assert sorted(ids) == sorted(SPEC_OPERATIONS), (
        "each operation of the spec needs a method on FlashCalls and AsyncFlashCalls and its "
        f"entry in bird_flashcalls._operations.OPERATIONS, and no other: {ids}"
    )
    methods = [op.method_name for op in OPERATIONS]
    assert len(set(methods)) == len(methods), f"a method is listed for two operations: {methods}"


@pytest.mark.parametrize("operation", OPERATIONS, ids=[op.operation_id for op in OPERATIONS])
def test_operation_has_a_method_on_both_clients_and_uses_its_generated_module(
    operation: Operation[Any],
) -> None:
    name = operation.method_name
    sync_method = getattr(FlashCalls, name, None)
    async_method = getattr(AsyncFlashCalls, name, None)
    assert callable(sync_method) and not inspect.iscoroutinefunction(sync_method), name
    assert callable(async_method) and inspect.iscoroutinefunction(async_method), name
    tag = SPEC_OPERATIONS[operation.operation_id].operation["tags"][0]
    snake = re.sub(r"(?<!^)(?=[A-Z])", "_", operation.operation_id).lower()
    module = operation.generated
    assert module.__name__ == f"bird_flashcalls._generated.api.{tag}.{snake}", module.__name__
    # The generator's four calls, and the request builder the wrapper uses.
    for function in ("sync", "sync_detailed", "asyncio", "asyncio_detailed", "_get_kwargs"):
        assert callable(getattr(module, function, None)), f"{module.__name__}.{function} missing"


@pytest.mark.parametrize("client_class", [FlashCalls, AsyncFlashCalls])
def test_every_public_method_that_sends_has_arguments_in_the_table(client_class: type) -> None:
    public = {
        name
        for name, member in inspect.getmembers(client_class, callable)
        if not name.startswith("_") and not inspect.isclass(member)
    }
    missing = sorted(public - LOCAL_METHODS - set(CALLS))
    assert not missing, (
        f"{client_class.__name__} has public methods with no entry in CALLS: {missing}"
    )


# Calling a method sends the request of its operation, with only the fields it declares and, for
# an operation's own method, each of them (the async client's requests meet Prism in test_prism.py)


@pytest.mark.parametrize("method_name", SENDING_METHODS)
def test_method_sends_its_operation_with_declared_fields_only_each_one_reachable(
    method_name: str,
) -> None:
    if method_name not in CALLS:
        pytest.fail(f"no arguments for {method_name}(): add it to CALLS in {__name__}")
    args, kwargs, _ = CALLS[method_name]
    _, exchanges = send(lambda client: getattr(client, method_name)(*args, **kwargs))
    assert len(exchanges) == 1, f"{method_name}() sent {len(exchanges)} requests"
    request, body = exchanges[0].request, sent_json(exchanges[0])
    operation_id = CALLS[method_name][2] or next(
        op.operation_id for op in OPERATIONS if op.method_name == method_name
    )
    expected = SPEC_OPERATIONS[operation_id]
    assert (request.method, request.url.path) == (expected.method, expected.sent_path), (
        f"{method_name}() sent to the wrong place for {operation_id}: {expected.path}"
    )
    assert request.headers["Authorization"] == f"AccessKey {ACCESS_KEY}"
    assert request.headers["Content-Type"] == "application/json"

    schema = expected.request_schema()
    declared = set(schema.get("properties", {}))
    assert isinstance(body, dict), f"{method_name}() sent {body!r}"
    undeclared = set(body) - declared
    assert not undeclared, (
        f"{method_name}() sends {sorted(undeclared)}, which {operation_id}'s request schema "
        f"does not declare (it declares {sorted(declared)})"
    )
    missing = set(schema.get("required", [])) - set(body)
    assert not missing, f"{method_name}() leaves out {sorted(missing)}, required by {operation_id}"
    if CALLS[method_name][2] is None:  # an operation's own method can send each field it declares
        unsent = declared - set(body)
        assert not unsent, f"{method_name}() never sends {sorted(unsent)}"
