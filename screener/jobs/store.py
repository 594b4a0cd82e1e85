"""The `jobs` and `job_parts` tables: the one module that reads and writes them.

A job is queued with its options (its upload in its folder beside the database), claimed by one runner, stored batch
by batch as it is screened, then done with its run's metadata and totals, or failed with one line saying why. A
finished job older than the retention is deleted, rows, batches and files, whenever a job is submitted or a runner
starts."""

from __future__ import annotations

import io
import json
import os
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import polars as pl

from screener import settings
from screener.jobs.errors import JobFailed, JobNotDone, JobRunning, UnknownJob
from screener.jobs.files import input_dir, job_dir, remove_job_files, store_upload, upload_path
from screener.result import ScreenResult
from screener.store import Store, transaction
from screener.supplier_io import MAX_FILE_BYTES

RUNNER = f"{socket.gethostname()}:{os.getpid()}"
FINISHED = "status IN ('done', 'failed')"
EXPIRED = f"{FINISHED} AND finished_at < CAST(now() AS TIMESTAMP) - to_days(CAST(? AS INTEGER))"


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


def submit_job(db_path: Path, filename: str, upload: BinaryIO, options: JobOptions, key_id: str | None, *,
               max_bytes: int = MAX_FILE_BYTES) -> str:
    """Copy an upload (read in chunks) into a new job's folder and queue the job; return its id. An upload over
    `max_bytes` or empty is refused with nothing kept. Jobs past the retention are deleted first."""
    apply_retention(db_path)
    job_id = uuid.uuid4().hex
    try:
        store_upload(upload, upload_path(db_path, job_id, filename), max_bytes)
        with Store(db_path) as store:
            store.con.execute(
                """INSERT INTO jobs (job_id, key_id, status, filename, options, rows_done, created_at)
                   VALUES (?, ?, 'queued', ?, ?, 0, now())""",
                [job_id, key_id, filename, options.as_json()],
            )
    except BaseException:
        remove_job_files(job_dir(db_path, job_id))
        raise
    return job_id


def _unknown(job_id: str) -> UnknownJob:
    return UnknownJob(f"no job has the id {job_id!r}; POST /screen returns the id of a new job")


def job_status(db_path: Path, job_id: str) -> dict[str, Any]:
    """A job's state and progress (never its content); UnknownJob when no job has the id."""
    with Store(db_path) as store:
        rows = store.query(
            """SELECT job_id, status, filename, rows_done, rows_total, created_at, started_at, finished_at, error,
                      result_metadata FROM jobs WHERE job_id = ?""",
            [job_id],
        )
    if rows.is_empty():
        raise _unknown(job_id)
    job = rows.row(0, named=True)
    metadata = json.loads(job.pop("result_metadata") or "null")
    total = job["rows_total"]
    job["progress"] = 1.0 if job["status"] == "done" else (round(job["rows_done"] / total, 4) if total else 0.0)
    job["summary"] = metadata.get("summary") if metadata else None
    for stamp in ("created_at", "started_at", "finished_at"):
        job[stamp] = job[stamp].isoformat() if job[stamp] else None
    return job


def finished_job(db_path: Path, job_id: str) -> dict[str, Any]:
    """The stored metadata and totals of a finished job; UnknownJob, JobFailed or JobNotDone when it has none."""
    with Store(db_path) as store:
        rows = store.query("SELECT status, error, result_metadata FROM jobs WHERE job_id = ?", [job_id])
    if rows.is_empty():
        raise _unknown(job_id)
    job = rows.row(0, named=True)
    if job["status"] == "failed":
        raise JobFailed(f"job {job_id} failed: {job['error']}")
    if job["status"] != "done":
        raise JobNotDone(f"job {job_id} is {job['status']}; poll GET /jobs/{job_id} until it is done")
    return json.loads(job["result_metadata"])


def stored_parts(db_path: Path, job_id: str, metadata: dict[str, Any]) -> Iterator[ScreenResult]:
    """A finished job's result, batch by batch as it was screened (one batch in memory at a time)."""
    with Store(db_path) as store:
        parts = store.query("SELECT part FROM job_parts WHERE job_id = ? ORDER BY part", [job_id])["part"].to_list()
    for part in parts:
        with Store(db_path) as store:
            rows, candidates = store.query(
                "SELECT result_rows, result_candidates FROM job_parts WHERE job_id = ? AND part = ?", [job_id, part]
            ).row(0)
        yield ScreenResult(pl.read_parquet(io.BytesIO(rows)), pl.read_parquet(io.BytesIO(candidates)), metadata)


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


@dataclass(frozen=True)
class ClaimedJob:
    """A job this process runs: its id, the uploaded file and the uploader's options."""

    job_id: str
    upload: Path
    options: JobOptions


def claim_job(db_path: Path) -> ClaimedJob | None:
    """Take the oldest queued job for this process (one transaction, so two runners never take the same job). The
    upload of a job queued by an older screener, kept in the database, is written to the job's folder first."""
    with Store(db_path) as store:
        rows = store.query(
            """UPDATE jobs SET status = 'running', runner = ?, started_at = now()
               WHERE job_id = (SELECT job_id FROM jobs WHERE status = 'queued' ORDER BY created_at LIMIT 1)
                 AND status = 'queued'
               RETURNING job_id, filename, options, input""",
            [RUNNER],
        )
    if rows.is_empty():
        return None
    job = rows.row(0, named=True)
    upload = upload_path(db_path, job["job_id"], job["filename"])
    if job["input"] is not None:
        upload.parent.mkdir(parents=True, exist_ok=True)
        upload.write_bytes(job["input"])
    return ClaimedJob(job["job_id"], upload, JobOptions.from_json(job["options"]))


def set_progress(db_path: Path, job_id: str, done: int, total: int) -> None:
    with Store(db_path) as store:
        store.con.execute("UPDATE jobs SET rows_done = ?, rows_total = ? WHERE job_id = ?", [done, total, job_id])


def store_part(db_path: Path, job_id: str, part: int, result: ScreenResult) -> None:
    """Keep one screened batch of a running job."""
    rows, candidates = io.BytesIO(), io.BytesIO()
    result.rows.write_parquet(rows)
    result.candidates.write_parquet(candidates)
    with Store(db_path) as store:
        store.con.execute("INSERT INTO job_parts VALUES (?, ?, ?, ?)", [job_id, part, rows.getvalue(), candidates.getvalue()])


def drop_parts(db_path: Path, job_id: str) -> None:
    """Forget the batches kept of a job (an earlier attempt's, or a failed one's)."""
    with Store(db_path) as store:
        store.con.execute("DELETE FROM job_parts WHERE job_id = ?", [job_id])


def finish_job(db_path: Path, job_id: str, rows: int, metadata: str) -> None:
    """Mark a job done with its rows and its run's metadata (JSON); its upload is no longer needed."""
    with Store(db_path) as store:
        store.con.execute(
            """UPDATE jobs SET status = 'done', finished_at = now(), input = NULL, rows_done = ?, rows_total = ?,
                      result_metadata = ? WHERE job_id = ?""",
            [rows, rows, metadata, job_id],
        )
    remove_job_files(input_dir(db_path, job_id))


def fail_job(db_path: Path, job_id: str, message: str) -> None:
    """Mark a job failed with the one line saying why; its upload is no longer needed."""
    with Store(db_path) as store:
        store.con.execute(
            "UPDATE jobs SET status = 'failed', finished_at = now(), input = NULL, error = ? WHERE job_id = ?",
            [message, job_id],
        )
    remove_job_files(input_dir(db_path, job_id))


def delete_job(db_path: Path, job_id: str) -> None:
    """Delete a queued or finished job: its row, its batches, its upload and reports; JobRunning while it runs."""
    with Store(db_path) as store, transaction(store.con):
        status = store.scalar("SELECT status FROM jobs WHERE job_id = ?", [job_id])
        if status is None:
            raise _unknown(job_id)
        if status == "running":
            raise JobRunning(f"job {job_id} is being screened; delete it once GET /jobs/{job_id} says it is done")
        store.con.execute("DELETE FROM job_parts WHERE job_id = ?", [job_id])
        store.con.execute("DELETE FROM jobs WHERE job_id = ?", [job_id])
    remove_job_files(job_dir(db_path, job_id))


def apply_retention(db_path: Path) -> list[str]:
    """Delete the jobs finished longer ago than the retention ($SCREENER_JOB_RETENTION_DAYS; 0 keeps every job)."""
    days = settings.JOB_RETENTION_DAYS.value()
    return prune_jobs(db_path, days) if days else []


def prune_jobs(db_path: Path, days: int) -> list[str]:
    """Delete the jobs finished more than `days` days ago, rows, batches and files; return their ids."""
    with Store(db_path) as store, transaction(store.con):
        store.con.execute(f"DELETE FROM job_parts WHERE job_id IN (SELECT job_id FROM jobs WHERE {EXPIRED})", [days])
        expired = store.query(f"DELETE FROM jobs WHERE {EXPIRED} RETURNING job_id", [days])["job_id"].to_list()
    for job_id in expired:
        remove_job_files(job_dir(db_path, job_id))
    return expired
