"""The signup example deployed as a service: uvicorn in one process, FakeBird (``bird-flashcalls
serve``) in another, driven only over HTTP, read back through FakeBird's control API."""

from __future__ import annotations

from pathlib import Path

import httpx
from bird_flashcalls.testing import FakeBirdControl

from .support import deployed_app, served_fakebird

PHONE, ANOTHER, A_THIRD = "+31612345678", "+31612345679", "+31612345670"


def typo(code: str) -> str:
    return "".join(str((int(digit) + 1) % 10) for digit in code)


def test_the_deployed_signup_service_verifies_phones_and_reports_each_call_once(
    tmp_path: Path,
) -> None:
    with (
        served_fakebird() as bird,
        deployed_app("fastapi_signup.app:app", bird, tmp_path / "signup.db") as app_url,
        FakeBirdControl(bird["BIRD_BASE_URL"], bird["BIRD_ACCESS_KEY"]) as fake,
        httpx.Client(base_url=app_url, timeout=30) as app,
    ):
        # The user types the last digits of the number that rang them.
        challenge = app.post("/signup/phone", json={"phone": PHONE}).json()
        code = fake.handset_cli(PHONE)[-challenge["code_digits"] :]
        check = f"/signup/phone/{challenge['id']}/check"
        assert app.post(check, json={"code": typo(code)}).status_code == 400
        assert app.post(check, json={"code": code}).json()["status"] == "verified"

        # Bird is unavailable: the app says so (503, Retry-After) once its retries are spent.
        fake.fail(503, operations=["create"])
        unavailable = app.post("/signup/phone", json={"phone": ANOTHER})
        fake.clear_faults()
        assert (unavailable.status_code, unavailable.headers["Retry-After"]) == (503, "30")

        # Bird refuses a report once: it is sent again, and the user is verified.
        fake.fail(503, operations=["end"], count=1)
        challenge = app.post("/signup/phone", json={"phone": A_THIRD}).json()
        code = fake.handset_cli(A_THIRD)[-challenge["code_digits"] :]
        checked = app.post(f"/signup/phone/{challenge['id']}/check", json={"code": code})
        assert checked.json()["verified"] is True

        calls, requests = fake.calls(), fake.requests()

    # Exactly one report per call, the right one; the faulted requests rang nobody.
    assert [(call.to, call.result, len(call.reports)) for call in calls] == [
        (PHONE, "verified", 1),
        (A_THIRD, "verified", 1),
    ]
    assert {request.status for request in requests} == {202, 503}
