"""One measured process for bench_memory.py: import one side, make N creates on MockTransport.

    python memory_probe.py {client|raw} CALLS [--tracemalloc]

Prints one JSON line: peak RSS (VmHWM, else ru_maxrss) at the end, current RSS after the first and the
second half of the calls, and with --tracemalloc the traced Python heap at the same points.
Only the side asked for is imported, so the raw process never loads bird_flashcalls.
"""

from __future__ import annotations

import gc
import json
import resource
import sys
from collections.abc import Callable
from typing import Any

from benchlib import CREATE_URL, RAW_HEADERS, TO, bird_handler, flash_calls


def current_rss_kib() -> int | None:
    try:
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[1])
    except OSError:
        return None
    return pages * resource.getpagesize() // 1024


def peak_rss_kib() -> tuple[int, str]:
    # On Linux a spawned child's ru_maxrss starts at its parent's peak (vfork + exec keeps the
    # high-water mark), so under run_all it would report the parent. VmHWM is this process's own.
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]), "VmHWM"
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return (peak // 1024 if sys.platform == "darwin" else peak), "ru_maxrss"


def create_call(side: str) -> Callable[[], Any]:
    import httpx

    http = httpx.Client(transport=httpx.MockTransport(bird_handler))
    if side == "client":
        from bird_flashcalls import FlashCalls

        client = flash_calls(FlashCalls, http)
        return lambda: client.create(TO)
    return lambda: http.post(CREATE_URL, json={"to": TO}, headers=RAW_HEADERS).json()


def main() -> None:
    side, calls = sys.argv[1], int(sys.argv[2])
    traced = "--tracemalloc" in sys.argv[3:]
    if traced:
        import tracemalloc

        tracemalloc.start()
    create = create_call(side)
    report: dict[str, Any] = {"side": side, "calls": calls}
    for half in ("first", "second"):
        for _ in range(calls // 2):
            create()
        gc.collect()
        report[f"rss_after_{half}_kib"] = current_rss_kib()
        if traced:
            report[f"traced_after_{half}_bytes"] = tracemalloc.get_traced_memory()[0]
    report["peak_rss_kib"], report["peak_rss_source"] = peak_rss_kib()
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
