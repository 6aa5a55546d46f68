"""Import cost: whole-process wall time of `import bird_flashcalls` against `import httpx, attrs`.

Each run is a fresh interpreter (the venv's python), timed from spawn to exit; the three
commands take turns so a burst of load elsewhere hits all of them alike.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time

from benchlib import (
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

COMMANDS = {
    "bird": "import bird_flashcalls",
    "floor": "import httpx, attrs",
    "bare": "pass",
}
# Loaded only on demand: the command line, the test double and their own dependencies.
MUST_NOT_LOAD = (
    "bird_flashcalls.cli",
    "bird_flashcalls.testing",
    "bird_flashcalls.__main__",
    "argparse",
    "http.server",
    "socketserver",
)
MAX_RATIO = 1.15


def _time_process(code: str, env: dict[str, str], cpu: dict[str, list[float]]) -> float:
    """Wall milliseconds of one interpreter running ``code``; its CPU time goes into ``cpu``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", code],
        check=True,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
    )
    wall = (time.perf_counter() - started) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    used = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    cpu.setdefault(code, []).append(used * 1000)
    return wall


def _modules_after(code: str, env: dict[str, str]) -> set[str]:
    listing = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"],
        check=True,
        env=env,
        capture_output=True,
        text=True,
    )
    return set(json.loads(listing.stdout)) - {
        "json",
        "json.decoder",
        "json.scanner",
        "json.encoder",
    }


def import_self_times(code: str, env: dict[str, str]) -> dict[str, int]:
    """Self time in microseconds of every module `code` imports, from -X importtime."""
    traced = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        check=True,
        env=env,
        capture_output=True,
        text=True,
    )
    times: dict[str, int] = {}
    for line in traced.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, _, name = line.removeprefix("import time:").split("|")
        times[name.strip()] = int(self_us)
    return times


def run(quick: bool = False) -> list[Result]:
    runs = 5 if quick else 30
    env = clean_env()
    compile_packages()
    cpu: dict[str, list[float]] = {}
    for code in COMMANDS.values():
        for _ in range(2):
            _time_process(code, env, {})
    measured = interleave(
        {
            name: (lambda code=code: _time_process(code, env, cpu))
            for name, code in COMMANDS.items()
        },
        runs,
    )
    bird, floor, bare = (Stat.median_of(measured[name]) for name in ("bird", "floor", "bare"))
    results: list[Result] = [
        emit(
            Figure(
                "import",
                "process wall time, `import bird_flashcalls` vs `import httpx, attrs`",
                "ms",
                bird,
                floor,
                target_max=MAX_RATIO,
                note=f"`python -c pass` takes {bare.text('ms')}",
            )
        )
    ]
    results.append(
        emit(
            Figure(
                "import",
                "process CPU time (user + sys), the same runs",
                "ms",
                Stat.median_of(cpu[COMMANDS["bird"]]),
                Stat.median_of(cpu[COMMANDS["floor"]]),
                note="moves less than wall time when the machine is busy",
            )
        )
    )
    net_bird, net_floor = bird.value - bare.value, floor.value - bare.value
    results.append(
        emit(
            Check(
                "import",
                "import time net of interpreter start",
                None,
                f"bird_flashcalls {net_bird:.1f} ms vs httpx+attrs {net_floor:.1f} ms "
                f"(+{net_bird - net_floor:.1f} ms, x{net_bird / net_floor:.2f})",
            )
        )
    )

    ours = _modules_after(COMMANDS["bird"], env)
    floor_modules = _modules_after(COMMANDS["floor"], env)
    loaded = sorted(
        module
        for module in ours
        if any(module == name or module.startswith(name + ".") for name in MUST_NOT_LOAD)
    )
    results.append(
        emit(
            Check(
                "import",
                "CLI, FakeBird, argparse, http.server not loaded by `import bird_flashcalls`",
                not loaded,
                "loaded: " + ", ".join(loaded) if loaded else "none of them loaded",
            )
        )
    )
    extra = ours - floor_modules
    self_times = import_self_times(COMMANDS["bird"], env)
    by_group: dict[str, list[str]] = {}
    for module in extra:
        group = module.split(".")[0]
        if group not in ("bird_flashcalls", "bird_channels_api"):
            group = "stdlib " + group
        by_group.setdefault(group, []).append(module)
    summary = "; ".join(
        f"{group}: {len(modules)} modules, {sum(self_times.get(m, 0) for m in modules) / 1000:.1f} ms"
        for group, modules in sorted(
            by_group.items(), key=lambda item: -sum(self_times.get(m, 0) for m in item[1])
        )
    )
    results.append(
        emit(
            Check(
                "import",
                "loaded beyond httpx+attrs (self time under -X importtime, inflated)",
                None,
                summary,
            )
        )
    )
    return results


def main() -> None:
    quick = parse_quick()
    results = run(quick)
    sys.exit(1 if any(result.passed is False for result in results) else 0)


if __name__ == "__main__":
    main()
