"""JSON report: one object with metadata, tier counts, rows (input order) and candidates."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import polars as pl

from screener.reports.tables import cited_rows, tier_counts
from screener.result import ScreenResult


def _records(frame: pl.DataFrame) -> str:
    """The frame as a JSON array of objects (dates as ISO strings), serialised by polars."""
    return frame.write_json() if frame.width else "[]"


def write_json(result: ScreenResult, path: Path, stage: Callable[[Path], Path]) -> None:
    """Write metadata, summary, rows and candidates; rows keep `row` (0-based input position)."""
    summary = dict(tier_counts(result).iter_rows())
    with stage(path).open("w", encoding="utf-8") as out:
        out.write('{"metadata": ')
        out.write(json.dumps(result.metadata, ensure_ascii=False, default=str))
        out.write(', "summary": {"tiers": ')
        out.write(json.dumps(summary))
        out.write('}, "rows": ')
        out.write(_records(cited_rows(result)))
        out.write(', "candidates": ')
        out.write(_records(result.candidates))
        out.write("}\n")
