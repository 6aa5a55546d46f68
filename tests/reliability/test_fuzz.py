"""Random responses (statuses, headers, damaged spec bodies, bytes, transport errors, cut bodies)
end in the result or a BirdError of the right class; random arguments are refused with
InvalidRequestError before anything is sent, or sent on exactly the spec's paths."""

from __future__ import annotations

import datetime
import email.utils
import json
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import attrs
import bird_flashcalls as bird
import httpx
import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from . import support as data
from .support import FUZZ, KINDS, OPERATIONS, VERIFY, Operation, Recorder, encoded, outcome_of

# The "fuzz" profile runs each test for minutes; the default one for seconds.
pytestmark = [pytest.mark.timeout(900), pytest.mark.slow]

# Retries without waiting: the retry paths run, the examples stay fast.
NO_WAIT = bird.Backoff(initial_delay=0.0, max_delay=0.0, max_retry_after=0.0)
MAX_RETRIES = 2
BASE_URL = "https://api.bird.test"
FLASH_CALL = encoded(data.flash_call())

STATUS_ERRORS: dict[int, type[bird.APIStatusError]] = {
    400: bird.BadRequestError,
    401: bird.AuthenticationError,
    403: bird.PermissionDeniedError,
    404: bird.NotFoundError,
    409: bird.ConflictError,
    422: bird.UnprocessableEntityError,
    429: bird.RateLimitError,
}


# Responses.

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
)
any_json = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
# Fixed offsets: st.timezones() reads the tz database from disk and slows every example.
_zones = st.sampled_from(
    [
        datetime.UTC,
        datetime.timezone(datetime.timedelta(hours=2)),
        datetime.timezone(-datetime.timedelta(hours=5, minutes=30)),
    ]
)


def from_schema(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values that fit ``schema`` (the subset of JSON Schema the spec uses)."""
    while "$ref" in schema:
        schema = data.SCHEMAS[schema["$ref"].rsplit("/", 1)[1]]
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if kind == "object":
        properties = schema.get("properties", {})
        if not properties and "additionalProperties" in schema:
            extra = schema["additionalProperties"]
            values = from_schema(extra) if isinstance(extra, dict) else any_json
            return st.dictionaries(st.text(max_size=12), values, max_size=3)
        required = set(schema.get("required", ()))
        fields = {name: from_schema(properties[name]) for name in properties}
        return st.fixed_dictionaries(
            {name: value for name, value in fields.items() if name in required},
            optional={name: value for name, value in fields.items() if name not in required},
        )
    if kind == "array":
        return st.lists(from_schema(schema.get("items", {})), max_size=3)
    if kind == "integer":
        return st.integers(
            min_value=schema.get("minimum", -(2**31)), max_value=schema.get("maximum", 2**31)
        )
    if kind == "string":
        if schema.get("format") == "uuid":
            return st.uuids().map(str)
        if schema.get("format") == "date-time":
            return st.datetimes(timezones=_zones).map(lambda moment: moment.isoformat())
        return st.text(max_size=30)
    return any_json


@st.composite
def damaged(draw: st.DrawFn, schema_name: str) -> Any:
    """A body of ``schema_name``, often with a field removed, retyped or added."""
    value = draw(from_schema(data.SCHEMAS[schema_name]))
    if not isinstance(value, dict):
        return value
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        action = draw(st.sampled_from(["remove", "retype", "add", "keep"]))
        keys = sorted(value)
        if action == "remove" and keys:
            value.pop(draw(st.sampled_from(keys)))
        elif action == "retype" and keys:
            value[draw(st.sampled_from(keys))] = draw(any_json)
        elif action == "add":
            value[draw(st.text(max_size=12))] = draw(any_json)
    return value


RESPONSE_SCHEMAS = ("FlashCall", "HangupFlashCall", "HangupFlashCallFromTo")
bodies = st.one_of(
    st.sampled_from([*RESPONSE_SCHEMAS, "RequestError", "ValidationError"])
    .flatmap(damaged)
    .map(encoded),
    any_json.map(encoded),
    st.binary(max_size=200),
    st.sampled_from(
        [b"", b"<html><body>502 Bad Gateway</body></html>", b"null", b"[]", b"{", b"\xef\xbb\xbf{}"]
    ),
    st.integers(min_value=1, max_value=1500).map(lambda depth: b"[" * depth + b"]" * depth),
)
_KNOWN_STATUSES = (
    *(200, 201, 202, 204, 301, 302, 307, 400, 401, 403, 404, 408, 409, 422),
    *(429, 500, 502, 503, 504, 520, 599),
)
statuses = st.one_of(st.sampled_from(_KNOWN_STATUSES), st.integers(min_value=100, max_value=599))
http_dates = st.datetimes(timezones=st.just(datetime.UTC)).map(
    lambda moment: email.utils.format_datetime(moment, usegmt=True)
)
header_text = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"),
    max_size=40,
)
digit_like = st.text(alphabet="0123456789 \u00b2\u00b3\u00b9+-.e", min_size=1, max_size=6)
header_values = st.one_of(
    header_text,
    digit_like,
    http_dates,
    st.integers(min_value=-(10**6), max_value=10**12).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.just("1" * 5000),
    st.sampled_from(["gzip", "deflate", "br", "identity", "gzip, deflate", "application/json"]),
)
header_names = st.sampled_from(
    [
        *("Retry-After", "Content-Type", "Content-Length", "Messagebird-Request-Id"),
        *("X-Request-Id", "Location", "Content-Encoding", "X-Anything"),
    ]
)
headers = st.lists(st.tuples(header_names, header_values), max_size=5).map(
    lambda pairs: [(name, value.encode("latin-1", "replace")) for name, value in pairs]
)
TRANSPORT_ERRORS = (
    *(httpx.ConnectError, httpx.ConnectTimeout, httpx.ReadTimeout, httpx.WriteTimeout),
    *(httpx.PoolTimeout, httpx.ReadError, httpx.WriteError, httpx.CloseError),
    *(httpx.RemoteProtocolError, httpx.LocalProtocolError, httpx.ProxyError),
    *(httpx.UnsupportedProtocol, httpx.DecodingError, httpx.TooManyRedirects),
)


@attrs.frozen
class Reply:
    status: int = 202
    headers: list[tuple[str, bytes]] = attrs.field(factory=list)
    body: bytes = b""
    error: type[httpx.TransportError] | None = None  # raised instead of answering, or:
    cut_body: bool = False  # the body stops with ``error`` after its first half


class _CutStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    def __init__(self, first_part: bytes, error: httpx.TransportError) -> None:
        self._first_part = first_part
        self._error = error

    def __iter__(self) -> Iterator[bytes]:
        yield self._first_part
        raise self._error

    async def __aiter__(self) -> Any:
        yield self._first_part
        raise self._error


def answer(reply: Reply, request: httpx.Request) -> httpx.Response:
    if reply.error is None:
        return httpx.Response(reply.status, headers=reply.headers, content=reply.body)
    error = reply.error("injected", request=request)
    if not reply.cut_body:
        raise error
    stream = _CutStream(reply.body[: len(reply.body) // 2], error)
    return httpx.Response(reply.status, headers=reply.headers, stream=stream)


CALLS = (*OPERATIONS, VERIFY)


def replies(call: Operation) -> st.SearchStrategy[Reply]:
    """Answers, weighted towards a success status with this call's own (damaged) body."""
    own_body = damaged(call.schema).map(encoded)
    return st.one_of(
        st.builds(Reply, status=st.sampled_from([200, 202]), headers=headers, body=own_body),
        st.builds(Reply, status=statuses, headers=headers, body=st.one_of(own_body, bodies)),
        st.builds(Reply, error=st.sampled_from(TRANSPORT_ERRORS)),
        st.builds(
            Reply,
            status=st.just(202),
            headers=headers,
            body=st.one_of(own_body, bodies),
            error=st.sampled_from(TRANSPORT_ERRORS),
            cut_body=st.just(True),
        ),
    )


cases = st.sampled_from(CALLS).flatmap(lambda call: st.tuples(st.just(call), replies(call)))


def client_options(**overrides: Any) -> dict[str, Any]:
    return data.options(BASE_URL, max_retries=MAX_RETRIES, backoff=NO_WAIT, **overrides)


def check_outcome(call: Operation, reply: Reply, outcome: object, sent: int) -> None:
    """What may come back for one reply, repeated on every attempt."""
    assert 1 <= sent <= MAX_RETRIES + 1
    if not isinstance(outcome, BaseException):
        assert isinstance(outcome, call.returns)
        assert reply.error is None and 200 <= reply.status < 300
        return
    assert isinstance(outcome, bird.BirdError), repr(outcome)
    assert isinstance(str(outcome), str) and isinstance(repr(outcome), str)
    if isinstance(outcome, bird.APIConnectionError):
        # A transport error, or a body httpx cannot decode (a bad gzip stream...).
        compressed = any(name.lower() == "content-encoding" for name, _ in reply.headers)
        assert reply.error is not None or compressed, repr(outcome)
        if outcome.may_have_been_delivered and not call.resent_after_delivery:
            assert sent == 1  # create is never sent twice
    elif isinstance(outcome, bird.APIStatusError):
        assert reply.error is None and outcome.status_code == reply.status
        expected = STATUS_ERRORS.get(reply.status) or (
            bird.InternalServerError if reply.status >= 500 else bird.APIStatusError
        )
        assert type(outcome) is expected
    else:
        assert type(outcome) is bird.APIResponseValidationError, repr(outcome)
        # A body cut short may still be refused first, for its declared size.
        assert reply.error is None or reply.cut_body


def run_case(kind: str, call: Operation, reply: Reply) -> object:
    recorder = Recorder(lambda request: answer(reply, request))
    transport = httpx.MockTransport(recorder)
    result = outcome_of(kind, call.call, client_options(), transport=transport)
    check_outcome(call, reply, result, len(recorder.requests))
    return result


@pytest.mark.parametrize("kind", KINDS)
def test_fuzz_responses(kind: str) -> None:
    @FUZZ
    @given(case=cases)
    def run(case: tuple[Operation, Reply]) -> None:
        event(type(run_case(kind, *case)).__name__)

    run()


# A response the fuzzing found crashing the client: a Content-Length that str.isdigit() accepts
# and int() does not (one of 5,000 digits: tests/unit/test_responses.py).
def test_a_superscript_content_length_is_a_validation_error() -> None:
    length = [("Content-Length", "\u00b2".encode("latin-1"))]
    run_case("sync", OPERATIONS[0], Reply(202, length, FLASH_CALL))


# Arguments from the caller.

_VALID_UUID = st.uuids()
_PATH_BREAKERS = [
    *("../", "/", "?", "#", "%2F", "%", "%2e%2e"),
    *("\\", " ", "\n", "{", "}", "urn:uuid:"),
]


@st.composite
def bent_uuids(draw: st.DrawFn) -> str:
    """A UUID with something that would bend a URL path put in, or swapped for one character."""
    text = str(draw(_VALID_UUID))
    junk = draw(st.sampled_from(_PATH_BREAKERS))
    position = draw(st.integers(min_value=0, max_value=len(text)))
    if draw(st.booleans()):
        return text[:position] + junk + text[position:]
    return text[:position] + junk + text[position + len(junk) :]


def mostly(valid: st.SearchStrategy[Any], other: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Three draws in four from ``valid`` (st.one_of flattens nested one_ofs: no weights)."""
    return st.integers(min_value=0, max_value=3).flatmap(lambda n: other if n == 0 else valid)


garbage = st.one_of(
    st.text(max_size=25),
    st.integers(),
    st.floats(),
    st.none(),
    st.binary(max_size=8),
    st.lists(st.integers(), max_size=2),
)
valid_ids = st.one_of(
    _VALID_UUID.map(str), _VALID_UUID.map(lambda value: str(value).upper()), _VALID_UUID
)
ids = mostly(
    valid_ids,
    st.one_of(
        bent_uuids(),
        st.text(alphabet="0123456789abcdef-{}_ x:urn", min_size=30, max_size=40),
        garbage,
    ),
)
e164 = st.from_regex(r"\+[1-9][0-9]{6,14}", fullmatch=True)
numbers = mostly(
    st.one_of(
        e164,
        e164.map(lambda number: f"{number[:3]} ({number[3:5]}) {number[5:8]}-{number[8:]}"),
        e164.map(lambda number: "00" + number[1:]),
    ),
    st.one_of(st.from_regex(r"(\+|00)?[0-9 ().\-/\u00a0]{0,22}", fullmatch=True), garbage),
)
results = mostly(
    st.one_of(
        st.sampled_from([result.value for result in bird.HangupResult]),
        st.sampled_from(list(bird.HangupResult)),
    ),
    st.one_of(st.text(max_size=12), garbage),
)
ring_timeouts = mostly(
    st.one_of(st.none(), st.integers(min_value=3, max_value=120)),
    st.one_of(st.integers(), st.booleans(), garbage),
)
codes = mostly(
    st.from_regex(r"[0-9]{1,8}", fullmatch=True),
    st.one_of(st.from_regex(r"[0-9 \-]{0,8}", fullmatch=True), garbage),
)
digit_counts = mostly(
    st.one_of(st.none(), st.integers(min_value=1, max_value=8)),
    st.one_of(st.integers(min_value=-2, max_value=20), garbage),
)


# Each operation's arguments, by name ("call" is passed first, positionally).
ARGUMENTS = {
    "create": {"to": numbers, "from_": numbers, "ring_timeout": ring_timeouts},
    "end": {"call": ids, "result": results, "received_cli": numbers},
    "hangup": {"from_": numbers, "to": numbers, "result": results, "received_cli": numbers},
    "verify": {"call": ids, "received_cli": numbers, "expected_cli": numbers},
    "verify_code": {"call": ids, "code": codes, "digits": digit_counts, "expected_cli": numbers},
}
invocations = st.sampled_from(list(ARGUMENTS)).flatmap(
    lambda name: st.tuples(st.just(name), st.fixed_dictionaries(ARGUMENTS[name]))
)


def expected_path(name: str, arguments: dict[str, Any]) -> str:
    if name in ("create", "hangup"):
        return data.BASE_PATH + ("/hangup" if name == "hangup" else "")
    return f"{data.BASE_PATH}/{UUID(str(arguments['call']))}"


@FUZZ
@given(invocation=invocations)
def test_fuzz_caller_arguments(invocation: tuple[str, dict[str, Any]]) -> None:
    name, arguments = invocation
    positional = [arguments["call"]] if "call" in arguments else []
    keywords = {key: value for key, value in arguments.items() if key != "call"}
    recorder = Recorder()
    with recorder.client() as http, bird.FlashCalls(**client_options(http_client=http)) as client:
        try:
            getattr(client, name)(*positional, **keywords)
        except bird.InvalidRequestError as error:
            event(f"{name}: refused ({error.field})")
            assert recorder.requests == []  # refused before anything left
            return
    event(f"{name}: sent")
    (request,) = recorder.requests
    raw_path = request.url.raw_path.decode("ascii")
    assert data.ALLOWED_PATH.fullmatch(raw_path), raw_path
    assert raw_path == expected_path(name, arguments)
    assert request.url.host == "api.bird.test"
    body = json.loads(request.content)
    for field in ("to", "from", "receivedCli"):
        if field in body:
            assert data.E164.fullmatch(body[field]), body


settings_ids = mostly(valid_ids, st.one_of(bent_uuids(), st.text(max_size=40), st.integers()))


@FUZZ
@given(
    access_key=mostly(
        st.from_regex(r"[A-Za-z0-9_\-]{1,40}", fullmatch=True),
        st.one_of(st.text(max_size=30), st.integers()),
    ),
    workspace_id=settings_ids,
    channel_id=settings_ids,
)
def test_fuzz_client_settings(access_key: Any, workspace_id: Any, channel_id: Any) -> None:
    recorder = Recorder()
    with recorder.client() as http:
        try:
            client = bird.FlashCalls(
                access_key, workspace_id, channel_id, BASE_URL, http_client=http
            )
        except bird.ConfigurationError:
            event("refused")
            assert recorder.requests == []
            return
        event("sent")
        with client:
            client.create(data.TO)
    (request,) = recorder.requests
    assert request.headers["Authorization"] == f"AccessKey {access_key}"
    path = f"/workspaces/{UUID(str(workspace_id))}/channels/{UUID(str(channel_id))}/flashcalls"
    assert request.url.raw_path.decode("ascii") == path
