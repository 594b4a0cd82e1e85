"""`screener serve` as a user runs it: a real uvicorn server in a subprocess, on a free loopback port, for the
health, match, reconcile and job round trips, a restart that keeps jobs, and the refusal to listen publicly
without keys."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from screener.api_keys import add_key
from screener.cpu import usable_cores
from screener.jobs.files import input_dir, jobs_dir
from tests.conftest import EXAMPLE_SUPPLIERS, REPO
from tests.service_server import served_api, served_process, stop, wait_until_ready
from tests.streamlit_server import free_port

JOB_TIMEOUT_S = 120


@pytest.fixture
def served_db(embedded_db, tmp_path) -> Path:
    path = tmp_path / "lists.duckdb"
    shutil.copyfile(embedded_db, path)
    return path


def wait_for_job(url: str, job_id: str) -> dict:
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while time.monotonic() < deadline:
        job = httpx.get(f"{url}/jobs/{job_id}", timeout=10).json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} did not finish within {JOB_TIMEOUT_S} s")


def removed_soon(path: Path, seconds: float = 10.0) -> bool:
    """Whether `path` is gone within `seconds`: a job is marked done first and its upload removed right after, so
    that a crash in between leaves a finished job with a stray folder, never an unfinished job without its upload."""
    deadline = time.monotonic() + seconds
    while path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return not path.exists()


def test_health_match_reconcile_a_job_and_the_rate_limit_across_two_workers(served_db):
    _, token = add_key(served_db, "round trip")
    _, limited = add_key(served_db, "limited", rate_per_minute=RATE)
    with served_api(served_db, "--workers", "2") as url:  # two processes share the database, the jobs and the limits
        assert_rate_limited_across_workers(url, limited)
        assert httpx.get(f"{url}/healthz").json() == {"status": "ok"}
        query = {"queries": {"s1": {"schema": "Company", "properties": {"name": ["Hoshine Silicon Industry Co."]}}}}
        matched = httpx.post(f"{url}/match/default", json=query, timeout=30).json()["responses"]["s1"]
        assert matched["results"][0]["match"] and matched["tier"] == "critical"
        queries = {"q0": {"query": "Xinjiang Production and Construction Corps", "type": "Organization"}}
        reconciled = httpx.post(f"{url}/reconcile", data={"queries": json.dumps(queries)}, timeout=30).json()
        assert reconciled["q0"]["result"][0]["match"]
        with EXAMPLE_SUPPLIERS.open("rb") as upload:
            submitted = httpx.post(f"{url}/screen", files={"file": ("suppliers.csv", upload, "text/csv")},
                                   headers={"Authorization": f"Bearer {token}"}, timeout=30)
        assert submitted.status_code == 202, submitted.text
        job = wait_for_job(url, submitted.json()["job_id"])
        assert job["status"] == "done" and job["rows_total"] == 45 and job["summary"]["tiers"]["critical"] >= 1
        report = httpx.get(f"{url}{job['reports']['csv']}", timeout=30)
        assert report.status_code == 200 and report.text.count("\n") >= 46 and "match_citation" in report.text.splitlines()[0]


RATE = 6
LIMIT_CLIENTS = 4
LIMIT_REQUESTS = 10


def every_worker_ready(url: str, in_a_row: int = 20) -> None:
    """Wait until /readyz answers 200 on `in_a_row` new connections in a row (served_api saw one worker ready)."""
    deadline, ready = time.monotonic() + JOB_TIMEOUT_S, 0
    while ready < in_a_row:
        assert time.monotonic() < deadline, "a worker did not load the lists"
        ready = ready + 1 if httpx.get(f"{url}/readyz", timeout=10).status_code == 200 else 0


def assert_rate_limited_across_workers(url: str, token: str) -> None:
    """A key allowed RATE requests a minute gets RATE (and what refilled meanwhile) from all the workers together,
    however the connections, each new, are spread over the worker processes."""
    every_worker_ready(url)
    statuses: list[int] = []

    def client() -> None:
        for _ in range(LIMIT_REQUESTS):
            statuses.append(httpx.get(f"{url}/sources", headers={"X-API-Key": token}, timeout=30).status_code)

    started = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(LIMIT_CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    refilled = int((time.monotonic() - started) * RATE / 60)
    assert set(statuses) == {200, 429}
    assert RATE <= statuses.count(200) <= RATE + refilled, statuses


def test_a_restart_loses_no_job(served_db):
    """A job accepted by a server that is then killed is screened by the next server on the same database."""
    _, token = add_key(served_db, "restart")
    port = free_port()
    command = [sys.executable, "-m", "screener", "serve", "--db", str(served_db), "--port", str(port)]
    url = f"http://127.0.0.1:{port}"
    first = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_until_ready(first, url)
        with EXAMPLE_SUPPLIERS.open("rb") as upload:
            job_id = httpx.post(f"{url}/screen", files={"file": ("suppliers.csv", upload, "text/csv")},
                                headers={"X-API-Key": token}, timeout=30).json()["job_id"]
        first.send_signal(signal.SIGKILL)
        first.wait()
    finally:
        if first.poll() is None:
            stop(first)
    with served_api(served_db) as again:
        job = wait_for_job(again, job_id)
        assert job["status"] == "done" and job["rows_total"] == 45
        assert httpx.get(f"{again}/jobs/{job_id}/report.json", timeout=30).json()[0]["risk_tier"]


def test_a_public_address_without_keys_refuses_to_start(served_db):
    done = subprocess.run(
        [sys.executable, "-m", "screener", "serve", "--host", "0.0.0.0", "--port", str(free_port()), "--db", str(served_db)],
        capture_output=True, text=True, timeout=60, env={**os.environ, "COLUMNS": "200"},
    )
    assert done.returncode == 2
    assert done.stderr.strip().startswith("error: refusing to listen on 0.0.0.0 without API keys")
    assert len(done.stderr.strip().splitlines()) == 1


UPLOAD_LIMIT = 100_000


def test_an_upload_over_the_limit_is_refused_in_json_and_leaves_nothing_on_disk(served_db, tmp_path, monkeypatch):
    """Over the file limit (the body within the request limit: the copy to disk stops it) or over the request limit
    (sent in chunks, without a length: the server stops reading it), nothing of the upload stays on disk."""
    _, token = add_key(served_db, "uploads")
    spool = tmp_path / "server-tmp"  # where the server's multipart parser spools uploads
    spool.mkdir()
    monkeypatch.setenv("TMPDIR", str(spool))
    monkeypatch.setenv("SCREENER_SERVICE_MAX_UPLOAD_BYTES", str(UPLOAD_LIMIT))
    row = b"Hoshine Silicon Industry Co. Ltd.,CN\n"
    over_the_file_limit = b"name,country\n" + row * (UPLOAD_LIMIT // len(row) + 1)
    headers = {"X-API-Key": token}
    with served_api(served_db) as url:
        refused = httpx.post(f"{url}/screen", files={"file": ("big.csv", over_the_file_limit)}, headers=headers, timeout=30)
        assert refused.status_code == 413 and refused.json()["code"] == "file_too_large", refused.text
        assert refused.json()["detail"].startswith(f"big.csv holds more than {UPLOAD_LIMIT:,} bytes")
        boundary = "b0undary"
        chunks = [f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"huge.csv\"\r\n\r\n".encode(),
                  *[row * 28_000] * 3]  # ~3 MB, past the request limit (the file limit and 1 MB for the form)
        streamed = httpx.post(f"{url}/screen", content=iter(chunks), timeout=30,
                              headers={**headers, "Content-Type": f"multipart/form-data; boundary={boundary}"})
        assert streamed.status_code == 413 and streamed.json()["code"] == "body_too_large", streamed.text
        accepted = httpx.post(f"{url}/screen", files={"file": ("ok.csv", b"name,country\n" + row * 10)}, headers=headers,
                              timeout=30)
        assert accepted.status_code == 202
        job = wait_for_job(url, accepted.json()["job_id"])
        assert job["status"] == "done" and job["rows_total"] == 10
        assert list(spool.iterdir()) == []
        assert [path.name for path in jobs_dir(served_db).iterdir()] == [job["job_id"]]
        assert removed_soon(input_dir(served_db, job["job_id"]))


def child_pids(pid: int) -> set[int]:
    return {int(child) for task in Path(f"/proc/{pid}/task").iterdir()
            for child in (task / "children").read_text().split()}


def thread_cores(pid: int) -> set[tuple[int, ...]]:
    """The cores each thread of a process may run on (one tuple per distinct allowance)."""
    allowed = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            allowed.add(tuple(sorted(os.sched_getaffinity(int(task.name)))))
        except ProcessLookupError:  # the thread ended meanwhile
            continue
    return allowed


def polars_threads(pid: int) -> int:
    """How many threads of polars' pool a process runs (they are named polars-0, polars-1, ...)."""
    names = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            names.append((task / "comm").read_text().strip())
        except FileNotFoundError:  # the thread ended meanwhile
            continue
    return sum(1 for name in names if re.fullmatch(r"polars-\d+", name))


def worker_cores(server: subprocess.Popen, workers: int) -> list[set[tuple[int, ...]]]:
    """The thread cores of each worker process of `screener serve` (its children that serve: not multiprocessing's
    resource tracker), once every worker has pinned itself (or the time is up)."""
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while True:
        served = [pid for pid in child_pids(server.pid)
                  if "resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_text()]
        cores = [thread_cores(pid) for pid in served]
        pinned = len(cores) == workers and all(len(each) == 1 and len(next(iter(each))) == 1 for each in cores)
        if pinned or time.monotonic() > deadline:
            return cores
        time.sleep(0.2)


@pytest.mark.skipif(len(usable_cores()) < 2 or not Path("/proc/self/task").is_dir(), reason="needs two cores and /proc")
def test_each_worker_runs_every_thread_on_a_core_of_its_own_with_one_polars_thread_unless_the_setting_is_off(
    served_db, monkeypatch
):
    monkeypatch.delenv("POLARS_MAX_THREADS", raising=False)
    with served_process(served_db, "--workers", "2") as (url, server):
        every_worker_ready(url)
        cores = worker_cores(server, 2)
        assert len(cores) == 2 and all(len(each) == 1 for each in cores), cores
        (first,), (second,) = cores
        assert len(first) == len(second) == 1 and first != second and set(first + second) <= set(usable_cores())
        workers = [pid for pid in child_pids(server.pid) if "resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_text()]
        assert [polars_threads(pid) for pid in workers] == [1, 1]
    with served_process(served_db) as (_, server):  # one worker: the server process itself
        (alone,) = thread_cores(server.pid)
        assert len(alone) == 1
        assert polars_threads(server.pid) == 1
    monkeypatch.setenv("SCREENER_ONE_CORE", "0")
    with served_process(served_db) as (_, server):
        assert thread_cores(server.pid) == {tuple(usable_cores())}
        assert polars_threads(server.pid) == len(usable_cores())
