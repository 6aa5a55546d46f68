"""Verifier and AsyncVerifier: the I/O of the flows in ``_flows``, one sync, one async.

They own no decision: each public method builds a flow and performs the steps it yields (store
operations, ``flash_calls.create``, ``flash_calls.end``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Sequence
from typing import Any, TypeVar
from uuid import UUID

from .._client import AsyncFlashCalls, FlashCalls
from ..errors import BirdError, ConfigurationError
from . import _delivery, _flows
from ._callers import DEFAULT_MAX_GUESS_CHANCE, CallerWatch
from ._drivers import run_flow, run_flow_async
from ._guard import DEFAULT_BLOCKED_PREFIXES, ProvenDestinations
from ._models import Challenge, ChallengeState, CheckResult, VerificationEvent
from ._operations import StoreOp
from ._settings import (
    DEFAULT_CODE_DIGITS,
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_NEW_DESTINATION_LIMIT,
    DEFAULT_PER_CLIENT_LIMIT,
    DEFAULT_PER_NUMBER_LIMIT,
    DEFAULT_REPORT_LEASE,
    DEFAULT_RESEND_COOLDOWN,
    DEFAULT_TTL,
    Limit,
    Limits,
    VerifierSettings,
)
from ._steps import Flow, Ring, SendReport, Step
from ._store import AsyncStoreOperations, StoreOperations, VerificationStore
from .stores.memory import MemoryStore

T = TypeVar("T")


def _store_or_default(store: VerificationStore | None) -> VerificationStore:
    if store is None:
        return MemoryStore()
    if not isinstance(store, VerificationStore):
        raise ConfigurationError(
            "store must be a MemoryStore(), SQLiteStore(path) or RedisStore(client), got "
            f"{type(store).__name__}"
        )
    return store


class _Base:
    _settings: VerifierSettings
    store: VerificationStore

    def __repr__(self) -> str:
        settings = self._settings
        return (
            f"{type(self).__name__}(store={self.store!r}, ttl={settings.ttl:g}, "
            f"max_attempts={settings.max_attempts}, code_digits={settings.code_digits}, "
            f"per_number_limit={settings.per_number_limit}, "
            f"per_client_limit={settings.per_client_limit}, "
            f"new_destination_limit={settings.new_destination_limit}, "
            f"resend_cooldown={settings.resend_cooldown:g})"
        )


class Verifier(_Base):
    """Phone verification by flash call, from start to Bird's report, safe across workers.

    ::

        verifier = Verifier(flash_calls)                  # MemoryStore: one process
        challenge = verifier.start("+31612345678", client_key=ip)
        ...                                               # the app shows challenge.cli_prefix
        result = verifier.check(challenge.id, code="0000")
        if result.verified: ...

    Each challenge is reported to Bird once: ``verified``, ``wrong_cli`` when the attempts run
    out, ``canceled`` by ``cancel()``, ``timeout`` by ``expire_due()`` (run it every few seconds
    to a minute). A report Bird did not take is kept and sent again by ``expire_due()`` or
    ``flush()``. Thread-safe.
    """

    def __init__(
        self,
        flash_calls: FlashCalls,
        store: VerificationStore | None = None,
        *,
        ttl: float = DEFAULT_TTL,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        code_digits: int = DEFAULT_CODE_DIGITS,
        per_number_limit: Limits | None = DEFAULT_PER_NUMBER_LIMIT,
        per_client_limit: Limit | None = DEFAULT_PER_CLIENT_LIMIT,
        new_destination_limit: Limit | None = DEFAULT_NEW_DESTINATION_LIMIT,
        blocked_prefixes: Sequence[str] = DEFAULT_BLOCKED_PREFIXES,
        allowed_countries: Collection[str] | None = None,
        resend_cooldown: float = DEFAULT_RESEND_COOLDOWN,
        report_lease: float = DEFAULT_REPORT_LEASE,
        caller_numbers: Sequence[str] | None = None,
        max_guess_chance: float = DEFAULT_MAX_GUESS_CHANCE,
        clock: Callable[[], float] = time.time,
        on_event: Callable[[VerificationEvent], None] | None = None,
    ) -> None:
        if not isinstance(flash_calls, FlashCalls):
            raise ConfigurationError(
                f"Verifier needs a FlashCalls, got {type(flash_calls).__name__} (use "
                "AsyncVerifier with an AsyncFlashCalls)"
            )
        self.store = _store_or_default(store)
        self._settings = VerifierSettings(
            ttl=ttl,
            max_attempts=max_attempts,
            code_digits=code_digits,
            per_number_limit=per_number_limit,
            per_client_limit=per_client_limit,
            new_destination_limit=new_destination_limit,
            blocked_prefixes=blocked_prefixes,
            allowed_countries=allowed_countries,
            resend_cooldown=resend_cooldown,
            report_lease=report_lease,
            caller_numbers=caller_numbers,
            max_guess_chance=max_guess_chance,
            clock=clock,
            on_event=on_event,
        )
        self._flash_calls = flash_calls
        self._proven = ProvenDestinations()
        self._watch = CallerWatch()
        self._store: StoreOperations = self.store.sync_operations()

    def start(self, phone: str, *, client_key: str | None) -> Challenge:
        """Ring ``phone`` and open a challenge for it.

        ``client_key`` names who asks, for ``per_client_limit``: ``client_key_for_ip(address)``
        or an account id; ``None`` says so explicitly that no client is known (the limit is then
        skipped). Raises, before any call is made, VerificationDestinationRefused when
        ``blocked_prefixes`` or ``allowed_countries`` refuse the number, and
        VerificationRateLimited when a limit refuses.
        """
        return self._run(_flows.start(self._settings, self._proven, self._watch, phone, client_key))

    def check(
        self, challenge_id: str, *, received_cli: str | None = None, code: str | None = None
    ) -> CheckResult:
        """Check one answer: the number the phone saw, or the digits the user typed."""
        return self._run(
            _flows.check(self._settings, self._proven, challenge_id, received_cli, code)
        )

    def guess_chance(self) -> float:
        """The estimated chance that an attacker who knows the recent caller numbers wins one
        challenge with ``max_attempts`` guesses, from the endings every worker saw (the last
        1,000, kept in the store), by a collision estimator (``_callers.guess_chance``).
        Over ``max_guess_chance`` (from 40 endings on), ``start`` logs a WARNING at most once an
        hour and emits a ``weak_caller_pool`` event."""
        return self._run(_flows.guess_chance(self._settings))

    def cancel(self, challenge_id: str) -> bool:
        """End a pending challenge and report ``canceled``. False when it was not pending."""
        return self._run(_flows.cancel(self._settings, challenge_id))

    def state(self, challenge_id: str) -> ChallengeState | None:
        """Where a challenge stands, without changing it; None when unknown or forgotten."""
        return self._run(_flows.state(self._settings, challenge_id))

    def expire_due(self) -> int:
        """Report ``timeout`` for challenges past their ttl and send any report still waiting.
        Returns how many challenges it ended."""
        return self._run(_delivery.process_due(self._settings))[0]

    def flush(self) -> int:
        """Send every report still waiting (failed, or left by a worker that died once its
        ``report_lease`` ran out); like ``expire_due()`` it also ends challenges past their ttl.
        Returns how many reports Bird accepted."""
        return self._run(_delivery.process_due(self._settings))[1]

    def _run(self, flow: Flow[T]) -> T:
        return run_flow(flow, self._perform)

    def _perform(self, step: Step) -> Any:
        if isinstance(step, StoreOp):
            return step.run(self._store)
        if isinstance(step, SendReport):
            report = step.report
            try:
                if step.by is None:
                    self._flash_calls.end(
                        UUID(report.call_id), result=report.result, received_cli=report.received_cli
                    )
                else:
                    caller, phone = step.by
                    self._flash_calls.hangup(from_=caller, to=phone, result=report.result)
            except BirdError as error:
                return error
            return None
        assert isinstance(step, Ring)
        return self._flash_calls.create(step.phone, from_=step.caller)


class AsyncVerifier(_Base):
    """Verifier for asyncio: the same methods as coroutines, on an AsyncFlashCalls.

    RedisStore takes a ``redis.asyncio.Redis`` here; SQLiteStore's transactions run in a
    thread (``asyncio.to_thread``) so that the event loop is never blocked; MemoryStore runs
    inline.
    """

    def __init__(
        self,
        flash_calls: AsyncFlashCalls,
        store: VerificationStore | None = None,
        *,
        ttl: float = DEFAULT_TTL,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        code_digits: int = DEFAULT_CODE_DIGITS,
        per_number_limit: Limits | None = DEFAULT_PER_NUMBER_LIMIT,
        per_client_limit: Limit | None = DEFAULT_PER_CLIENT_LIMIT,
        new_destination_limit: Limit | None = DEFAULT_NEW_DESTINATION_LIMIT,
        blocked_prefixes: Sequence[str] = DEFAULT_BLOCKED_PREFIXES,
        allowed_countries: Collection[str] | None = None,
        resend_cooldown: float = DEFAULT_RESEND_COOLDOWN,
        report_lease: float = DEFAULT_REPORT_LEASE,
        caller_numbers: Sequence[str] | None = None,
        max_guess_chance: float = DEFAULT_MAX_GUESS_CHANCE,
        clock: Callable[[], float] = time.time,
        on_event: Callable[[VerificationEvent], None] | None = None,
    ) -> None:
        if not isinstance(flash_calls, AsyncFlashCalls):
            raise ConfigurationError(
                f"AsyncVerifier needs an AsyncFlashCalls, got {type(flash_calls).__name__} "
                "(use Verifier with a FlashCalls)"
            )
        self.store = _store_or_default(store)
        self._settings = VerifierSettings(
            ttl=ttl,
            max_attempts=max_attempts,
            code_digits=code_digits,
            per_number_limit=per_number_limit,
            per_client_limit=per_client_limit,
            new_destination_limit=new_destination_limit,
            blocked_prefixes=blocked_prefixes,
            allowed_countries=allowed_countries,
            resend_cooldown=resend_cooldown,
            report_lease=report_lease,
            caller_numbers=caller_numbers,
            max_guess_chance=max_guess_chance,
            clock=clock,
            on_event=on_event,
        )
        self._flash_calls = flash_calls
        self._proven = ProvenDestinations()
        self._watch = CallerWatch()
        self._async_store: AsyncStoreOperations | None = self.store.async_operations()
        self._sync_store: StoreOperations | None = (
            None if self._async_store is not None else self.store.sync_operations()
        )
        self._in_thread = self.store.blocking

    async def start(self, phone: str, *, client_key: str | None) -> Challenge:
        """Ring ``phone`` and open a challenge for it (see ``Verifier.start``)."""
        return await self._run(
            _flows.start(self._settings, self._proven, self._watch, phone, client_key)
        )

    async def check(
        self, challenge_id: str, *, received_cli: str | None = None, code: str | None = None
    ) -> CheckResult:
        """Check one answer (see ``Verifier.check``)."""
        return await self._run(
            _flows.check(self._settings, self._proven, challenge_id, received_cli, code)
        )

    async def guess_chance(self) -> float:
        """The estimated chance of a guessed code (see ``Verifier.guess_chance``)."""
        return await self._run(_flows.guess_chance(self._settings))

    async def cancel(self, challenge_id: str) -> bool:
        """End a pending challenge and report ``canceled`` (see ``Verifier.cancel``)."""
        return await self._run(_flows.cancel(self._settings, challenge_id))

    async def state(self, challenge_id: str) -> ChallengeState | None:
        """Where a challenge stands (see ``Verifier.state``)."""
        return await self._run(_flows.state(self._settings, challenge_id))

    async def expire_due(self) -> int:
        """Report ``timeout`` for challenges past their ttl (see ``Verifier.expire_due``)."""
        return (await self._run(_delivery.process_due(self._settings)))[0]

    async def flush(self) -> int:
        """Send every report still waiting (see ``Verifier.flush``)."""
        return (await self._run(_delivery.process_due(self._settings)))[1]

    async def _run(self, flow: Flow[T]) -> T:
        return await run_flow_async(flow, self._perform)

    async def _perform(self, step: Step) -> Any:
        if isinstance(step, StoreOp):
            if self._async_store is not None:
                return await step.run_async(self._async_store)
            assert self._sync_store is not None
            if self._in_thread:
                import asyncio  # loaded with the event loop already; not for sync users

                return await asyncio.to_thread(step.run, self._sync_store)
            return step.run(self._sync_store)
        if isinstance(step, SendReport):
            report = step.report
            try:
                if step.by is None:
                    await self._flash_calls.end(
                        UUID(report.call_id), result=report.result, received_cli=report.received_cli
                    )
                else:
                    caller, phone = step.by
                    await self._flash_calls.hangup(from_=caller, to=phone, result=report.result)
            except BirdError as error:
                return error
            return None
        assert isinstance(step, Ring)
        return await self._flash_calls.create(step.phone, from_=step.caller)
