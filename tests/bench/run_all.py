"""Every benchmark of bird-flashcalls against raw httpx; the results as a markdown table.

    .venv/bin/python tests/bench/run_all.py [--quick]
                                            [--only import,calls,loopback,memory,verification]
                                            [--profile] [--output tests/bench/results.md]

Prints one line per figure as it is measured, then the table, which is also written to
tests/bench/results.md. Exits 1 when a target is missed. --quick is a smoke test of a few
seconds per benchmark whose numbers mean little.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import bench_calls
import bench_import
import bench_loopback
import bench_memory
import bench_verification
from benchlib import BENCH_DIR, Result, machine_lines, markdown_table

BENCHMARKS = {
    "import": bench_import.run,
    "calls": bench_calls.run,
    "loopback": bench_loopback.run,
    "memory": bench_memory.run,
    "verification": bench_verification.run,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke test: few repetitions")
    parser.add_argument(
        "--only",
        default=",".join(BENCHMARKS),
        help=f"comma-separated subset of {', '.join(BENCHMARKS)}",
    )
    parser.add_argument(
        "--profile", action="store_true", help="append a cProfile summary of FlashCalls.create"
    )
    parser.add_argument("--output", type=Path, default=BENCH_DIR / "results.md")
    args = parser.parse_args()
    selected = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(selected) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")

    header = machine_lines()
    print("\n".join(header), flush=True)
    started = time.monotonic()
    results: list[Result] = []
    for name in selected:
        results += BENCHMARKS[name](args.quick)

    lines = [
        "# bird-flashcalls benchmarks" + (" (quick mode: smoke test only)" if args.quick else ""),
        "",
        *header,
        f"- took {time.monotonic() - started:.0f} s",
        "",
        "Ratios are bird-flashcalls / raw httpx. Per-call figures are the best round; import, "
        "loopback and memory figures the median; the spread (min-max over all rounds) is in "
        "brackets.",
        "",
        *markdown_table(results),
    ]
    if args.profile:
        import profile_calls

        lines += ["", *profile_calls.summarise("create", 500 if args.quick else 5_000, 15)]
    text = "\n".join(lines) + "\n"
    print()
    print(text, end="")
    args.output.write_text(text, encoding="utf-8")
    print(f"\nwritten to {args.output}")
    sys.exit(1 if any(result.passed is False for result in results) else 0)


if __name__ == "__main__":
    main()
