"""JSON report: an array of row objects (input order), each with its `matches`; run facts beside it.

The main file follows the CLI contract: every input row with the verdict fields and `matches`, every
candidate at or above the review threshold with its explanation and citation. `<name>.sources.json`
holds the run metadata (snapshot of each list used, rules version, thresholds) and the tier counts.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import polars as pl

from screener.reports.tables import cited_rows
from screener.result import RunSummary, ScreenResult

MATCH_FIELDS = {
    "entity_id": "entity_id",
    "source": "source",
    "list": "list_name",
    "program": "program",
    "matched_name": "matched_name",
    "name_kind": "name_kind",
    "name_lang": "name_lang",
    "entity_name": "name",
    "score": "score",
    "band": "band",
    "status": "status",
    "listed_on": "start_date",
    "citation": "citation",
    "source_url": "source_url",
    "explanation": "explanation",
}


def sources_path(path: Path) -> Path:
    """Where the run metadata of a JSON report goes."""
    return path.with_name(f"{path.stem}.sources.json")


def rows_with_matches(result: ScreenResult) -> pl.DataFrame:
    """The cited rows, each with a list of its candidates (best first)."""
    rows = cited_rows(result)
    candidates = result.candidates
    if candidates.is_empty() or not set(MATCH_FIELDS.values()) <= set(candidates.columns):
        return rows.with_columns(matches=pl.lit([], pl.List(pl.Struct({"entity_id": pl.String}))))
    matches = (
        candidates.sort(["row", "score"], descending=[False, True])
        .select(
            pl.col("row").cast(pl.Int64),
            pl.struct([pl.col(column).alias(field) for field, column in MATCH_FIELDS.items()]).alias("match"),
        )
        .group_by("row", maintain_order=True)
        .agg(matches=pl.col("match"))
    )
    return rows.join(matches, on="row", how="left", maintain_order="left").with_columns(
        pl.col("matches").fill_null(pl.lit([], matches.schema["matches"]))
    )


class JsonReport:
    """Write the rows array to path batch by batch (rows keep `row`, the 0-based input position) and the run
    metadata beside it once the run is done."""

    def __init__(self, path: Path, stage: Callable[[Path], Path]):
        self._main = stage(path).open("w", encoding="utf-8")
        self._sidecar = stage(sources_path(path))
        self._separator = "["

    def write(self, part: ScreenResult) -> None:
        rows = rows_with_matches(part)
        if rows.height:
            self._main.write(self._separator + rows.write_json()[1:-1])
            self._separator = ","

    def finish(self, summary: RunSummary) -> None:
        self._main.write(("[]" if self._separator == "[" else "]") + "\n")
        self._main.close()
        facts = {"metadata": summary.metadata, "summary": {"tiers": summary.tiers}}
        self._sidecar.write_text(json.dumps(facts, ensure_ascii=False, default=str, indent=1) + "\n", encoding="utf-8")

    def abort(self) -> None:
        self._main.close()
