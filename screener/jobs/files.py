"""A job's files beside the database: its upload until it is screened, then its reports once asked for."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import BinaryIO

from screener.jobs.errors import EmptyUpload, UploadTooLarge

COPY_CHUNK_BYTES = 1024**2
SAFE_NAME = re.compile(r"[^\w.\-]+")
DEFAULT_UPLOAD_NAME = "upload.csv"
INPUT_FOLDER = "input"


def jobs_dir(db_path: Path) -> Path:
    """Where jobs keep their files: a folder beside the database, one folder per job."""
    return Path(db_path).with_name(f"{Path(db_path).name}.jobs")


def job_dir(db_path: Path, job_id: str) -> Path:
    return jobs_dir(db_path) / job_id


def safe_name(filename: str | None) -> str:
    """An uploaded file's name reduced to a plain file name (its extension tells the reader the format)."""
    return SAFE_NAME.sub("_", Path(filename or DEFAULT_UPLOAD_NAME).name)[:200] or DEFAULT_UPLOAD_NAME


def input_dir(db_path: Path, job_id: str) -> Path:
    """Where a job's upload waits until the job is screened."""
    return job_dir(db_path, job_id) / INPUT_FOLDER


def upload_path(db_path: Path, job_id: str, filename: str) -> Path:
    return input_dir(db_path, job_id) / filename


def store_upload(upload: BinaryIO, path: Path, max_bytes: int) -> None:
    """Copy an upload to a file at `path` (see copy_upload; the caller removes what was written when it is refused)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        copy_upload(upload, out, path.name, max_bytes)


def copy_upload(upload: BinaryIO, out: BinaryIO, filename: str, max_bytes: int) -> None:
    """Copy an uploaded supplier file chunk by chunk, refusing it once it passes `max_bytes` (UploadTooLarge) or when it
    holds nothing but white space (EmptyUpload)."""
    written, blank = 0, True
    while chunk := upload.read(COPY_CHUNK_BYTES):
        written += len(chunk)
        if written > max_bytes:
            raise UploadTooLarge(f"{filename} holds more than {max_bytes:,} bytes, the limit for a supplier file here; "
                                 "split it, or screen it with `screener screen`")
        blank = blank and not chunk.strip()
        out.write(chunk)
    if blank:
        raise EmptyUpload(f"{filename} is empty: it has no header and no rows")


def remove_job_files(folder: Path) -> None:
    """Delete a job's folder and everything in it (nothing when it is already gone)."""
    shutil.rmtree(folder, ignore_errors=True)
