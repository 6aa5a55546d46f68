"""`memory_probe.py {client|raw} CALLS [--tracemalloc]`: imports that side alone, makes CALLS
creates on MockTransport and prints one JSON line: the peak RSS, RSS after each half of the calls
and, with --tracemalloc, the traced Python heap at the same points."""

from __future__ import annotations

import gc
import json
import resource
import sys
from collections.abc import Callable
from typing import Any

from benchlib import CREATE_URL, RAW_HEADERS, TO, bird_handler, flash_calls


def status_kib(field: str) -> int | None:
    """A field of /proc/self/status in KiB (VmRSS now, VmHWM the peak); None without one."""
    try:
        with open("/proc/self/status") as status:
            lines = [line.split() for line in status if line.startswith(f"{field}:")]
    except OSError:
        return None
    return int(lines[0][1]) if lines else None


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
        report[f"rss_after_{half}_kib"] = status_kib("VmRSS")
        if traced:
            report[f"traced_after_{half}_bytes"] = tracemalloc.get_traced_memory()[0]
    # On Linux a spawned child's ru_maxrss starts at its parent's peak (vfork + exec keeps the
    # high-water mark), so under run_all it would report the parent. VmHWM is this process's own.
    report["peak_rss_kib"], report["peak_rss_source"] = status_kib("VmHWM"), "VmHWM"
    if report["peak_rss_kib"] is None:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        report["peak_rss_kib"] = peak // 1024 if sys.platform == "darwin" else peak
        report["peak_rss_source"] = "ru_maxrss"
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
