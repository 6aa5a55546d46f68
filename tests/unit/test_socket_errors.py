"""Socket and TLS errors that a dependency's release lets through unmapped are still BirdErrors.

httpcore 1.0.0, for one, lets the ssl module's error out of a TLS handshake through a proxy.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable

import httpx
import pytest
from bird_flashcalls import APIConnectionError

from .support import BOTH_CLIENTS, OPERATIONS, ScriptedBird

# Each client catches what escapes its own transport.
pytestmark = [pytest.mark.anyio, BOTH_CLIENTS]


def raw(error: OSError) -> Callable[[httpx.Request], httpx.Response]:
    def step(request: httpx.Request) -> httpx.Response:
        raise error

    return step


@pytest.mark.parametrize("operation", OPERATIONS)
async def test_a_refused_certificate_is_a_connection_error_before_sending(
    flash, bird: ScriptedBird, sleeps, operation
):
    refused = ssl.SSLCertVerificationError("certificate verify failed: unable to get issuer")
    bird.then(raw(refused), raw(refused))

    with pytest.raises(APIConnectionError, match="certificate verify failed") as caught:
        await OPERATIONS[operation](flash(max_retries=1))

    # Nothing was sent, so even create may try again.
    assert caught.value.may_have_been_delivered is False
    assert len(bird.requests) == 2


@pytest.mark.parametrize("operation", OPERATIONS)
async def test_a_raw_socket_error_may_have_been_delivered(
    flash, bird: ScriptedBird, sleeps, operation
):
    bird.always(raw(ConnectionResetError(104, "Connection reset by peer")))

    with pytest.raises(APIConnectionError, match="reset by peer") as caught:
        await OPERATIONS[operation](flash(max_retries=1))

    assert caught.value.may_have_been_delivered is True
    # create is not sent again once it may have reached Bird; end and hangup are.
    assert len(bird.requests) == (1 if operation == "create" else 2)
