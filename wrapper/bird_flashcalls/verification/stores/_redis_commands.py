"""The operations of a RedisStore, written once for both kinds of client.

Each is a generator that yields what each Redis call returns: the value itself with a
``redis.Redis`` client, an awaitable with ``redis.asyncio``, which ``run_async`` awaits (and
whose error it throws back in, as a sync call raises it in place). The scripts are
``lua/*.lua``, package files; they mirror ``_transitions`` line by line.

Scripts run by EVALSHA. A server that does not know one (restarted, failed over, SCRIPT FLUSH,
a Cluster node that never saw it) answers NOSCRIPT without running anything; the script is then
loaded (on every primary of a Cluster) and that one command sent again, alone: a command runs
once at most, whatever pipeline it was in. redis-py's own ``Script`` objects recover only
outside pipelines and not at all in a ``ClusterPipeline``, so they are not used.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Generator, Sequence
from importlib import resources
from typing import Any, TypeVar, cast

import attrs

from .._answers import wrong_code_length
from .._models import CheckStatus
from .._store import (
    CallerSample,
    CancelOutcome,
    CheckOutcome,
    Claim,
    Quota,
    Record,
    Refusal,
    Report,
    ReportResult,
    UserAnswer,
    record_from_text,
    record_to_text,
)
from .._transitions import ENDED_KEPT_FOR, UNREPORTED_KEPT_FOR

T = TypeVar("T")
logger = logging.getLogger("bird_flashcalls.verification")

# Each script, and the shared Lua functions it calls (finish, done) put before it.
_SCRIPT_PARTS = {
    "check": ("finish", "check"),
    "cancel": ("finish", "cancel"),
    "due": ("finish", "due"),
    "report_done": ("done", "report_done"),
    "report_failed": ("done", "report_failed"),
    "take": ("take",),
    "create": ("create",),
    "complete": ("complete",),
    "callers": ("callers",),
}


def _lua(parts: Sequence[str]) -> str:
    folder = resources.files(__package__).joinpath("lua")
    # The constants of _transitions, written into the source rather than sent with every call.
    kept = (UNREPORTED_KEPT_FOR, ENDED_KEPT_FOR)
    constants = "local UNREPORTED_KEPT_FOR, ENDED_KEPT_FOR = {!r}, {!r}".format(*kept)
    texts = (folder.joinpath(f"{part}.lua").read_text(encoding="utf-8") for part in parts)
    return "\n".join((constants, *texts))


@attrs.frozen
class _Script:
    source: str
    sha: str


def _script(source: str) -> _Script:
    return _Script(source, hashlib.sha1(source.encode("utf-8")).hexdigest())


_SCRIPTS = {name: _script(_lua(parts)) for name, parts in _SCRIPT_PARTS.items()}
# Policies under which Redis never drops a key to make room.
NOT_EVICTING = "noeviction"


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _result(value: Any) -> ReportResult:
    return cast("ReportResult", _text(value))


def _float(value: float) -> str:
    return repr(float(value))


Commands = Generator[Any, Any, T]


def run(commands: Commands[T]) -> T:
    try:
        value = next(commands)
        while True:
            value = commands.send(value)
    except StopIteration as stop:
        result: T = stop.value
        return result


async def run_async(commands: Commands[T]) -> T:
    value: Any = None
    error: BaseException | None = None
    try:
        while True:
            step = commands.send(value) if error is None else commands.throw(error)
            error = None
            try:
                value = await step
            except Exception as failure:
                value, error = None, failure
    except StopIteration as stop:
        result: T = stop.value
        return result


class RedisCommands:
    """The operations of a RedisStore, for either client."""

    def __init__(self, client: Any, prefix: str) -> None:
        import redis.exceptions as failures  # redis is loaded once a RedisStore is made

        self._client = client
        self._no_script = failures.NoScriptError
        self._failures = (failures.RedisError, failures.RedisClusterException, OSError)
        self._salt: bytes | None = None
        self._due = f"{prefix}:due"
        self._salt_key = f"{prefix}:salt"
        self._challenge_prefix = f"{prefix}:challenge:"
        self._limit_prefix = f"{prefix}:limit:"
        self._callers = (f"{prefix}:callers:{{callers}}", f"{prefix}:callers:{{callers}}:counts")

    def _challenge(self, challenge_id: str) -> str:
        return self._challenge_prefix + "{" + challenge_id + "}"

    def _limit(self, quota: Quota) -> str:
        return self._limit_prefix + "{" + quota.key + "}"

    # Scripts: EVALSHA, and after NOSCRIPT, SCRIPT LOAD and the same command once more.

    def _queue(self, pipe: Any, name: str, keys: Sequence[str], args: Sequence[Any]) -> None:
        pipe.evalsha(_SCRIPTS[name].sha, len(keys), *keys, *args)

    def _eval(self, name: str, keys: Sequence[str], args: Sequence[Any]) -> Commands[Any]:
        script = _SCRIPTS[name]
        try:
            return (yield self._client.evalsha(script.sha, len(keys), *keys, *args))
        except self._no_script:
            pass  # the server never ran it
        yield from self._load(script)
        return (yield self._client.evalsha(script.sha, len(keys), *keys, *args))

    def _load(self, script: _Script) -> Commands[None]:
        # On a Cluster, redis-py sends SCRIPT LOAD to every primary.
        yield self._client.script_load(script.source)

    def _execute(
        self, pipe: Any, scripts: dict[int, tuple[str, list[str], list[Any]]]
    ) -> Commands[list[Any]]:
        """Execute ``pipe``; run again alone each script (by its position) that met NOSCRIPT.
        Any other error is raised, after every command of the pipeline was answered."""
        answers = list((yield pipe.execute(raise_on_error=False)))
        for position, (name, keys, args) in scripts.items():
            if isinstance(answers[position], self._no_script):
                answers[position] = yield from self._eval(name, keys, args)
        for answer in answers:
            if isinstance(answer, Exception):
                raise answer
        return answers

    def eviction_policy(self) -> Commands[str | None]:
        """The server's maxmemory-policy, or None where CONFIG GET is not allowed."""
        from redis.exceptions import ResponseError

        try:
            answer = yield self._client.config_get("maxmemory-policy")
        except ResponseError:  # managed Redis: CONFIG renamed, disabled or not permitted
            return None
        values = [_text(value) for value in dict(answer).values()]
        return values[0] if values else None

    def salt(self) -> Commands[bytes]:
        if self._salt is None:
            yield self._client.set(self._salt_key, secrets.token_hex(32), nx=True)
            self._salt = bytes.fromhex(_text((yield self._client.get(self._salt_key))))
        return self._salt

    def note_caller(self, ending: str, keep: int) -> Commands[CallerSample]:
        reply = yield from self._eval("callers", self._callers, [ending, keep])
        return CallerSample(int(reply[0]), int(reply[1]))

    def caller_sample(self) -> Commands[CallerSample]:
        return (yield from self.note_caller("", 0))

    def take_quotas(
        self, quotas: Sequence[Quota], now: float, member: str
    ) -> Commands[Refusal | None]:
        # Each quota has its own key (and Cluster slot), so they are taken together but not
        # atomically, and given back when one refuses: at worst a start is refused that a single
        # lock would have let through, never the other way round.
        pipe = self._client.pipeline(transaction=False)
        scripts = {}
        for position, quota in enumerate(quotas):
            keys = [self._limit(quota)]
            args = [_float(now), _float(quota.window), quota.limit, member]
            self._queue(pipe, "take", keys, args)
            scripts[position] = ("take", keys, args)
        waits = yield from self._execute(pipe, scripts)
        refusal = None
        taken = []
        for quota, wait in zip(quotas, waits, strict=True):
            if wait is None:
                taken.append(quota)
                continue
            seconds = float(_text(wait))
            if refusal is None or seconds > refusal.retry_after:
                refusal = Refusal(quota.name, seconds)
        if refusal is not None and taken:
            pipe = self._client.pipeline(transaction=False)
            for quota in taken:
                pipe.zrem(self._limit(quota), member)
            yield pipe.execute()
        return refusal

    def create(self, record: Record) -> Commands[None]:
        # The due entry first: a record is never without one (an entry without a record is
        # dropped by expire_due()). One round trip, in order, not atomic: two slots.
        pipe = self._client.pipeline(transaction=False)
        pipe.zadd(self._due, {record.id: record.expires_at})
        keys = [self._challenge(record.id)]
        args = [f"{record.purge_at * 1000:.0f}"]
        for name, value in record_to_text(record).items():
            args += [name, value]
        self._queue(pipe, "create", keys, args)
        yield from self._execute(pipe, {1: ("create", keys, args)})

    def complete(self, record: Record) -> Commands[bool]:
        # The record first, then its due entry (moved later, or dropped for an abandoned one):
        # a failure in between leaves the entry early, which expire_due() puts right.
        keys = [self._challenge(record.id)]
        args = [f"{record.purge_at * 1000:.0f}"]
        for name, value in record_to_text(record).items():
            args += [name, value]
        done = yield from self._eval("complete", keys, args)
        if not done:
            return False
        if record.due_at is None:
            yield self._client.zrem(self._due, record.id)
        else:
            yield self._client.zadd(self._due, {record.id: record.due_at})
        return True

    def snapshot(self, challenge_id: str) -> Commands[Record | None]:
        data = yield self._client.hgetall(self._challenge(challenge_id))
        if not data:
            return None
        return record_from_text({_text(name): _text(value) for name, value in data.items()})

    def check(
        self, challenge_id: str, answer: UserAnswer, now: float, claim: Claim
    ) -> Commands[CheckOutcome]:
        key = self._challenge(challenge_id)
        alone = answer.readable_alone()
        if alone is None:  # read in the caller number's country: compared here, decided there
            fixed = yield self._client.hmget(key, "expected_cli", "code_digits")
            if not fixed[0]:  # no record, or one whose call is being placed
                return CheckOutcome("not_found", 0)
            matched, received_cli = answer.compare(_text(fixed[0]), int(fixed[1]))
            given = f"m{int(matched)}{received_cli or ''}"
        else:
            kind, value = alone
            given = ("c" if kind == "code" else "n") + value
            received_cli = value if kind == "cli" and value else None
        packed_claim = f"{_float(now)} {claim.token} {_float(claim.until)}"
        reply = yield from self._eval("check", [key], [given, packed_claim])
        if isinstance(reply, int):  # the most frequent answer, and the one an attacker sends
            return CheckOutcome("wrong", reply)
        if _text(reply[0]) == "code_length":  # only a typed code ("c" and its digits)
            raise wrong_code_length(given[1:], int(reply[1]))
        status, left = cast("CheckStatus", _text(reply[0])), int(reply[1])
        if len(reply) == 2:
            return CheckOutcome(status, left)
        yield from self._due_at_lease_end(challenge_id, claim)
        result = _result(reply[2])
        cli = None if result == "timeout" else received_cli
        report = Report(challenge_id, _text(reply[4]), result, cli, claim.token, bool(reply[3]))
        return CheckOutcome(status, left, report, _text(reply[5]) if len(reply) > 5 else None)

    def cancel(self, challenge_id: str, now: float, claim: Claim) -> Commands[CancelOutcome]:
        key = self._challenge(challenge_id)
        canceled, result, newly_expired, call_id = yield from self._eval(
            "cancel", [key], _end_args(now, claim)
        )
        if not _text(result):
            return CancelOutcome(bool(canceled))
        yield from self._due_at_lease_end(challenge_id, claim)
        report = Report(
            challenge_id, _text(call_id), _result(result), None, claim.token, bool(newly_expired)
        )
        return CancelOutcome(bool(canceled), report)

    def _due_at_lease_end(self, challenge_id: str, claim: Claim) -> Commands[None]:
        """Move a challenge that now holds a report to be due when its claim ends. The script
        has decided by then: a failure here must not hide that decision from the caller, and the
        due entry set at create finds the report at the challenge's expiry instead."""
        try:
            yield self._client.zadd(self._due, {challenge_id: claim.until})
        except self._failures as error:
            logger.warning(
                "RedisStore could not move a report's due time to its lease end (%s): "
                "expire_due() sends it once the challenge expires",
                type(error).__name__,
            )

    def claim_due(self, now: float, claim: Claim, limit: int) -> Commands[list[Report]]:
        reports: list[Report] = []
        seen: set[str] = set()
        args = _end_args(now, claim)
        while len(reports) < limit:
            page = yield self._client.zrangebyscore(self._due, "-inf", now, start=0, num=limit)
            ids = [_text(item) for item in page if _text(item) not in seen]
            if not ids:
                break
            for challenge_id in ids:
                seen.add(challenge_id)
                answer = yield from self._eval("due", [self._challenge(challenge_id)], args)
                kind = _text(answer[0])
                if kind == "claim":
                    _, result, cli, newly_expired, call_id = answer
                    reports.append(
                        Report(
                            challenge_id,
                            _text(call_id),
                            _result(result),
                            _text(cli) or None,
                            claim.token,
                            bool(newly_expired),
                        )
                    )
                    yield self._client.zadd(self._due, {challenge_id: claim.until})
                elif kind == "later":
                    yield self._client.zadd(self._due, {challenge_id: float(_text(answer[1]))})
                else:
                    yield self._client.zrem(self._due, challenge_id)
                if len(reports) == limit:
                    break
        return reports

    def report_done(self, challenge_id: str, token: str, now: float) -> Commands[None]:
        key = self._challenge(challenge_id)
        args = [_float(now)]
        pipe = self._client.pipeline(transaction=False)
        self._queue(pipe, "report_done", [key], args)
        pipe.zrem(self._due, challenge_id)
        answers = list((yield pipe.execute(raise_on_error=False)))
        if isinstance(answers[0], Exception):
            # The record still holds its report: due again, before anything else can fail.
            yield self._client.zadd(self._due, {challenge_id: now})
            if not isinstance(answers[0], self._no_script):
                raise answers[0]
            yield from self._eval("report_done", [key], args)
            yield self._client.zrem(self._due, challenge_id)
        elif isinstance(answers[1], Exception):
            raise answers[1]

    def report_failed(
        self, challenge_id: str, token: str, now: float, give_up: bool
    ) -> Commands[None]:
        answer = yield from self._eval(
            "report_failed",
            [self._challenge(challenge_id)],
            [token, _float(now), int(give_up)],
        )
        if answer == 1:
            yield self._client.zadd(self._due, {challenge_id: now})
        elif answer == 2:
            yield self._client.zrem(self._due, challenge_id)


def _end_args(now: float, claim: Claim) -> list[str]:
    return [_float(now), claim.token, _float(claim.until)]
