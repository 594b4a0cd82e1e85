"""Report writers: CSV, JSON, Parquet, XLSX and HTML, chosen by format or file suffix, written atomically.

Every writer takes the run batch by batch (`write`), then its totals (`finish`): CSV, JSON and Parquet write each
batch as it comes, so memory follows the batch; XLSX and HTML gather the batches (an XLSX sheet holds at most
EXCEL_MAX_DATA_ROWS rows, checked before screening by `check_report_rows`). `write_report` is one batch.
"""

from __future__ import annotations

import glob
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

import polars as pl

from screener.files import special_kind
from screener.reports.csv_report import CsvReport, sidecar_paths
from screener.reports.json_report import JsonReport, sources_path
from screener.reports.parquet_report import ParquetReport
from screener.reports.tables import ReportError
from screener.result import RunSummary, ScreenResult
from screener.workbook_limits import EXCEL_MAX_DATA_ROWS

Stage = Callable[[Path], Path]


class ReportWriter(Protocol):
    """A report written batch by batch: `write` each batch in file order, then `finish` with the run's totals."""

    def write(self, part: ScreenResult) -> None: ...

    def finish(self, summary: RunSummary) -> None: ...

    def abort(self) -> None: ...


class Gathered:
    """A report that needs the whole run at once (XLSX, HTML): batches are gathered and written on `finish`."""

    def __init__(self, write: Callable[[ScreenResult, Path, Stage], None], path: Path, stage: Stage):
        self._write, self._path, self._stage = write, path, stage
        self._parts: list[ScreenResult] = []

    def write(self, part: ScreenResult) -> None:
        self._parts.append(part)

    def finish(self, summary: RunSummary) -> None:
        whole = ScreenResult(
            rows=pl.concat([part.rows for part in self._parts], how="vertical_relaxed"),
            candidates=pl.concat([part.candidates for part in self._parts], how="vertical_relaxed"),
            metadata=summary.metadata,
        )
        self._parts.clear()
        self._write(whole, self._path, self._stage)

    def abort(self) -> None:
        self._parts.clear()


def _xlsx(path: Path, stage: Stage) -> ReportWriter:
    from screener.reports.xlsx_report import write_xlsx  # xlsxwriter loads only for an XLSX report

    return Gathered(write_xlsx, path, stage)


def _html(path: Path, stage: Stage) -> ReportWriter:
    from screener.reports.html_report import write_html  # jinja2 loads only for an HTML report

    return Gathered(write_html, path, stage)


WRITERS: dict[str, Callable[[Path, Stage], ReportWriter]] = {
    "csv": CsvReport,
    "json": JsonReport,
    "parquet": ParquetReport,
    "xlsx": _xlsx,
    "html": _html,
}
SUPPORTED_FORMATS = tuple(WRITERS)
ROW_LIMITS = {"xlsx": EXCEL_MAX_DATA_ROWS}
__all__ = [
    "SUPPORTED_FORMATS", "ReportError", "ReportWriter", "check_report_rows", "report_format", "report_sidecars",
    "report_writer", "write_report",
]


class Staging:
    """Temporary files beside their targets, moved into place only once every one of them is complete."""

    def __init__(self) -> None:
        self._moves: list[tuple[Path, Path]] = []

    def __call__(self, target: Path) -> Path:
        if target.exists() and (kind := special_kind(target.stat().st_mode)):
            raise ReportError(f"{target} is {kind}, not a regular file; give a new or regular file for the report")
        _remove_stale_parts(target)
        temporary = target.with_name(f".{target.name}.{os.getpid()}-{uuid.uuid4().hex[:12]}.part")
        self._moves.append((temporary, target))
        return temporary

    def commit(self) -> None:
        """Move sidecars first and the file staged first (the main report) last."""
        for temporary, target in reversed(self._moves):
            try:
                os.replace(temporary, target)
            except PermissionError as error:
                raise ReportError(
                    f"cannot replace {target}: it may be open in another program (Excel?); close it and run again"
                ) from error

    def discard(self) -> None:
        for temporary, _ in self._moves:
            temporary.unlink(missing_ok=True)


def _remove_stale_parts(target: Path) -> None:
    """Delete the partial files a killed writer of this target left behind (their process is gone)."""
    for part in target.parent.glob(f".{glob.escape(target.name)}.*-*.part"):
        pid = part.name[len(target.name) + 2:].split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            part.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def report_format(path: Path, format: str | None = None) -> str:
    """The format asked for, else the one the file suffix names; ReportError when it is neither supported."""
    chosen = (format or path.suffix).lower().lstrip(".")
    if chosen in WRITERS:
        return chosen
    supported = ", ".join(SUPPORTED_FORMATS)
    if not chosen:
        raise ReportError(f"cannot tell the report format of '{path.name}': name it .csv, .json, .parquet, .xlsx or .html")
    raise ReportError(f"cannot write a '{chosen}' report: supported formats are {supported}")


def report_sidecars(path: Path, format: str) -> dict[str, Path]:
    """The files a report in that format writes beside `path`, by kind (`sources`: the run's snapshots, ages, rules
    version and thresholds; `candidates`); XLSX and HTML hold theirs inside."""
    if format in ("csv", "parquet"):
        return sidecar_paths(path, f".{format}")
    return {"sources": sources_path(path)} if format == "json" else {}


def check_report_rows(format: str, rows: int) -> None:
    """ReportError, before any screening, when a format cannot hold that many rows (XLSX: Excel's sheet limit)."""
    limit = ROW_LIMITS.get(format)
    if limit is not None and rows > limit:
        raise ReportError(
            f"{rows:,} rows do not fit in an {format.upper()} report, whose sheet holds at most {limit:,}: "
            "write CSV or Parquet instead (--out report.csv or report.parquet)"
        )


@contextmanager
def report_writer(path: Path, format: str | None = None) -> Iterator[ReportWriter]:
    """A writer for the report at path (and its sidecars): every file complete once the block ends and `finish` was
    called, or the existing files left as they were."""
    path = Path(path).expanduser()
    make = WRITERS[report_format(path, format)]
    if path.is_dir():
        raise ReportError(f"{path} is a folder; give a file name for the report")
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Staging()
    writer = None
    try:
        writer = make(path, staging)
        yield writer
        staging.commit()
    except BaseException:
        if writer is not None:
            writer.abort()
        staging.discard()
        raise


def write_report(result: ScreenResult, path: Path, format: str | None = None) -> Path:
    """Write the report (and any sidecar files) completely, or leave the existing files as they were."""
    with report_writer(path, format) as writer:
        writer.write(result)
        writer.finish(RunSummary.of(result))
    return Path(path).expanduser()
