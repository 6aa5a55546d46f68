"""The command line's grammar: commands, options, their types, and the options refused."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NoReturn

from .. import _constants as constants
from .._rules import MAX_RING_TIMEOUT, MIN_RING_TIMEOUT, RESULTS
from .._version import __version__
from ..testing._callers import MAX_CALLER_POOL_SIZE
from ..testing._faults import OPERATION_NAMES
from ._errors import EXIT_STATUS_HELP, EXIT_USAGE
from ._output import PROG, option

# "BIRD" on a phone keypad; clear of Prism's 4010, so the fake and a Prism mock can run together.
DEFAULT_SERVE_PORT = 2473
# The variable the export lines of `serve --background` give the server's process id in.
ENV_FAKEBIRD_PID = "FAKEBIRD_PID"
_MAX_PORT = 65535
_MAX_DIGITS = 15

# Options of the API client, and the commands that run without one.
CLIENT_OPTIONS = {"base_url": "--base-url", "timeout": "--timeout", "max_retries": "--max-retries"}
SETTING_OPTIONS = {
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
    pool = group.add_mutually_exclusive_group()
    pool.add_argument(
        "--caller-numbers",
        metavar="FILE",
        help="ring from the E.164 numbers in FILE, one a line (default: a generated pool)",
    )
    pool.add_argument(
        "--caller-pool-size",
        type=_whole_number(1, MAX_CALLER_POOL_SIZE),
        metavar="N",
        help="generate N caller numbers with distinct last four digits (default 1000)",
    )
    group.add_argument(
        "--seed",
        type=_whole_number(-(10**9), 10**9),
        metavar="N",
        help="repeatable caller numbers and picks (default: random)",
    )
    # Set for the background process: it prints nothing once its settings are out.
    group.add_argument("--quiet", action="store_true", help=argparse.SUPPRESS)
    return options


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command, its options and their help."""
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

    def command(name: str, help_text: str, *, parents: Sequence[_Parser]) -> _Parser:
        return commands.add_parser(
            name,
            help=help_text,
            description=help_text,
            epilog=EXIT_STATUS_HELP,
            parents=parents,
            allow_abbrev=False,
        )

    api = [common]
    create = command("create", "ring a number with a flash call", parents=api)
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

    end = command("end", "report the result of a flash call, by id", parents=api)
    end.add_argument("call_id", metavar="CALL_ID")
    end.add_argument("--result", required=True, choices=RESULTS)
    end.add_argument("--received-cli", metavar="NUMBER", help="the number the handset saw")

    hangup = command("hangup", "report the result of a flash call, by its numbers", parents=api)
    hangup.add_argument("--from", dest="from_", required=True, metavar="NUMBER")
    hangup.add_argument("--to", required=True, metavar="NUMBER")
    hangup.add_argument("--result", required=True, choices=RESULTS)
    hangup.add_argument("--received-cli", metavar="NUMBER")

    verify = command(
        "verify",
        "compare the number the handset saw with the call's; report it (exit 3 if not verified)",
        parents=api,
    )
    verify.add_argument("call_id", metavar="CALL_ID")
    verify.add_argument("--expected-cli", required=True, metavar="NUMBER", help="the call's from")
    verify.add_argument("--received-cli", required=True, metavar="NUMBER")

    verify_code = command(
        "verify-code",
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
        "run FakeBird on loopback until Ctrl-C (or in the background); print export lines",
        parents=[_serve_options()],
    )
    _refused_options(serve, CLIENT_OPTIONS.values())
    _fake_commands(command("fake", _FAKE_HELP, parents=[]))
    demo = command("demo", "a complete verification story against FakeBird on loopback", parents=[])
    _refused_options(demo, [*SETTING_OPTIONS.values(), "--base-url", "--json"])
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


_FAKE_HELP = (
    "read and steer a served FakeBird through its control API (BIRD_BASE_URL, BIRD_ACCESS_KEY)"
)


def _fake_commands(fake: _Parser) -> None:
    options = _Parser(add_help=False, allow_abbrev=False)
    group = options.add_argument_group("the served FakeBird (defaults from the environment)")
    group.add_argument(
        "--base-url", default=argparse.SUPPRESS, help=f"its URL ({constants.ENV_BASE_URL})"
    )
    _key_file_option(group, argparse.SUPPRESS, help_text=f"default: {constants.ENV_ACCESS_KEY}")
    group.add_argument("--timeout", type=_seconds, metavar="SECONDS", default=argparse.SUPPRESS)
    _json_option(group, argparse.SUPPRESS, "print one JSON object on stdout")
    actions = fake.add_subparsers(dest="fake_command", required=True, metavar="ACTION")
    for name, help_text in (
        ("calls", "every call it placed, with every report it received for each"),
        ("requests", "method, path and status of every request on Bird's paths"),
        ("reset", "forget its calls and requests (faults and caller numbers stay)"),
        ("fail", "answer an error status to a share of the requests, until clear-faults"),
        ("clear-faults", "stop injecting faults"),
    ):
        actions.add_parser(
            name, help=help_text, description=help_text, parents=[options], allow_abbrev=False
        )
    fail = actions.choices["fail"]
    fail.add_argument("--status", type=_whole_number(400, 599), default=503, help="(503)")
    fail.add_argument("--rate", type=_rate, default=1.0, help="share of requests, 0 to 1 (1)")
    fail.add_argument(
        "--operation",
        dest="operations",
        action="append",
        choices=OPERATION_NAMES,
        help="only these operations; repeat for more (default: all)",
    )
    fail.add_argument("--count", type=_whole_number(1, 10**9), metavar="N", help="at most N faults")
    fail.add_argument(
        "--retry-after",
        type=_whole_number(0, int(constants.MAX_RETRY_AFTER)),
        metavar="SECONDS",
        help="send a Retry-After header",
    )


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be a number from 0 to 1, got {text!r}")
    return value


def _refused_options(parser: argparse.ArgumentParser, flags: Iterable[str]) -> None:
    # Accepted by the parser only to be refused with a reason (see below), not "unrecognized".
    for flag in flags:
        if flag == "--json":
            parser.add_argument(
                flag, action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS
            )
        else:
            parser.add_argument(flag, default=argparse.SUPPRESS, help=argparse.SUPPRESS)


def refuse_options_the_command_ignores(
    parser: argparse.ArgumentParser, args: argparse.Namespace
) -> None:
    # Given before the command, an option reaches every command; one that does not apply is
    # refused rather than silently ignored.
    ignored: dict[str, str] = {}
    if args.command == "serve":
        ignored = CLIENT_OPTIONS
    elif args.command == "fake":
        ignored = {**SETTING_OPTIONS, "max_retries": "--max-retries"}
        del ignored["access_key_file"]
    elif args.command == "demo":
        ignored = {**SETTING_OPTIONS, "base_url": "--base-url", "json": "--json"}
    for name, flag in ignored.items():
        if option(args, name):
            if args.command == "serve":
                reason = "it is an option of the API commands, which serve is not"
            elif args.command == "fake":
                reason = "the control API needs only the base URL and the access key"
            elif flag == "--json":
                reason = "its story is for people to read; the API commands print JSON"
            else:
                reason = "it runs its own FakeBird; against another server, use the API commands"
            parser.error(f"{args.command} does not take {flag}: {reason}")
