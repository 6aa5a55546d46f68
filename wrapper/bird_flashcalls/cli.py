"""The ``bird-flashcalls`` command: flash calls from a shell, FakeBird on loopback, a demo.

    bird-flashcalls create --to +31612345678 [--from NUMBER] [--ring-timeout SECONDS]
    bird-flashcalls end CALL_ID --result verified [--received-cli NUMBER]
    bird-flashcalls hangup --from NUMBER --to NUMBER --result canceled [--received-cli NUMBER]
    bird-flashcalls verify CALL_ID --expected-cli NUMBER --received-cli NUMBER
    bird-flashcalls verify-code CALL_ID --expected-cli NUMBER --code DIGITS [--digits N]
    bird-flashcalls serve [--host 127.0.0.1] [--port 2473] [--background]
    bird-flashcalls demo

The API commands take their settings from BIRD_ACCESS_KEY, BIRD_WORKSPACE_ID, BIRD_CHANNEL_ID and
BIRD_BASE_URL, or the --workspace-id, --channel-id and --base-url options. The access key is read
only from the environment or --access-key-file: a command-line value would land in shell history
and ps. ``serve`` reads no environment variable, so a fake never picks up real settings.

Exit status: 0 success, 1 API or network error, 2 usage or invalid input, 3 the number was not
verified (verify, verify-code), 130 interrupted.

This module only reads arguments and prints; the demo story lives in ``_demo``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from . import _constants as constants
from ._client import FlashCalls
from ._rules import MAX_RING_TIMEOUT, MIN_RING_TIMEOUT, RESULTS, canonical_uuid
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
    from ._generated.models.flash_call import FlashCall
    from .testing import FakeBird

EXIT_OK = 0
EXIT_API_ERROR = 1
EXIT_USAGE = 2
EXIT_NOT_VERIFIED = 3
EXIT_INTERRUPTED = 130

PROG = "bird-flashcalls"
EXIT_STATUS_HELP = (
    "Exit status: 0 success, 1 API or network error, 2 usage or invalid input, 3 not verified "
    "(verify, verify-code)."
)
# "BIRD" on a phone keypad; clear of Prism's 4010, so the fake and a Prism mock can run together.
DEFAULT_SERVE_PORT = 2473
# The variable the export lines of `serve --background` give the server's process id in.
ENV_FAKEBIRD_PID = "FAKEBIRD_PID"
UUID_EXAMPLE = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
_MAX_PORT = 65535
_MAX_DIGITS = 15

Handler = Callable[[argparse.Namespace], int]

# Options of the API client, and the commands that run without one.
_CLIENT_OPTIONS = {"base_url": "--base-url", "timeout": "--timeout", "max_retries": "--max-retries"}
_SETTING_OPTIONS = {
    "workspace_id": "--workspace-id",
    "channel_id": "--channel-id",
    "access_key_file": "--access-key-file",
}


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line (argparse prints the whole usage first), exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


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


# Argument types: each refuses a value with a message argparse prefixes with the flag's name.


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and 0 < value <= constants.MAX_TIMEOUT):
        raise argparse.ArgumentTypeError(
            f"must be a number of seconds above 0 and at most {constants.MAX_TIMEOUT:g}, "
            f"got {text!r}"
        )
    return value


def _whole_number(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        stripped = text.strip()
        digits = stripped.removeprefix("-")
        if not (digits.isascii() and digits.isdigit() and len(digits) <= 9):
            value = None
        else:
            value = int(stripped)
        if value is None or not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"must be a whole number from {low} to {high}, got {text!r}"
            )
        return value

    return parse


def _common_options(*, suppress: bool) -> _Parser:
    # Defined on the main parser and on every API subcommand, so they work before or after it;
    # SUPPRESS keeps a subcommand from overwriting a value given before it.
    default: Any = argparse.SUPPRESS if suppress else None
    options = _Parser(add_help=False, allow_abbrev=False)
    group = options.add_argument_group("connection (defaults from the environment)")
    group.add_argument(
        "--base-url",
        default=default,
        help=f"API base URL ({constants.ENV_BASE_URL}, default {constants.DEFAULT_BASE_URL})",
    )
    _id_options(group, default, environment=True)
    _key_file_option(group, default, help_text=f"default: {constants.ENV_ACCESS_KEY}")
    group.add_argument(
        "--timeout",
        type=_seconds,
        metavar="SECONDS",
        default=default,
        help=f"bound of one attempt (default {constants.DEFAULT_TIMEOUT:g})",
    )
    group.add_argument(
        "--max-retries",
        type=_whole_number(0, constants.MAX_RETRIES_LIMIT),
        metavar="N",
        default=default,
        help=f"retries after a retryable failure, 0 to {constants.MAX_RETRIES_LIMIT} "
        f"(default {constants.DEFAULT_MAX_RETRIES})",
    )
    _json_option(group, default if suppress else False, "print one JSON object on stdout")
    return options


def _id_options(group: Any, default: Any, *, environment: bool) -> None:
    for flag, what, variable in (
        ("--workspace-id", "workspace", constants.ENV_WORKSPACE_ID),
        ("--channel-id", "channel", constants.ENV_CHANNEL_ID),
    ):
        source = f"{variable}" if environment else "default: a random one"
        group.add_argument(flag, metavar="UUID", default=default, help=f"{what} UUID ({source})")


def _key_file_option(group: Any, default: Any, *, help_text: str) -> None:
    group.add_argument(
        "--access-key-file",
        metavar="PATH",
        default=default,
        help=f"read the access key from this file ({help_text})",
    )
    group.add_argument(
        "--access-key", nargs="?", action=_RefuseAccessKeyFlag, help=argparse.SUPPRESS
    )


def _json_option(group: Any, default: Any, help_text: str) -> None:
    group.add_argument("--json", action="store_true", default=default, help=help_text)


def _serve_options() -> _Parser:
    options = _Parser(add_help=False, allow_abbrev=False)
    group = options.add_argument_group(
        "FakeBird (no environment variable is read: a fake never picks up real settings)"
    )
    group.add_argument("--host", default="127.0.0.1", help="a loopback address (127.0.0.1)")
    group.add_argument(
        "--port",
        type=_whole_number(0, _MAX_PORT),
        default=DEFAULT_SERVE_PORT,
        help=f"0 picks a free one (default {DEFAULT_SERVE_PORT})",
    )
    _id_options(group, argparse.SUPPRESS, environment=False)
    _key_file_option(group, argparse.SUPPRESS, help_text="not printed; default: a random key")
    _json_option(group, argparse.SUPPRESS, "print the settings as one JSON object")
    group.add_argument(
        "--background",
        action="store_true",
        help=f"start FakeBird in the background, print the export lines (with {ENV_FAKEBIRD_PID})"
        f' and return: eval "$({PROG} serve --background)"',
    )
    # Set for the background process: it prints nothing once its settings are out.
    group.add_argument("--quiet", action="store_true", help=argparse.SUPPRESS)
    return options


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Create, end and verify Bird flash calls; run FakeBird locally.",
        epilog=EXIT_STATUS_HELP,
        parents=[_common_options(suppress=False)],
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    common = _common_options(suppress=True)

    def command(
        name: str, handler: Handler, help_text: str, *, parents: Sequence[_Parser]
    ) -> _Parser:
        sub = commands.add_parser(
            name,
            help=help_text,
            description=help_text,
            epilog=EXIT_STATUS_HELP,
            parents=parents,
            allow_abbrev=False,
        )
        sub.set_defaults(handler=handler)
        return sub

    api = [common]
    create = command("create", _create, "ring a number with a flash call", parents=api)
    create.add_argument("--to", required=True, metavar="NUMBER", help="E.164 number to ring")
    create.add_argument(
        "--from", dest="from_", metavar="NUMBER", help="caller number (default: Bird picks one)"
    )
    create.add_argument(
        "--ring-timeout",
        type=_whole_number(MIN_RING_TIMEOUT, MAX_RING_TIMEOUT),
        metavar="SECONDS",
        help=f"{MIN_RING_TIMEOUT} to {MAX_RING_TIMEOUT} (Bird's default 30)",
    )

    end = command("end", _end, "report the result of a flash call, by id", parents=api)
    end.add_argument("call_id", metavar="CALL_ID")
    end.add_argument("--result", required=True, choices=RESULTS)
    end.add_argument("--received-cli", metavar="NUMBER", help="the number the handset saw")

    hangup = command(
        "hangup", _hangup, "report the result of a flash call, by its numbers", parents=api
    )
    hangup.add_argument("--from", dest="from_", required=True, metavar="NUMBER")
    hangup.add_argument("--to", required=True, metavar="NUMBER")
    hangup.add_argument("--result", required=True, choices=RESULTS)
    hangup.add_argument("--received-cli", metavar="NUMBER")

    verify = command(
        "verify",
        _verify,
        "compare the number the handset saw with the call's; report it (exit 3 if not verified)",
        parents=api,
    )
    verify.add_argument("call_id", metavar="CALL_ID")
    verify.add_argument("--expected-cli", required=True, metavar="NUMBER", help="the call's from")
    verify.add_argument("--received-cli", required=True, metavar="NUMBER")

    verify_code = command(
        "verify-code",
        _verify_code,
        "compare the digits the user typed with the call's; report it (exit 3 if not verified)",
        parents=api,
    )
    verify_code.add_argument("call_id", metavar="CALL_ID")
    verify_code.add_argument("--expected-cli", required=True, metavar="NUMBER")
    verify_code.add_argument("--code", required=True, help="the last digits the user typed")
    verify_code.add_argument(
        "--digits",
        type=_whole_number(1, _MAX_DIGITS),
        metavar="N",
        help="how many digits to expect (default: as many as typed, at least 4)",
    )

    serve = command(
        "serve",
        _serve,
        "run FakeBird on loopback until Ctrl-C (or in the background); print export lines",
        parents=[_serve_options()],
    )
    _refused_options(serve, _CLIENT_OPTIONS.values())
    demo = command(
        "demo",
        _demo,
        "a complete verification story against FakeBird on loopback",
        parents=[],
    )
    _refused_options(demo, [*_SETTING_OPTIONS.values(), "--base-url", "--json"])
    demo_options = demo.add_argument_group("the demo's client")
    demo_options.add_argument(
        "--timeout", type=_seconds, metavar="SECONDS", default=argparse.SUPPRESS
    )
    demo_options.add_argument(
        "--max-retries",
        type=_whole_number(0, constants.MAX_RETRIES_LIMIT),
        metavar="N",
        default=argparse.SUPPRESS,
    )
    return parser


def _refused_options(parser: argparse.ArgumentParser, flags: Iterable[str]) -> None:
    # Accepted by the parser only to be refused with a reason (see below), not "unrecognized".
    for flag in flags:
        if flag == "--json":
            parser.add_argument(
                flag, action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS
            )
        else:
            parser.add_argument(flag, default=argparse.SUPPRESS, help=argparse.SUPPRESS)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        _refuse_options_the_command_ignores(parser, args)
    except SystemExit as exit_request:  # --help, --version and usage errors
        code = exit_request.code
        return code if isinstance(code, int) else EXIT_USAGE
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


def _refuse_options_the_command_ignores(
    parser: argparse.ArgumentParser, args: argparse.Namespace
) -> None:
    # Given before the command, an option reaches every command; one that does not apply is
    # refused rather than silently ignored.
    ignored: dict[str, str] = {}
    if args.command == "serve":
        ignored = _CLIENT_OPTIONS
    elif args.command == "demo":
        ignored = {**_SETTING_OPTIONS, "base_url": "--base-url", "json": "--json"}
    for name, flag in ignored.items():
        if _option(args, name):
            if args.command == "serve":
                reason = "it is an option of the API commands, which serve is not"
            elif flag == "--json":
                reason = "its story is for people to read; the API commands print JSON"
            else:
                reason = "it runs its own FakeBird; against another server, use the API commands"
            parser.error(f"{args.command} does not take {flag}: {reason}")


# The API commands.


def _option(args: argparse.Namespace, name: str) -> Any:
    return getattr(args, name, None)


def _client(args: argparse.Namespace) -> FlashCalls:
    """A client from the options and the environment, each problem named as the CLI calls it."""
    env = os.environ
    key, key_source = _access_key(args, env)
    ids = {}
    missing = [] if key else [f"the access key ({key_source})"]
    for name, flag, variable in (
        ("workspace_id", "--workspace-id", constants.ENV_WORKSPACE_ID),
        ("channel_id", "--channel-id", constants.ENV_CHANNEL_ID),
    ):
        value = _option(args, name) or env.get(variable) or None
        source = flag if _option(args, name) else variable
        if value is None:
            missing.append(f"the {name.split('_')[0]} id ({flag} or {variable})")
        elif canonical_uuid(value) is None:
            # Not shown: a swapped setting could hold the access key.
            raise ConfigurationError(
                f"{source} must be a UUID such as {UUID_EXAMPLE}, got {len(value)} characters "
                "that are not one"
            )
        ids[name] = value
    if missing:
        raise ConfigurationError(
            "missing "
            + ", ".join(missing)
            + ": the access key comes from the Bird dashboard, the ids from the flash-call "
            "channel's settings"
        )
    options: dict[str, Any] = {}
    if _option(args, "timeout") is not None:
        options["timeout"] = args.timeout
    if _option(args, "max_retries") is not None:
        options["max_retries"] = args.max_retries
    return FlashCalls(
        access_key=key,
        workspace_id=ids["workspace_id"],
        channel_id=ids["channel_id"],
        base_url=_option(args, "base_url"),
        **options,
    )


def _access_key(args: argparse.Namespace, env: Mapping[str, str]) -> tuple[str | None, str]:
    """The key and where it came from (for messages), or None and where to put one."""
    path = _option(args, "access_key_file")
    key: str | None
    if path is not None:
        key = _read_access_key(path)
        source = f"the access key file {path}"
    else:
        key = env.get(constants.ENV_ACCESS_KEY) or None
        source = constants.ENV_ACCESS_KEY
        if key is None:
            return None, f"set {constants.ENV_ACCESS_KEY} or use --access-key-file PATH"
    if any(character.isspace() or not character.isprintable() for character in key) or (
        not key.isascii()
    ):
        raise ConfigurationError(
            f"{source} holds spaces, control or non-ASCII characters: copy the key from the "
            "Bird dashboard again (without the 'AccessKey ' prefix)"
        )
    return key, source


def _read_access_key(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as file:
            key = file.read().strip()
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        raise ConfigurationError(f"cannot read the access key file {path}: {reason}") from None
    if not key:
        raise ConfigurationError(
            f"the access key file {path} is empty: put the key from the Bird dashboard in it"
        )
    return key


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
    # Bird answers {result, receivedCli}, {from, to} or both: what it left out was as sent.
    answered = ended.to_dict()
    result = answered.get("result", f"{args.result} (as sent)")
    lines = [f"ended the flash call from {args.from_} to {args.to}", f"  result: {result}"]
    lines += _received_cli_line(answered)
    _print_result(args, answered, lines)
    return EXIT_OK


def _verify(args: argparse.Namespace) -> int:
    with _client(args) as flash_calls:
        outcome = flash_calls.verify(
            args.call_id, args.received_cli, expected_cli=args.expected_cli
        )
    return _print_verification(args, outcome)


def _verify_code(args: argparse.Namespace) -> int:
    with _client(args) as flash_calls:
        outcome = flash_calls.verify_code(
            args.call_id, args.code, digits=args.digits, expected_cli=args.expected_cli
        )
    return _print_verification(args, outcome)


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


def _print_verification(args: argparse.Namespace, outcome: Verification) -> int:
    """Prints the outcome; EXIT_OK when verified, EXIT_NOT_VERIFIED otherwise."""
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
    return EXIT_OK if outcome.verified else EXIT_NOT_VERIFIED


# The client's argument names, as this command line spells them.
_FLAG_NAMES = {
    "access_key": "the access key",
    "workspace_id": "--workspace-id",
    "channel_id": "--channel-id",
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
}


def _flag_names(args: argparse.Namespace) -> dict[str, str]:
    base_url = "--base-url" if _option(args, "base_url") else constants.ENV_BASE_URL
    return {**_FLAG_NAMES, "base_url": base_url}


def _in_flag_language(message: str, names: Mapping[str, str]) -> str:
    """``to='061'`` -> ``--to '061'``, ``pass digits=`` -> ``pass --digits``, a leading
    ``ring_timeout`` -> ``--ring-timeout``: the client's words for its arguments, as flags."""
    pattern = "|".join(re.escape(name) for name in sorted(names, key=len, reverse=True))

    def as_flag(match: re.Match[str]) -> str:
        return names[match[1]] + (" " if match[2] else "")

    message = re.sub(rf"(?<![\w-])({pattern})=(?=(\S)?)", as_flag, message)
    return re.sub(rf"^({pattern})(?= )", lambda match: names[match[1]], message)


def _report_error(error: BirdError, args: argparse.Namespace) -> None:
    names = _flag_names(args)
    message = str(error)
    if isinstance(error, ConfigurationError | InvalidRequestError):
        message = _in_flag_language(message, names)
    fields: dict[str, Any] = {"type": type(error).__name__, "message": message}
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
        fields["field"] = names.get(error.field, error.field)
    if _option(args, "json"):
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


# FakeBird on loopback.


def _serve(args: argparse.Namespace) -> int:
    if args.background:
        return _serve_in_background(args)
    from .testing import FakeBird, FakeResponse

    quiet: bool = args.quiet

    class LoggingFakeBird(FakeBird):
        """Shows each request on stderr, so the serving shell sees the traffic."""

        def respond(
            self, method: str, path: str, headers: Mapping[str, str], body: bytes
        ) -> FakeResponse:
            reply = super().respond(method, path, headers, body)
            if not quiet:
                print(f"{method} {path} -> {reply.status}", file=sys.stderr, flush=True)
            return reply

    key_file = _option(args, "access_key_file")
    try:
        fake = LoggingFakeBird(
            workspace_id=_option(args, "workspace_id"),
            channel_id=_option(args, "channel_id"),
            access_key=None if key_file is None else _read_access_key(key_file),
        )
    except ValueError as error:
        raise ConfigurationError(_in_flag_language(str(error), _FLAG_NAMES)) from None
    try:
        with (
            _stop_signals_held() as wait_for_stop_signal,
            _connection_log(quiet),
            fake.serve(host=args.host, port=args.port) as base_url,
        ):
            _print_exports(args, fake, base_url, key_printed=key_file is None)
            if not quiet:
                print(f"FakeBird is listening on {base_url}; Ctrl-C to stop", file=sys.stderr)
                if key_file is not None:
                    print(f"its access key is the one in {key_file}", file=sys.stderr)
                sys.stderr.flush()
            with contextlib.suppress(KeyboardInterrupt):
                wait_for_stop_signal()
    except ValueError as error:  # not a loopback host
        raise ConfigurationError(str(error)) from None
    except OSError as error:
        print(f"{PROG}: error: cannot listen on {args.host}:{args.port}: {error}", file=sys.stderr)
        return EXIT_API_ERROR
    if not quiet:
        print("FakeBird stopped", file=sys.stderr)
    return EXIT_OK


def _this_package() -> tuple[str, str]:
    """This package's import name (``bird_flashcalls``, or e.g. ``acme._vendor.bird_flashcalls``
    when vendored) and the directory it is imported from."""
    package = __package__ or "bird_flashcalls"
    package_dir = os.path.dirname(os.path.abspath(__file__))
    for _ in package.split("."):
        package_dir = os.path.dirname(package_dir)
    return package, package_dir


def _serve_in_background(args: argparse.Namespace) -> int:
    """Starts ``serve`` as a process of its own, waits for its settings, prints them with its
    process id, and returns while it goes on serving."""
    package, import_root = _this_package()
    command = [sys.executable, "-m", package, "serve", "--json", "--quiet"]
    command += ["--host", args.host, "--port", str(args.port)]
    for name, flag in _SETTING_OPTIONS.items():
        if _option(args, name) is not None:
            command += [flag, _option(args, name)]
    # The server runs this very copy: a vendored one is not importable as bird_flashcalls.
    paths = [import_root, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    server = subprocess.Popen(
        command,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(paths)},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # Ctrl-C and a closed terminal leave it running
    )
    assert server.stdout is not None and server.stderr is not None
    first_line = server.stdout.readline()
    if not first_line:  # it stopped before listening: say why, with its exit status
        sys.stderr.write(server.stderr.read())
        return server.wait()
    server.stdout.close()
    server.stderr.close()
    settings: dict[str, str] = json.loads(first_line)
    settings[ENV_FAKEBIRD_PID] = str(server.pid)
    _print_settings(args, settings)
    if not _option(args, "json"):
        print(
            f"FakeBird is serving in the background: kill ${ENV_FAKEBIRD_PID} to stop it",
            file=sys.stderr,
        )
    return EXIT_OK


def _print_exports(
    args: argparse.Namespace, fake: FakeBird, base_url: str, *, key_printed: bool
) -> None:
    settings = {
        constants.ENV_BASE_URL: base_url,
        constants.ENV_WORKSPACE_ID: fake.workspace_id,
        constants.ENV_CHANNEL_ID: fake.channel_id,
    }
    if key_printed:  # a key FakeBird made up; one from a file stays in the file
        settings[constants.ENV_ACCESS_KEY] = fake.access_key
    _print_settings(args, settings)


def _print_settings(args: argparse.Namespace, settings: Mapping[str, str]) -> None:
    if _option(args, "json"):
        print(json.dumps(settings), flush=True)
    else:
        lines = [f"export {name}={shlex.quote(value)}" for name, value in settings.items()]
        print("\n".join(lines), flush=True)


@contextlib.contextmanager
def _connection_log(quiet: bool) -> Iterator[None]:
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


_STOP_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM})


@contextlib.contextmanager
def _stop_signals_held() -> Iterator[Callable[[], object]]:
    """Holds SIGINT and SIGTERM while active and yields a function that waits for one of them.

    The threads started meanwhile (the server's) inherit the hold, so only the waiting thread
    takes the signal, synchronously. (A handler that sets an Event can deadlock: it runs in the
    main thread, which may hold the Event's own lock at that moment.)
    """
    if not hasattr(signal, "pthread_sigmask"):  # Windows: Ctrl-C raises KeyboardInterrupt
        yield threading.Event().wait
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    try:
        yield lambda: signal.sigwait(_STOP_SIGNALS)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


# The demo.


def _demo(args: argparse.Namespace) -> int:
    from ._demo import run_demo
    from .testing import FakeBird
    from .verification._demo import run_verification_demo

    calls = run_demo(
        FakeBird(),
        sys.stdout,
        timeout=_option(args, "timeout") or constants.DEFAULT_TIMEOUT,
        max_retries=(
            constants.DEFAULT_MAX_RETRIES
            if _option(args, "max_retries") is None
            else args.max_retries
        ),
    )
    if calls != EXIT_OK:
        return calls
    print("\nThe same, as verification sessions: attempts, expiry and one report per challenge.")
    return run_verification_demo(FakeBird(), sys.stdout)
