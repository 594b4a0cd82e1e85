"""`screener serve` in a subprocess on a free loopback port, for the service tests and its benchmark."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.streamlit_server import REPO, ServerError, free_port

START_TIMEOUT_S = 90


@contextmanager
def served_api(database: Path, *options: str) -> Iterator[str]:
    """The service over `database`, until the block ends; yields its URL once /readyz answers 200."""
    with served_process(database, *options) as (url, _):
        yield url


@contextmanager
def served_process(
    database: Path, *options: str, checkout: Path = REPO, cores: set[int] | None = None
) -> Iterator[tuple[str, subprocess.Popen]]:
    """served_api's URL and the server process (with one worker, the process that answers); `checkout`, another
    version's source tree, serves instead of this one (a benchmark's baseline); `cores`, the cores it may use (a
    process started by one pinned to a core would inherit that one core, and its workers would all share it)."""
    port = free_port()
    command = [sys.executable, "-m", "screener", "serve", "--db", str(database), "--port", str(port), *options]
    on_cores = (lambda: os.sched_setaffinity(0, cores)) if cores else None
    process = subprocess.Popen(command, cwd=checkout, env={**os.environ, "PYTHONPATH": str(checkout)},
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, preexec_fn=on_cores)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(process, url)
        yield url, process
    finally:
        stop(process)


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_until_ready(process: subprocess.Popen, url: str) -> None:
    """Wait for /healthz, then for /readyz (the lists loaded)."""
    deadline = time.monotonic() + START_TIMEOUT_S
    for path in ("/healthz", "/readyz"):
        while True:
            if process.poll() is not None:
                raise ServerError(f"screener serve exited with {process.returncode}: {process.stderr.read()[-2000:]}")
            try:
                if httpx.get(f"{url}{path}", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise ServerError(f"screener serve did not answer {url}{path} within {START_TIMEOUT_S} s")
            time.sleep(0.2)
