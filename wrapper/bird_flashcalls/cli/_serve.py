"""``serve``: FakeBird on loopback until SIGINT or SIGTERM, or in a process of its own."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING
from uuid import UUID

from .. import _constants as constants
from .._config import parse_uuid
from ..errors import ConfigurationError
from ._commands import read_access_key
from ._errors import EXIT_OK, CommandFailed
from ._fake import read_caller_numbers
from ._output import connection_log, option, print_settings
from ._parser import ENV_FAKEBIRD_PID, SETTING_OPTIONS

if TYPE_CHECKING:
    from ..testing import FakeBird, FakeResponse


def serve(args: argparse.Namespace) -> int:
    if args.background:
        return _serve_in_background(args)
    from ..testing import FakeBird

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

    key_file = option(args, "access_key_file")
    numbers_file = option(args, "caller_numbers")
    fake = LoggingFakeBird(
        workspace_id=_id(args, "workspace_id"),
        channel_id=_id(args, "channel_id"),
        access_key=None if key_file is None else read_access_key(key_file),
        caller_numbers=None if numbers_file is None else read_caller_numbers(numbers_file),
        caller_pool_size=option(args, "caller_pool_size"),
        seed=option(args, "seed"),
    )
    try:
        with (
            _stop_signals_held() as wait_for_stop_signal,
            connection_log(quiet),
            fake.serve(host=args.host, port=args.port) as base_url,
        ):
            _print_exports(args, fake, base_url, key_printed=key_file is None)
            if not quiet:
                print(f"FakeBird is listening on {base_url}; Ctrl-C to stop", file=sys.stderr)
                pool = f"{len(fake.caller_numbers)} numbers"
                print(f"it rings from {pool} unless a call names one", file=sys.stderr)
                if key_file is not None:
                    print(f"its access key is the one in {key_file}", file=sys.stderr)
                sys.stderr.flush()
            with contextlib.suppress(KeyboardInterrupt):
                wait_for_stop_signal()
    except ValueError as error:  # not a loopback host
        raise ConfigurationError(str(error), field="host") from None
    except OSError as error:
        raise CommandFailed(f"cannot listen on {args.host}:{args.port}: {error}") from None
    if not quiet:
        print("FakeBird stopped", file=sys.stderr)
    return EXIT_OK


# The caller pool's options, forwarded to a server in the background.
_POOL_OPTIONS = {
    "caller_numbers": "--caller-numbers",
    "caller_pool_size": "--caller-pool-size",
    "seed": "--seed",
}


def _id(args: argparse.Namespace, name: str) -> UUID | None:
    value = option(args, name)
    return None if value is None else parse_uuid(value, field=name, settings=True)


def _this_package() -> tuple[str, str]:
    """This package's import name (``bird_flashcalls``, or e.g. ``acme._vendor.bird_flashcalls``
    when vendored) and the directory it is imported from."""
    cli_package = __package__ or "bird_flashcalls.cli"
    import_root = os.path.dirname(os.path.abspath(__file__))
    for _ in cli_package.split("."):
        import_root = os.path.dirname(import_root)
    return cli_package.rpartition(".")[0], import_root


def _serve_in_background(args: argparse.Namespace) -> int:
    """Starts ``serve`` as a process of its own, waits for its settings, prints them with its
    process id, and returns while it goes on serving."""
    package, import_root = _this_package()
    command = [sys.executable, "-m", package, "serve", "--json", "--quiet"]
    command += ["--host", args.host, "--port", str(args.port)]
    for name, flag in SETTING_OPTIONS.items():
        if option(args, name) is not None:
            command += [flag, option(args, name)]
    for name, flag in _POOL_OPTIONS.items():
        if option(args, name) is not None:
            value = option(args, name)
            command += [flag, os.path.abspath(value) if name == "caller_numbers" else str(value)]
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
    print_settings(args, settings)
    if not option(args, "json"):
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
    print_settings(args, settings)


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
