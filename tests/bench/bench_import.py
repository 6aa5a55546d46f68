"""Import cost: a fresh interpreter's time from spawn to exit, `import bird_flashcalls` against
`import httpx, attrs` (and `pass`), the commands taking turns."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterator

from benchlib import Check, Figure, Result, Stat, clean_env, compile_packages, interleave, main

COMMANDS = {"bird": "import bird_flashcalls", "floor": "import httpx, attrs", "bare": "pass"}
# Loaded only on demand: the command line, the test double and their own dependencies.
MUST_NOT_LOAD = ("bird_flashcalls.cli", "bird_flashcalls.testing", "bird_flashcalls.__main__")
MUST_NOT_LOAD += ("argparse", "http.server", "socketserver")
MAX_RATIO = 1.15
LISTING_MODULES = {"json", "json.decoder", "json.scanner", "json.encoder"}  # loaded to list them
ENV = clean_env()


def time_process(code: str) -> tuple[float, float]:
    """Wall and CPU (user + sys) milliseconds of one interpreter running ``code``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    command = [sys.executable, "-c", code]
    subprocess.run(
        command, check=True, env=ENV, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL
    )
    wall = (time.perf_counter() - started) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return wall, cpu * 1000


def imported(code: str) -> tuple[set[str], dict[str, int]]:
    """The modules loaded after ``code``, and the self time (us, -X importtime) of each."""
    listing = f"{code}\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"
    command = [sys.executable, "-X", "importtime", "-c", listing]
    finished = subprocess.run(command, check=True, env=ENV, capture_output=True, text=True)
    times: dict[str, int] = {}
    for line in finished.stderr.splitlines():
        if line.startswith("import time:") and "self [us]" not in line:
            self_us, _, name = line.removeprefix("import time:").split("|")
            times[name.strip()] = int(self_us)
    return set(json.loads(finished.stdout)) - LISTING_MODULES, times


def run(quick: bool) -> Iterator[Result]:
    compile_packages()
    for code in COMMANDS.values():
        for _ in range(2):
            time_process(code)
    sides = {name: (lambda code=code: time_process(code)) for name, code in COMMANDS.items()}
    measured = interleave(sides, 5 if quick else 30)
    wall = {name: Stat.median_of([w for w, _ in runs]) for name, runs in measured.items()}
    cpu = {name: Stat.median_of([c for _, c in runs]) for name, runs in measured.items()}
    bird, floor, bare = wall["bird"], wall["floor"], wall["bare"]
    yield Figure(
        "import",
        "process wall time, `import bird_flashcalls` vs `import httpx, attrs`",
        "ms",
        bird,
        floor,
        target_max=MAX_RATIO,
        note=f"`python -c pass` takes {bare.text('ms')}",
    )
    yield Figure(
        "import",
        "process CPU time (user + sys), the same runs",
        "ms",
        cpu["bird"],
        cpu["floor"],
        note="moves less than wall time when the machine is busy",
    )
    net_bird, net_floor = bird.value - bare.value, floor.value - bare.value
    yield Check(
        "import",
        "import time net of interpreter start",
        None,
        f"bird_flashcalls {net_bird:.1f} ms vs httpx+attrs {net_floor:.1f} ms "
        f"(+{net_bird - net_floor:.1f} ms, x{net_bird / net_floor:.2f})",
    )

    ours, self_times = imported(COMMANDS["bird"])
    prefixes = tuple(f"{name}." for name in MUST_NOT_LOAD)
    loaded = sorted(module for module in ours if f"{module}.".startswith(prefixes))
    yield Check(
        "import",
        "CLI, FakeBird, argparse, http.server not loaded by `import bird_flashcalls`",
        not loaded,
        "loaded: " + ", ".join(loaded) if loaded else "none of them loaded",
    )
    by_group: dict[str, list[str]] = defaultdict(list)
    for module in ours - imported(COMMANDS["floor"])[0]:
        group = module.split(".")[0]
        ours_too = group in ("bird_flashcalls", "bird_channels_api")
        by_group[group if ours_too else f"stdlib {group}"].append(module)
    group_ms = {
        group: sum(self_times.get(module, 0) for module in modules) / 1000
        for group, modules in by_group.items()
    }
    yield Check(
        "import",
        "loaded beyond httpx+attrs (self time under -X importtime, inflated)",
        None,
        "; ".join(
            f"{group}: {len(by_group[group])} modules, {group_ms[group]:.1f} ms"
            for group in sorted(group_ms, key=lambda group: -group_ms[group])
        ),
    )


if __name__ == "__main__":
    main({"import": run}, __doc__)
