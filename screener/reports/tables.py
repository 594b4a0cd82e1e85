"""Frames shared by the report writers: cited rows, candidates, counts, sources, and spreadsheet-safe text."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import polars as pl

from screener.errors import ScreenerError
from screener.result import ADDED_COLUMNS, TIERS, ScreenResult, reasons_text
from screener.supplier_io import SOURCE_COLUMNS, SOURCE_ROW, SOURCE_SHEET, with_source_rows

VERDICT_COLUMNS = ("row", "name_missing", *ADDED_COLUMNS, "fired_rules")
CITATION_COLUMNS = (
    "match_program",
    "match_listed_on",
    "match_status",
    "match_citation",
    "match_url",
    "match_snapshot",
)
VERDICT_ORDER = (
    "risk_tier",
    "risk_score",
    "match_name",
    "match_list",
    "match_source",
    "match_score",
    "match_entity_id",
    "reasons",
)
SNAPSHOT_FIELDS = (
    "source", "title", "snapshot_id", "as_of", "age_days", "age_warning", "entities_in_force", "url", "sha256", "origin",
    "coverage",
)
INTEGER_FIELDS = ("snapshot_id", "age_days", "entities_in_force")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
"""First characters that make a spreadsheet read a cell as a formula."""
_PLAIN_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"


class ReportError(ScreenerError):
    """A report that cannot be written as asked; the message says what to do."""


def tier_rank() -> pl.Expr:
    """Sort key of risk_tier: critical first, unknown tiers last."""
    return pl.col("risk_tier").replace_strict(
        {tier: rank for rank, tier in enumerate(TIERS)}, default=len(TIERS), return_dtype=pl.Int32
    )


def input_columns(result: ScreenResult) -> list[str]:
    """The supplier file's own columns, in their original order."""
    return [column for column in result.rows.columns if column not in VERDICT_COLUMNS]


def input_column(result: ScreenResult, frame: pl.DataFrame, role: str) -> str | None:
    """The column of frame holding a detected role (name, country, ...), allowing for `_input` renames."""
    column = (result.metadata.get("columns") or {}).get(role)
    if not column:
        return None
    if _clashes(column, (*VERDICT_COLUMNS, *CITATION_COLUMNS)) and f"{column}_input" in frame.columns:
        return f"{column}_input"
    return column if column in frame.columns else None


def _clashes(column: str, report_columns: Iterable[str]) -> bool:
    """Whether an input column has a report column's name, ignoring case as spreadsheets and tables do."""
    return column.casefold() in {name.casefold() for name in report_columns}


def snapshot_labels(metadata: dict[str, Any]) -> pl.DataFrame:
    """One row per list source with a readable label of the snapshot the run used."""
    snapshots = metadata.get("snapshots") or []
    labels = {
        snapshot["source"]: f"{snapshot['source']} snapshot {snapshot.get('snapshot_id')}"
        + (f", as of {snapshot['as_of']}" if snapshot.get("as_of") else "")
        for snapshot in snapshots
    }
    return pl.DataFrame(
        {"source": list(labels), "snapshot": list(labels.values())}, schema={"source": pl.String, "snapshot": pl.String}
    )


def best_match_citations(result: ScreenResult) -> pl.DataFrame:
    """Per row, the list, program, date, status, citation, URL and snapshot of the entity shown in match_*."""
    shown = result.rows.select(pl.col("row").cast(pl.Int64), "match_entity_id").drop_nulls()
    best = (
        result.candidates.with_columns(pl.col("row").cast(pl.Int64))
        .join(shown, left_on=["row", "entity_id"], right_on=["row", "match_entity_id"])
        .unique("row", keep="first", maintain_order=True)
        .join(snapshot_labels(result.metadata), on="source", how="left")
    )
    return best.select(
        pl.col("row").cast(pl.Int64),
        match_program=pl.col("program"),
        match_listed_on=pl.col("start_date"),
        match_status=pl.col("status"),
        match_citation=pl.col("citation"),
        match_url=pl.col("source_url"),
        match_snapshot=pl.col("snapshot"),
    )


def cited_rows(result: ScreenResult) -> pl.DataFrame:
    """The result rows, in input order, with the citation of each row's best match added.

    Input columns named like a citation column are kept as `<name>_input`, as screening does for verdicts.
    """
    clashing = {column: f"{column}_input" for column in input_columns(result) if _clashes(column, CITATION_COLUMNS)}
    return with_source_rows(result.rows.rename(clashing)).with_columns(pl.col("row").cast(pl.Int64)).join(
        best_match_citations(result), on="row", how="left", maintain_order="left"
    )


def report_rows(result: ScreenResult) -> pl.DataFrame:
    """Rows for people: where each is in the file (source_sheet, source_row), its columns untouched, the verdict."""
    cited = cited_rows(result)
    inputs = [column for column in cited.columns if column not in VERDICT_COLUMNS and column not in CITATION_COLUMNS]
    return cited.select(
        *inputs,
        *(reasons_text() if column == "reasons" else column for column in VERDICT_ORDER),
        *CITATION_COLUMNS,
        pl.col("fired_rules").list.join("; "),
        pl.col("name_missing"),
    )


def report_candidates(result: ScreenResult) -> pl.DataFrame:
    """Every candidate with the supplier's place in the file, its name and the snapshot it was read from."""
    name_column = input_column(result, result.rows, "name")
    rows = with_source_rows(result.rows)
    supplier = rows.select(
        pl.col("row").cast(pl.Int64),
        *source_location(rows),
        (pl.col(name_column) if name_column else pl.lit(None, pl.String)).alias("supplier_name"),
    )
    candidates = result.candidates.with_columns(pl.col("row").cast(pl.Int64))
    return (
        candidates.join(supplier, on="row", how="left")
        .join(snapshot_labels(result.metadata), on="source", how="left")
        .sort(["row", "score"], descending=[False, True], maintain_order=True)
        .select(
            *source_location(rows),
            "supplier_name",
            *[column for column in candidates.columns if column != "row"],
            "snapshot",
        )
    )


def source_location(rows: pl.DataFrame) -> list[str]:
    """The columns that say where a supplier is in its file: source_sheet (workbooks) and source_row."""
    return [column for column in SOURCE_COLUMNS if column in rows.columns]


def location_label(rows: pl.DataFrame) -> pl.Expr:
    """'row 7' or 'Tier 2, row 7': where a person finds the supplier in the file."""
    row = pl.format("row {}", pl.col(SOURCE_ROW))
    if SOURCE_SHEET not in rows.columns:
        return row
    return pl.when(pl.col(SOURCE_SHEET).is_not_null()).then(pl.format("{}, {}", pl.col(SOURCE_SHEET), row)).otherwise(row)


def tier_counts(result: ScreenResult) -> pl.DataFrame:
    """Suppliers per tier, every tier listed, most severe first."""
    counts = dict(result.rows.group_by("risk_tier").len().iter_rows())
    return pl.DataFrame(
        {"risk_tier": list(TIERS), "suppliers": [counts.get(tier, 0) for tier in TIERS]},
        schema={"risk_tier": pl.String, "suppliers": pl.Int64},
    )


def list_counts(result: ScreenResult) -> pl.DataFrame:
    """Per list: suppliers with a match and suppliers with only review-band candidates."""
    per_band = result.candidates.group_by("list_name", "band").agg(pl.col("row").n_unique().alias("suppliers"))
    return (
        per_band.pivot(on="band", index="list_name", values="suppliers")
        .select(
            pl.col("list_name").alias("list"),
            *[
                (pl.col(band) if band in per_band["band"].to_list() else pl.lit(0))
                .fill_null(0)
                .cast(pl.Int64)
                .alias(f"{band}es" if band == "match" else f"{band}s")
                for band in ("match", "review")
            ],
        )
        .sort("list")
    )


def rule_counts(result: ScreenResult) -> pl.DataFrame:
    """Suppliers per fired rule id, most frequent first."""
    return (
        result.rows.select(pl.col("fired_rules").alias("rule"))
        .explode("rule")
        .drop_nulls()
        .group_by("rule")
        .agg(pl.len().cast(pl.Int64).alias("suppliers"))
        .sort(["suppliers", "rule"], descending=[True, False])
    )


def snapshots_frame(metadata: dict[str, Any]) -> pl.DataFrame:
    """The list snapshots the run used, one row each."""
    snapshots = metadata.get("snapshots") or []
    return pl.DataFrame(
        [{field: snapshot.get(field) for field in SNAPSHOT_FIELDS} for snapshot in snapshots],
        schema={field: pl.Int64 if field in INTEGER_FIELDS else pl.String for field in SNAPSHOT_FIELDS},
        orient="row",
    )


def run_facts(metadata: dict[str, Any], rows_screened: int) -> dict[str, str]:
    """Everything needed to reproduce the run, as readable key/value pairs."""
    thresholds = metadata.get("thresholds") or {}
    columns = metadata.get("columns") or {}
    return {
        "input": str(metadata.get("input") or ""),
        "rows screened": str(rows_screened),
        "run at": str(metadata.get("run_at") or ""),
        "lists as of": str(metadata.get("as_of_basis") or metadata.get("as_of") or "latest snapshot of each list"),
        "list age limit (days)": str(metadata.get("max_age_days") or ""),
        "tool version": str(metadata.get("tool_version") or ""),
        "rules version": str(metadata.get("rules_version") or ""),
        "match threshold": str(thresholds.get("match", "")),
        "review threshold": str(thresholds.get("review", "")),
        "columns used": ", ".join(f"{role}={column}" for role, column in columns.items() if column),
        "rows repaired on reading": "; ".join(metadata.get("input_repairs") or []) or "none",
    }


def run_facts_frame(result: ScreenResult) -> pl.DataFrame:
    """run_facts as a two-column frame."""
    facts = run_facts(result.metadata, result.rows.height)
    return pl.DataFrame({"fact": list(facts), "value": list(facts.values())})


def neutralise_formulas(frame: pl.DataFrame) -> pl.DataFrame:
    """Prefix ' to every text cell and header a spreadsheet would run as a formula (=, +, -, @, tab, CR)."""
    text_columns = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    safe = frame.with_columns(_formula_safe(pl.col(name)).alias(name) for name in text_columns)
    return safe.rename({name: safe_text(name) for name in frame.columns if safe_text(name) != name})


def _formula_safe(text: pl.Expr) -> pl.Expr:
    """The text, with ' before it when it starts like a formula and is not a plain number; only such texts are read
    with a pattern (a report's cells rarely start so, and writing one is run once per text column and batch)."""
    risky = text.str.slice(0, 1).is_in(FORMULA_STARTS)
    plain_number = pl.when(risky).then(text).otherwise(pl.lit("")).str.contains(_PLAIN_NUMBER)
    return pl.when(risky & ~plain_number).then(pl.lit("'") + text).otherwise(text)


def safe_text(value: str) -> str:
    """One text value (a header, a fact) made safe for a spreadsheet cell, as neutralise_formulas does for columns."""
    risky = value[:1] in FORMULA_STARTS and not re.fullmatch(_PLAIN_NUMBER, value)
    return f"'{value}" if risky else value
