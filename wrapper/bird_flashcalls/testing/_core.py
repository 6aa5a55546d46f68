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

import httpx

from .._operations import CREATE, END, HANGUP
from .._rules import DEFAULT_RING_TIMEOUT, canonical_uuid
from ._wire import Problem, check_request, json_object, not_found, shown, timestamp

_PATH = re.compile(
    r"/workspaces/(?P<workspace>[^/]+)/channels/(?P<channel>[^/]+)/flashcalls(?:/(?P<call>[^/]+))?"
)


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
        check_request(CREATE.operation_id, body)
        to, from_ = body["to"], body.get("from")
        ring_timeout = int(body.get("ringTimeout", DEFAULT_RING_TIMEOUT))
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
        check_request(END.operation_id, body)
        return self._report(self.calls[call_id], body["result"], body.get("receivedCli"))

    def _hangup(self, body: Mapping[str, Any]) -> dict[str, Any]:
        check_request(HANGUP.operation_id, body)
        from_, to, result = body["from"], body["to"], body["result"]
        received_cli = body.get("receivedCli")
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
