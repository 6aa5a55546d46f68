"""A signup service that verifies phone numbers by flash call, on many workers.

    VERIFICATION_STORE=redis://localhost:6379/0 uvicorn fastapi_signup.app:app --workers 4
    VERIFICATION_STORE=sqlite:verification.db   uvicorn fastapi_signup.app:app --workers 4

Bird's settings come from BIRD_ACCESS_KEY, BIRD_WORKSPACE_ID and BIRD_CHANNEL_ID. Every worker
shares the challenges through the store, so "send me the call" and "here is my code" may land on
different workers (or machines, with Redis).

    POST   /signup/phone                  {"phone": "+31612345678"}     201 the challenge
                                                                        429 too many (Retry-After)
                                                                        503 Bird unavailable
                                                                            (Retry-After)
    POST   /signup/phone/{id}/check       {"code": "0000"}              200 verified
                                          or {"received_cli": "+31..."} 400 wrong, 423 locked,
                                                                        410 expired, 404 unknown
    GET    /signup/phone/{id}                                           200 its state
    DELETE /signup/phone/{id}                                           204 cancelled
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from bird_flashcalls import (
    APIConnectionError,
    APIStatusError,
    AsyncFlashCalls,
    InvalidRequestError,
)
from bird_flashcalls.verification import (
    AsyncVerifier,
    RedisStore,
    SQLiteStore,
    VerificationRateLimited,
    VerificationStore,
    client_key_for_ip,
)
from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

STORE_VARIABLE = "VERIFICATION_STORE"
DEFAULT_STORE = "sqlite:verification.db"
# How often each worker ends challenges past their ttl (Bird is told "timeout").
EXPIRE_EVERY = 5.0
# When to try again after Bird could not place the call (the client's retries are spent): the
# attempt started the number's resend cooldown (30 s by default), and a sooner one gets 429.
BIRD_UNAVAILABLE_RETRY_AFTER = 30

# What a check's status means over HTTP.
CHECK_STATUS_CODES = {
    "verified": 200,
    "wrong": 400,
    "locked": 423,
    "expired": 410,
    "not_found": 404,
}


class PhoneIn(BaseModel):
    phone: str


class AnswerIn(BaseModel):
    code: str | None = None
    received_cli: str | None = None


def open_store(url: str) -> VerificationStore:
    """``sqlite:<path>`` or ``redis://...`` (``rediss://``, ``unix://``) to a store."""
    if url.startswith("sqlite:"):
        return SQLiteStore(url.removeprefix("sqlite:"))
    if url.startswith(("redis://", "rediss://", "unix://")):
        import redis.asyncio

        return RedisStore(redis.asyncio.Redis.from_url(url))
    raise RuntimeError(
        f"{STORE_VARIABLE} must be sqlite:<path> or redis://host:port/db, got {url!r}"
    )


def create_app(
    flash_calls: AsyncFlashCalls | None = None,
    *,
    store_url: str | None = None,
    clock: Callable[[], float] = time.time,
    expire_every: float | None = EXPIRE_EVERY,
) -> FastAPI:
    """The app. Tests pass a FakeBird client and a clock; ``expire_every=None`` leaves expiry to
    the caller."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Built inside the event loop: redis.asyncio connections belong to it.
        client = flash_calls or AsyncFlashCalls()
        store = open_store(store_url or os.environ.get(STORE_VARIABLE, DEFAULT_STORE))
        app.state.verifier = AsyncVerifier(client, store, clock=clock)
        expiring = None
        if expire_every is not None:
            expiring = asyncio.create_task(expire_regularly(app.state.verifier, expire_every))
        try:
            yield
        finally:
            if expiring is not None:
                expiring.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await expiring
            store.close()
            if isinstance(store, RedisStore):
                await store.client.aclose()
            if flash_calls is None:
                await client.aclose()

    app = FastAPI(title="Signup with flash-call verification", lifespan=lifespan)

    @app.exception_handler(VerificationRateLimited)
    async def rate_limited(request: Request, error: VerificationRateLimited) -> JSONResponse:
        return JSONResponse(
            {"detail": str(error), "limit": error.limit},
            status_code=429,
            headers={"Retry-After": str(max(1, round(error.retry_after)))},
        )

    async def bird_unavailable(request: Request, error: Exception) -> JSONResponse:
        # The client retried what can be retried; the user may try again shortly.
        return JSONResponse(
            {"detail": "the verification call could not be placed; try again shortly"},
            status_code=503,
            headers={"Retry-After": str(BIRD_UNAVAILABLE_RETRY_AFTER)},
        )

    app.add_exception_handler(APIStatusError, bird_unavailable)
    app.add_exception_handler(APIConnectionError, bird_unavailable)

    @app.exception_handler(InvalidRequestError)
    async def invalid(request: Request, error: InvalidRequestError) -> JSONResponse:
        return JSONResponse({"detail": str(error), "field": error.field}, status_code=422)

    def client_key_of(request: Request) -> str | None:
        # Behind a proxy, take the client's address from the header the proxy sets instead.
        host = request.client.host if request.client else None
        try:
            return None if host is None else client_key_for_ip(host)
        except ValueError:
            return host  # a test client's name: the per-client limit still counts it

    @app.post("/signup/phone", status_code=201)
    async def start(body: PhoneIn, request: Request) -> dict[str, Any]:
        challenge = await verifier_of(request).start(body.phone, client_key=client_key_of(request))
        return challenge.to_public_dict()  # never the call id, never the caller number

    @app.post("/signup/phone/{challenge_id}/check")
    async def check(challenge_id: str, body: AnswerIn, request: Request) -> JSONResponse:
        result = await verifier_of(request).check(
            challenge_id, code=body.code, received_cli=body.received_cli
        )
        return JSONResponse(
            {
                "status": result.status,
                "verified": result.verified,
                "attempts_left": result.attempts_left,
            },
            status_code=CHECK_STATUS_CODES[result.status],
        )

    @app.get("/signup/phone/{challenge_id}")
    async def read(challenge_id: str, request: Request) -> dict[str, Any]:
        state = await verifier_of(request).state(challenge_id)
        if state is None:
            raise HTTPException(404, "no such challenge")
        return {
            **state.challenge.to_public_dict(),
            "status": state.status,
            "attempts_left": state.attempts_left,
        }

    @app.delete("/signup/phone/{challenge_id}", status_code=204)
    async def cancel(challenge_id: str, request: Request) -> Response:
        if not await verifier_of(request).cancel(challenge_id):
            raise HTTPException(404, "no pending challenge with this id")
        return Response(status_code=204)

    return app


def verifier_of(request: Request) -> AsyncVerifier:
    verifier: AsyncVerifier = request.app.state.verifier
    return verifier


async def expire_regularly(verifier: AsyncVerifier, every: float) -> None:
    """Tell Bird "timeout" for challenges nobody answered, and retry failed reports."""
    while True:
        with contextlib.suppress(Exception):  # a store or Bird outage: try again next time
            await verifier.expire_due()
        await asyncio.sleep(every)


app = create_app()
