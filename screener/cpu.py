"""Keeping a process on one CPU core.

polars hands most steps (filter, join, sort, group_by) to its thread pool and waits for the answer. On a frame of a
few rows, as in checking one name, waking a pool thread that sleeps on another core costs more than the step itself:
on a 2-core virtual machine ~0.2 ms a step against ~0.03 ms when every thread shares one core, which halves the time
of a check. Work on one name at a time gains from one core; screening a file, whose steps are large, does not: a
process that does both (the web app) holds its threads to one core only while it checks a name (`on_one_core`).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from screener.settings import ONE_CORE

THREADS = Path("/proc/self/task")
_PINNING = threading.Lock()
_pinned_blocks = 0
_given_back: dict[int, set[int]] = {}


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


@contextlib.contextmanager
def on_one_core(index: int = 0) -> Iterator[None]:
    """Every thread of this process on one core while the block runs, and each thread's cores given back after it:
    for one name checked in a process whose other work spreads over every core (the web app). Blocks running at the
    same time, in other threads, share one pinning; the last to end gives the cores back."""
    global _pinned_blocks, _given_back
    with _PINNING:
        if _pinned_blocks == 0:
            before = _thread_cores()
            _given_back = before if pin_to_one_core(index) is not None else {}
        _pinned_blocks += 1
    try:
        yield
    finally:
        with _PINNING:
            _pinned_blocks -= 1
            if _pinned_blocks == 0 and _given_back:
                _give_back(_given_back)


def _thread_cores() -> dict[int, set[int]]:
    """The cores each thread of this process may run on (empty where the system does not say)."""
    cores = {}
    for thread in THREADS.iterdir() if THREADS.is_dir() else ():
        with contextlib.suppress(ProcessLookupError, PermissionError):
            cores[int(thread.name)] = os.sched_getaffinity(int(thread.name))
    return cores


def _give_back(cores: dict[int, set[int]]) -> None:
    """Each thread its cores again; a thread started meanwhile those of the process before the pinning."""
    everywhere = set().union(*cores.values())
    for thread in THREADS.iterdir():
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.sched_setaffinity(int(thread.name), cores.get(int(thread.name), everywhere))
