"""Report writers: CSV, JSON, XLSX and HTML, chosen by format or file suffix, written atomically."""

from __future__ import annotations

import glob
import os
import uuid
from collections.abc import Callable
from pathlib import Path

from screener.files import special_kind
from screener.reports.csv_report import write_csv
from screener.reports.html_report import write_html
from screener.reports.json_report import write_json
from screener.reports.tables import ReportError
from screener.reports.xlsx_report import write_xlsx
from screener.result import ScreenResult

Stage = Callable[[Path], Path]
Writer = Callable[[ScreenResult, Path, Stage], None]

WRITERS: dict[str, Writer] = {"csv": write_csv, "json": write_json, "xlsx": write_xlsx, "html": write_html}
SUPPORTED_FORMATS = tuple(WRITERS)
__all__ = ["ReportError", "SUPPORTED_FORMATS", "report_format", "write_report"]


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
        raise ReportError(f"cannot tell the report format of '{path.name}': name it .csv, .json, .xlsx or .html")
    raise ReportError(f"cannot write a '{chosen}' report: supported formats are {supported}")


def write_report(result: ScreenResult, path: Path, format: str | None = None) -> Path:
    """Write the report (and any sidecar files) completely, or leave the existing files as they were."""
    path = Path(path).expanduser()
    writer = WRITERS[report_format(path, format)]
    if path.is_dir():
        raise ReportError(f"{path} is a folder; give a file name for the report")
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Staging()
    try:
        writer(result, path, staging)
        staging.commit()
    except BaseException:
        staging.discard()
        raise
    return path
