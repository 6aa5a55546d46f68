"""Logging as a library does it: silent unless configured, each line once, Bird's request ids."""

from __future__ import annotations

import importlib
import importlib.util
import itertools
import json
import logging
import os
import pkgutil
import re
import subprocess
import sys
import uuid
from pathlib import Path

import bird_flashcalls
import httpx
import pytest
from bird_flashcalls import FlashCall, FlashCallHangup, _client
from bird_flashcalls import _generated as bird_channels_api

from .support import (
    CALL_ID,
    CALLEE,
    OPERATION_PATHS,
    ModuleView,
    ScriptedBird,
    flash_call_body,
    raises,
    reply,
)

PACKAGES = (bird_flashcalls, bird_channels_api)
# Loggers are created by name or by module (another argument looks up an existing one).
GET_LOGGER = re.compile(r"""getLogger\(\s*(?:(["'])([\w.]+)\1|(__name__))\s*\)""")


def _modules() -> list[str]:
    names = []
    for package in PACKAGES:
        names.append(package.__name__)
        for module in pkgutil.walk_packages(package.__path__, prefix=package.__name__ + "."):
            names.append(module.name)
    return names


def _logger_names_in_source() -> dict[str, str]:
    """Each logger the code of both packages creates, by name, and where."""
    found: dict[str, str] = {}
    for module_name in _modules():
        spec = importlib.util.find_spec(module_name)
        assert spec is not None and spec.origin is not None
        source = Path(spec.origin).read_text(encoding="utf-8")
        for _, literal, dunder_name in GET_LOGGER.findall(source):
            found[module_name if dunder_name else literal] = module_name
    return found


# In a fresh interpreter: the tests create loggers of these names too (to set their levels).
CHECK_LOGGERS = """
import importlib, json, logging, sys
names, modules = json.loads(sys.argv[1]), json.loads(sys.argv[2])
for module in modules:
    if not module.endswith(".__main__"):  # it runs the command line
        importlib.import_module(module)


def reaches_a_null_handler(logger):
    while logger is not None and logger is not logging.getLogger():
        if any(isinstance(handler, logging.NullHandler) for handler in logger.handlers):
            return True
        if not logger.propagate:
            return False
        logger = logger.parent
    return False


created = [
    name
    for name, logger in logging.Logger.manager.loggerDict.items()
    if isinstance(logger, logging.Logger)
    and name.split(".")[0] in ("bird_flashcalls", "bird_channels_api")
]
checked = sorted({*names, *created})
without = [name for name in checked if not reaches_a_null_handler(logging.getLogger(name))]
print(json.dumps({"checked": checked, "without_null_handler": without}))
"""


def test_every_logger_is_under_bird_flashcalls_and_reaches_a_null_handler() -> None:
    in_source = _logger_names_in_source()
    assert "bird_flashcalls" in in_source
    assert "bird_flashcalls.models" in in_source  # the generated models' unknown values
    for name, module in in_source.items():
        assert name == "bird_flashcalls" or name.startswith("bird_flashcalls."), module

    names = [json.dumps(sorted(in_source)), json.dumps(_modules())]
    command = [sys.executable, "-c", CHECK_LOGGERS, *names]
    done = subprocess.run(command, capture_output=True, text=True, check=True, timeout=60)

    report = json.loads(done.stdout)
    assert set(report["checked"]) >= set(in_source)
    assert report["without_null_handler"] == []


def test_each_unknown_value_is_warned_about_once_through_bird_flashcalls(
    caplog: pytest.LogCaptureFixture,
) -> None:
    status, other_status = (f"voicemail-{uuid.uuid4().hex[:8]}" for _ in range(2))
    result = f"approved-{uuid.uuid4().hex[:8]}"
    caplog.set_level(logging.DEBUG)

    for _ in range(3):
        FlashCall.from_dict(flash_call_body(status=status))
        FlashCallHangup.from_dict({"result": result})
    FlashCall.from_dict(flash_call_body(status=other_status))

    warnings = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert [record.name for record in warnings] == ["bird_flashcalls.models"] * 3
    assert status in warnings[0].getMessage()
    assert result in warnings[1].getMessage()
    assert other_status in warnings[2].getMessage()


# In a process of its own: logging as an application that configured nothing finds it.

TRIGGER = """
import logging, sys, uuid
import httpx
from bird_flashcalls import FlashCall, FlashCalls, APIStatusError
{setup}
FlashCall.from_dict({{
    "id": "{call_id}", "channelId": "{call_id}", "from": "+31201234567", "to": "+31612345678",
    "status": "voicemail-" + uuid.uuid4().hex[:8], "ringTimeout": 30,
    "createdAt": "2024-05-01T10:00:00Z", "updatedAt": "2024-05-01T10:00:00Z",
}})
answers = iter([
    httpx.Response(503, headers={{"Messagebird-Request-Id": "mb-1"}}),
    httpx.Response(202, json={{"result": "verified"}}, headers={{"Messagebird-Request-Id": "mb-2"}}),
    httpx.Response(404, json={{"code": "NotFound", "message": "no such call"}}),
])
transport = httpx.MockTransport(lambda request: next(answers))
from bird_flashcalls import Backoff
with FlashCalls(
    "test-key", "{call_id}", "{call_id}", "https://api.bird.test",
    backoff=Backoff(initial_delay=0.0, max_delay=0.0), http_client=httpx.Client(transport=transport),
) as fc:
    fc.end("{call_id}", result="verified")
    try:
        fc.end("{call_id}", result="verified")
    except APIStatusError:
        pass
"""


def _run(setup: str = "", *, log: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("BIRD_")}
    if log is not None:
        env["BIRD_FLASHCALLS_LOG"] = log
    command = [sys.executable, "-c", TRIGGER.format(setup=setup, call_id=CALL_ID)]
    return subprocess.run(command, capture_output=True, text=True, env=env, check=True, timeout=60)


REMOVE_NULL_HANDLERS = """
for name in ('bird_flashcalls', 'bird_flashcalls.models'):
    for handler in list(logging.getLogger(name).handlers):
        logging.getLogger(name).removeHandler(handler)
"""


@pytest.mark.parametrize(
    ("setup", "stderr"),
    [
        pytest.param("", "", id="configured-nothing-sees-nothing"),
        pytest.param(
            "logging.basicConfig()",
            r"WARNING:bird_flashcalls\.models:FlashCallStatus: unknown value 'voicemail-\w+' "
            r"kept as a plain string; a newer client version may know it\n",
            id="basic-config-sees-the-warning-once",
        ),
        pytest.param(
            REMOVE_NULL_HANDLERS,
            r"(?s).*FlashCallStatus: unknown value 'voicemail-.*",
            id="control-without-null-handlers-the-last-resort-handler-prints",
        ),
    ],
)
def test_without_bird_flashcalls_log_only_the_applications_logging_prints(setup, stderr) -> None:
    done = _run(setup)

    assert re.fullmatch(stderr, done.stderr)
    assert done.stdout == ""


ATTEMPT = re.compile(r"POST /workspaces/\S+ -> (\d{3}) \(attempt (\d), [\d.]+ ms\)(.*)")


@pytest.mark.parametrize(
    "setup",
    [
        pytest.param("", id="nothing"),
        pytest.param("logging.basicConfig(level=logging.DEBUG)", id="basic-config-debug"),
        pytest.param("logging.basicConfig()", id="basic-config"),
        pytest.param("logging.basicConfig(stream=sys.stdout)", id="basic-config-stdout"),
        pytest.param(
            "logging.getLogger('bird_flashcalls').addHandler(logging.StreamHandler())",
            id="own-handler-on-bird-flashcalls",
        ),
        pytest.param(
            "logging.getLogger().addHandler(logging.StreamHandler()); "
            "logging.getLogger().handlers[0].setLevel(logging.INFO)",
            id="root-handler-above-debug",
        ),
        pytest.param(
            "import logging.config\n"
            "logging.config.dictConfig({'version': 1, 'disable_existing_loggers': False,"
            " 'handlers': {'err': {'class': 'logging.StreamHandler'}},"
            " 'loggers': {'bird_flashcalls': {'handlers': ['err'], 'level': 'DEBUG'}}})",
            id="dict-config-of-bird-flashcalls",
        ),
    ],
)
def test_bird_flashcalls_log_prints_each_line_once(setup: str) -> None:
    done = _run(setup, log="debug")

    printed = done.stderr + done.stdout
    attempts = [match.groups() for match in map(ATTEMPT.search, printed.splitlines()) if match]
    assert attempts == [
        ("503", "1", " [request id mb-1]"),
        ("202", "2", " [request id mb-2]"),
        ("404", "1", ""),
    ]
    assert len(re.findall(r"unknown value 'voicemail-", printed)) == 1
    assert len(re.findall(r"retrying POST ", printed)) == 1


# In process: one DEBUG line per attempt (timed in ms) and per retry, with Bird's request id.


@pytest.mark.anyio
async def test_each_attempt_and_retry_is_one_debug_line_with_birds_request_id(
    flash, bird: ScriptedBird, caplog: pytest.LogCaptureFixture, sleeps, monkeypatch
) -> None:
    ticks = itertools.count(_client.time.monotonic(), 0.25)  # each attempt takes 250 ms
    monkeypatch.setattr(_client, "time", ModuleView(_client.time, monotonic=lambda: next(ticks)))
    caplog.set_level(logging.DEBUG, logger="bird_flashcalls")
    bird.then(
        reply(503, headers={"Messagebird-Request-Id": "mb-503"}),
        raises(httpx.ConnectError),
        reply(429, headers={"X-Request-Id": "x-429", "Retry-After": "0"}),
        reply(202, {"result": "verified"}, headers={"Messagebird-Request-Id": "mb-202"}),
    )

    await flash(max_retries=3).end(CALL_ID, result="verified")
    await flash().create(CALLEE)

    records = [record for record in caplog.records if record.name == "bird_flashcalls"]
    assert {record.levelno for record in records} == {logging.DEBUG}
    end = f"POST {OPERATION_PATHS['end']}"
    assert [record.getMessage() for record in records] == [
        f"{end} -> 503 (attempt 1, 250.0 ms) [request id mb-503]",
        f"retrying {end} in 0.00 s (retry 1 of 3) after status 503 [request id mb-503]",
        f"{end} -> ConnectError (attempt 2, 250.0 ms)",
        f"retrying {end} in 0.00 s (retry 2 of 3) after ConnectError",
        f"{end} -> 429 (attempt 3, 250.0 ms) [request id x-429]",
        f"retrying {end} in 0.00 s (retry 3 of 3) after status 429 [request id x-429]",
        f"{end} -> 202 (attempt 4, 250.0 ms) [request id mb-202]",
        f"POST {OPERATION_PATHS['create']} -> 202 (attempt 1, 250.0 ms)",
    ]
