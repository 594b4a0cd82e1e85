"""Keeping a process on one CPU core.

polars hands most steps (filter, join, sort, group_by) to its thread pool and waits for the answer. On a frame of a
few rows, as in checking one name, waking a pool thread that sleeps on another core costs more than the step itself:
on a 2-core virtual machine ~0.2 ms a step against ~0.03 ms when every thread shares one core, which halves the time
of a check. Work on one name at a time gains from one core; screening a file, whose steps are large, does not.
"""

from __future__ import annotations

import os
from pathlib import Path

from screener.settings import ONE_CORE

THREADS = Path("/proc/self/task")


def usable_cores() -> list[int]:
    """The cores this process may run on, in order (empty where the system does not say: macOS, Windows)."""
    return sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []


def pin_to_one_core(index: int = 0) -> int | None:
    """Run every thread of this process, and those it starts later, on one core (the index-th usable one, wrapping);
    the core chosen, or None where the system cannot pin threads or $SCREENER_ONE_CORE is off."""
    cores = usable_cores()
    if not cores or not ONE_CORE.value() or not THREADS.is_dir():
        return None
    core = cores[index % len(cores)]
    for thread in THREADS.iterdir():
        try:
            os.sched_setaffinity(int(thread.name), {core})
        except (ProcessLookupError, PermissionError):  # the thread ended meanwhile, or is not ours to move
            continue
    return core
