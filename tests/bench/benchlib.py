"""What every benchmark shares; no httpx or bird_flashcalls import at module level: the memory
probe and the loopback server load only what their side needs."""

from __future__ import annotations

import gc
import json
import os
import platform
import shlex
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent.parent

ACCESS_KEY = "bench0access0key0AbCdEfGhIjKlMnOpQrSt"
WORKSPACE_ID = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
CHANNEL_ID = "6c7a3a2e-1f7e-4b8a-9d4c-2b1e5f0a9c11"
CALL_ID = "0b6f3f9e-8a5d-4c1e-9f2a-7d3b5e1c4a20"
BASE_URL = "https://api.bird.com"
TO = "+31612345678"
FROM = "+3197010260150"

CREATE_PATH = f"/workspaces/{WORKSPACE_ID}/channels/{CHANNEL_ID}/flashcalls"
CREATE_URL = BASE_URL + CREATE_PATH

# A 202 to create as the spec describes it: the required fields plus the ring timeout.
FLASH_CALL = {
    "id": CALL_ID,
    "channelId": CHANNEL_ID,
    "from": FROM,
    "to": TO,
    "status": "accepted",
    "ringTimeout": 30,
    "createdAt": "2025-03-14T09:26:53.589Z",
    "updatedAt": "2025-03-14T09:26:53.589Z",
}
CREATE_RESPONSE = json.dumps(FLASH_CALL).encode()
END_RESPONSE = json.dumps({"result": "verified"}).encode()
RESPONSE_HEADERS = {
    "Content-Type": "application/json",
    "Messagebird-Request-Id": "5f0c2f4e-7a8b-4c1d-9e2f-3a4b5c6d7e8f",
}

C = TypeVar("C")
T = TypeVar("T")

# What the raw httpx side sends: the same headers the client sends (Content-Type comes from json=).
RAW_HEADERS = {
    "Authorization": f"AccessKey {ACCESS_KEY}",
    "Accept": "application/json",
    "User-Agent": "bench-raw-httpx",
}


def bird_handler(request: Any) -> Any:
    """MockTransport handler: Bird's 202 for create, the hangup echo for end."""
    import httpx

    body = CREATE_RESPONSE if request.url.path == CREATE_PATH else END_RESPONSE
    return httpx.Response(202, headers=RESPONSE_HEADERS, content=body)


def flash_calls(client_class: Callable[..., C], http_client: Any, base_url: str = BASE_URL) -> C:
    return client_class(ACCESS_KEY, WORKSPACE_ID, CHANNEL_ID, base_url, http_client=http_client)


def cpu_us_per_call(call: Callable[[int], object], n: int) -> float:
    """n calls in this process's CPU time, microseconds per call."""
    gc.collect()
    started = time.process_time()
    for number in range(n):
        call(number)
    return (time.process_time() - started) / n * 1e6


async def cpu_us_per_call_async(call: Callable[[int], Awaitable[object]], n: int) -> float:
    gc.collect()
    started = time.process_time()
    for number in range(n):
        await call(number)
    return (time.process_time() - started) / n * 1e6


def interleave(sides: dict[str, Callable[[], T]], rounds: int) -> dict[str, list[T]]:
    """Run each side once per round, reversing the order every other round (A B C, C B A...)."""
    measured: dict[str, list[T]] = {name: [] for name in sides}
    for round_number in range(rounds):
        for name in list(sides)[:: 1 if round_number % 2 == 0 else -1]:
            measured[name].append(sides[name]())
    return measured


def best_per_call(
    batches: dict[str, Callable[[int], float]], calls: int, rounds: int, warmup: int
) -> dict[str, Stat]:
    """Warm every side up, then the best of ``rounds`` batches of ``calls``, sides taking turns."""
    for batch in batches.values():
        batch(warmup)
    measured = interleave({side: partial(batch, calls) for side, batch in batches.items()}, rounds)
    return {side: Stat.best_of(values) for side, values in measured.items()}


@dataclass(frozen=True)
class Stat:
    """One side of a figure: the quoted value and the spread it came from."""

    value: float
    low: float
    high: float
    samples: int
    how: str  # "median" or "best"

    @classmethod
    def median_of(cls, values: Sequence[float]) -> Stat:
        return cls(statistics.median(values), min(values), max(values), len(values), "median")

    @classmethod
    def best_of(cls, values: Sequence[float]) -> Stat:
        return cls(min(values), min(values), max(values), len(values), "best")

    def text(self, unit: str, digits: int = 1) -> str:
        spread = f"{self.low:.{digits}f}-{self.high:.{digits}f}"
        return f"{self.value:.{digits}f} {unit} ({self.how} of {self.samples}; {spread})"


VERDICTS = {True: "pass", False: "**FAIL**", None: "info"}


@dataclass(frozen=True)
class Figure:
    """A ratio ours / raw, and the bound the target puts on it."""

    benchmark: str
    name: str
    unit: str
    ours: Stat
    raw: Stat
    target_max: float | None = None
    target_min: float | None = None
    generated: Stat | None = None
    digits: int = 1
    note: str = ""

    @property
    def ratio(self) -> float:
        return self.ours.value / self.raw.value

    @property
    def target(self) -> str:
        if self.target_max is not None:
            return f"<= {self.target_max:.2f}"
        return "-" if self.target_min is None else f">= {self.target_min:.2f}"

    @property
    def passed(self) -> bool | None:
        if self.target_max is not None:
            return self.ratio <= self.target_max
        return None if self.target_min is None else self.ratio >= self.target_min

    def _text(self, stat: Stat | None) -> str:
        return "-" if stat is None else stat.text(self.unit, self.digits)

    def row(self) -> str:
        name = self.name + (f" ({self.note})" if self.note else "")
        cells = (self.ours, self.raw, self.generated)
        return (
            f"| {self.benchmark} | {name} | {' | '.join(map(self._text, cells))} "
            f"| {self.ratio:.3f} | {self.target} | {VERDICTS[self.passed]} |"
        )


@dataclass(frozen=True)
class Check:
    """A yes/no requirement that is not a ratio (modules that must not load, memory growth)."""

    benchmark: str
    name: str
    passed: bool | None
    detail: str

    def row(self) -> str:
        verdict = VERDICTS[self.passed]
        return f"| {self.benchmark} | {self.name} | {self.detail} | | | | | {verdict} |"


Result = Figure | Check
Benchmark = Callable[[bool], Iterable[Result]]
ABOUT_TABLE = (
    "Ratios are bird-flashcalls / raw httpx. Per-call figures are the best round; import, "
    "loopback and memory figures the median; the spread (min-max over all rounds) is in brackets."
)
TABLE_HEAD = (
    "| benchmark | figure | bird-flashcalls | raw httpx | generated alone | ratio | target | result |",
    "|---|---|---|---|---|---|---|---|",
)


def main(
    benchmarks: dict[str, Benchmark],
    description: str,
    *,
    profile: Callable[[bool], Iterable[str]] | None = None,
    output: Path | None = None,
) -> None:
    """Each row printed as it is measured, then the table (to --output too); exit 1 on a miss."""
    import argparse

    parser = argparse.ArgumentParser(description=description.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke test: few repetitions")
    parser.add_argument("--only", default=",".join(benchmarks), help="comma-separated subset")
    if profile is not None:
        parser.add_argument(
            "--profile", action="store_true", help="append a cProfile summary of FlashCalls.create"
        )
    parser.add_argument("--output", type=Path, default=output, help="where to write the table")
    args = parser.parse_args()
    selected = [name.strip() for name in args.only.split(",") if name.strip()]
    if unknown := sorted(set(selected) - set(benchmarks)):
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(benchmarks)}")

    header = machine_lines()
    print("\n".join(header), flush=True)
    started = time.monotonic()
    results: list[Result] = []
    for name in selected:
        for result in benchmarks[name](args.quick):
            print(result.row(), flush=True)
            results.append(result)
    quick = " (quick mode: smoke test only)" if args.quick else ""
    lines = [f"# bird-flashcalls benchmarks{quick}", "", *header]
    lines += [f"- took {time.monotonic() - started:.0f} s", "", ABOUT_TABLE, "", *TABLE_HEAD]
    lines += [result.row() for result in results]
    if profile is not None and args.profile:
        lines += ["", *profile(args.quick)]
    text = "\n".join(lines) + "\n"
    print(f"\n{text}", end="")
    if args.output is not None:
        args.output.write_text(text, encoding="utf-8")
        print(f"\nwritten to {args.output}")
    sys.exit(1 if any(result.passed is False for result in results) else 0)


QUIET_ENV = ("PYTHONPROFILEIMPORTTIME", "PYTHONTRACEMALLOC", "PYTHONDEVMODE", "PYTHONSTARTUP")
QUIET_ENV += ("PYTHONMALLOC", "PYTHONASYNCIODEBUG", "BIRD_FLASHCALLS_LOG")


def clean_env() -> dict[str, str]:
    """The environment for measured subprocesses: no tracing, profiling or logging switched on."""
    return {name: value for name, value in os.environ.items() if name not in QUIET_ENV}


def compile_packages() -> None:
    """Both packages' bytecode, as pip writes it: measured processes read it, not the source."""
    import compileall

    import bird_flashcalls

    # bird_flashcalls._generated lies inside it (and is a link in the source tree).
    for package in (bird_flashcalls, bird_flashcalls._generated):
        compileall.compile_dir(Path(package.__file__).parent, quiet=1)


def machine_lines() -> list[str]:
    """The header of results.md."""
    import attrs
    import bird_flashcalls
    import httpx

    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    executable = Path(sys.executable)
    if executable.is_relative_to(Path.cwd()):
        executable = executable.relative_to(Path.cwd())
    return [
        f"- machine: {platform.platform()}, {os.cpu_count()} CPUs, load average {load} at start",
        f"- python: {platform.python_implementation()} {platform.python_version()} ({sys.executable})",
        f"- date: {datetime.now(UTC).isoformat(timespec='seconds')}",
        f"- command: `{shlex.join([str(executable), *sys.argv])}`",
        f"- bird-flashcalls {bird_flashcalls.__version__} from "
        f"{Path(bird_flashcalls.__file__).parent}, httpx {httpx.__version__}, attrs {attrs.__version__}",
    ]


def profile_excess(
    title: str, ours: Callable[[int], object], raw: Callable[[int], object], calls: int, top: int
) -> Iterator[str]:
    """Markdown: the functions whose own time grows most from ``raw`` to ``ours`` (cProfile
    inflates every figure: read the shares, not the microseconds)."""
    import cProfile
    import pstats

    def own_times(batch: Callable[[int], object]) -> dict[Any, tuple[float, int]]:
        batch(max(calls // 10, 100))
        profiler = cProfile.Profile()
        profiler.runcall(batch, calls)
        stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
        return {key: (tottime, ncalls) for key, (_, ncalls, tottime, _, _) in stats.items()}

    ours_times, raw_times = own_times(ours), own_times(raw)
    ours_total, raw_total = (sum(t for t, _ in times.values()) for times in (ours_times, raw_times))
    excess, per_call = ours_total - raw_total, 1e6 / calls
    yield f"### cProfile of {title} vs raw httpx ({calls} calls each, profiled)\n"
    yield (
        f"- profiled time per call: client {ours_total * per_call:.1f} us, raw httpx "
        f"{raw_total * per_call:.1f} us, excess {excess * per_call:.1f} us ({excess / raw_total:+.0%})\n"
    )
    yield f"Top {top} functions by excess own time (client minus raw):\n"
    yield "| function | extra calls/call | extra us/call | share of excess |\n|---|---|---|---|"
    differences = []
    for key in ours_times.keys() | raw_times.keys():
        (ours_time, ours_calls), (raw_time, raw_calls) = (
            times.get(key, (0.0, 0)) for times in (ours_times, raw_times)
        )
        differences.append((ours_time - raw_time, ours_calls - raw_calls, key))
    for seconds, extra_calls, (file, line, function) in sorted(differences, reverse=True)[:top]:
        where = function if file == "~" else f"{'/'.join(Path(file).parts[-2:])}:{line}({function})"
        yield (
            f"| `{where}` | {extra_calls / calls:+g} | {seconds * per_call:+.2f} "
            f"| {seconds / excess:.1%} |"
        )
