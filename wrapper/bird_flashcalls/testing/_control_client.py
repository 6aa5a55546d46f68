"""FakeBirdControl: FakeBird's control API from Python, for tests of a deployed service."""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import attrs
import httpx

from .. import _constants as constants
from .._rules import is_loopback_host
from ..errors import ConfigurationError
from ._control import CONTROL_PREFIX
from ._wire import shown


class FakeBirdControlError(Exception):
    """FakeBird refused a control request, or could not be reached. ``status`` is None when
    nothing answered; ``code`` and ``details`` are from FakeBird's error body."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        details: dict[str, list[str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.details = details or {}


@attrs.frozen(kw_only=True)
class FakeReport:
    """One end or hangup FakeBird received for a call."""

    result: str
    received_cli: str | None = attrs.field(repr=False)
    at: datetime


@attrs.frozen(kw_only=True)
class FakeCall:
    """A flash call FakeBird placed: as create returned it, its first result and every report
    (``len(call.reports) > 1``: it was reported more than once)."""

    id: UUID
    status: str
    ring_timeout: int
    created_at: datetime
    to: str = attrs.field(repr=False)
    from_: str = attrs.field(repr=False)
    result: str | None
    received_cli: str | None = attrs.field(repr=False)
    reports: tuple[FakeReport, ...]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FakeCall:
        """A call as the control API lists it."""
        return cls(
            id=UUID(data["id"]),
            to=data["to"],
            from_=data["from"],
            status=data["status"],
            ring_timeout=data["ringTimeout"],
            created_at=datetime.fromisoformat(data["createdAt"]),
            result=data.get("result"),
            received_cli=data.get("receivedCli"),
            reports=tuple(
                FakeReport(
                    result=report["result"],
                    received_cli=report.get("receivedCli"),
                    at=datetime.fromisoformat(report["at"]),
                )
                for report in data["reports"]
            ),
        )


@attrs.frozen(kw_only=True)
class RecordedRequest:
    """A request FakeBird received on Bird's paths, and the status it answered."""

    method: str
    path: str
    status: int
    request_id: str


class FakeBirdControl:
    """A served FakeBird's control API (``bird-flashcalls serve``), from a test::

        control = FakeBirdControl("http://127.0.0.1:2473", access_key)   # or .from_env()
        control.handset_cli("+31612345678")     # the caller number the phone showed: the code
        control.fail(503, operations=["create"])
        [len(call.reports) for call in control.calls()]

    It talks only to a loopback address (where FakeBird serves), with the fake's access key.
    """

    def __init__(self, base_url: str, access_key: str, *, timeout: float = 10.0) -> None:
        try:
            url = httpx.URL(base_url) if isinstance(base_url, str) else None
        except httpx.InvalidURL:
            url = None
        if url is None or url.scheme not in ("http", "https") or not is_loopback_host(url.host):
            raise ConfigurationError(
                f"base_url must be a served FakeBird's URL on a loopback address, such as "
                f"http://127.0.0.1:2473 (the {constants.ENV_BASE_URL} serve printed), "
                f"got {base_url!r}",
                field="base_url",
            )
        if not isinstance(access_key, str) or not access_key.strip():
            raise ConfigurationError(
                "access_key must be the served FakeBird's key (the BIRD_ACCESS_KEY serve "
                "printed, or the one in its --access-key-file)",
                field="access_key",
            )
        self.base_url = str(url).rstrip("/")
        self._http = httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"AccessKey {access_key.strip()}"},
            timeout=timeout,
        )

    @classmethod
    def from_env(cls, *, timeout: float = 10.0) -> FakeBirdControl:
        """From ``BIRD_BASE_URL`` and ``BIRD_ACCESS_KEY``, as ``serve`` prints them."""
        for variable, field in (
            (constants.ENV_BASE_URL, "base_url"),
            (constants.ENV_ACCESS_KEY, "access_key"),
        ):
            if not os.environ.get(variable):
                raise ConfigurationError(
                    f"{variable} is not set: eval the export lines `bird-flashcalls serve` printed",
                    field=field,
                )
        return cls(
            os.environ[constants.ENV_BASE_URL],
            os.environ[constants.ENV_ACCESS_KEY],
            timeout=timeout,
        )

    def __repr__(self) -> str:
        return f"FakeBirdControl({self.base_url!r})"

    def __enter__(self) -> FakeBirdControl:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections to FakeBird."""
        self._http.close()

    def calls(self) -> list[FakeCall]:
        """Every call FakeBird placed since it started or was reset, oldest first."""
        return [FakeCall.from_dict(call) for call in self._request("GET", "/calls")["calls"]]

    def call(self, call_id: str | UUID) -> FakeCall:
        """One call; FakeBirdControlError (status 404) if FakeBird placed none with this id."""
        return FakeCall.from_dict(self._request("GET", f"/calls/{call_id}"))

    def requests(self) -> list[RecordedRequest]:
        """Every request FakeBird received on Bird's paths, in order, faulted ones included."""
        return [
            RecordedRequest(
                method=request["method"],
                path=request["path"],
                status=request["status"],
                request_id=request["requestId"],
            )
            for request in self._request("GET", "/requests")["requests"]
        ]

    def handset_cli(self, to: str) -> str:
        """The caller number the last call to ``to`` showed: what the phone saw, whose last
        digits are the code a user types."""
        rung = [call for call in self.calls() if call.to == to]
        if not rung:
            raise FakeBirdControlError(
                "FakeBird placed no call to that number (since it started or was reset)"
            )
        return rung[-1].from_

    def reset(self) -> None:
        """Forget every call and request (faults and caller numbers stay)."""
        self._request("POST", "/reset")

    def fail(
        self,
        status: int | None = 503,
        *,
        rate: float = 1.0,
        operations: Sequence[str] | None = None,
        count: int | None = None,
        retry_after: float | None = None,
        drop_connection: bool = False,
        delay: float = 0.0,
        seed: int | None = None,
    ) -> None:
        """Fail a share ``rate`` of the requests to ``operations`` (``create``, ``end``,
        ``hangup``; None: all), ``count`` times at most (None: until ``clear_faults``), as
        ``FakeBird.fail_randomly`` does."""
        self._request(
            "POST",
            "/faults",
            {
                "status": status,
                "rate": rate,
                "operations": None if operations is None else list(operations),
                "count": count,
                "retry_after": retry_after,
                "drop_connection": drop_connection,
                "delay": delay,
                "seed": seed,
            },
        )

    def clear_faults(self) -> None:
        """No more injected faults."""
        self._request("DELETE", "/faults")

    def set_caller_numbers(self, numbers: Sequence[str]) -> None:
        """Ring from these E.164 numbers from now on."""
        self._request("PUT", "/caller-numbers", list(numbers))

    def _request(self, method: str, route: str, body: object = None) -> Any:
        where = f"{method} {CONTROL_PREFIX}{route}"
        try:
            response = self._http.request(method, CONTROL_PREFIX + route, json=body)
        except httpx.HTTPError as error:
            raise FakeBirdControlError(
                f"cannot reach FakeBird at {self.base_url} ({type(error).__name__}): is "
                "`bird-flashcalls serve` running there?"
            ) from None
        try:
            data = response.json()
        except ValueError:
            data = None
        if response.is_success and isinstance(data, dict):
            return data
        answer = data if isinstance(data, dict) else {}
        hint = {
            401: ": the access key is not this FakeBird's",
            404: "" if answer.get("code") == "NotFound" else ": is it a FakeBird?",
        }.get(response.status_code, "")
        message = shown(str(answer.get("message") or response.reason_phrase))
        raise FakeBirdControlError(
            f"{where} answered {response.status_code}: {message}{hint}",
            status=response.status_code,
            code=answer.get("code"),
            details=answer.get("details"),
        )
