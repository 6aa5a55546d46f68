"""Memory: peak RSS of a fresh process (memory_probe.py) making N creates, client against raw
httpx, taking turns; then one run each under tracemalloc: no heap growth in the second half."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

from benchlib import (
    BENCH_DIR,
    Check,
    Figure,
    Result,
    Stat,
    clean_env,
    compile_packages,
    interleave,
    main,
)

MAX_RATIO = 1.10
# A leak of one small object per call over 5,000 calls would be several hundred KiB.
MAX_HEAP_GROWTH_BYTES = 64 * 1024


def probe(side: str, calls: int, *options: str) -> dict[str, Any]:
    command = [sys.executable, str(BENCH_DIR / "memory_probe.py"), side, str(calls), *options]
    finished = subprocess.run(command, check=True, capture_output=True, text=True, env=clean_env())
    return dict(json.loads(finished.stdout.splitlines()[-1]))


def run(quick: bool) -> Iterator[Result]:
    calls, runs = (2_000, 2) if quick else (10_000, 5)
    compile_packages()  # compiling source would add to the peak
    reports = interleave(
        {side: (lambda side=side: probe(side, calls)) for side in ("client", "raw")}, runs
    )
    peak = {
        side: Stat.median_of([r["peak_rss_kib"] / 1024 for r in reports[side]]) for side in reports
    }
    yield Figure(
        "memory",
        f"peak RSS after import + {calls} creates ({reports['client'][0]['peak_rss_source']})",
        "MiB",
        peak["client"],
        peak["raw"],
        target_max=MAX_RATIO,
    )
    for side, name in (("client", "bird-flashcalls"), ("raw", "raw httpx")):
        traced = probe(side, calls, "--tracemalloc")
        first, second = traced["traced_after_first_bytes"], traced["traced_after_second_bytes"]
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
        yield Check(
            "memory",
            f"{name}: growth from call {calls // 2} to call {calls}",
            second - first <= MAX_HEAP_GROWTH_BYTES if side == "client" else None,
            f"tracemalloc heap {first / 1024:.0f} KiB -> {second / 1024:.0f} KiB "
            f"({(second - first) / 1024:+.1f} KiB, limit +{MAX_HEAP_GROWTH_BYTES // 1024} KiB)"
            + rss_text,
        )


if __name__ == "__main__":
    main({"memory": run}, __doc__)
