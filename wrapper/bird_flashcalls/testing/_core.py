"""Bird's three flash-call operations over an in-memory store: a request in, a response out, no I/O.

Both ways of reaching FakeBird (the in-process transport and the HTTP server) hand every request
to ``FakeChannel.handle``, so they cannot answer differently. The domain rules (results, ring-timeout
bounds, E.164, canonical UUIDs) come from ``bird_flashcalls._rules``, as the client's do.
"""

from __future__ import annotations

import hmac
import random
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from uuid import UUID, uuid4

import attrs
import httpx

from .._rules import (
    DEFAULT_RING_TIMEOUT,
    MAX_RING_TIMEOUT,
    MIN_RING_TIMEOUT,
    RESULTS,
    canonical_uuid,
    is_e164,
)
from ._wire import Problem, json_object, not_found, shown, timestamp

_PATH = re.compile(
    r"/workspaces/(?P<workspace>[^/]+)/channels/(?P<channel>[^/]+)/flashcalls(?:/(?P<call>[^/]+))?"
)
_CREATE_FIELDS = ("to", "from", "ringTimeout")
_END_FIELDS = ("result", "receivedCli")
_HANGUP_FIELDS = ("from", "to", "result", "receivedCli")
# Bird's 422 body, as seen on its other endpoints.
_INVALID_PAYLOAD = (
    "InvalidPayload",
    "One or more fields provided in the request body are malformed",
)


@attrs.define
class _Checker:
    """Collects the problems of a request body, keyed by field as in Bird's 422 details."""

    body: Mapping[str, Any]
    details: dict[str, list[str]] = attrs.Factory(dict)

    def add(self, name: str, problem: str) -> None:
        self.details.setdefault(name, []).append(problem)

    def only(self, allowed: Sequence[str]) -> None:
        for name in self.body:
            if name not in allowed:
                self.add(name, f'property "{name}" is unsupported')

    def string(self, name: str, *, required: bool, phone: bool = False) -> str | None:
        if name not in self.body:
            if required:
                self.add(name, "is required")
            return None
        value = self.body[name]
        if not isinstance(value, str):
            self.add(name, "must be a string")
        elif phone and not is_e164(value):
            self.add(
                name,
                "must be a phone number in E.164 format: '+' and 7 to 15 digits, such as "
                "+31612345678",
            )
        else:
            return value
        return None

    def ring_timeout(self) -> int:
        value = self.body.get("ringTimeout", DEFAULT_RING_TIMEOUT)
        # JSON Schema's integer: 30 and 30.0 are integers, true and 30.5 are not.
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            self.add("ringTimeout", "must be an integer")
        elif not MIN_RING_TIMEOUT <= value <= MAX_RING_TIMEOUT:
            self.add("ringTimeout", f"must be between {MIN_RING_TIMEOUT} and {MAX_RING_TIMEOUT}")
        else:
            return value
        return DEFAULT_RING_TIMEOUT

    def result(self) -> str:
        value = self.string("result", required=True)
        if value is not None and value not in RESULTS:
            self.add("result", f"must be one of {', '.join(RESULTS)}")
        return value or ""

    def finish(self) -> None:
        if self.details:
            raise Problem(422, *_INVALID_PAYLOAD, details=self.details)


class CallRecords(Mapping[str, dict[str, Any]]):
    """A snapshot of the calls: call id (a string or UUID) -> the call as Bird returned it,
    plus ``result`` and ``receivedCli`` of the first report, and ``reports``: every end or
    hangup for it, in order, each ``{result, receivedCli?, at}``."""

    def __init__(self, calls: dict[str, dict[str, Any]]) -> None:
        self._calls = calls

    def __getitem__(self, call_id: str | UUID) -> dict[str, Any]:
        return self._calls[str(call_id).lower()]

    def __contains__(self, call_id: object) -> bool:
        return isinstance(call_id, str | UUID) and str(call_id).lower() in self._calls

    def __iter__(self) -> Iterator[str]:
        return iter(self._calls)

    def __len__(self) -> int:
        return len(self._calls)

    def __repr__(self) -> str:
        return f"CallRecords({self._calls!r})"


# What end by from/to answers: its published 202 is {result, receivedCli} or an open
# {from, to}, so a client must take either ("full" is both at once; "random" picks per call).
HANGUP_ANSWERS = ("random", "full", "result", "numbers")


class FakeChannel:
    """One workspace with one flash-call channel, and the calls made on it. Not thread-safe:
    FakeBird holds its lock around ``handle``."""

    def __init__(
        self,
        workspace_id: UUID,
        channel_id: UUID,
        access_key: str,
        caller_numbers: Sequence[str],
        hangup_answer: str = "random",
        seed: int | None = None,
    ) -> None:
        self.workspace_id = workspace_id
        self.channel_id = channel_id
        self.access_key = access_key
        self.caller_numbers = tuple(caller_numbers)
        self.hangup_answer = hangup_answer
        # Call id -> the call as returned by create, its first reported result and every report.
        self.calls: dict[str, dict[str, Any]] = {}
        self._random = random.Random(seed)

    def handle(
        self, method: str, path: str, headers: httpx.Headers, body: bytes
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        try:
            return 202, {}, self._route(method, path, headers, body)
        except Problem as problem:
            return problem.status, problem.headers, problem.body()

    def _route(self, method: str, path: str, headers: httpx.Headers, body: bytes) -> dict[str, Any]:
        self.authenticate(headers.get("Authorization"))
        match = _PATH.fullmatch(path.split("?", 1)[0])
        if match is None:
            raise not_found("path")
        # Only the canonical 8-4-4-4-12 form: Bird's routes match no other spelling of a UUID.
        if canonical_uuid(match["workspace"]) != self.workspace_id:
            raise not_found("workspace")
        if canonical_uuid(match["channel"]) != self.channel_id:
            raise not_found("channel")
        if method != "POST":
            raise Problem(
                405,
                "MethodNotAllowed",
                f"{shown(method)} is not allowed here: flash-call operations are POST",
                headers={"Allow": "POST"},
            )
        # The body is read before the operation runs, as a web framework would.
        data = json_object(headers.get("Content-Type"), body)
        call = match["call"]
        if call is None:
            return self._create(data)
        if call == "hangup":
            return self._hangup(data)
        call_id = canonical_uuid(call)
        if call_id is None or str(call_id) not in self.calls:
            raise not_found("flash call")
        return self._end(str(call_id), data)

    def authenticate(self, authorization: str | None) -> None:
        if not authorization:
            raise Problem(
                401,
                "Unauthorized",
                "The Authorization header is missing: send 'Authorization: AccessKey <key>'",
            )
        scheme, _, key = authorization.partition(" ")
        valid = scheme.lower() == "accesskey" and hmac.compare_digest(
            key.strip().encode(), self.access_key.encode()
        )
        if not valid:
            raise Problem(401, "Unauthorized", "The access key is not valid")

    def _create(self, body: Mapping[str, Any]) -> dict[str, Any]:
        checker = _Checker(body)
        checker.only(_CREATE_FIELDS)
        to = checker.string("to", required=True, phone=True)
        from_ = checker.string("from", required=False, phone=True)
        ring_timeout = checker.ring_timeout()
        checker.finish()
        assert to is not None
        now = timestamp()
        call_id = str(uuid4())
        call: dict[str, Any] = {
            "id": call_id,
            "channelId": str(self.channel_id),
            "from": from_ or self._random.choice(self.caller_numbers),
            "to": to,
            "status": "accepted",
            "ringTimeout": ring_timeout,
            "createdAt": now,
            "updatedAt": now,
        }
        self.calls[call_id] = {**call, "reports": []}
        return call

    def _end(self, call_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        checker = _Checker(body)
        checker.only(_END_FIELDS)
        result = checker.result()
        received_cli = checker.string("receivedCli", required=False, phone=True)
        checker.finish()
        return self._report(self.calls[call_id], result, received_cli)

    def _hangup(self, body: Mapping[str, Any]) -> dict[str, Any]:
        checker = _Checker(body)
        checker.only(_HANGUP_FIELDS)
        from_ = checker.string("from", required=True, phone=True)
        to = checker.string("to", required=True, phone=True)
        result = checker.result()
        received_cli = checker.string("receivedCli", required=False, phone=True)
        checker.finish()
        matching = [c for c in self.calls.values() if c["from"] == from_ and c["to"] == to]
        if not matching:
            raise not_found("flash call with that from and to")
        # Most recent first: calls are kept in creation order.
        reported = self._report(matching[-1], result, received_cli)
        answer = self.hangup_answer
        if answer == "random":
            answer = self._random.choice(HANGUP_ANSWERS[1:])
        if answer == "result":
            return reported
        if answer == "numbers":
            return {"from": from_, "to": to}
        return {"from": from_, "to": to, **reported}

    def _report(
        self, call: dict[str, Any], result: str, received_cli: str | None
    ) -> dict[str, Any]:
        # Bird documents no refusal of a second report: it is answered as the first was and
        # kept, and the first result stays the call's.
        answer = {"result": result}
        if received_cli is not None:
            answer["receivedCli"] = received_cli
        if not call["reports"]:
            call.update(answer)
        call["updatedAt"] = timestamp()
        call["reports"].append({**answer, "at": call["updatedAt"]})
        return answer


def operation_of(path: str) -> str | None:
    """``create``, ``end`` or ``hangup`` for a path of Bird's API; None for any other path."""
    match = _PATH.fullmatch(path.split("?", 1)[0])
    if match is None:
        return None
    return {None: "create", "hangup": "hangup"}.get(match["call"], "end")
