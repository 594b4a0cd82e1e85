"""Pinning a process to one core (screener.cpu), in a child process so the test run keeps its cores."""

import json
import os
import subprocess
import sys

import pytest

from screener.cpu import usable_cores

PIN_AND_REPORT = """
import json, os, threading
from screener.cpu import pin_to_one_core
started = threading.Event(); release = threading.Event()
def wait():
    started.set(); release.wait()
before = threading.Thread(target=wait); before.start(); started.wait()
core = pin_to_one_core(int(os.environ["INDEX"]))
after = threading.Thread(target=release.wait); after.start()
threads = {t.native_id: sorted(os.sched_getaffinity(t.native_id)) for t in threading.enumerate()}
release.set()
print(json.dumps({"core": core, "threads": list(threads.values())}))
"""

pytestmark = pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="the system cannot pin threads")


def run_pinned(index: int, **env: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", PIN_AND_REPORT], env={**os.environ, "INDEX": str(index), **env},
        capture_output=True, text=True, check=True,
    )
    return json.loads(done.stdout)


def test_every_thread_before_and_after_runs_on_the_chosen_core():
    cores = usable_cores()
    report = run_pinned(len(cores) + 1)  # wraps around the usable cores
    assert report["core"] == cores[(len(cores) + 1) % len(cores)]
    assert len(report["threads"]) == 3
    assert all(affinity == [report["core"]] for affinity in report["threads"])


def test_the_setting_turns_pinning_off():
    report = run_pinned(0, SCREENER_ONE_CORE="0")
    assert report["core"] is None
    assert all(affinity == usable_cores() for affinity in report["threads"])
