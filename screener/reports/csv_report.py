"""CSV report: the rows, plus `<name>.sources.csv` and `<name>.candidates.csv` beside it, written batch by batch.

The main file is a plain table (header on line 1) so that Excel, pandas and polars open it as-is;
provenance goes to a sidecar instead of comment lines, which spreadsheets would show as data rows.
Every row that has a match also names its list snapshot in `match_snapshot`, so the main file
alone still says which snapshot each flag came from. Files are UTF-8 with a BOM, which Excel needs
to show Chinese script correctly, and text a spreadsheet would run as a formula is prefixed with '.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import polars as pl

from screener.reports.tables import (
    neutralise_formulas,
    report_candidates,
    report_rows,
    run_facts,
    snapshots_frame,
)
from screener.result import RunSummary, ScreenResult


def sidecar_paths(path: Path, suffix: str = ".csv") -> dict[str, Path]:
    """Where the sources and candidates files of a CSV (or Parquet) report go."""
    return {kind: path.with_name(f"{path.stem}.{kind}{suffix}") for kind in ("sources", "candidates")}


def sources_table(metadata: dict[str, Any], rows_screened: int) -> pl.DataFrame:
    """One row per list snapshot, each repeating the run facts, so any row read alone is complete."""
    snapshots = snapshots_frame(metadata)
    if snapshots.is_empty():
        snapshots = snapshots.clear(1)
    facts = {name.replace(" ", "_"): value for name, value in run_facts(metadata, rows_screened).items()}
    return snapshots.with_columns(pl.lit(value, pl.String).alias(name) for name, value in facts.items())


def write_table(frame: pl.DataFrame, target: Path | BinaryIO, *, first: bool = True) -> None:
    """A spreadsheet-safe UTF-8 (with BOM) CSV of the frame; `first=False` appends rows without header or BOM."""
    neutralise_formulas(frame).write_csv(target, include_bom=first, include_header=first, date_format="%Y-%m-%d")


class CsvTables:
    """CSV files written one batch at a time: header and BOM with the first batch, rows appended after."""

    def __init__(self, paths: list[Path]):
        self._files = [path.open("wb") for path in paths]
        self._first = True

    def append(self, frames: list[pl.DataFrame]) -> None:
        for frame, file in zip(frames, self._files, strict=True):
            write_table(frame, file, first=self._first)
        self._first = False

    def close(self) -> None:
        for file in self._files:
            file.close()


class CsvReport:
    """Write the rows to path and the candidates beside it as batches come; the sources once the run is done."""

    def __init__(self, path: Path, stage: Callable[[Path], Path]):
        sidecars = sidecar_paths(path)
        self._tables = CsvTables([stage(path), stage(sidecars["candidates"])])
        self._sources = stage(sidecars["sources"])

    def write(self, part: ScreenResult) -> None:
        self._tables.append([report_rows(part), report_candidates(part)])

    def finish(self, summary: RunSummary) -> None:
        self._tables.close()
        write_table(sources_table(summary.metadata, summary.rows), self._sources)

    def abort(self) -> None:
        self._tables.close()
