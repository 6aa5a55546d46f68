"""Every benchmark of bird-flashcalls against raw httpx; the results as a markdown table.

    .venv/bin/python tests/bench/run_all.py [--quick] [--only import,calls,...] [--profile]

Prints one row per figure as it is measured, then the table, also written to
tests/bench/results.md (--output); exits 1 when a target is missed. --quick is a smoke test.
"""

from __future__ import annotations

import importlib

from benchlib import BENCH_DIR, main

# bench_<name>.py, in the order they run and print.
NAMES = ("import", "calls", "loopback", "memory", "verification", "stores")
MODULES = {name: importlib.import_module(f"bench_{name}") for name in NAMES}

if __name__ == "__main__":
    benchmarks = {name: module.run for name, module in MODULES.items()}
    main(benchmarks, __doc__, profile=MODULES["calls"].profile, output=BENCH_DIR / "results.md")
