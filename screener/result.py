"""The outcome of one screening run, as every report writer and front end receives it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl

ADDED_COLUMNS = (
    "risk_tier",
    "risk_score",
    "match_name",
    "match_source",
    "match_list",
    "match_score",
    "match_entity_id",
    "reasons",
)
TIERS = ("critical", "high", "medium", "low", "clear")
REASON_SEPARATOR = " | "  # between reasons where a report holds them in one text cell (CSV, XLSX, Parquet)


def reasons_text(column: str = "reasons") -> pl.Expr:
    """A list of reasons as one text cell for writers that hold text only: null when no rule fired."""
    reasons = pl.col(column)
    return pl.when(reasons.list.len() > 0).then(reasons.list.join(REASON_SEPARATOR)).alias(column)


@dataclass(frozen=True)
class ScreenResult:
    """Rows in input order with the added verdict columns, every candidate, and run metadata.

    `rows` keeps the input columns (with `source_row`, the supplier's row number in its file, and for workbooks
    `source_sheet`) and adds `row` (0-based input position), `name_missing` and ADDED_COLUMNS (`reasons` a list of texts, most severe first; `fired_rules` a list of rule ids). `candidates` holds every candidate at or above the review threshold,
    joined with its entity's columns (source, list_name, program, start_date, status,
    merchandise, citation, source_url, ...). `metadata` records tool_version, rules_version,
    snapshots (list of dicts: source, title, snapshot_id, as_of, url, coverage, age_days, age_warning: empty
    unless the list is older than max_age_days),
    thresholds ({match, review}), run_at (ISO timestamp) and input (file name).
    """

    rows: pl.DataFrame
    candidates: pl.DataFrame
    metadata: dict[str, Any] = field(default_factory=dict)


TOP_FLAGGED = 15
FLAGGED_TIERS = ("critical", "high")


@dataclass
class RunSummary:
    """What remains of a run screened batch by batch once its rows are written: the rows screened, suppliers per
    tier, the TOP_FLAGGED most severe critical or high rows (highest score first, then file order) and metadata."""

    metadata: dict[str, Any]
    rows: int = 0
    tiers: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TIERS, 0))
    flagged: pl.DataFrame | None = None

    @classmethod
    def of(cls, result: ScreenResult) -> RunSummary:
        summary = cls(result.metadata)
        summary.add(result)
        return summary

    def add(self, part: ScreenResult) -> None:
        """Count one batch in."""
        self.rows += part.rows.height
        for tier, count in part.rows.group_by("risk_tier").len().iter_rows():
            self.tiers[tier] = self.tiers.get(tier, 0) + count
        flagged = part.rows.filter(pl.col("risk_tier").is_in(FLAGGED_TIERS))
        if self.flagged is not None:
            flagged = pl.concat([self.flagged, flagged], how="vertical_relaxed")
        self.flagged = flagged.sort("risk_score", descending=True, maintain_order=True).head(TOP_FLAGGED)
