"""CSV report: the rows, plus `<name>.sources.csv` and `<name>.candidates.csv` beside it.

The main file is a plain table (header on line 1) so that Excel, pandas and polars open it as-is;
provenance goes to a sidecar instead of comment lines, which spreadsheets would show as data rows.
Every row that has a match also names its list snapshot in `match_snapshot`, so the main file
alone still says which snapshot each flag came from. Files are UTF-8 with a BOM, which Excel needs
to show Chinese script correctly, and text a spreadsheet would run as a formula is prefixed with '.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl

from screener.reports.tables import (
    neutralise_formulas,
    report_candidates,
    report_rows,
    run_facts,
    snapshots_frame,
)
from screener.result import ScreenResult


def sidecar_paths(path: Path) -> dict[str, Path]:
    """Where the sources and candidates files of a CSV report go."""
    return {kind: path.with_name(f"{path.stem}.{kind}.csv") for kind in ("sources", "candidates")}


def sources_table(result: ScreenResult) -> pl.DataFrame:
    """One row per list snapshot, each repeating the run facts, so any row read alone is complete."""
    snapshots = snapshots_frame(result.metadata)
    if snapshots.is_empty():
        snapshots = snapshots.clear(1)
    facts = {name.replace(" ", "_"): value for name, value in run_facts(result).items()}
    return snapshots.with_columns(pl.lit(value, pl.String).alias(name) for name, value in facts.items())


def write_table(frame: pl.DataFrame, path: Path) -> None:
    """A spreadsheet-safe UTF-8 (with BOM) CSV of the frame."""
    neutralise_formulas(frame).write_csv(path, include_bom=True, date_format="%Y-%m-%d")


def write_csv(result: ScreenResult, path: Path, stage: Callable[[Path], Path]) -> None:
    """Write the rows to path and the sources and candidates beside it."""
    write_table(report_rows(result), stage(path))
    sidecars = sidecar_paths(path)
    write_table(sources_table(result), stage(sidecars["sources"]))
    write_table(report_candidates(result), stage(sidecars["candidates"]))
