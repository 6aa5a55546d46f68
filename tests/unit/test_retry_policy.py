"""The retry policy's edges: Backoff's own checks, and Retry-After dates in every zone form."""

from __future__ import annotations

import datetime
import time
from collections.abc import Iterator

import pytest
from bird_flashcalls import Backoff, ConfigurationError
from bird_flashcalls._retry import parse_retry_after

NOW = datetime.datetime(2015, 10, 21, 7, 28, 0, tzinfo=datetime.UTC).timestamp()


@pytest.fixture
def machine_in_new_york(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process's local time zone five hours behind UTC (a POSIX TZ, no tz database)."""
    monkeypatch.setenv("TZ", "EST+05")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize("setting", ["initial_delay", "max_delay", "max_retry_after"])
@pytest.mark.parametrize("value", [-0.001, -1, float("nan"), "1", None, True])
def test_backoff_refuses_what_is_not_seconds(setting, value):
    with pytest.raises(ConfigurationError) as caught:
        Backoff(**{setting: value})

    assert f"Backoff.{setting}" in str(caught.value)


@pytest.mark.parametrize("setting", ["initial_delay", "max_delay", "max_retry_after"])
@pytest.mark.parametrize("value", [0, 0.0, 2, 2.5])
def test_backoff_takes_zero_and_any_positive_number(setting, value):
    assert getattr(Backoff(**{setting: value}), setting) == value


def test_a_retry_after_just_above_the_limit_is_not_waited_for():
    backoff = Backoff(initial_delay=1.0, max_delay=1.0, max_retry_after=5.0)

    assert backoff.delay(0, 5.0, 0.0) == 5.0
    assert backoff.delay(0, 5.001, 0.0) == 1.0


@pytest.mark.parametrize(
    ("http_date", "seconds"),
    [
        ("Wed, 21 Oct 2015 09:28:30 +0200", 30.0),  # an offset is applied, not dropped
        ("Wed, 21 Oct 2015 02:28:30 -0500", 30.0),
        ("Wed, 21 Oct 2015 07:28:30 -0000", 30.0),  # no zone said: GMT
    ],
)
def test_a_retry_after_date_with_an_offset_is_read_in_that_offset(http_date, seconds):
    assert parse_retry_after(http_date, now=lambda: NOW) == seconds


@pytest.mark.usefixtures("machine_in_new_york")
@pytest.mark.parametrize(
    "http_date",
    [
        "Wed Oct 21 07:28:30 2015",  # asctime: no zone, GMT by definition
        "Wed, 21 Oct 2015 07:28:30 -0000",
        "Wed, 21 Oct 2015 07:28:30 GMT",
    ],
)
def test_a_retry_after_date_is_gmt_whatever_the_machines_time_zone(http_date):
    assert parse_retry_after(http_date, now=lambda: NOW) == 30.0


def test_a_retry_after_of_any_case_of_inf_or_nan_is_garbage():
    for value in ("INF", "Infinity", "-inf", "NaN"):
        assert parse_retry_after(value) is None
