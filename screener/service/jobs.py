"""File-screening jobs: an upload is stored in the database with its options, screened in the background through
the streaming path of `screener screen` (`screen_to_report`: the same reader, column detection and batches, in
memory that follows the batch; the reader in a child process with memory and CPU limits, screener.isolated), and its result stored batch by batch beside it, so a restart of the service loses
no job (a job whose runner died is queued again). Reports are written from the stored batches by the CLI's writers,
sidecars included."""

from __future__ import annotations

import io
import json
import logging
import os
import socket
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from screener.errors import USER_ERRORS, first_line
from screener.isolated import read_batches_isolated
from screener.reports import ReportError, check_report_rows, report_writer
from screener.result import RunSummary, ScreenResult
from screener.screening import Screener, screen_to_report
from screener.service.errors import ServiceError
from screener.store import Store, StoreError
from screener.supplier_io import BATCH_ROWS

STATUSES = ("queued", "running", "done", "failed")
IDLE_POLL_S = 2.0
RUNNER = f"{socket.gethostname()}:{os.getpid()}"
log = logging.getLogger("screener.service")
REPORT_STEM = "report"


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


def job_summary(db_path: Path, job_id: str) -> dict[str, Any]:
    """The stored metadata and totals of a finished job; ServiceError when it is unknown or not finished."""
    with Store(db_path) as store:
        rows = store.query("SELECT status, error, result_metadata FROM jobs WHERE job_id = ?", [job_id])
    if rows.is_empty():
        raise ServiceError("unknown_job", f"no job has the id {job_id!r}; POST /screen returns the id of a new job", 404)
    job = rows.row(0, named=True)
    if job["status"] == "failed":
        raise ServiceError("job_failed", f"job {job_id} failed: {job['error']}", 409)
    if job["status"] != "done":
        raise ServiceError("job_not_done", f"job {job_id} is {job['status']}; poll GET /jobs/{job_id} until it is done", 409)
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


def reports_dir(db_path: Path) -> Path:
    """Where jobs' reports are kept once written: a folder beside the database (written again when it is gone)."""
    return Path(db_path).with_name(f"{Path(db_path).name}.reports")


def job_report(db_path: Path, job_id: str, format: str) -> Path:
    """A finished job's report in `format`, its sidecars beside it, written on the first request for it; ServiceError
    when the job is unknown (the id is checked in the store before it names a folder) or not done."""
    stored = job_summary(db_path, job_id)
    path = reports_dir(db_path) / job_id / f"{REPORT_STEM}.{format}"
    return path if path.exists() else write_job_report(db_path, job_id, stored, path, format)


def write_job_report(db_path: Path, job_id: str, stored: dict[str, Any], path: Path, format: str) -> Path:
    """Write a finished job's report and its sidecars at `path` with the CLI's writers, batch by batch (the report
    file moved into place last); ServiceError when the format cannot hold its rows."""
    try:
        check_report_rows(format, stored["summary"]["rows"])
        with report_writer(path, format) as writer:
            summary = RunSummary(stored["metadata"])
            for part in stored_parts(db_path, job_id, stored["metadata"]):
                summary.add(part)
                writer.write(part)
            writer.finish(summary)
    except ReportError as error:
        raise ServiceError("report_too_large", first_line(error), 422) from error
    return path


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


def claim_job(db_path: Path) -> dict[str, Any] | None:
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


class StoredResult:
    """Where a job's screening goes, as a report writer: each batch into the store as it comes, the run's metadata and
    totals once it is done (the job is then done), nothing when it fails."""

    def __init__(self, db_path: Path, job_id: str):
        self.db_path, self.job_id = db_path, job_id
        self._parts = 0
        self.abort()  # the batches of an earlier attempt (a runner that died) are screened again

    def write(self, part: ScreenResult) -> None:
        rows, candidates = io.BytesIO(), io.BytesIO()
        part.rows.write_parquet(rows)
        part.candidates.write_parquet(candidates)
        with Store(self.db_path) as store:
            store.con.execute("INSERT INTO job_parts VALUES (?, ?, ?, ?)",
                              [self.job_id, self._parts, rows.getvalue(), candidates.getvalue()])
        self._parts += 1

    def finish(self, summary: RunSummary) -> None:
        totals = {"rows": summary.rows, "tiers": summary.tiers}
        metadata = json.dumps({"metadata": summary.metadata, "summary": totals}, default=str)
        with Store(self.db_path) as store:
            store.con.execute(
                """UPDATE jobs SET status = 'done', finished_at = now(), input = NULL, rows_done = ?, rows_total = ?,
                          result_metadata = ? WHERE job_id = ?""",
                [summary.rows, summary.rows, metadata, self.job_id],
            )

    def abort(self) -> None:
        with Store(self.db_path) as store:
            store.con.execute("DELETE FROM job_parts WHERE job_id = ?", [self.job_id])


def _fail(db_path: Path, job_id: str, message: str) -> None:
    with Store(db_path) as store:
        store.con.execute(
            "UPDATE jobs SET status = 'failed', finished_at = now(), input = NULL, error = ? WHERE job_id = ?",
            [message, job_id],
        )


def run_job(db_path: Path, screener: Screener, job: dict[str, Any], *, batch_rows: int = BATCH_ROWS) -> None:
    """Screen one claimed job through the CLI's streaming path (reader, column or party detection, batches), storing
    its result batch by batch with its progress, or the one line saying why it failed."""
    options = JobOptions.from_json(job["options"])
    result = StoredResult(db_path, job["job_id"])
    progress: Callable[[int, int], None] = lambda done, total: _set_progress(db_path, job["job_id"], done, total)  # noqa: E731
    with tempfile.TemporaryDirectory(prefix="screener-job-") as folder:
        upload = Path(folder) / job["filename"]  # its name tells the reader the format, and names it in errors
        upload.write_bytes(job.pop("input"))
        try:
            screen_to_report(upload, None, db_path, columns=options.columns, sheet=options.sheet, progress=progress,
                             batch_rows=batch_rows, screener=screener, writer=result, reader=read_batches_isolated)
        except USER_ERRORS as error:  # the reader's, the column detection's: they fail the job, not the server
            result.abort()
            _fail(db_path, job["job_id"], first_line(error))


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
            if not self._run_next():
                self._wake.wait(IDLE_POLL_S)
                self._wake.clear()

    def _run_next(self) -> bool:
        """Screen the next queued job, if the lists are loaded and there is one; whether one was screened."""
        screener = self._screener()
        try:
            job = claim_job(self.db_path) if screener is not None else None
        except StoreError as error:  # the database held too long or damaged: said in the log, tried again later
            log.error("cannot take the next job: %s", first_line(error))
            return False
        if job is None or screener is None:
            return False
        try:
            run_job(self.db_path, screener, job)
        except Exception:  # a bug: the job says so in one line, the runner goes on with the next
            log.exception("job %s failed", job["job_id"])
            _fail(self.db_path, job["job_id"], "the server failed to screen this file; its log says why")
        return True
