"""Logging as a library does it.

Every logger of bird_flashcalls and of the generated bird_flashcalls._generated reaches a NullHandler, so
an application that configured nothing sees nothing (not even through Python's last-resort
handler); the unknown-value warning of the models goes through the ``bird_flashcalls`` loggers;
``BIRD_FLASHCALLS_LOG`` prints each line once, whatever the application configured; and each
line about a response carries Bird's request id when there is one.
"""

from __future__ import annotations

import importlib
import importlib.util
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
    CHANNEL_ID,
    WORKSPACE_ID,
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


def test_every_logger_of_both_packages_reaches_a_null_handler() -> None:
    in_source = _logger_names_in_source()
    assert "bird_flashcalls" in in_source
    assert "bird_flashcalls.models" in in_source  # the generated models' unknown values

    done = subprocess.run(
        [
            sys.executable,
            "-c",
            CHECK_LOGGERS,
            json.dumps(sorted(in_source)),
            json.dumps(_modules()),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )

    report = json.loads(done.stdout)
    assert set(report["checked"]) >= set(in_source)
    assert report["without_null_handler"] == []


def test_every_logger_is_under_bird_flashcalls() -> None:
    """Configuring ``bird_flashcalls`` is enough to see, or silence, everything the client logs."""
    for name, module in _logger_names_in_source().items():
        assert name == "bird_flashcalls" or name.startswith("bird_flashcalls."), module


def test_an_unknown_value_is_warned_about_once_through_bird_flashcalls(
    caplog: pytest.LogCaptureFixture,
) -> None:
    status = f"voicemail-{uuid.uuid4().hex[:8]}"
    result = f"approved-{uuid.uuid4().hex[:8]}"
    caplog.set_level(logging.DEBUG)

    for _ in range(3):
        FlashCall.from_dict(flash_call_body(status=status))
        FlashCallHangup.from_dict({"result": result})

    warnings = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert [record.name for record in warnings] == ["bird_flashcalls.models"] * 2
    assert status in warnings[0].getMessage()
    assert result in warnings[1].getMessage()


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
    script = TRIGGER.format(setup=setup, call_id=CALL_ID)
    return subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=60,
    )


def test_an_application_that_configured_nothing_sees_nothing() -> None:
    done = _run()

    assert done.stderr == ""
    assert done.stdout == ""


def test_control_without_the_null_handlers_the_last_resort_handler_would_print() -> None:
    done = _run(
        "for name in ('bird_flashcalls', 'bird_flashcalls.models'):\n"
        "    for handler in list(logging.getLogger(name).handlers):\n"
        "        logging.getLogger(name).removeHandler(handler)\n"
    )

    assert "FlashCallStatus: unknown value 'voicemail-" in done.stderr


def test_an_application_with_basic_config_sees_the_warning_once() -> None:
    done = _run("logging.basicConfig()")

    assert re.fullmatch(
        r"WARNING:bird_flashcalls\.models:FlashCallStatus: unknown value 'voicemail-\w+' "
        r"kept as a plain string; a newer client version may know it\n",
        done.stderr,
    )


ATTEMPT = re.compile(r"POST /workspaces/\S+ -> (\d{3}) \(attempt (\d), [\d.]+ ms\)(.*)")


def _attempt_lines(output: str) -> list[tuple[str, str, str]]:
    return [match.groups() for match in map(ATTEMPT.search, output.splitlines()) if match]


EXPECTED_ATTEMPTS = [
    ("503", "1", " [request id mb-1]"),
    ("202", "2", " [request id mb-2]"),
    ("404", "1", ""),
]


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
    assert _attempt_lines(printed) == EXPECTED_ATTEMPTS
    assert len(re.findall(r"unknown value 'voicemail-", printed)) == 1
    assert len(re.findall(r"retrying POST ", printed)) == 1


# Bird's request id in each line about a response.


@pytest.mark.anyio
async def test_each_line_about_a_response_carries_birds_request_id(
    flash, bird: ScriptedBird, debug_logs: pytest.LogCaptureFixture
) -> None:
    bird.then(
        reply(503, headers={"Messagebird-Request-Id": "mb-503"}),
        raises(httpx.ConnectError),
        reply(429, headers={"X-Request-Id": "x-429", "Retry-After": "0"}),
        reply(202, {"result": "verified"}, headers={"Messagebird-Request-Id": "mb-202"}),
        reply(202, flash_call_body()),
    )
    fc = flash(max_retries=3)

    await fc.end(CALL_ID, result="verified")
    await fc.create(CALLEE)

    lines = [
        record.getMessage()
        for record in debug_logs.records
        if record.name == "bird_flashcalls" and "(attempt" in record.getMessage()
    ]
    outcomes = [(line.split(" -> ")[1].split(" ")[0], line.partition(" ms)")[2]) for line in lines]
    assert outcomes == [
        ("503", " [request id mb-503]"),
        ("ConnectError", ""),
        ("429", " [request id x-429]"),
        ("202", " [request id mb-202]"),
        ("202", ""),
    ]


# The client's own lines: one per attempt and one per retry, at DEBUG only.


@pytest.mark.anyio
async def test_logging_has_one_line_per_attempt_and_per_retry(
    flash, bird: ScriptedBird, debug_logs, sleeps
):
    bird.then(reply(503), raises(httpx.ConnectError))
    fc = flash(max_retries=2)

    await fc.end(CALL_ID, result="verified")

    path = f"/workspaces/{WORKSPACE_ID}/channels/{CHANNEL_ID}/flashcalls/{CALL_ID}"
    lines = [
        record.getMessage()
        for record in debug_logs.records
        if record.name == "bird_flashcalls" and record.levelno == logging.DEBUG
    ]
    attempts = [line for line in lines if "(attempt" in line]
    retries = [line for line in lines if line.startswith("retrying")]
    assert len(attempts) == len(bird.requests) == 3
    assert len(retries) == 2
    for number, (line, outcome) in enumerate(
        zip(attempts, ["503", "ConnectError", "202"], strict=True), start=1
    ):
        assert line.startswith(f"POST {path} -> {outcome} (attempt {number}, ")
        assert line.endswith(" ms)")
    assert retries[0].startswith(f"retrying POST {path} in ")
    assert "(retry 1 of 2)" in retries[0]
    assert retries[0].endswith("after status 503")
    assert "(retry 2 of 2)" in retries[1]
    assert retries[1].endswith("after ConnectError")


@pytest.mark.anyio
async def test_nothing_is_logged_above_debug_for_a_normal_call(flash, bird: ScriptedBird, caplog):
    caplog.set_level(logging.DEBUG, logger="bird_flashcalls")

    await flash().create(CALLEE)

    assert [
        r for r in caplog.records if r.name == "bird_flashcalls" and r.levelno > logging.DEBUG
    ] == []


@pytest.mark.anyio
async def test_the_attempt_log_line_gives_its_duration_in_milliseconds(flash, monkeypatch, caplog):
    started = _client.time.monotonic()
    ticks = iter([started] + [started + 0.25] * 10)
    monkeypatch.setattr(_client, "time", ModuleView(_client.time, monotonic=lambda: next(ticks)))

    with caplog.at_level(logging.DEBUG, logger="bird_flashcalls"):
        await flash().create(CALLEE)

    [line] = [r.getMessage() for r in caplog.records if "-> 202" in r.getMessage()]
    assert line.endswith("-> 202 (attempt 1, 250.0 ms)")
