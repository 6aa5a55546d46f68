"""Socket and TLS errors a dependency lets through unmapped (httpcore 1.0.0, a TLS handshake
through a proxy) are still BirdErrors."""

from __future__ import annotations

import ssl
from collections.abc import Callable

import httpx
import pytest
from bird_flashcalls import APIConnectionError

from .support import BOTH_CLIENTS, OPERATIONS, ScriptedBird

# Each client catches what escapes its own transport.
pytestmark = [pytest.mark.anyio, BOTH_CLIENTS]


REFUSED = "certificate verify failed"


def raw(error: OSError) -> Callable[[httpx.Request], httpx.Response]:
    def step(request: httpx.Request) -> httpx.Response:
        raise error

    return step


@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize(
    ("error", "says", "delivered"),
    [
        # Refused in the handshake: nothing was sent, so even create may try again.
        (ssl.SSLCertVerificationError(f"{REFUSED}: unable to get issuer"), REFUSED, False),
        # create is not sent again once it may have reached Bird; end and hangup are.
        (ConnectionResetError(104, "Connection reset by peer"), "reset by peer", True),
    ],
    ids=["refused-certificate", "raw-socket-error"],
)
async def test_an_unmapped_socket_error_is_a_connection_error(
    flash, bird: ScriptedBird, sleeps, operation, error, says, delivered
):
    bird.always(raw(error))

    with pytest.raises(APIConnectionError, match=says) as caught:
        await OPERATIONS[operation](flash(max_retries=1))

    assert caught.value.may_have_been_delivered is delivered
    assert len(bird.requests) == (1 if delivered and operation == "create" else 2)
