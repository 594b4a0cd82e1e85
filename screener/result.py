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


@dataclass(frozen=True)
class ScreenResult:
    """Rows in input order with the added verdict columns, every candidate, and run metadata.

    `rows` keeps the input columns (with `source_row`, the supplier's row number in its file, and for workbooks
    `source_sheet`) and adds `row` (0-based input position), `name_missing` and ADDED_COLUMNS. `candidates` holds every candidate at or above the review threshold,
    joined with its entity's columns (source, list_name, program, start_date, status,
    merchandise, citation, source_url, ...). `metadata` records tool_version, rules_version,
    snapshots (list of dicts: source, title, snapshot_id, as_of, url, coverage, age_days, age_warning: empty
    unless the list is older than max_age_days),
    thresholds ({match, review}), run_at (ISO timestamp) and input (file name).
    """

    rows: pl.DataFrame
    candidates: pl.DataFrame
    metadata: dict[str, Any] = field(default_factory=dict)
