"""``main(argv)``: parse, refuse what does not apply, run the command."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

from . import _commands, _fake, _serve
from ._errors import EXIT_USAGE, run
from ._parser import build_parser, refuse_options_the_command_ignores

_HANDLERS: dict[str, Callable[[argparse.Namespace], int]] = {
    "create": _commands.create,
    "end": _commands.end,
    "hangup": _commands.hangup,
    "verify": _commands.verify,
    "verify-code": _commands.verify_code,
    "serve": _serve.serve,
    "fake": _fake.fake,
    "demo": _commands.demo,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); return its exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        refuse_options_the_command_ignores(parser, args)
    except SystemExit as exit_request:  # --help, --version and usage errors
        code = exit_request.code
        return code if isinstance(code, int) else EXIT_USAGE
    return run(_HANDLERS[args.command], args)
