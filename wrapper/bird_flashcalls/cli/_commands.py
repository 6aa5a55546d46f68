"""The API commands and the demo: each builds a client, makes one call and prints its answer."""

from __future__ import annotations

import argparse
import os
import sys

from .. import _constants as constants
from .._client import FlashCalls
from ..errors import ConfigurationError
from ._errors import EXIT_NOT_VERIFIED, EXIT_OK
from ._output import describe_call, option, print_result, print_verification, received_cli_line

# The ids, their flags and variables; the base URL has a default, the access key its file.
_IDS = (
    ("workspace_id", "--workspace-id", constants.ENV_WORKSPACE_ID),
    ("channel_id", "--channel-id", constants.ENV_CHANNEL_ID),
)


def read_file(path: str, what: str) -> str:
    """A file's text, or the ConfigurationError that says why ``what`` cannot be read."""
    try:
        with open(path, encoding="utf-8") as file:
            return file.read()
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        raise ConfigurationError(f"cannot read {what} {path}: {reason}") from None


def read_access_key(path: str) -> str:
    key = read_file(path, "the access key file").strip()
    if not key:
        raise ConfigurationError(
            f"the access key file {path} is empty: put the key from the Bird dashboard in it"
        )
    return key


def _client(args: argparse.Namespace) -> FlashCalls:
    """A client from the flags, the key file and the environment. Each value is checked by the
    client's settings alone; an error names it as it was given (see _errors)."""
    key_file = option(args, "access_key_file")
    access_key = (
        os.environ.get(constants.ENV_ACCESS_KEY) or None
        if key_file is None
        else read_access_key(key_file)
    )
    ids = {
        name: option(args, name) or os.environ.get(variable) or None for name, _, variable in _IDS
    }
    missing = (
        []
        if access_key
        else [f"the access key (set {constants.ENV_ACCESS_KEY} or use --access-key-file PATH)"]
    )
    missing += [
        f"the {name.split('_')[0]} id ({flag} or {variable})"
        for name, flag, variable in _IDS
        if ids[name] is None
    ]
    if missing:
        raise ConfigurationError(
            "missing "
            + ", ".join(missing)
            + ": the access key comes from the Bird dashboard, the ids from the flash-call "
            "channel's settings"
        )
    timeout, max_retries = option(args, "timeout"), option(args, "max_retries")
    return FlashCalls(
        access_key=access_key,
        workspace_id=ids["workspace_id"],
        channel_id=ids["channel_id"],
        base_url=option(args, "base_url") or os.environ.get(constants.ENV_BASE_URL) or None,
        timeout=constants.DEFAULT_TIMEOUT if timeout is None else timeout,
        max_retries=constants.DEFAULT_MAX_RETRIES if max_retries is None else max_retries,
    )


def create(args: argparse.Namespace) -> int:
    with _client(args) as flash_calls:
        call = flash_calls.create(args.to, from_=args.from_, ring_timeout=args.ring_timeout)
    print_result(args, call.to_dict(), describe_call(call))
    return EXIT_OK


def end(args: argparse.Namespace) -> int:
    with _client(args) as flash_calls:
        ended = flash_calls.end(args.call_id, result=args.result, received_cli=args.received_cli)
    lines = [f"ended flash call {args.call_id}", f"  result: {ended.result}"]
    lines += received_cli_line(ended.to_dict())
    print_result(args, ended.to_dict(), lines)
    return EXIT_OK


def hangup(args: argparse.Namespace) -> int:
    with _client(args) as flash_calls:
        ended = flash_calls.hangup(
            from_=args.from_, to=args.to, result=args.result, received_cli=args.received_cli
        )
    # Bird answers {result, receivedCli}, {from, to} or both: what it left out was as sent.
    answered = ended.to_dict()
    result = answered.get("result", f"{args.result} (as sent)")
    lines = [f"ended the flash call from {args.from_} to {args.to}", f"  result: {result}"]
    lines += received_cli_line(answered)
    print_result(args, answered, lines)
    return EXIT_OK


def verify(args: argparse.Namespace) -> int:
    with _client(args) as flash_calls:
        outcome = flash_calls.verify(
            args.call_id, args.received_cli, expected_cli=args.expected_cli
        )
    print_verification(args, outcome)
    return EXIT_OK if outcome.verified else EXIT_NOT_VERIFIED


def verify_code(args: argparse.Namespace) -> int:
    with _client(args) as flash_calls:
        outcome = flash_calls.verify_code(
            args.call_id, args.code, digits=args.digits, expected_cli=args.expected_cli
        )
    print_verification(args, outcome)
    return EXIT_OK if outcome.verified else EXIT_NOT_VERIFIED


def demo(args: argparse.Namespace) -> int:
    from .._demo import run_demo
    from ..testing import FakeBird
    from ..verification._demo import run_verification_demo

    timeout, max_retries = option(args, "timeout"), option(args, "max_retries")
    calls = run_demo(
        FakeBird(),
        sys.stdout,
        timeout=constants.DEFAULT_TIMEOUT if timeout is None else timeout,
        max_retries=constants.DEFAULT_MAX_RETRIES if max_retries is None else max_retries,
    )
    if calls != EXIT_OK:
        return calls
    print("\nThe same, as verification sessions: attempts, expiry and one report per challenge.")
    return run_verification_demo(FakeBird(), sys.stdout)
