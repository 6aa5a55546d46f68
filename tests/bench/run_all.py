"""Every benchmark of bird-flashcalls against raw httpx; the results as a markdown table.

    .venv/bin/python tests/bench/run_all.py [--quick] [--only import,calls,...] [--profile]

Prints one row per figure as it is measured, then the table, also written to
tests/bench/results.md (--output); exits 1 when a target is missed. --quick is a smoke test.
"""

from __future__ import annotations

import bench_calls
import bench_import
import bench_loopback
import bench_memory
import bench_stores
import bench_verification
from benchlib import BENCH_DIR, main

BENCHMARKS = {
    "import": bench_import.run,
    "calls": bench_calls.run,
    "loopback": bench_loopback.run,
    "memory": bench_memory.run,
    "verification": bench_verification.run,
    "stores": bench_stores.run,
}

if __name__ == "__main__":
    main(BENCHMARKS, __doc__, profile=bench_calls.profile, output=BENCH_DIR / "results.md")
