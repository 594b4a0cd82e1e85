"""Write endpoints for files: POST /screen (an API key) makes a job; GET /jobs/{id}, its reports and their sidecars."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, Response

from screener.api_keys import ApiKey
from screener.errors import first_line
from screener.jobs.files import copy_upload, safe_name
from screener.jobs.reports import REPORT_STEM, job_report
from screener.jobs.store import JobOptions, delete_job, job_status, submit_job
from screener.reports import SUPPORTED_FORMATS, ReportError, report_sidecars
from screener.service.errors import ServiceError
from screener.service.routes import Reader, json_response
from screener.service.state import ServiceState, service_state

router = APIRouter(tags=["Jobs"])
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "html": "text/html; charset=utf-8",
    "parquet": "application/vnd.apache.parquet",
}


def writer(request: Request, state: Annotated[ServiceState, Depends(service_state)]) -> tuple[ServiceState, ApiKey]:
    """A write: always needs a valid key."""
    key = state.caller(request, writes=True)
    assert key is not None
    return state, key


Writer = Annotated[tuple[ServiceState, ApiKey], Depends(writer)]
ColumnForm = Annotated[str | None, Form(description="Column of this role (default: detected from the headers)")]


def read_upload(file: UploadFile, max_bytes: int) -> tuple[str, bytes]:
    """An uploaded supplier file's safe name and content, within the size limit of a supplier file."""
    filename, content = safe_name(file.filename), io.BytesIO()
    copy_upload(file.file, content, filename, max_bytes)
    return filename, content.getvalue()


@router.post("/screen", status_code=202, summary="Screen a supplier file (CSV, XLSX, XLS, ODS) as a job")
def screen(
    auth: Writer,
    file: Annotated[UploadFile, File(description="The supplier list")],
    sheet: Annotated[str | None, Form(description="Workbook sheet (default: the first non-empty)")] = None,
    name_col: ColumnForm = None, country_col: ColumnForm = None, address_col: ColumnForm = None,
    product_col: ColumnForm = None, hs_col: ColumnForm = None, id_col: ColumnForm = None,
) -> Response:
    """The upload is copied to the job's folder as it is read (never whole in memory), then screened with the reader,
    limits and column detection of `screener screen`; answers 202 with the job id."""
    state, key = auth
    columns = {"name": name_col, "country": country_col, "address": address_col, "product": product_col,
               "hs_code": hs_col, "uscc": id_col}
    job_id = submit_job(state.config.db_path, safe_name(file.filename), file.file, JobOptions(sheet, columns),
                        key.key_id, max_bytes=state.config.max_upload_bytes)
    state.runner.wake()
    return json_response({"job_id": job_id, "status": "queued", "url": f"/jobs/{job_id}"}, 202)


@router.get("/jobs/{job_id}", summary="A job's state and progress")
def job(job_id: str, state: Reader) -> Response:
    """Status, rows done of total, and once done the tier counts, the report in each format and the files beside
    CSV, JSON and Parquet reports (`sidecars`: `sources`, the snapshot, age and citation of each list with the rules
    version and thresholds; `candidates`, every candidate match), as the CLI writes them."""
    status = job_status(state.config.db_path, job_id)
    if status["status"] == "done":
        status["reports"] = {fmt: report_url(job_id, fmt) for fmt in SUPPORTED_FORMATS}
        status["sidecars"] = {fmt: sidecar_urls(job_id, fmt) for fmt in SUPPORTED_FORMATS if sidecar_urls(job_id, fmt)}
    return json_response(status)


@router.delete("/jobs/{job_id}", summary="Delete a job: its upload, stored result and reports")
def delete(job_id: str, auth: Writer) -> Response:
    """A queued or finished job is deleted at once (409 while it is being screened); finished jobs are also deleted
    once older than the retention ($SCREENER_JOB_RETENTION_DAYS)."""
    state, _ = auth
    delete_job(state.config.db_path, job_id)
    return json_response({"job_id": job_id, "deleted": True})


def report_url(job_id: str, fmt: str, kind: str | None = None) -> str:
    return f"/jobs/{job_id}/{REPORT_STEM}.{kind}.{fmt}" if kind else f"/jobs/{job_id}/{REPORT_STEM}.{fmt}"


def sidecar_urls(job_id: str, fmt: str) -> dict[str, str]:
    return {kind: report_url(job_id, fmt, kind) for kind in report_sidecars(Path(REPORT_STEM), fmt)}


@router.get("/jobs/{job_id}/report.{name}", summary="A finished job's report (csv, json, parquet, xlsx, html) or a file "
            "beside it (sources.csv, candidates.csv, sources.json, sources.parquet, candidates.parquet)")
def report(job_id: str, name: str, state: Reader) -> Response:
    """The report as `screener screen --out` writes it; the files beside it are linked from the job and, with
    `rel="describedby"`, from the report's `Link` header."""
    kind, _, fmt = name.rpartition(".")
    if fmt not in SUPPORTED_FORMATS:
        raise ServiceError("unknown_format", f"no {fmt!r} report; ask for one of {', '.join(SUPPORTED_FORMATS)}", 404)
    sidecars = report_sidecars(Path(REPORT_STEM), fmt)
    if kind and kind not in sidecars:
        beside = ", ".join(f"report.{other}.{fmt}" for other in sidecars) or "none"
        raise ServiceError("unknown_report_file", f"a {fmt} report has no {kind!r} file beside it (it has: {beside})", 404)
    try:
        path = job_report(state.config.db_path, job_id, fmt)
    except ReportError as error:
        raise ServiceError("report_too_large", first_line(error), 422) from error
    served = report_sidecars(path, fmt)[kind] if kind else path
    links = ", ".join(f'<{url}>; rel="describedby"; title="{other}"' for other, url in sidecar_urls(job_id, fmt).items())
    return FileResponse(served, media_type=MEDIA_TYPES[fmt], filename=f"report-{job_id[:12]}.{name}",
                        headers={"Link": links} if links and not kind else None)
