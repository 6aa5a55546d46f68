"""The signup example against FakeBird, with each store its environment variable can choose."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from bird_flashcalls.testing import FakeBird
from fastapi import FastAPI

from fastapi_signup.app import STORE_VARIABLE, create_app

pytestmark = pytest.mark.anyio

PHONE = "+31612345678"


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def store_url(
    request: pytest.FixtureRequest, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> str:
    if request.param == "sqlite":
        url = f"sqlite:{tmp_path / 'signup.db'}"
    else:
        base = request.getfixturevalue("signup_redis_url")
        url = base
        # A clean database for each test.
        import redis

        with redis.Redis.from_url(base) as client:
            client.flushdb()
    monkeypatch.setenv(STORE_VARIABLE, url)
    return url


@pytest.fixture
def clock() -> Clock:
    return Clock()


@contextlib.asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan running, and an HTTP client to it (in process, over ASGI)."""
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://signup.test"
        ) as http,
    ):
        yield http


@pytest.fixture
async def client(
    fake_bird: FakeBird, store_url: str, clock: Clock, anyio_backend: str
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(fake_bird.async_client(max_retries=0), clock=clock, expire_every=None)
    async with serving(app) as http:
        yield http


async def sign_up(client: httpx.AsyncClient, phone: str = PHONE) -> dict[str, Any]:
    response = await client.post("/signup/phone", json={"phone": phone})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def last_digits(fake: FakeBird) -> str:
    (call_id,) = [i for i, call in fake.calls.items() if "result" not in call][-1:]
    return fake.handset_cli(call_id)[-4:]


def only_call(fake: FakeBird) -> dict[str, Any]:
    (call,) = fake.calls.values()
    return call


async def test_a_phone_is_verified_with_the_code_it_was_called_with(
    client: httpx.AsyncClient, fake_bird: FakeBird
) -> None:
    challenge = await sign_up(client)
    code = last_digits(fake_bird)
    typo = "".join(str((int(digit) + 1) % 10) for digit in code)

    wrong = await client.post(f"/signup/phone/{challenge['id']}/check", json={"code": typo})
    right = await client.post(f"/signup/phone/{challenge['id']}/check", json={"code": code})

    assert set(challenge) == {"id", "phone", "cli_prefix", "code_digits", "expires_at"}
    assert only_call(fake_bird)["from"].startswith(challenge["cli_prefix"])
    assert (wrong.status_code, wrong.json()) == (
        400,
        {"status": "wrong", "verified": False, "attempts_left": 2},
    )
    assert (right.status_code, right.json()["status"]) == (200, "verified")
    assert only_call(fake_bird)["result"] == "verified"
    again = await client.post(f"/signup/phone/{challenge['id']}/check", json={"code": code})
    assert again.status_code == 404


async def test_an_app_on_the_phone_sends_the_whole_number(
    client: httpx.AsyncClient, fake_bird: FakeBird
) -> None:
    challenge = await sign_up(client)
    seen = only_call(fake_bird)["from"]

    response = await client.post(
        f"/signup/phone/{challenge['id']}/check", json={"received_cli": seen}
    )

    assert response.json()["verified"] is True
    assert only_call(fake_bird)["result"] == "verified"


async def test_three_wrong_codes_lock_the_challenge(
    client: httpx.AsyncClient, fake_bird: FakeBird
) -> None:
    challenge = await sign_up(client)
    code = last_digits(fake_bird)
    typo = "".join(str((int(digit) + 1) % 10) for digit in code)

    statuses = [
        (
            await client.post(f"/signup/phone/{challenge['id']}/check", json={"code": typo})
        ).status_code
        for _ in range(3)
    ]
    after = await client.post(f"/signup/phone/{challenge['id']}/check", json={"code": code})

    assert statuses == [400, 400, 423]
    assert after.status_code == 423
    assert only_call(fake_bird)["result"] == "wrong_cli"


async def test_a_late_code_is_expired_and_bird_is_told_timeout(
    client: httpx.AsyncClient, fake_bird: FakeBird, clock: Clock
) -> None:
    challenge = await sign_up(client)
    clock.now += 300

    response = await client.post(
        f"/signup/phone/{challenge['id']}/check", json={"code": last_digits(fake_bird)}
    )

    assert response.status_code == 410
    assert only_call(fake_bird)["result"] == "timeout"


async def test_the_expiry_loop_reports_unanswered_challenges(
    fake_bird: FakeBird, store_url: str, clock: Clock
) -> None:
    app = create_app(fake_bird.async_client(max_retries=0), clock=clock, expire_every=None)
    async with serving(app) as client:
        challenge = await sign_up(client)
        clock.now += 300
        assert await app.state.verifier.expire_due() == 1
        state = await client.get(f"/signup/phone/{challenge['id']}")
    assert state.json()["status"] == "expired"
    assert only_call(fake_bird)["result"] == "timeout"


async def test_too_many_signups_for_one_number_get_429_with_retry_after(
    client: httpx.AsyncClient, fake_bird: FakeBird
) -> None:
    await sign_up(client)

    response = await client.post("/signup/phone", json={"phone": PHONE})

    assert response.status_code == 429
    assert response.headers["Retry-After"] == "30"
    assert response.json()["limit"] == "resend_cooldown"
    assert PHONE not in response.text
    assert len(fake_bird.calls) == 1


async def test_a_malformed_number_gets_422_before_any_call(
    client: httpx.AsyncClient, fake_bird: FakeBird
) -> None:
    response = await client.post("/signup/phone", json={"phone": "0612345678"})

    assert response.status_code == 422
    assert response.json()["field"] == "phone"
    assert fake_bird.calls == {}


async def test_cancel_tells_bird_and_forgets_the_challenge(
    client: httpx.AsyncClient, fake_bird: FakeBird
) -> None:
    challenge = await sign_up(client)

    assert (await client.get(f"/signup/phone/{challenge['id']}")).json()["status"] == "pending"
    assert (await client.delete(f"/signup/phone/{challenge['id']}")).status_code == 204
    assert (await client.delete(f"/signup/phone/{challenge['id']}")).status_code == 404

    assert only_call(fake_bird)["result"] == "canceled"
    assert (await client.get(f"/signup/phone/{uuid.uuid4().hex}")).status_code == 404


async def test_two_app_workers_share_the_challenges(fake_bird: FakeBird, store_url: str) -> None:
    # "Send me the call" on one worker, "here is my code" on another.
    first = create_app(fake_bird.async_client(max_retries=0), expire_every=None)
    second = create_app(fake_bird.async_client(max_retries=0), expire_every=None)
    async with serving(first) as one, serving(second) as other:
        challenge = await sign_up(one)
        response = await other.post(
            f"/signup/phone/{challenge['id']}/check", json={"code": last_digits(fake_bird)}
        )
    assert response.json()["verified"] is True
