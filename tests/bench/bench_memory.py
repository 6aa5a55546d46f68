"""Memory: peak RSS of a fresh process that makes N creates, client against raw httpx.

Each measurement is a new process (memory_probe.py); the two sides take turns. A second pair of
runs under tracemalloc checks that the Python heap does not grow between the first and the
second half of the calls.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from benchlib import (
    BENCH_DIR,
    Check,
    Figure,
    Result,
    Stat,
    clean_env,
    compile_packages,
    emit,
    interleave,
    parse_quick,
)

MAX_RATIO = 1.10
# A leak of one small object per call over 5,000 calls would be several hundred KiB.
MAX_HEAP_GROWTH_BYTES = 64 * 1024


def _probe(side: str, calls: int, *, traced: bool = False) -> dict[str, Any]:
    command = [sys.executable, str(BENCH_DIR / "memory_probe.py"), side, str(calls)]
    if traced:
        command.append("--tracemalloc")
    finished = subprocess.run(command, check=True, capture_output=True, text=True, env=clean_env())
    report: dict[str, Any] = json.loads(finished.stdout.splitlines()[-1])
    return report


def run(quick: bool = False) -> list[Result]:
    calls, runs = (2_000, 2) if quick else (10_000, 5)
    compile_packages()  # compiling source would add to the peak
    reports: dict[str, list[dict[str, Any]]] = {"client": [], "raw": []}

    def measure(side: str) -> float:
        report = _probe(side, calls)
        reports[side].append(report)
        return float(report["peak_rss_kib"]) / 1024

    measured = interleave({side: (lambda side=side: measure(side)) for side in reports}, runs)
    results: list[Result] = [
        emit(
            Figure(
                "memory",
                f"peak RSS after import + {calls} creates ({reports['client'][0]['peak_rss_source']})",
                "MiB",
                Stat.median_of(measured["client"]),
                Stat.median_of(measured["raw"]),
                target_max=MAX_RATIO,
                digits=1,
            )
        )
    ]
    half = calls // 2
    for side, name in (("client", "bird-flashcalls"), ("raw", "raw httpx")):
        traced = _probe(side, calls, traced=True)
        heap_growth = traced["traced_after_second_bytes"] - traced["traced_after_first_bytes"]
        rss_growth = [
            report["rss_after_second_kib"] - report["rss_after_first_kib"]
            for report in reports[side]
            if report["rss_after_first_kib"] is not None
        ]
        rss_text = (
            f"; RSS growth {min(rss_growth)} to {max(rss_growth)} KiB over {len(rss_growth)} runs"
            if rss_growth
            else ""
        )
        results.append(
            emit(
                Check(
                    "memory",
                    f"{name}: growth from call {half} to call {calls}",
                    heap_growth <= MAX_HEAP_GROWTH_BYTES if side == "client" else None,
                    f"tracemalloc heap {traced['traced_after_first_bytes'] / 1024:.0f} KiB -> "
                    f"{traced['traced_after_second_bytes'] / 1024:.0f} KiB "
                    f"({heap_growth / 1024:+.1f} KiB, limit +{MAX_HEAP_GROWTH_BYTES // 1024} KiB)"
                    + rss_text,
                )
            )
        )
    return results


def main() -> None:
    results = run(parse_quick())
    sys.exit(1 if any(result.passed is False for result in results) else 0)


if __name__ == "__main__":
    main()
