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


PIN_FOR_A_BLOCK = """
import json, os, threading
from screener.cpu import on_one_core
def cores():
    found = []
    for task in os.listdir("/proc/self/task"):
        try:
            found.append(sorted(os.sched_getaffinity(int(task))))
        except ProcessLookupError:  # a joined thread's task may linger a moment in the listing, then be gone
            continue
    return sorted(found)
before = cores()
release = threading.Event()
report = {}
def other_block():  # a second check in another thread, overlapping the first
    with on_one_core():
        report["inside_other"] = cores()
        release.wait()
with on_one_core():
    report["inside"] = cores()
    other = threading.Thread(target=other_block); other.start()
    started = threading.Thread(target=release.wait); started.start()  # a thread started while pinned
while "inside_other" not in report:
    pass
report["while_other_runs"] = cores()
release.set(); other.join(); started.join()
report["after"] = cores(); report["before"] = before
print(json.dumps(report))
"""


@pytest.mark.skipif(len(usable_cores()) < 2, reason="one core: nothing to pin to")
def test_a_block_on_one_core_gives_every_thread_its_cores_back_when_the_last_block_ends():
    done = subprocess.run([sys.executable, "-c", PIN_FOR_A_BLOCK], capture_output=True, text=True, check=True)
    report = json.loads(done.stdout)
    for moment in ("inside", "inside_other", "while_other_runs"):
        assert all(len(cores) == 1 for cores in report[moment]), moment
    assert report["after"] == report["before"][:1] * len(report["after"])
    assert all(len(cores) == len(usable_cores()) for cores in report["after"])


def test_a_block_on_one_core_pins_nothing_when_told_not_to():
    done = subprocess.run(
        [sys.executable, "-c", PIN_FOR_A_BLOCK], env={**os.environ, "SCREENER_ONE_CORE": "0"},
        capture_output=True, text=True, check=True,
    )
    report = json.loads(done.stdout)
    assert all(len(cores) == len(usable_cores()) for cores in report["inside"])
