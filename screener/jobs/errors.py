"""What can go wrong with a job, each with a stable code (the service answers with it)."""

from __future__ import annotations

from screener.errors import ScreenerError


class JobError(ScreenerError):
    """A job that cannot be submitted, read or deleted as asked."""

    code = "job_error"


class UnknownJob(JobError):
    code = "unknown_job"


class JobNotDone(JobError):
    code = "job_not_done"


class JobFailed(JobError):
    code = "job_failed"


class JobRunning(JobError):
    code = "job_running"


class UploadTooLarge(JobError):
    code = "file_too_large"


class EmptyUpload(JobError):
    code = "empty_file"
