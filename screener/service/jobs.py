"""File-screening jobs: an upload is stored in the database with its options, screened in the background by the
same reader, column detection and `Screener.screen` as `screener screen`, and its result stored beside it, so a
restart of the service loses no job (a job whose runner died is queued again)."""

from __future__ import annotations

import io
import json
import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import polars as pl

from screener.columns import detect_columns
from screener.errors import USER_ERRORS, first_line
from screener.isolated import read_isolated
from screener.result import ScreenResult
from screener.rules import SUPPLIER_FIELDS
from screener.screening import Screener
from screener.service.errors import ServiceError
from screener.store import Store

STATUSES = ("queued", "running", "done", "failed")
COLUMN_OPTIONS = SUPPLIER_FIELDS
IDLE_POLL_S = 2.0
RUNNER = f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class JobOptions:
    """What the uploader chose: the sheet of a workbook and the column of each role (None: detected)."""

    sheet: str | None = None
    columns: dict[str, str | None] = field(default_factory=dict)

    def as_json(self) -> str:
        return json.dumps({"sheet": self.sheet, "columns": self.columns})

    @classmethod
    def from_json(cls, text: str) -> JobOptions:
        data = json.loads(text)
        return cls(sheet=data.get("sheet"), columns=data.get("columns") or {})


def submit_job(db_path: Path, filename: str, content: bytes, options: JobOptions, key_id: str | None) -> str:
    """Store an upload as a queued job; return its id."""
    job_id = uuid.uuid4().hex
    with Store(db_path) as store:
        store.con.execute(
            """INSERT INTO jobs (job_id, key_id, status, filename, options, input, rows_done, created_at)
               VALUES (?, ?, 'queued', ?, ?, ?, 0, now())""",
            [job_id, key_id, filename, options.as_json(), content],
        )
    return job_id


def job_status(db_path: Path, job_id: str) -> dict[str, Any]:
    """A job's state and progress (never its content); ServiceError 404 when no job has the id."""
    with Store(db_path) as store:
        rows = store.query(
            """SELECT job_id, status, filename, rows_done, rows_total, created_at, started_at, finished_at, error,
                      result_metadata FROM jobs WHERE job_id = ?""",
            [job_id],
        )
    if rows.is_empty():
        raise ServiceError("unknown_job", f"no job has the id {job_id!r}; POST /screen returns the id of a new job", 404)
    job = rows.row(0, named=True)
    metadata = json.loads(job.pop("result_metadata") or "null")
    total = job["rows_total"]
    job["progress"] = 1.0 if job["status"] == "done" else (round(job["rows_done"] / total, 4) if total else 0.0)
    job["summary"] = metadata.get("summary") if metadata else None
    for stamp in ("created_at", "started_at", "finished_at"):
        job[stamp] = job[stamp].isoformat() if job[stamp] else None
    return job


def job_result(db_path: Path, job_id: str) -> ScreenResult:
    """The stored result of a finished job; ServiceError when it is unknown or not finished."""
    with Store(db_path) as store:
        rows = store.query(
            "SELECT status, error, result_rows, result_candidates, result_metadata FROM jobs WHERE job_id = ?", [job_id]
        )
    if rows.is_empty():
        raise ServiceError("unknown_job", f"no job has the id {job_id!r}; POST /screen returns the id of a new job", 404)
    job = rows.row(0, named=True)
    if job["status"] == "failed":
        raise ServiceError("job_failed", f"job {job_id} failed: {job['error']}", 409)
    if job["status"] != "done":
        raise ServiceError("job_not_done", f"job {job_id} is {job['status']}; poll GET /jobs/{job_id} until it is done", 409)
    metadata = json.loads(job["result_metadata"])
    return ScreenResult(
        rows=pl.read_parquet(io.BytesIO(job["result_rows"])),
        candidates=pl.read_parquet(io.BytesIO(job["result_candidates"])),
        metadata=metadata["metadata"],
    )


def requeue_orphans(db_path: Path) -> int:
    """Queue again the running jobs whose runner process on this host is gone (a restart, a crash); called before
    this process runs any job, so a job recorded under its own host and pid is an orphan too."""
    with Store(db_path) as store:
        running = store.query("SELECT job_id, runner FROM jobs WHERE status = 'running'")
        orphans = [row["job_id"] for row in running.iter_rows(named=True) if not _runner_alive(row["runner"])]
        if orphans:
            store.con.execute(
                "UPDATE jobs SET status = 'queued', runner = NULL, rows_done = 0 WHERE list_contains(?, job_id)",
                [orphans],
            )
    return len(orphans)


def _runner_alive(runner: str | None) -> bool:
    """Whether the process that claimed a job may still be running it (another host's runner: assume so)."""
    host, _, pid = (runner or "").rpartition(":")
    if host != socket.gethostname():
        return bool(host)
    if not pid.isdigit() or runner == RUNNER:
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _claim(db_path: Path) -> dict[str, Any] | None:
    """Take the oldest queued job for this process (one transaction, so two runners never take the same job)."""
    with Store(db_path) as store:
        rows = store.query(
            """UPDATE jobs SET status = 'running', runner = ?, started_at = now()
               WHERE job_id = (SELECT job_id FROM jobs WHERE status = 'queued' ORDER BY created_at LIMIT 1)
                 AND status = 'queued'
               RETURNING job_id, filename, options, input""",
            [RUNNER],
        )
    return rows.row(0, named=True) if not rows.is_empty() else None


def _set_progress(db_path: Path, job_id: str, done: int, total: int) -> None:
    with Store(db_path) as store:
        store.con.execute("UPDATE jobs SET rows_done = ?, rows_total = ? WHERE job_id = ?", [done, total, job_id])


def _finish(db_path: Path, job_id: str, result: ScreenResult) -> None:
    rows, candidates = io.BytesIO(), io.BytesIO()
    result.rows.write_parquet(rows)
    result.candidates.write_parquet(candidates)
    summary = dict(result.rows.group_by("risk_tier").len().iter_rows())
    metadata = json.dumps({"metadata": result.metadata, "summary": {"rows": result.rows.height, "tiers": summary}}, default=str)
    with Store(db_path) as store:
        store.con.execute(
            """UPDATE jobs SET status = 'done', finished_at = now(), input = NULL, rows_done = ?, rows_total = ?,
                      result_rows = ?, result_candidates = ?, result_metadata = ? WHERE job_id = ?""",
            [result.rows.height, result.rows.height, rows.getvalue(), candidates.getvalue(), metadata, job_id],
        )


def _fail(db_path: Path, job_id: str, message: str) -> None:
    with Store(db_path) as store:
        store.con.execute(
            "UPDATE jobs SET status = 'failed', finished_at = now(), input = NULL, error = ? WHERE job_id = ?",
            [message, job_id],
        )


JOB_INPUT_ERRORS: tuple[type[BaseException], ...] = (*USER_ERRORS, ValueError)
"""The reader's and the column detection's one-line errors: they fail the job, not the server."""


def run_job(db_path: Path, screener: Screener, job: dict[str, Any]) -> None:
    """Read, detect columns and screen one claimed job, storing its result or the one line saying why it failed."""
    options = JobOptions.from_json(job["options"])
    try:
        table = read_isolated(job["input"], filename=job["filename"], sheet=options.sheet)
        mapping = detect_columns(table.frame, **{role: options.columns.get(role) for role in COLUMN_OPTIONS})
        progress: Callable[[int, int], None] = lambda done, total: _set_progress(db_path, job["job_id"], done, total)  # noqa: E731
        result = screener.screen(table.frame, mapping, progress=progress, input_name=job["filename"])
        result = replace(result, metadata={**result.metadata, "input_repairs": list(table.repairs)})
    except JOB_INPUT_ERRORS as error:
        _fail(db_path, job["job_id"], first_line(error))
        return
    _finish(db_path, job["job_id"], result)


class JobRunner:
    """A background thread that screens queued jobs one at a time, woken by a submission or every few seconds."""

    def __init__(self, db_path: Path, screener: Callable[[], Screener | None]):
        self.db_path = db_path
        self._screener = screener
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="screener-jobs", daemon=True)

    def start(self) -> None:
        requeue_orphans(self.db_path)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=5)

    def wake(self) -> None:
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            screener = self._screener()
            job = _claim(self.db_path) if screener is not None else None
            if job is None or screener is None:
                self._wake.wait(IDLE_POLL_S)
                self._wake.clear()
                continue
            run_job(self.db_path, screener, job)
