"""Parquet report: the CSV report's three tables (rows, sources, candidates) as typed Parquet files, written batch
by batch (one row group per batch) with pyarrow."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl

from screener.reports.csv_report import sidecar_paths, sources_table
from screener.reports.tables import report_candidates, report_rows
from screener.result import RunSummary, ScreenResult


class ParquetTable:
    """One Parquet file appended to a frame at a time, every frame cast to the schema of the first."""

    def __init__(self, path: Path):
        self._path = path
        self._writer = None  # a pyarrow.parquet.ParquetWriter once the first frame comes (pyarrow imported then)

    def append(self, frame: pl.DataFrame) -> None:
        table = frame.to_arrow(compat_level=pl.CompatLevel.oldest())
        if self._writer is None:
            import pyarrow.parquet as pq

            self._writer = pq.ParquetWriter(self._path, table.schema, compression="zstd")
        self._writer.write_table(table.cast(self._writer.schema))  # type: ignore[attr-defined]  # set just above

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


class ParquetReport:
    """Write the rows to path and `<name>.candidates.parquet` beside it as batches come, `<name>.sources.parquet`
    once the run is done. Values are kept as they are: no spreadsheet escaping, dates and numbers typed."""

    def __init__(self, path: Path, stage: Callable[[Path], Path]):
        sidecars = sidecar_paths(path, ".parquet")
        self._rows = ParquetTable(stage(path))
        self._candidates = ParquetTable(stage(sidecars["candidates"]))
        self._sources = stage(sidecars["sources"])

    def write(self, part: ScreenResult) -> None:
        self._rows.append(report_rows(part))
        self._candidates.append(report_candidates(part))

    def finish(self, summary: RunSummary) -> None:
        self.abort()
        sources_table(summary.metadata, summary.rows).write_parquet(self._sources)

    def abort(self) -> None:
        self._rows.close()
        self._candidates.close()

