"""Every error can be kept: pickled (as a job queue stores a failed task's exception), copied and
deep-copied, coming back as the same class with the same attributes and without the key.

And what the attributes say: ``message`` is Bird's own words, ``str(error)`` the whole story.
"""

from __future__ import annotations

import copy
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from bird_flashcalls import (
    APIConnectionError,
    APIStatusError,
    BirdError,
    ClientClosedError,
    ConfigurationError,
    EventLoopError,
    FlashCalls,
    NotFoundError,
    RateLimitError,
    errors,
)
from error_fields import error_fields

from .support import (
    ACCESS_KEY,
    BASE_URL,
    CALL_ID,
    CALLEE,
    CHANNEL_ID,
    WORKSPACE_ID,
    ScriptedBird,
    raises,
    reply,
)

pytestmark = pytest.mark.anyio

REQUEST_ID = "mb-req-42"
TESTS = Path(__file__).resolve().parents[1]


def _bird_says(status: int, body: Any = None, **headers: str) -> Any:
    all_headers = {"Messagebird-Request-Id": REQUEST_ID, **headers}
    if isinstance(body, bytes):
        return reply(status, content=body, headers=all_headers)
    return reply(status, body, headers=all_headers)


# What the server does, and the call that fails on it; max_retries=0 throughout.
SCRIPTED: list[tuple[list[Any], Any]] = [
    ([_bird_says(400, {"code": "InvalidRequest", "message": "not JSON"})], "create"),
    ([_bird_says(401, {"code": "Unauthorized", "message": "bad key"})], "create"),
    ([_bird_says(403, {"code": "Forbidden", "message": "no role"})], "end"),
    ([_bird_says(404, {"code": "NotFound", "message": "no such call"})], "end"),
    ([_bird_says(409, {"code": "Conflict", "message": "already ended"})], "end"),
    (
        [
            _bird_says(
                422,
                {"code": "InvalidPayload", "message": "malformed", "details": {".to": ["bad"]}},
            )
        ],
        "create",
    ),
    ([_bird_says(429, {"code": "TooMany", "message": "slow"}, **{"Retry-After": "3600"})], "end"),
    ([_bird_says(500, b"<html>boom</html>")], "end"),
    ([_bird_says(418, {"code": "Teapot", "message": "short and stout"})], "end"),
    ([_bird_says(202, b"<html>not json</html>")], "create"),
    ([raises(httpx.ConnectError)], "create"),
    ([raises(httpx.ReadTimeout)], "create"),
]
CALLS = {
    "create": lambda fc: fc.create(CALLEE),
    "end": lambda fc: fc.end(CALL_ID, result="verified"),
}


async def every_kind_of_error(flash: Any, bird: ScriptedBird) -> list[BirdError]:
    """One error of each class in bird_flashcalls.errors, most of them raised by a client."""
    fc = flash(max_retries=0)
    raised: list[BirdError] = []
    for steps, call in SCRIPTED:
        bird.then(*steps)
        with pytest.raises(BirdError) as caught:
            await CALLS[call](fc)
        raised.append(caught.value)
    with pytest.raises(BirdError) as caught:
        await fc.create("not a number")
    raised.append(caught.value)
    with pytest.raises(ConfigurationError) as refused:
        FlashCalls(ACCESS_KEY, "not-a-uuid", CHANNEL_ID)
    assert refused.value.field == "workspace_id"
    raised.append(refused.value)
    closed = FlashCalls(ACCESS_KEY, WORKSPACE_ID, CHANNEL_ID, BASE_URL)
    closed.close()
    with pytest.raises(ClientClosedError) as caught:
        closed.create(CALLEE)
    raised.append(caught.value)
    # Needs two event loops alive at once; its shape is that of any message-only error.
    raised.append(EventLoopError("this AsyncFlashCalls is in use on another event loop"))
    raised.append(BirdError("the base class"))
    return raised


def _every_error_class() -> set[type[BirdError]]:
    classes = {getattr(errors, name) for name in errors.__all__}
    return {cls for cls in classes if isinstance(cls, type) and issubclass(cls, BirdError)}


async def test_every_error_class_survives_pickle_with_its_attributes(flash, bird: ScriptedBird):
    raised = await every_kind_of_error(flash, bird)

    assert {type(error) for error in raised} == _every_error_class()
    for error in raised:
        for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
            pickled = pickle.dumps(error, protocol=protocol)
            assert ACCESS_KEY.encode() not in pickled
            restored = pickle.loads(pickled)
            assert type(restored) is type(error)
            assert error_fields(restored) == error_fields(error), type(error).__name__


async def test_every_error_class_survives_copy_and_deepcopy(flash, bird: ScriptedBird):
    for error in await every_kind_of_error(flash, bird):
        for copied in (copy.copy(error), copy.deepcopy(error)):
            assert type(copied) is type(error)
            assert copied is not error
            assert error_fields(copied) == error_fields(error), type(error).__name__
        # A deep copy shares no mutable part with the original.
        if isinstance(error, APIStatusError):
            deep = copy.deepcopy(error)
            deep.details.setdefault("x", []).append("changed")
            assert "x" not in error.details


async def test_errors_unpickle_in_another_process(flash, bird: ScriptedBird, tmp_path: Path):
    """What a job queue's result backend does: one process stores it, another loads it."""
    raised = await every_kind_of_error(flash, bird)
    stored = tmp_path / "errors.pickle"
    stored.write_bytes(pickle.dumps(raised))
    loader = (
        "import pickle, sys\n"
        f"sys.path.insert(0, {str(TESTS)!r})\n"
        "from error_fields import error_fields\n"
        "loaded = pickle.loads(open(sys.argv[1], 'rb').read())\n"
        "sys.stdout.buffer.write(pickle.dumps([error_fields(e) for e in loaded]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", loader, str(stored)], capture_output=True, check=True, timeout=60
    )

    assert pickle.loads(done.stdout) == [error_fields(error) for error in raised]
    assert done.stderr == b""


async def test_message_is_birds_own_words_and_str_the_whole_explanation(flash, bird: ScriptedBird):
    bird.then(_bird_says(404, {"code": "NotFound", "message": "flash call not found"}))

    with pytest.raises(NotFoundError) as caught:
        await flash(max_retries=0).end(CALL_ID, result="verified")

    error = caught.value
    assert error.message == "flash call not found"
    assert error.code == "NotFound"
    assert str(error) == (
        "Bird answered 404 Not Found: NotFound: flash call not found. Check workspace_id, "
        f"channel_id and the flash call id. [request id {REQUEST_ID}]"
    )
    assert error.args == (str(error),)


async def test_without_birds_words_message_is_the_explanation(flash, bird: ScriptedBird):
    bird.then(_bird_says(503, b"<html>upstream down</html>"))

    with pytest.raises(APIStatusError) as caught:
        await flash(max_retries=0).end(CALL_ID, result="verified")

    assert caught.value.code is None
    assert caught.value.message == str(caught.value)
    assert "upstream down" in caught.value.message


async def test_rate_limit_keeps_retry_after_and_connection_errors_delivery(
    flash, bird: ScriptedBird
):
    bird.then(_bird_says(429, {"code": "TooMany", "message": "slow"}, **{"Retry-After": "3600"}))
    bird.then(raises(httpx.ReadTimeout))
    fc = flash(max_retries=0)

    with pytest.raises(RateLimitError) as limited:
        await fc.end(CALL_ID, result="verified")
    with pytest.raises(APIConnectionError) as timed_out:
        await fc.create(CALLEE)

    for error, name, value in (
        (limited.value, "retry_after", 3600.0),
        (timed_out.value, "may_have_been_delivered", True),
    ):
        assert getattr(error, name) == value
        assert getattr(pickle.loads(pickle.dumps(error)), name) == value
        assert getattr(copy.deepcopy(error), name) == value
