"""A finished job's reports, written from its stored batches by the CLI's writers (sidecars included) on the first
request for each format, and kept in the job's folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from screener.jobs.files import job_dir
from screener.jobs.store import finished_job, stored_parts
from screener.reports import check_report_rows, report_writer
from screener.result import RunSummary

REPORT_STEM = "report"


def job_report(db_path: Path, job_id: str, format: str) -> Path:
    """A finished job's report in `format`, its sidecars beside it; the id is checked in the store before it names a
    folder. JobError when the job is unknown or not done, ReportError when the format cannot hold its rows."""
    stored = finished_job(db_path, job_id)
    path = job_dir(db_path, job_id) / f"{REPORT_STEM}.{format}"
    return path if path.exists() else write_job_report(db_path, job_id, stored, path, format)


def write_job_report(db_path: Path, job_id: str, stored: dict[str, Any], path: Path, format: str) -> Path:
    """Write a finished job's report and its sidecars at `path`, batch by batch (the report file moved into place
    last)."""
    check_report_rows(format, stored["summary"]["rows"])
    with report_writer(path, format) as writer:
        summary = RunSummary(stored["metadata"])
        for part in stored_parts(db_path, job_id, stored["metadata"]):
            summary.add(part)
            writer.write(part)
        writer.finish(summary)
    return path
