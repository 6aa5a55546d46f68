"""What every benchmark shares: the fixed request and response, statistics, result rows.

Kept free of httpx and bird_flashcalls imports at module level: the memory probe and the
loopback server import it too, and must load only what their side needs.
"""

from __future__ import annotations

import json
import os
import platform
import shlex
import statistics
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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
    def best_of(cls, values: Sequence[float], *, higher_is_better: bool = False) -> Stat:
        best = max(values) if higher_is_better else min(values)
        return cls(best, min(values), max(values), len(values), "best")

    def text(self, unit: str, digits: int = 1) -> str:
        return (
            f"{self.value:.{digits}f} {unit} "
            f"({self.how} of {self.samples}; {self.low:.{digits}f}-{self.high:.{digits}f})"
        )


@dataclass(frozen=True)
class Figure:
    benchmark: str
    name: str
    unit: str
    ours: Stat
    raw: Stat
    # ratio is ours / raw; the target is a bound on it.
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
        if self.target_min is not None:
            return f">= {self.target_min:.2f}"
        return "-"

    @property
    def passed(self) -> bool | None:
        if self.target_max is not None:
            return self.ratio <= self.target_max
        if self.target_min is not None:
            return self.ratio >= self.target_min
        return None

    def line(self) -> str:
        parts = [
            f"[{self.benchmark}] {self.name}: bird-flashcalls {self.ours.text(self.unit, self.digits)}",
            f"raw httpx {self.raw.text(self.unit, self.digits)}",
        ]
        if self.generated is not None:
            parts.append(f"generated {self.generated.text(self.unit, self.digits)}")
        verdict = {True: "PASS", False: "FAIL", None: "info"}[self.passed]
        line = " | ".join(parts) + f" -> ratio {self.ratio:.3f} (target {self.target}) {verdict}"
        return line + (f"; {self.note}" if self.note else "")


@dataclass(frozen=True)
class Check:
    """A yes/no requirement that is not a ratio (modules that must not load, memory growth)."""

    benchmark: str
    name: str
    passed: bool | None
    detail: str

    def line(self) -> str:
        verdict = {True: "PASS", False: "FAIL", None: "info"}[self.passed]
        return f"[{self.benchmark}] {self.name}: {self.detail} {verdict}"


Result = Figure | Check


def emit(result: Result) -> Result:
    print(result.line(), flush=True)
    return result


def interleave(sides: dict[str, Callable[[], float]], rounds: int) -> dict[str, list[float]]:
    """Run each side once per round, reversing the order every other round (A B C, C B A...)."""
    names = list(sides)
    measured: dict[str, list[float]] = {name: [] for name in names}
    for round_number in range(rounds):
        for name in names if round_number % 2 == 0 else reversed(names):
            measured[name].append(sides[name]())
    return measured


def clean_env() -> dict[str, str]:
    """The environment for measured subprocesses: no tracing, profiling or logging switched on."""
    env = dict(os.environ)
    for variable in (
        "PYTHONPROFILEIMPORTTIME",
        "PYTHONTRACEMALLOC",
        "PYTHONDEVMODE",
        "PYTHONSTARTUP",
        "PYTHONMALLOC",
        "PYTHONASYNCIODEBUG",
        "BIRD_FLASHCALLS_LOG",
    ):
        env.pop(variable, None)
    return env


def compile_packages() -> None:
    """Write the bytecode of both packages, as pip does on install.

    Measured processes then read it instead of compiling the source on every start, even where
    PYTHONDONTWRITEBYTECODE is set (it stops an import from writing bytecode, not from reading it).
    """
    import compileall

    import bird_flashcalls

    # bird_flashcalls._generated lies inside it (and is a link in the source tree).
    for package in (bird_flashcalls, bird_flashcalls._generated):
        compileall.compile_dir(Path(package.__file__).parent, quiet=1)


def command_line() -> str:
    executable = Path(sys.executable)
    try:
        shown = str(executable.relative_to(Path.cwd()))
    except ValueError:
        shown = str(executable)
    return shlex.join([shown, *sys.argv])


def machine_lines() -> list[str]:
    import attrs
    import bird_flashcalls
    import httpx

    load = (
        " ".join(f"{value:.2f}" for value in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    )
    return [
        f"- machine: {platform.platform()}, {os.cpu_count()} CPUs, load average {load} at start",
        f"- python: {platform.python_implementation()} {platform.python_version()} ({sys.executable})",
        f"- date: {datetime.now(UTC).isoformat(timespec='seconds')}",
        f"- command: `{command_line()}`",
        f"- bird-flashcalls {bird_flashcalls.__version__} from "
        f"{Path(bird_flashcalls.__file__).parent}, httpx {httpx.__version__}, attrs {attrs.__version__}",
    ]


def markdown_table(results: Sequence[Result]) -> list[str]:
    lines = [
        "| benchmark | figure | bird-flashcalls | raw httpx | generated alone | ratio | target | result |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for result in results:
        if isinstance(result, Check):
            verdict = {True: "pass", False: "**FAIL**", None: "info"}[result.passed]
            lines.append(
                f"| {result.benchmark} | {result.name} | {result.detail} | | | | | {verdict} |"
            )
            continue
        verdict = {True: "pass", False: "**FAIL**", None: "info"}[result.passed]
        generated = result.generated.text(result.unit, result.digits) if result.generated else "-"
        name = result.name + (f" ({result.note})" if result.note else "")
        lines.append(
            f"| {result.benchmark} | {name} | {result.ours.text(result.unit, result.digits)} "
            f"| {result.raw.text(result.unit, result.digits)} | {generated} "
            f"| {result.ratio:.3f} | {result.target} | {verdict} |"
        )
    return lines


def parse_quick(argv: Sequence[str] | None = None) -> bool:
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="a smoke test in a few seconds")
    return bool(parser.parse_args(argv).quick)


def json_line(data: dict[str, Any]) -> None:
    print(json.dumps(data), flush=True)
