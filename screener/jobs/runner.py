"""Running jobs: a background thread claims queued jobs one at a time and screens each through the streaming path of
`screener screen` (`screen_to_report`: the same reader, column detection and batches, in memory that follows the
batch; the reader in a child process with memory and CPU limits, screener.isolated), storing the result batch by
batch, so a restart loses no job (a job whose runner died is queued again)."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from pathlib import Path

from screener.errors import USER_ERRORS, first_line
from screener.isolated import read_batches_isolated
from screener.jobs.store import (
    ClaimedJob,
    apply_retention,
    claim_job,
    drop_parts,
    fail_job,
    finish_job,
    requeue_orphans,
    set_progress,
    store_part,
)
from screener.result import RunSummary, ScreenResult
from screener.screening import Screener, screen_to_report
from screener.store import StoreError
from screener.supplier_io import BATCH_ROWS

IDLE_POLL_S = 2.0
log = logging.getLogger("screener.jobs")


class StoredResult:
    """Where a job's screening goes, as a report writer: each batch into the store as it comes, the run's metadata and
    totals once it is done (the job is then done), nothing when it fails."""

    def __init__(self, db_path: Path, job_id: str):
        self.db_path, self.job_id = db_path, job_id
        self._parts = 0
        self.abort()  # the batches of an earlier attempt (a runner that died) are screened again

    def write(self, part: ScreenResult) -> None:
        store_part(self.db_path, self.job_id, self._parts, part)
        self._parts += 1

    def finish(self, summary: RunSummary) -> None:
        totals = {"rows": summary.rows, "tiers": summary.tiers}
        finish_job(self.db_path, self.job_id, summary.rows,
                   json.dumps({"metadata": summary.metadata, "summary": totals}, default=str))

    def abort(self) -> None:
        drop_parts(self.db_path, self.job_id)


def run_job(db_path: Path, screener: Screener, job: ClaimedJob, *, batch_rows: int = BATCH_ROWS) -> None:
    """Screen one claimed job through the CLI's streaming path (reader, column or party detection, batches), storing
    its result batch by batch with its progress, or the one line saying why it failed."""
    result = StoredResult(db_path, job.job_id)
    progress: Callable[[int, int], None] = lambda done, total: set_progress(db_path, job.job_id, done, total)  # noqa: E731
    try:
        screen_to_report(job.upload, None, db_path, columns=job.options.columns, sheet=job.options.sheet,
                         progress=progress, batch_rows=batch_rows, screener=screener, writer=result,
                         reader=read_batches_isolated)
    except USER_ERRORS as error:  # the reader's, the column detection's: they fail the job, not the server
        result.abort()
        fail_job(db_path, job.job_id, first_line(error))


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
        apply_retention(self.db_path)
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
            log.exception("job %s failed", job.job_id)
            fail_job(self.db_path, job.job_id, "the server failed to screen this file; its log says why")
        return True
