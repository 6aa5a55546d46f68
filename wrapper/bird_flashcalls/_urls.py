"""Request URLs without parsing the whole address on every call.

An address that never changes for a client is parsed once. httpx parses and re-quotes a URL string character by character: about 20 us for an address
ending in a call id, a sixth of a call. The part before the id never changes for a client, so
it is parsed once; the id (hex digits and dashes, which no URL rule touches) is appended to the
parsed path. That needs httpx's parsed form (``URL._uri_reference``): every prefix is checked
once against httpx's own parsing, and without a match the address is parsed the usual way.
"""

from __future__ import annotations

from typing import Any

import httpx

_UUID_TEXT_LENGTH = 36
_UUID_TEXT_CHARS = "0123456789abcdef-"
_SAMPLE_UUID_TEXT = "0b6f3f9e-8a5d-4c1e-9f2a-7d3b5e1c4a20"


class RequestUrls:
    """A client's request URLs; what never changes is parsed once."""

    def __init__(self) -> None:
        self._fixed: dict[str, httpx.URL] = {}
        # prefix -> its parsed form, or None where appending cannot be trusted to match httpx
        self._prefixes: dict[str, Any] = {}

    def fixed(self, address: str) -> httpx.URL:
        """An address that is the same on every call."""
        return self._fixed.get(address) or self._fixed.setdefault(address, httpx.URL(address))

    def ending_in_uuid(self, address: str) -> httpx.URL:
        """An address made of a fixed prefix and a canonical UUID."""
        prefix, tail = address[:-_UUID_TEXT_LENGTH], address[-_UUID_TEXT_LENGTH:]
        parsed = self._prefixes.get(prefix, False)
        if parsed is False:
            parsed = self._prefixes.setdefault(prefix, _parsed_prefix(prefix))
        if parsed is None or len(tail) != _UUID_TEXT_LENGTH or tail.strip(_UUID_TEXT_CHARS):
            return httpx.URL(address)
        return _with_path(parsed, parsed.path + tail)


def _with_path(parsed: Any, path: str) -> httpx.URL:
    url = httpx.URL.__new__(httpx.URL)
    url._uri_reference = parsed._replace(path=path)
    return url


def _parsed_prefix(prefix: str) -> Any:
    try:
        parsed = httpx.URL(prefix)._uri_reference
        appended = _with_path(parsed, parsed.path + _SAMPLE_UUID_TEXT)
        expected = httpx.URL(prefix + _SAMPLE_UUID_TEXT)
    except (AttributeError, TypeError, ValueError, httpx.InvalidURL):
        return None  # an httpx without this parsed form; or a prefix httpx refuses anyway
    if (
        not prefix.endswith("/")
        or appended._uri_reference != expected._uri_reference
        or str(appended) != str(expected)
        # A URL built without its constructor has only the parsed form: any other state a
        # later httpx keeps on a URL would be missing.
        or vars(appended).keys() != vars(expected).keys()
    ):
        return None
    return parsed
