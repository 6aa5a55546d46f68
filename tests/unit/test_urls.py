"""Addresses that end in a call id: the prefix parsed once must give httpx's own URL."""

from __future__ import annotations

import copy
import pickle
import uuid

import httpx
import pytest
from bird_flashcalls import _urls
from bird_flashcalls._client import _FormattedUuid
from bird_flashcalls._urls import RequestUrls
from bird_flashcalls.testing import FakeBird
from hypothesis import given
from hypothesis import strategies as st

from .support import CALLEE

PATH = "/workspaces/3fa85f64-5717-4562-b3fc-2c963f66afa6/channels/6c7a3a2e-1f7e-4b8a-9d4c-2b1e5f0a9c11/flashcalls/"
SOME_ID = "0b6f3f9e-8a5d-4c1e-9f2a-7d3b5e1c4a20"
BASE_URLS = [
    "https://api.bird.com",
    "https://API.Bird.COM:443",
    "https://api.bird.com:8443",
    "https://proxy.example/bird/v1",
    "https://proxy.example/a%20b/caf\u00e9",
    "https://b\u00fccher.example",
    "http://127.0.0.1:8080",
    "http://[::1]:8080",
    "http://localhost",
]


def assert_same_as_httpx(built: httpx.URL, address: str) -> None:
    expected = httpx.URL(address)
    assert built._uri_reference == expected._uri_reference
    assert str(built) == str(expected)
    assert built.raw_path == expected.raw_path
    assert built.host == expected.host
    assert built.port == expected.port


@pytest.mark.parametrize("base_url", BASE_URLS)
def test_the_url_equals_httpx_parsing_the_whole_address(base_url):
    urls = RequestUrls()
    for _ in range(5):
        address = base_url + PATH + str(uuid.uuid4())
        assert_same_as_httpx(urls.ending_in_uuid(address), address)


@given(call_id=st.uuids(), base_url=st.sampled_from(BASE_URLS))
def test_any_call_id_gives_httpx_own_url(call_id, base_url):
    address = base_url + PATH + str(call_id)
    assert_same_as_httpx(RequestUrls().ending_in_uuid(address), address)


@pytest.mark.parametrize(
    "address",
    [
        # Not a canonical UUID at the end: parsed as a whole, so quoting stays httpx's.
        "https://api.bird.com" + PATH + "0B6F3F9E-8A5D-4C1E-9F2A-7D3B5E1C4A20",
        "https://api.bird.com" + PATH + "0b6f3f9e-8a5d-4c1e-9f2a-7d3b5e1c/%2F",
        "https://api.bird.com" + PATH + "0b6f3f9e 8a5d 4c1e 9f2a 7d3b5e1c4a20",
        "https://api.bird.com/x",
        # A prefix whose parse cannot simply be extended (a query swallows the rest).
        "https://api.bird.com/?q=1/" + SOME_ID,
        "https://api.bird.com/#" + SOME_ID,
        "https://api.bird.com" + PATH.rstrip("/") + "x" + SOME_ID,
    ],
)
def test_other_addresses_are_parsed_by_httpx(address):
    assert_same_as_httpx(RequestUrls().ending_in_uuid(address), address)


def test_without_httpx_parsed_form_every_address_is_parsed_whole(monkeypatch):
    def no_parsed_form(parsed: object, path: str) -> httpx.URL:
        raise AttributeError("'URL' object has no attribute '_uri_reference'")

    monkeypatch.setattr(_urls, "_with_path", no_parsed_form)
    urls = RequestUrls()
    address = "https://api.bird.com" + PATH + str(uuid.uuid4())
    assert_same_as_httpx(urls.ending_in_uuid(address), address)


def test_each_call_is_ended_at_its_own_address():
    fake = FakeBird()
    with fake.client() as flash:
        created = [flash.create(CALLEE) for _ in range(3)]
        for call in created:
            flash.end(call, result="verified")
    prefix = f"/workspaces/{fake.workspace_id}/channels/{fake.channel_id}/flashcalls"
    assert [request.path for request in fake.requests[3:]] == [
        f"{prefix}/{call.id}" for call in created
    ]
    assert [fake.calls[call.id]["result"] for call in created] == ["verified"] * 3


def test_an_id_formatted_once_copies_and_pickles_as_the_same_uuid():
    original = uuid.uuid4()
    formatted = _FormattedUuid(original)
    assert str(formatted) == str(original)
    for clone in (copy.copy(formatted), copy.deepcopy(formatted)):
        assert clone == original and str(clone) == str(original)
    unpickled = pickle.loads(pickle.dumps(formatted))
    assert unpickled == original and str(unpickled) == str(original)
