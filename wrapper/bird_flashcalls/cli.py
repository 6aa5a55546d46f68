"""The ``bird-flashcalls`` command: flash calls from a shell, FakeBird on loopback, a demo.

    bird-flashcalls create --to +31612345678 [--from NUMBER] [--ring-timeout SECONDS]
    bird-flashcalls end CALL_ID --result verified [--received-cli NUMBER]
    bird-flashcalls hangup --from NUMBER --to NUMBER --result canceled [--received-cli NUMBER]
    bird-flashcalls verify CALL_ID --expected-cli NUMBER --received-cli NUMBER
    bird-flashcalls verify-code CALL_ID --expected-cli NUMBER --code DIGITS
    bird-flashcalls serve [--host 127.0.0.1] [--port 4010]
    bird-flashcalls demo

Settings come from BIRD_ACCESS_KEY, BIRD_WORKSPACE_ID, BIRD_CHANNEL_ID and BIRD_BASE_URL, or the
--workspace-id, --channel-id and --base-url options. The access key is read only from the
environment or --access-key-file: a command-line value would land in shell history and ps.

Exit status: 0 success, 1 API or network error, 2 usage or invalid input.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shlex
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from types import FrameType
from typing import TYPE_CHECKING, Any, NoReturn, TextIO, TypeVar

from . import _constants as constants
from ._client import FlashCalls
from ._verify import Verification
from ._version import __version__
from .errors import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    BirdError,
    ConfigurationError,
    InvalidRequestError,
)

if TYPE_CHECKING:
    from bird_channels_api.models.flash_call import FlashCall

    from .testing import FakeBird

EXIT_OK = 0
EXIT_API_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

PROG = "bird-flashcalls"
RESULTS = ("verified", "wrong_cli", "timeout", "canceled", "unknown")
DEFAULT_SERVE_PORT = 4010

Handler = Callable[[argparse.Namespace], int]
Answer = TypeVar("Answer")


class _RefuseAccessKeyFlag(argparse.Action):
    """``--access-key VALUE``: refused without echoing the value (argparse would print it)."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> NoReturn:
        parser.error(
            "the access key is never taken from the command line (it would show in shell "
            f"history and ps): set {constants.ENV_ACCESS_KEY} or use --access-key-file PATH"
        )


def _common_options(*, suppress: bool) -> argparse.ArgumentParser:
    # Defined on the main parser and on every subcommand, so they work before or after it;
    # SUPPRESS keeps a subcommand from overwriting a value given before it.
    default: Any = argparse.SUPPRESS if suppress else None
    options = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    group = options.add_argument_group("connection (defaults from the environment)")
    group.add_argument(
        "--base-url",
        default=default,
        help=f"API base URL ({constants.ENV_BASE_URL}, default {constants.DEFAULT_BASE_URL})",
    )
    group.add_argument(
        "--workspace-id", default=default, help=f"workspace UUID ({constants.ENV_WORKSPACE_ID})"
    )
    group.add_argument(
        "--channel-id", default=default, help=f"channel UUID ({constants.ENV_CHANNEL_ID})"
    )
    group.add_argument(
        "--access-key-file",
        metavar="PATH",
        default=default,
        help=f"read the access key from this file (default: {constants.ENV_ACCESS_KEY})",
    )
    group.add_argument(
        "--access-key", nargs="?", action=_RefuseAccessKeyFlag, help=argparse.SUPPRESS
    )
    group.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        default=default,
        help=f"bound of one attempt (default {constants.DEFAULT_TIMEOUT:g})",
    )
    group.add_argument(
        "--max-retries",
        type=int,
        metavar="N",
        default=default,
        help=f"retries after a retryable failure (default {constants.DEFAULT_MAX_RETRIES})",
    )
    group.add_argument(
        "--json",
        action="store_true",
        default=default if suppress else False,
        help="print one JSON object on stdout (errors as JSON on stderr)",
    )
    return options


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Create, end and verify Bird flash calls; run FakeBird locally.",
        epilog="Exit status: 0 success, 1 API or network error, 2 usage or invalid input.",
        parents=[_common_options(suppress=False)],
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    common = _common_options(suppress=True)

    def command(name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(
            name, help=help_text, description=help_text, parents=[common], allow_abbrev=False
        )
        sub.set_defaults(handler=handler)
        return sub

    create = command("create", _create, "ring a number with a flash call")
    create.add_argument("--to", required=True, metavar="NUMBER", help="E.164 number to ring")
    create.add_argument(
        "--from", dest="from_", metavar="NUMBER", help="caller number (default: Bird picks one)"
    )
    create.add_argument(
        "--ring-timeout", type=int, metavar="SECONDS", help="3 to 120 (Bird's default 30)"
    )

    end = command("end", _end, "report the result of a flash call, by id")
    end.add_argument("call_id", metavar="CALL_ID")
    end.add_argument("--result", required=True, choices=RESULTS)
    end.add_argument("--received-cli", metavar="NUMBER", help="the number the handset saw")

    hangup = command("hangup", _hangup, "report the result of a flash call, by its numbers")
    hangup.add_argument("--from", dest="from_", required=True, metavar="NUMBER")
    hangup.add_argument("--to", required=True, metavar="NUMBER")
    hangup.add_argument("--result", required=True, choices=RESULTS)
    hangup.add_argument("--received-cli", metavar="NUMBER")

    verify = command(
        "verify", _verify, "compare the number the handset saw with the call's; report it"
    )
    verify.add_argument("call_id", metavar="CALL_ID")
    verify.add_argument("--expected-cli", required=True, metavar="NUMBER", help="the call's from")
    verify.add_argument("--received-cli", required=True, metavar="NUMBER")

    verify_code = command(
        "verify-code", _verify_code, "compare the digits the user typed with the call's; report it"
    )
    verify_code.add_argument("call_id", metavar="CALL_ID")
    verify_code.add_argument("--expected-cli", required=True, metavar="NUMBER")
    verify_code.add_argument("--code", required=True, help="the last digits the user typed")
    verify_code.add_argument("--digits", type=int, help="how many digits to expect")

    serve = command("serve", _serve, "run FakeBird on loopback until Ctrl-C; print export lines")
    serve.add_argument("--host", default="127.0.0.1", help="a loopback address")
    serve.add_argument("--port", type=int, default=DEFAULT_SERVE_PORT, help="0 picks a free one")

    command("demo", _demo, "a complete verification story against FakeBird on loopback")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except (ConfigurationError, InvalidRequestError) as error:
        _report_error(error, args)
        return EXIT_USAGE
    except BirdError as error:
        _report_error(error, args)
        return EXIT_API_ERROR
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


# The API commands.


def _client(args: argparse.Namespace) -> FlashCalls:
    options: dict[str, Any] = {}
    if _option(args, "timeout") is not None:
        options["timeout"] = args.timeout
    if _option(args, "max_retries") is not None:
        options["max_retries"] = args.max_retries
    key_file = _option(args, "access_key_file")
    return FlashCalls(
        access_key=None if key_file is None else _read_access_key(key_file),
        workspace_id=_option(args, "workspace_id"),
        channel_id=_option(args, "channel_id"),
        base_url=_option(args, "base_url"),
        **options,
    )


def _option(args: argparse.Namespace, name: str) -> Any:
    return getattr(args, name, None)


def _read_access_key(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as file:
            return file.read().strip()
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        raise ConfigurationError(f"cannot read the access key file {path!r}: {reason}") from None


def _create(args: argparse.Namespace) -> int:
    with _client(args) as flash_calls:
        call = flash_calls.create(args.to, from_=args.from_, ring_timeout=args.ring_timeout)
    _print_result(args, call.to_dict(), _describe_call(call))
    return EXIT_OK


def _end(args: argparse.Namespace) -> int:
    with _client(args) as flash_calls:
        ended = flash_calls.end(args.call_id, result=args.result, received_cli=args.received_cli)
    lines = [f"ended flash call {args.call_id}", f"  result: {ended.result}"]
    lines += _received_cli_line(ended.to_dict())
    _print_result(args, ended.to_dict(), lines)
    return EXIT_OK


def _hangup(args: argparse.Namespace) -> int:
    with _client(args) as flash_calls:
        ended = flash_calls.hangup(
            from_=args.from_, to=args.to, result=args.result, received_cli=args.received_cli
        )
    lines = [f"ended the flash call from {ended.from_} to {ended.to}", f"  result: {ended.result}"]
    lines += _received_cli_line(ended.to_dict())
    _print_result(args, ended.to_dict(), lines)
    return EXIT_OK


def _verify(args: argparse.Namespace) -> int:
    with _client(args) as flash_calls:
        outcome = flash_calls.verify(
            args.call_id, args.received_cli, expected_cli=args.expected_cli
        )
    _print_verification(args, outcome)
    return EXIT_OK


def _verify_code(args: argparse.Namespace) -> int:
    with _client(args) as flash_calls:
        outcome = flash_calls.verify_code(
            args.call_id, args.code, digits=args.digits, expected_cli=args.expected_cli
        )
    _print_verification(args, outcome)
    return EXIT_OK


# Output.


def _print_result(args: argparse.Namespace, data: dict[str, Any], lines: list[str]) -> None:
    if _option(args, "json"):
        print(json.dumps(data, default=str))
    else:
        print("\n".join(lines))


def _describe_call(call: FlashCall) -> list[str]:
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


def _received_cli_line(data: dict[str, Any]) -> list[str]:
    return [f"  received CLI: {data['receivedCli']}"] if "receivedCli" in data else []


def _print_verification(args: argparse.Namespace, outcome: Verification) -> None:
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
    _print_result(args, data, lines)


def _report_error(error: BirdError, args: argparse.Namespace) -> None:
    fields: dict[str, Any] = {"type": type(error).__name__, "message": str(error)}
    if isinstance(error, APIStatusError | APIResponseValidationError):
        fields["status"] = error.status_code
    if isinstance(error, APIStatusError):
        fields["code"] = error.code
        fields["details"] = error.details
    if isinstance(error, APIStatusError | APIResponseValidationError):
        fields["requestId"] = error.request_id
    if isinstance(error, APIConnectionError):
        fields["mayHaveBeenDelivered"] = error.may_have_been_delivered
    if isinstance(error, InvalidRequestError) and error.field:
        fields["field"] = error.field
    if _option(args, "json"):
        print(json.dumps({"error": fields}), file=sys.stderr)
        return
    lines = [f"{PROG}: error: {error}"]
    labels = {
        "status": "status",
        "code": "code",
        "requestId": "request id",
        "field": "field",
    }
    lines += [f"  {label}: {fields[key]}" for key, label in labels.items() if fields.get(key)]
    for name, problems in (fields.get("details") or {}).items():
        lines.append(f"  details: {name}: {'; '.join(problems)}")
    if fields.get("mayHaveBeenDelivered"):
        lines.append("  the request may have reached Bird (for create: the phone may have rung)")
    print("\n".join(lines), file=sys.stderr)


# FakeBird on loopback.


def _serve(args: argparse.Namespace) -> int:
    from .testing import FakeBird, FakeResponse

    class LoggingFakeBird(FakeBird):
        """Shows each request on stderr, so the serving shell sees the traffic."""

        def respond(
            self, method: str, path: str, headers: Mapping[str, str], body: bytes
        ) -> FakeResponse:
            reply = super().respond(method, path, headers, body)
            print(f"{method} {path} -> {reply.status}", file=sys.stderr, flush=True)
            return reply

    try:
        fake = LoggingFakeBird(
            workspace_id=_option(args, "workspace_id"), channel_id=_option(args, "channel_id")
        )
    except ValueError as error:
        raise ConfigurationError(str(error)) from None
    stop = threading.Event()
    try:
        with _stop_on_signals(stop), fake.serve(host=args.host, port=args.port) as base_url:
            _print_exports(args, fake, base_url)
            print(f"FakeBird is listening on {base_url}; Ctrl-C to stop", file=sys.stderr)
            sys.stderr.flush()
            stop.wait()
    except ValueError as error:  # not a loopback host
        raise ConfigurationError(str(error)) from None
    except OSError as error:
        print(f"{PROG}: error: cannot listen on {args.host}:{args.port}: {error}", file=sys.stderr)
        return EXIT_API_ERROR
    print("FakeBird stopped", file=sys.stderr)
    return EXIT_OK


def _print_exports(args: argparse.Namespace, fake: FakeBird, base_url: str) -> None:
    settings = {
        constants.ENV_BASE_URL: base_url,
        constants.ENV_WORKSPACE_ID: fake.workspace_id,
        constants.ENV_CHANNEL_ID: fake.channel_id,
        constants.ENV_ACCESS_KEY: fake.access_key,
    }
    if _option(args, "json"):
        print(json.dumps(settings), flush=True)
    else:
        lines = [f"export {name}={shlex.quote(value)}" for name, value in settings.items()]
        print("\n".join(lines), flush=True)


@contextlib.contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """Sets ``stop`` on SIGINT and SIGTERM while active, then restores the previous handlers."""

    def handle(number: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {number: signal.signal(number, handle) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


# The demo.


class _DemoFailed(Exception):
    """A step of the demo did not do what it should; the message says what happened."""


def _demo(args: argparse.Namespace) -> int:
    from .testing import FakeBird

    return run_demo(FakeBird(), sys.stdout)


def run_demo(fake: FakeBird, out: TextIO) -> int:
    """A flash-call verification story against ``fake`` served on loopback, through the public
    API over real HTTP; every result is checked against what the fake recorded. 0 or 1."""
    story = _Story(fake, out)
    try:
        with fake.serve() as base_url:
            print(
                f"FakeBird on {base_url} (workspace {fake.workspace_id}, channel "
                f"{fake.channel_id})",
                file=out,
            )
            with FlashCalls(
                access_key=fake.access_key,
                workspace_id=fake.workspace_id,
                channel_id=fake.channel_id,
                base_url=base_url,
            ) as flash_calls:
                story.tell(flash_calls)
    except _DemoFailed as failure:
        print(f"demo FAILED at step {story.number} ({story.action}): {failure}", file=out)
        return EXIT_API_ERROR
    print(
        f"demo passed: {story.number} steps, {len(fake.calls)} flash calls, every result "
        "recorded by Bird",
        file=out,
    )
    return EXIT_OK


class _Story:
    def __init__(self, fake: FakeBird, out: TextIO) -> None:
        self.fake = fake
        self.out = out
        self.number = 0
        self.action = "start"
        self.call_id: object = "-"

    def tell(self, flash_calls: FlashCalls) -> None:
        # 1. Bird picks the caller number; the handset reports exactly that number.
        call = self.create(flash_calls, "+31612345678", None)
        seen = self.handset(call, tamper=False)
        self.verify(flash_calls, call, seen, expected="verified")

        # 2. The handset reports a different number (a spoofed or unrelated call).
        call = self.create(flash_calls, "+31687654321", None)
        seen = self.handset(call, tamper=True)
        self.verify(flash_calls, call, seen, expected="wrong_cli")

        # 3. Our own caller number; the user gives up and the call is ended by its numbers.
        call = self.create(flash_calls, "+31611112222", "+3197010269999")
        self.step("hangup", call.id)
        ended = self._call(
            lambda: flash_calls.hangup(from_=call.from_, to=call.to, result="canceled")
        )
        self.check(str(ended.result) == "canceled", f"Bird answered result {ended.result}")
        self.recorded(call, "canceled", f"from {call.from_} to {call.to} result canceled")

        # 4. No call-log access: the user types the last 4 digits of the missed call's number.
        call = self.create(flash_calls, "+31633334444", None)
        code = self.fake.handset_cli(call.id)[-4:]
        self.step("code", call.id)
        outcome = self._call(lambda: flash_calls.verify_code(call, code))
        self.check(outcome.verified, f"the typed code {code} was not accepted")
        self.recorded(call, "verified", f"the user types {code}, result {outcome.result}")

    def step(self, action: str, call_id: object) -> None:
        self.number += 1
        self.action = action
        self.call_id = call_id

    def line(self, text: str) -> None:
        print(f"{self.number:>2}. {self.action:<8} call {self.call_id}  {text}", file=self.out)

    def check(self, condition: bool, problem: str) -> None:
        if not condition:
            raise _DemoFailed(problem)

    def _call(self, operation: Callable[[], Answer]) -> Answer:
        try:
            return operation()
        except BirdError as error:
            raise _DemoFailed(f"{type(error).__name__}: {error}") from None

    def create(self, flash_calls: FlashCalls, to: str, from_: str | None) -> FlashCall:
        self.step("create", "-")
        call = self._call(lambda: flash_calls.create(to, from_=from_))
        self.call_id = call.id
        self.check(str(call.status) == "accepted", f"status {call.status}, expected accepted")
        record = self._record(call)
        self.check(record["from"] == call.from_, "Bird recorded another caller number")
        if from_ is None:
            picked = call.from_ in self.fake.caller_numbers
            self.check(picked, f"Bird's caller number {call.from_} is not one of its own")
        who = "picked by Bird" if from_ is None else "ours"
        self.line(f"status {call.status}, to {call.to}, from {call.from_} ({who})")
        return call

    def handset(self, call: FlashCall, *, tamper: bool) -> str:
        self.step("handset", call.id)
        seen = self.fake.handset_cli(call.id)
        if tamper:
            seen = seen[:-1] + ("1" if seen[-1] != "1" else "2")
            self.line(f"the phone reports {seen}, not the number Bird called from")
        else:
            self.line(f"the phone shows a missed call from {seen}")
        return seen

    def verify(self, flash_calls: FlashCalls, call: FlashCall, seen: str, expected: str) -> None:
        self.step("verify", call.id)
        outcome = self._call(lambda: flash_calls.verify(call, seen))
        self.check(str(outcome.result) == expected, f"result {outcome.result}, expected {expected}")
        self.recorded(call, expected, f"result {outcome.result}")

    def recorded(self, call: FlashCall, expected: str, text: str) -> None:
        result = self._record(call).get("result")
        self.check(result == expected, f"Bird recorded result {result!r}, expected {expected!r}")
        self.line(f"{text} (Bird recorded {result})")

    def _record(self, call: FlashCall) -> dict[str, Any]:
        calls = self.fake.calls
        self.check(call.id in calls, f"Bird has no record of call {call.id}")
        return calls[call.id]
