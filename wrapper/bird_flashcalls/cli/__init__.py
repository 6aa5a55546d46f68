"""The ``bird-flashcalls`` command: flash calls from a shell, FakeBird on loopback, a demo.

    bird-flashcalls create --to +31612345678 [--from NUMBER] [--ring-timeout SECONDS]
    bird-flashcalls end CALL_ID --result verified [--received-cli NUMBER]
    bird-flashcalls hangup --from NUMBER --to NUMBER --result canceled [--received-cli NUMBER]
    bird-flashcalls verify CALL_ID --expected-cli NUMBER --received-cli NUMBER
    bird-flashcalls verify-code CALL_ID --expected-cli NUMBER --code DIGITS [--digits N]
    bird-flashcalls serve [--host 127.0.0.1] [--port 2473] [--background]
                          [--caller-numbers FILE | --caller-pool-size N] [--seed N]
    bird-flashcalls fake calls|requests|reset|clear-faults
    bird-flashcalls fake fail [--status 503] [--rate 1] [--operation create] [--count N]
    bird-flashcalls demo

The API commands take their settings from BIRD_ACCESS_KEY, BIRD_WORKSPACE_ID, BIRD_CHANNEL_ID and
BIRD_BASE_URL, or the --workspace-id, --channel-id and --base-url options. The access key is read
only from the environment or --access-key-file: a command-line value would land in shell history
and ps. ``serve`` reads no environment variable, so a fake never picks up real settings; ``fake``
talks to a served FakeBird's control API at BIRD_BASE_URL with BIRD_ACCESS_KEY.

Exit status: 0 success, 1 API or network error, 2 usage or invalid input, 3 the number was not
verified (verify, verify-code), 130 interrupted.

The package reads arguments (``_parser``), runs the commands (``_commands``, ``_serve``,
``_fake``), prints
(``_output``) and turns errors into exit codes (``_errors``); the demo story lives in ``_demo``.
"""

from ._errors import EXIT_API_ERROR, EXIT_INTERRUPTED, EXIT_NOT_VERIFIED, EXIT_OK, EXIT_USAGE
from ._main import main
from ._parser import DEFAULT_SERVE_PORT, ENV_FAKEBIRD_PID, build_parser

__all__ = [
    "DEFAULT_SERVE_PORT",
    "ENV_FAKEBIRD_PID",
    "EXIT_API_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_NOT_VERIFIED",
    "EXIT_OK",
    "EXIT_USAGE",
    "build_parser",
    "main",
]
