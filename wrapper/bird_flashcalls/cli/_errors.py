"""Errors become exit codes here, and only here; each is printed on stderr as the command line
speaks: an argument refused by the library is named by the flag or variable it came from."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from .. import _constants as constants
from ..errors import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    BirdError,
    ConfigurationError,
    InvalidRequestError,
)
from ._output import PROG, option

EXIT_OK = 0
EXIT_API_ERROR = 1
EXIT_USAGE = 2
EXIT_NOT_VERIFIED = 3
EXIT_INTERRUPTED = 130

EXIT_STATUS_HELP = (
    "Exit status: 0 success, 1 API or network error, 2 usage or invalid input, 3 not verified "
    "(verify, verify-code)."
)


class CommandFailed(Exception):
    """A failure outside the library (a port already taken): exit 1, its message on stderr."""


def run(handler: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """The command's own exit status, or the one its error stands for."""
    try:
        return handler(args)
    except (ConfigurationError, InvalidRequestError) as error:
        _report(error, args)
        return EXIT_USAGE
    except BirdError as error:
        _report(error, args)
        return EXIT_API_ERROR
    except CommandFailed as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return EXIT_API_ERROR
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


# The library's argument names, as this command line spells them.
_FLAGS = {
    "timeout": "--timeout",
    "max_retries": "--max-retries",
    "ring_timeout": "--ring-timeout",
    "from_": "--from",
    "to": "--to",
    "received_cli": "--received-cli",
    "expected_cli": "--expected-cli",
    "digits": "--digits",
    "code": "--code",
    "call": "CALL_ID",
    "result": "--result",
    "host": "--host",
}
_SETTINGS = (
    ("workspace_id", "--workspace-id", constants.ENV_WORKSPACE_ID),
    ("channel_id", "--channel-id", constants.ENV_CHANNEL_ID),
    ("base_url", "--base-url", constants.ENV_BASE_URL),
)


def _field_name(field: str, args: argparse.Namespace) -> str:
    """How the user gave ``field``: a flag, an environment variable or the access key file."""
    if field == "access_key":
        key_file = option(args, "access_key_file")
        return constants.ENV_ACCESS_KEY if key_file is None else f"the access key file {key_file}"
    for setting, flag, variable in _SETTINGS:
        if field == setting:
            # serve reads no environment variable; the API commands fall back to it.
            return flag if args.command == "serve" or option(args, setting) else variable
    return _FLAGS.get(field, field)


def _in_cli_terms(error: ConfigurationError | InvalidRequestError, name: str) -> str:
    """The library's message opens with the argument it refuses: its CLI name takes its place."""
    message = str(error)
    if error.field is None:
        return message
    if message.startswith(f"{error.field} "):
        return name + message[len(error.field) :]
    return f"{name}: {message}"


def _report(error: BirdError, args: argparse.Namespace) -> None:
    message = str(error)
    fields: dict[str, Any] = {"type": type(error).__name__, "message": message}
    if isinstance(error, ConfigurationError | InvalidRequestError) and error.field:
        fields["field"] = _field_name(error.field, args)
        fields["message"] = message = _in_cli_terms(error, fields["field"])
    if isinstance(error, APIStatusError | APIResponseValidationError):
        fields["status"] = error.status_code
    if isinstance(error, APIStatusError):
        fields["code"] = error.code
        fields["details"] = error.details
    if isinstance(error, APIStatusError | APIResponseValidationError):
        fields["requestId"] = error.request_id
    if isinstance(error, APIConnectionError):
        fields["mayHaveBeenDelivered"] = error.may_have_been_delivered
    if option(args, "json"):
        print(json.dumps({"error": fields}), file=sys.stderr)
        return
    lines = [f"{PROG}: error: {message}"]
    # The message of a refused input names its flag already: no field line.
    labels = {"status": "status", "code": "code", "requestId": "request id"}
    lines += [f"  {label}: {fields[key]}" for key, label in labels.items() if fields.get(key)]
    for name, problems in (fields.get("details") or {}).items():
        lines.append(f"  details: {name}: {'; '.join(problems)}")
    if fields.get("mayHaveBeenDelivered"):
        lines.append(
            "  the request may have reached Bird: the phone may have rung"
            if args.command == "create"
            else "  the request may have reached Bird: the result may be recorded already; "
            "sending it again is safe"
        )
    print("\n".join(lines), file=sys.stderr)
