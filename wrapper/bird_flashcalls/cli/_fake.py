"""``fake calls|requests|reset|fail|clear-faults``: a served FakeBird's control API from a shell.

These talk to a fake, so the base URL and key come from BIRD_BASE_URL and BIRD_ACCESS_KEY (as
``serve`` prints them) unless --base-url or --access-key-file say otherwise.
"""

from __future__ import annotations

import argparse
import os
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

import attrs

from .. import _constants as constants
from .._rules import is_e164
from ..errors import ConfigurationError
from ._commands import read_access_key, read_file
from ._errors import EXIT_OK, CommandFailed
from ._output import option, print_result

if TYPE_CHECKING:
    from ..testing import FakeBirdControl, FakeCall


def fake(args: argparse.Namespace) -> int:
    from ..testing import FakeBirdControlError

    try:
        with _control(args) as control:
            data, lines = _ACTIONS[args.fake_command](control, args)
    except FakeBirdControlError as error:
        raise CommandFailed(str(error)) from None
    print_result(args, data, lines)
    return EXIT_OK


def read_caller_numbers(path: str) -> list[str]:
    """The numbers in a file, one a line; blank lines and ``#`` comments are skipped."""
    numbers = []
    for line_number, line in enumerate(read_file(path, "the caller numbers file").splitlines(), 1):
        number = line.split("#", 1)[0].strip()
        if number and not is_e164(number):
            raise ConfigurationError(
                f"line {line_number} of {path} is not an E.164 number such as +3197010260000"
            )
        numbers += [number] if number else []
    if not numbers:
        raise ConfigurationError(f"{path} has no caller numbers: write one E.164 number a line")
    return numbers


def _control(args: argparse.Namespace) -> FakeBirdControl:
    from ..testing import FakeBirdControl

    base_url = option(args, "base_url") or os.environ.get(constants.ENV_BASE_URL)
    key_file = option(args, "access_key_file")
    key = read_access_key(key_file) if key_file else os.environ.get(constants.ENV_ACCESS_KEY)
    if not base_url or not key:
        raise ConfigurationError(
            f"the served FakeBird is not known: set {constants.ENV_BASE_URL} and "
            f"{constants.ENV_ACCESS_KEY} (eval the export lines `serve` printed), or use "
            "--base-url and --access-key-file"
        )
    timeout = option(args, "timeout")
    return FakeBirdControl(base_url, key, timeout=timeout or constants.DEFAULT_TIMEOUT)


def _json_value(_: Any, field: Any, value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value) if isinstance(value, UUID) else value


def _call_data(call: FakeCall) -> dict[str, Any]:
    data = attrs.asdict(call, value_serializer=_json_value)
    data["from"] = data.pop("from_")
    return data


def _calls(control: FakeBirdControl, args: argparse.Namespace) -> tuple[Any, list[str]]:
    calls = control.calls()
    lines = [
        f"{call.id}  to {call.to}  from {call.from_}  {call.result or 'not reported'}"
        + (f"  reports: {', '.join(r.result for r in call.reports)}" if call.reports else "")
        for call in calls
    ]
    return {"calls": [_call_data(call) for call in calls]}, lines or ["no calls"]


def _requests(control: FakeBirdControl, args: argparse.Namespace) -> tuple[Any, list[str]]:
    requests = control.requests()
    lines = [f"{r.method} {r.path} -> {r.status}  {r.request_id}" for r in requests]
    data = {"requests": [attrs.asdict(request) for request in requests]}
    return data, lines or ["no requests"]


def _reset(control: FakeBirdControl, args: argparse.Namespace) -> tuple[Any, list[str]]:
    control.reset()
    return {"reset": True}, ["FakeBird forgot its calls and requests"]


def _fail(control: FakeBirdControl, args: argparse.Namespace) -> tuple[Any, list[str]]:
    fault = {
        "status": args.status,
        "rate": args.rate,
        "operations": args.operations,
        "count": args.count,
        "retry_after": args.retry_after,
    }
    control.fail(**fault)
    which = " and ".join(args.operations) if args.operations else "all"
    limit = "" if args.count is None else f", {args.count} time(s) at most"
    line = f"FakeBird answers {args.status} to {args.rate:.0%} of {which} requests{limit}"
    return {"faults": fault}, [line]


def _clear_faults(control: FakeBirdControl, args: argparse.Namespace) -> tuple[Any, list[str]]:
    control.clear_faults()
    return {"faults": None}, ["FakeBird injects no more faults"]


_ACTIONS = {
    "calls": _calls,
    "requests": _requests,
    "reset": _reset,
    "fail": _fail,
    "clear-faults": _clear_faults,
}
