"""Where the time of FlashCalls.create goes beyond a raw httpx post, by cProfile.

Profiles the same number of calls on both sides (same MockTransport) and subtracts, function
by function, the raw side's own time from the client's. Profiling inflates every figure, so
read the shares, not the microseconds.

    .venv/bin/python tests/bench/profile_calls.py [--calls 5000] [--operation create|end] [--top 25]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sysconfig
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from bench_calls import SyncSides
from benchlib import BENCH_DIR

STDLIB = Path(sysconfig.get_paths()["stdlib"])

# (file, line, function) -> (own seconds, calls)
Table = dict[tuple[str, int, str], tuple[float, int]]


def _profile(batch: Callable[[int], float], calls: int) -> tuple[Table, float]:
    profiler = cProfile.Profile()
    profiler.enable()
    batch(calls)
    profiler.disable()
    stats = pstats.Stats(profiler)
    table: Table = {}
    for key, (_, ncalls, tottime, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        table[key] = (tottime, ncalls)
    return table, sum(tottime for tottime, _ in table.values())


def _where(key: tuple[str, int, str]) -> str:
    file, line, function = key
    if file == "~":
        return function  # a builtin
    path = Path(file)
    parts = path.parts
    for anchor in ("bird_flashcalls", "bird_channels_api", "httpx", "httpcore"):
        if anchor in parts:
            return "/".join(parts[parts.index(anchor) :]) + f":{line}({function})"
    return f"{path.name}:{line}({function})"


def _group(key: tuple[str, int, str]) -> str:
    file, _, _ = key
    if file == "~":
        return "builtins (C functions)"
    if file.startswith("<attrs generated"):
        return "attrs-generated methods"
    if file.startswith("<frozen importlib"):
        return "import statements run per call"
    parts = Path(file).parts
    for anchor in ("bird_flashcalls", "bird_channels_api", "httpx", "httpcore", "attr"):
        if anchor in parts:
            return anchor
    if Path(file).parent == BENCH_DIR:
        return "benchmark loop"
    try:
        module = Path(file).relative_to(STDLIB).with_suffix("")
    except ValueError:
        return Path(file).stem
    return "stdlib " + module.parts[0]


def summarise(operation: str, calls: int, top: int) -> list[str]:
    sides = SyncSides()
    try:
        ours_batch = getattr(sides, f"client_{operation}")
        raw_batch = getattr(sides, f"raw_{operation}")
        for batch in (ours_batch, raw_batch):
            batch(max(calls // 10, 100))
        ours, ours_total = _profile(ours_batch, calls)
        raw, raw_total = _profile(raw_batch, calls)
    finally:
        sides.close()

    per_call = 1e6 / calls
    excess = ours_total - raw_total
    lines = [
        f"### cProfile of FlashCalls.{operation} vs raw httpx ({calls} calls each, profiled)",
        "",
        f"- profiled time per call: client {ours_total * per_call:.1f} us, raw httpx "
        f"{raw_total * per_call:.1f} us, excess {excess * per_call:.1f} us "
        f"({excess / raw_total:+.0%})",
        "",
        f"Top {top} functions of the client by own time (share of the client's total):",
        "",
        "| function | calls/call | own us/call | share |",
        "|---|---|---|---|",
    ]
    for key, (tottime, ncalls) in sorted(ours.items(), key=lambda item: -item[1][0])[:top]:
        lines.append(
            f"| `{_where(key)}` | {ncalls / calls:g} | {tottime * per_call:.2f} "
            f"| {tottime / ours_total:.1%} |"
        )

    by_group: dict[str, float] = defaultdict(float)
    for key in ours.keys() | raw.keys():
        by_group[_group(key)] += ours.get(key, (0.0, 0))[0] - raw.get(key, (0.0, 0))[0]
    lines += [
        "",
        "Excess over raw httpx by package (own time, client minus raw; share of the excess):",
        "",
        "| package | us/call | share of excess |",
        "|---|---|---|",
    ]
    for group, seconds in sorted(by_group.items(), key=lambda item: -item[1]):
        if abs(seconds * per_call) >= 0.2:
            lines.append(f"| {group} | {seconds * per_call:+.2f} | {seconds / excess:.1%} |")

    differences = []
    for key in ours.keys() | raw.keys():
        ours_time, ours_calls = ours.get(key, (0.0, 0))
        raw_time, raw_calls = raw.get(key, (0.0, 0))
        differences.append((ours_time - raw_time, ours_calls - raw_calls, key))
    differences.sort(key=lambda item: -item[0])
    lines += [
        "",
        f"Top {top} functions by excess own time (client minus raw):",
        "",
        "| function | extra calls/call | extra us/call | share of excess |",
        "|---|---|---|---|",
    ]
    for seconds, extra_calls, key in differences[:top]:
        lines.append(
            f"| `{_where(key)}` | {extra_calls / calls:+g} | {seconds * per_call:+.2f} "
            f"| {seconds / excess:.1%} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5_000)
    parser.add_argument("--operation", choices=("create", "end"), default="create")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--quick", action="store_true", help="500 calls")
    args = parser.parse_args()
    print("\n".join(summarise(args.operation, 500 if args.quick else args.calls, args.top)))


if __name__ == "__main__":
    main()
