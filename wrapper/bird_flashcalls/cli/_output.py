"""What the command prints: results as text or one JSON object, export lines, log lines."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import shlex
import sys
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .._generated.models.flash_call import FlashCall
    from .._verify import Verification

PROG = "bird-flashcalls"


def option(args: argparse.Namespace, name: str) -> Any:
    """An option's value, or None where the command does not define it or it was not given."""
    return getattr(args, name, None)


def print_result(args: argparse.Namespace, data: Mapping[str, Any], lines: list[str]) -> None:
    if option(args, "json"):
        print(json.dumps(data, default=str))
    else:
        print("\n".join(lines))


def describe_call(call: FlashCall) -> list[str]:
    data = call.to_dict()
    lines = [
        f"flash call {call.id}",
        f"  to:           {call.to}",
        f"  from:         {call.from_}",
        f"  status:       {call.status}",
    ]
    if "ringTimeout" in data:
        lines.append(f"  ring timeout: {data['ringTimeout']} s")
    lines.append(f"  created at:   {data['createdAt']}")
    return lines


def received_cli_line(data: Mapping[str, Any]) -> list[str]:
    return [f"  received CLI: {data['receivedCli']}"] if "receivedCli" in data else []


def print_verification(args: argparse.Namespace, outcome: Verification) -> None:
    data = {
        "callId": str(outcome.call_id),
        "verified": outcome.verified,
        "result": str(outcome.result),
        "expectedCli": outcome.expected_cli,
        "receivedCli": outcome.received_cli,
    }
    verdict = "verified" if outcome.verified else "NOT verified"
    lines = [
        f"{verdict}: flash call {outcome.call_id}",
        f"  expected CLI: {outcome.expected_cli}",
        f"  received:     {outcome.received_cli}",
        f"  reported to Bird: {outcome.result}",
    ]
    print_result(args, data, lines)


def print_settings(args: argparse.Namespace, settings: Mapping[str, str]) -> None:
    """Settings for another shell: export lines, or one JSON object with --json."""
    if option(args, "json"):
        print(json.dumps(settings), flush=True)
    else:
        lines = [f"export {name}={shlex.quote(value)}" for name, value in settings.items()]
        print("\n".join(lines), flush=True)


@contextlib.contextmanager
def connection_log(quiet: bool) -> Iterator[None]:
    """FakeBird's connection notes (a client that reset its connection...) as lines on stderr."""
    logger = logging.getLogger("bird_flashcalls.testing")
    if quiet:
        yield
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    previous_level, previous_propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous_level)
        logger.propagate = previous_propagate
