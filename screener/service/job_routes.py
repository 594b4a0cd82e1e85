"""Write endpoints for files: POST /screen (an API key) makes a job; GET /jobs/{id} and its reports."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, Response
from starlette.background import BackgroundTask

from screener.reports import SUPPORTED_FORMATS, write_report
from screener.service.errors import ServiceError
from screener.service.jobs import JobOptions, job_result, job_status, submit_job
from screener.service.keys import ApiKey
from screener.service.routes import Reader, json_response
from screener.service.state import ServiceState, service_state
from screener.supplier_io import MAX_FILE_BYTES

router = APIRouter(tags=["Jobs"])
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "html": "text/html; charset=utf-8",
    "parquet": "application/vnd.apache.parquet",
}
SAFE_NAME = re.compile(r"[^\w.\-]+")


def writer(request: Request, state: Annotated[ServiceState, Depends(service_state)]) -> tuple[ServiceState, ApiKey]:
    """A write: always needs a valid key."""
    key = state.caller(request, writes=True)
    assert key is not None
    return state, key


Writer = Annotated[tuple[ServiceState, ApiKey], Depends(writer)]
ColumnForm = Annotated[str | None, Form(description="Column of this role (default: detected from the headers)")]


async def read_upload(file: UploadFile) -> tuple[str, bytes]:
    """An uploaded supplier file's safe name and content, within the size limit of a supplier list."""
    content = await file.read(MAX_FILE_BYTES + 1)
    filename = SAFE_NAME.sub("_", Path(file.filename or "upload.csv").name)[:200]
    if len(content) > MAX_FILE_BYTES:
        raise ServiceError("file_too_large", f"{filename} holds more than {MAX_FILE_BYTES // 1024**2} MB, the limit for a supplier list", 413)
    if not content.strip():
        raise ServiceError("empty_file", f"{filename} is empty: it has no header and no rows")
    return filename, content


@router.post("/screen", status_code=202, summary="Screen a supplier file (CSV, XLSX, XLS, ODS) as a job")
async def screen(
    auth: Writer,
    file: Annotated[UploadFile, File(description="The supplier list")],
    sheet: Annotated[str | None, Form(description="Workbook sheet (default: the first non-empty)")] = None,
    name_col: ColumnForm = None, country_col: ColumnForm = None, address_col: ColumnForm = None,
    product_col: ColumnForm = None, hs_col: ColumnForm = None, id_col: ColumnForm = None,
) -> Response:
    """Read with the reader, limits and column detection of `screener screen`; answers 202 with the job id."""
    state, key = auth
    filename, content = await read_upload(file)
    columns = {"name": name_col, "country": country_col, "address": address_col, "product": product_col,
               "hs_code": hs_col, "uscc": id_col}
    job_id = submit_job(state.config.db_path, filename, content, JobOptions(sheet, columns), key.key_id)
    state.runner.wake()
    return json_response({"job_id": job_id, "status": "queued", "url": f"/jobs/{job_id}"}, 202)


@router.get("/jobs/{job_id}", summary="A job's state and progress")
def job(job_id: str, state: Reader) -> Response:
    status = job_status(state.config.db_path, job_id)
    if status["status"] == "done":
        status["reports"] = {fmt: f"/jobs/{job_id}/report.{fmt}" for fmt in SUPPORTED_FORMATS}
    return json_response(status)


@router.get("/jobs/{job_id}/report.{fmt}", summary="The report of a finished job: csv, json, parquet, xlsx or html")
def report(job_id: str, fmt: str, state: Reader) -> Response:
    if fmt not in SUPPORTED_FORMATS:
        raise ServiceError("unknown_format", f"no {fmt!r} report; ask for one of {', '.join(SUPPORTED_FORMATS)}", 404)
    result = job_result(state.config.db_path, job_id)
    folder = Path(tempfile.mkdtemp(prefix="screener-report-"))
    path = write_report(result, folder / f"report-{job_id[:12]}.{fmt}", fmt)
    return FileResponse(
        path, media_type=MEDIA_TYPES[fmt], filename=path.name,
        background=BackgroundTask(_remove_folder, folder),
    )


def _remove_folder(folder: Path) -> None:
    for part in folder.iterdir():
        part.unlink(missing_ok=True)
    folder.rmdir()
