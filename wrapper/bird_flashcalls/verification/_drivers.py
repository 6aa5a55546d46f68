"""The one sync and one async driver of the flows in ``_flows``: each step performed by
``perform`` (the verifier's I/O), its answer or its error sent back into the flow."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from ._steps import Flow, Step

T = TypeVar("T")


def run_flow(flow: Flow[T], perform: Callable[[Step], Any]) -> T:
    answer: Any = None
    error: BaseException | None = None
    while True:
        try:
            step = flow.send(answer) if error is None else flow.throw(error)
        except StopIteration as stop:
            result: T = stop.value
            return result
        error = None
        try:
            answer = perform(step)
        except Exception as failure:
            answer, error = None, failure


async def run_flow_async(flow: Flow[T], perform: Callable[[Step], Awaitable[Any]]) -> T:
    answer: Any = None
    error: BaseException | None = None
    while True:
        try:
            step = flow.send(answer) if error is None else flow.throw(error)
        except StopIteration as stop:
            result: T = stop.value
            return result
        error = None
        try:
            answer = await perform(step)
        except Exception as failure:
            answer, error = None, failure
