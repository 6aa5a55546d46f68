"""Hypothesis strategies: bodies built from the spec's schemas (then damaged), headers, statuses."""

from __future__ import annotations

import datetime
import email.utils
import json
from typing import Any

import httpx
from hypothesis import strategies as st

from .spec_data import SCHEMAS

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
        st.lists(children, max_size=4),
        st.dictionaries(st.text(max_size=12), children, max_size=4),
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


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = SCHEMAS[schema["$ref"].rsplit("/", 1)[1]]
    return schema


def from_schema(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values that fit ``schema`` (the subset of JSON Schema the spec uses)."""
    schema = _resolve(schema)
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if kind == "object":
        properties = schema.get("properties", {})
        required = set(schema.get("required", ()))
        fixed = {name: from_schema(properties[name]) for name in properties if name in required}
        optional = {
            name: from_schema(properties[name]) for name in properties if name not in required
        }
        if not properties and "additionalProperties" in schema:
            extra = schema["additionalProperties"]
            values = from_schema(extra) if isinstance(extra, dict) else any_json
            return st.dictionaries(st.text(max_size=12), values, max_size=3)
        return st.fixed_dictionaries(fixed, optional=optional)
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
    value = draw(from_schema(SCHEMAS[schema_name]))
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


RESPONSE_SCHEMAS = (
    "FlashCall",
    "HangupFlashCall",
    "HangupFlashCallFromTo",
    "RequestError",
    "ValidationError",
)


def _encoded(value: Any) -> bytes:
    return json.dumps(value).encode()


bodies = st.one_of(
    st.sampled_from(RESPONSE_SCHEMAS).flatmap(damaged).map(_encoded),
    any_json.map(_encoded),
    st.binary(max_size=200),
    st.sampled_from(
        [b"", b"<html><body>502 Bad Gateway</body></html>", b"null", b"[]", b"{", b"\xef\xbb\xbf{}"]
    ),
    st.integers(min_value=1, max_value=1500).map(lambda depth: b"[" * depth + b"]" * depth),
)

statuses = st.one_of(
    st.sampled_from(
        [
            200,
            201,
            202,
            204,
            301,
            302,
            307,
            400,
            401,
            403,
            404,
            408,
            409,
            422,
            429,
            500,
            502,
            503,
            504,
            520,
            599,
        ]
    ),
    st.integers(min_value=100, max_value=599),
)

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
        "Retry-After",
        "Content-Type",
        "Content-Length",
        "Messagebird-Request-Id",
        "X-Request-Id",
        "Location",
        "Content-Encoding",
        "X-Anything",
    ]
)
headers = st.lists(st.tuples(header_names, header_values), max_size=5).map(
    lambda pairs: [(name, value.encode("latin-1", "replace")) for name, value in pairs]
)

TRANSPORT_ERRORS = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.ReadTimeout,
    httpx.WriteTimeout,
    httpx.PoolTimeout,
    httpx.ReadError,
    httpx.WriteError,
    httpx.CloseError,
    httpx.RemoteProtocolError,
    httpx.LocalProtocolError,
    httpx.ProxyError,
    httpx.UnsupportedProtocol,
    httpx.DecodingError,
    httpx.TooManyRedirects,
)
