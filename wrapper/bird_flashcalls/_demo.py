"""The demo story: a flash-call verification from start to end, against FakeBird on loopback.

Everything goes through the public client over real HTTP, and each result is checked against
what the fake recorded, so the demo passing means the pieces work together.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

from . import _constants as constants
from ._client import FlashCalls
from .errors import BirdError

if TYPE_CHECKING:
    from ._generated.models.flash_call import FlashCall
    from .testing import FakeBird

Answer = TypeVar("Answer")

DEMO_PASSED = 0
DEMO_FAILED = 1

INTRODUCTION = (
    "A flash call rings a phone and hangs up; its caller number is the code. "
    "No real phone rings here."
)
# Enough of a UUID to tell the calls of one demo apart, short enough for 100 columns.
_SHOWN_ID_LENGTH = 8


class _DemoFailed(Exception):
    """A step of the demo did not do what it should; the message says what happened."""


def short_id(value: object) -> str:
    return str(value)[:_SHOWN_ID_LENGTH]


def run_demo(
    fake: FakeBird,
    out: TextIO,
    *,
    timeout: float = constants.DEFAULT_TIMEOUT,
    max_retries: int = constants.DEFAULT_MAX_RETRIES,
) -> int:
    """Tell the story against ``fake`` served on 127.0.0.1; DEMO_PASSED or DEMO_FAILED."""
    story = _Story(fake, out)
    print(INTRODUCTION, file=out)
    try:
        with fake.serve() as base_url:
            print(
                f"FakeBird on {base_url} (workspace {short_id(fake.workspace_id)}..., channel "
                f"{short_id(fake.channel_id)}...)",
                file=out,
            )
            with FlashCalls(
                access_key=fake.access_key,
                workspace_id=fake.workspace_id,
                channel_id=fake.channel_id,
                base_url=base_url,
                timeout=timeout,
                max_retries=max_retries,
            ) as flash_calls:
                story.tell(flash_calls)
    except _DemoFailed as failure:
        print(f"demo FAILED at step {story.number} ({story.action}): {failure}", file=out)
        return DEMO_FAILED
    print(
        f"demo passed: {story.number} steps, {len(fake.calls)} flash calls, every result "
        "recorded by Bird",
        file=out,
    )
    return DEMO_PASSED


class _Story:
    def __init__(self, fake: FakeBird, out: TextIO) -> None:
        self.fake = fake
        self.out = out
        self.number = 0
        self.action = "start"
        self.call_id: object = "-"

    def tell(self, flash_calls: FlashCalls) -> None:
        # 1. Bird picks the caller number; the handset reports exactly that number.
        call = self.create(flash_calls, "+31612345678", None)
        seen = self.handset(call, tamper=False)
        self.verify(flash_calls, call, seen, expected="verified")

        # 2. The handset reports a different number (a spoofed or unrelated call).
        call = self.create(flash_calls, "+31687654321", None)
        seen = self.handset(call, tamper=True)
        self.verify(flash_calls, call, seen, expected="wrong_cli")

        # 3. Our own caller number; the user gives up and the call is ended by its numbers.
        call = self.create(flash_calls, "+31611112222", "+3197010269999")
        self.step("hangup", call.id)
        ended = self._call(
            lambda: flash_calls.hangup(from_=call.from_, to=call.to, result="canceled")
        )
        # Bird's answer may be {result}, {from, to} or both; what it recorded is checked next.
        answered = ended.to_dict().get("result", "canceled")
        self.check(answered == "canceled", f"Bird answered result {answered}")
        self.recorded(call, "canceled", f"from {call.from_} to {call.to}: canceled")

        # 4. No call-log access: the user types the last 4 digits of the missed call's number.
        call = self.create(flash_calls, "+31633334444", None)
        code = self.fake.handset_cli(call.id)[-4:]
        self.step("code", call.id)
        outcome = self._call(lambda: flash_calls.verify_code(call, code))
        self.check(outcome.verified, f"the typed code {code} was not accepted")
        self.recorded(call, "verified", f"the user types {code}, result {outcome.result}")

    def step(self, action: str, call_id: object) -> None:
        self.number += 1
        self.action = action
        self.call_id = call_id

    def line(self, text: str) -> None:
        shown = short_id(self.call_id)
        print(f"{self.number:>2}. {self.action:<7} call {shown}  {text}", file=self.out)

    def check(self, condition: bool, problem: str) -> None:
        if not condition:
            raise _DemoFailed(problem)

    def _call(self, operation: Callable[[], Answer]) -> Answer:
        try:
            return operation()
        except BirdError as error:
            raise _DemoFailed(f"{type(error).__name__}: {error}") from None

    def create(self, flash_calls: FlashCalls, to: str, from_: str | None) -> FlashCall:
        self.step("create", "-")
        call = self._call(lambda: flash_calls.create(to, from_=from_))
        self.call_id = call.id
        self.check(str(call.status) == "accepted", f"status {call.status}, expected accepted")
        record = self._record(call)
        self.check(record["from"] == call.from_, "Bird recorded another caller number")
        if from_ is None:
            picked = call.from_ in self.fake.caller_numbers
            self.check(picked, f"Bird's caller number {call.from_} is not one of its own")
        who = "picked by Bird" if from_ is None else "ours"
        self.line(f"{call.status}: ring {call.to} from {call.from_} ({who})")
        return call

    def handset(self, call: FlashCall, *, tamper: bool) -> str:
        self.step("handset", call.id)
        seen = self.fake.handset_cli(call.id)
        if tamper:
            seen = seen[:-1] + ("1" if seen[-1] != "1" else "2")
            self.line(f"the phone reports {seen}, not the number Bird called from")
        else:
            self.line(f"the phone shows a missed call from {seen}")
        return seen

    def verify(self, flash_calls: FlashCalls, call: FlashCall, seen: str, expected: str) -> None:
        self.step("verify", call.id)
        outcome = self._call(lambda: flash_calls.verify(call, seen))
        self.check(str(outcome.result) == expected, f"result {outcome.result}, expected {expected}")
        self.recorded(call, expected, f"result {outcome.result}")

    def recorded(self, call: FlashCall, expected: str, text: str) -> None:
        result = self._record(call).get("result")
        self.check(result == expected, f"Bird recorded result {result!r}, expected {expected!r}")
        self.line(f"{text} (Bird recorded {result})")

    def _record(self, call: FlashCall) -> dict[str, Any]:
        calls = self.fake.calls
        self.check(call.id in calls, f"Bird has no record of call {call.id}")
        return calls[call.id]
