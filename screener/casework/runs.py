"""Screening runs of a portfolio: screened with the decisions in force, recorded, compared with the run before."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from screener.casework.decisions import (
    annotate_candidates,
    audit_log,
    dismissal_notes,
    evidence_frame,
    latest_decisions,
    with_decisions,
)
from screener.casework.portfolios import Portfolio, load_portfolio, portfolio_record
from screener.result import TIERS, ScreenResult, reasons_text
from screener.store import Store, transaction

if TYPE_CHECKING:
    from screener.screening import Screener

CHANGE_COLUMNS = (
    "supplier_key", "change", "entity_id", "entity_name", "list_name", "program", "band", "old_tier", "new_tier",
    "detail", "cause",
)
CHANGE_LABELS = {
    "new_match": "new hit",
    "listing_changed": "listing changed",
    "removed": "removed listing",
    "tier_change": "tier change",
}
UNDECIDED = ("open", "reopened")


@dataclass(frozen=True)
class PortfolioRun:
    """One recorded screening of a portfolio and what changed since the run before it."""

    run_id: int
    portfolio: str
    result: ScreenResult
    changes: pl.DataFrame
    previous_run_id: int | None


def tier_rank(column: str) -> pl.Expr:
    """0 for critical up to 4 for clear (5 for no tier), so that a smaller rank is more severe."""
    return pl.col(column).replace_strict({tier: rank for rank, tier in enumerate(TIERS)}, default=len(TIERS),
                                         return_dtype=pl.Int32)


def needs_attention() -> pl.Expr:
    """A change someone should look at: every change except a supplier's tier going down."""
    return (pl.col("change") != "tier_change") | (tier_rank("new_tier") < tier_rank("old_tier"))


# Screening and recording a run


def screen_portfolio(db_path: Path, name: str, screener: Screener, trigger: str = "screen") -> PortfolioRun:
    """Screen a saved portfolio against the screener's lists, apply decisions, record the run and its changes."""
    with Store(db_path) as store:
        portfolio = load_portfolio(store, name)
        result = screen_with_decisions(screener, portfolio, latest_decisions(store))
        run = record_run(store, portfolio, result, trigger)
        log = audit_log(store, portfolio.name).with_columns(pl.col("decided_at").cast(pl.String))
    metadata = {**result.metadata, "run_id": run.run_id, "decision_log": log.to_dicts()}
    return replace(run, result=replace(result, metadata=metadata))


def screen_with_decisions(screener: Screener, portfolio: Portfolio, latest: pl.DataFrame) -> ScreenResult:
    """Screen the portfolio with the decisions in force: dismissed matches never reach the rules, notes are added."""
    entities = screener.lists.entities
    evidence = evidence_frame(entities, screener.lists.names).join(
        entities.select("entity_id", "snapshot_id"), on="entity_id", how="left"
    )

    def review(candidates: pl.DataFrame) -> pl.DataFrame:
        keys = portfolio.keys.with_columns(pl.col("row").cast(candidates.schema["row"]))
        annotated = annotate_candidates(candidates, keys, evidence, latest)
        return annotated.with_columns(dismissed=pl.col("decision_state") == "dismissed")

    result = screener.screen(portfolio.frame, portfolio.mapping, input_name=portfolio.source_file or portfolio.name,
                             review=review)
    rows, candidates = result.rows, result.candidates
    row_type = rows.schema["row"]
    headline_state = candidates.select(
        pl.col("row").cast(row_type), match_entity_id="entity_id", match_state="decision_state"
    ).unique(["row", "match_entity_id"])
    notes = dismissal_notes(candidates).with_columns(pl.col("row").cast(row_type))
    rows = (
        rows.join(portfolio.keys.with_columns(pl.col("row").cast(row_type)), on="row", how="left")
        .join(headline_state, on=["row", "match_entity_id"], how="left")
        .join(notes, on="row", how="left")
        .with_columns(
            dismissed_matches=pl.col("dismissed").fill_null(0),
            reasons=pl.concat_list([pl.col("reasons"), pl.col("note").fill_null(pl.lit([], pl.List(pl.String)))]),
        )
        .drop("dismissed", "note")
    )
    counts = dict(candidates.group_by("decision_state").len().iter_rows())
    metadata = {**result.metadata, "portfolio": portfolio.name, "decision_states": counts}
    return ScreenResult(rows=rows.sort("row"), candidates=candidates, metadata=metadata)


def record_run(store: Store, portfolio: Portfolio, result: ScreenResult, trigger: str) -> PortfolioRun:
    """Store a decided screening of the portfolio and the changes since its previous run, in one transaction.

    A portfolio's first run is its baseline: nothing has changed yet, so it records no changes.
    """
    con = store.con
    previous = store.scalar("SELECT max(run_id) FROM screening_runs WHERE portfolio_id = ?", [portfolio.portfolio_id])
    suppliers = result.rows.select(
        "supplier_key", "risk_tier", pl.col("risk_score").cast(pl.Float64), reasons_text()
    )
    matches = result.candidates.filter(pl.col("supplier_key").is_not_null()).select(
        "supplier_key", "entity_id", "source", "list_name", "program", pl.col("name").alias("entity_name"),
        "matched_name", pl.col("score").cast(pl.Float64), "band", "evidence", pl.col("snapshot_id").cast(pl.Int32),
        pl.col("decision_state").alias("state"),
    )
    metadata = result.metadata
    with transaction(con) as register:
        run_id = store.scalar("SELECT nextval('run_ids')")
        con.execute(
            "INSERT INTO screening_runs VALUES (?, ?, now(), ?, ?, ?, ?, ?, ?)",
            [run_id, portfolio.portfolio_id, trigger, json.dumps(metadata.get("snapshots") or [], default=str),
             metadata.get("tool_version"), metadata.get("rules_version"),
             json.dumps(metadata.get("thresholds") or {}), previous],
        )
        register("run_supplier_rows", suppliers)
        con.execute("INSERT INTO run_suppliers SELECT ?, * FROM run_supplier_rows", [run_id])
        register("run_match_rows", matches)
        con.execute(
            """INSERT INTO run_matches SELECT ?, supplier_key, entity_id, source, list_name, program, entity_name,
                      matched_name, score, band, evidence, snapshot_id, state FROM run_match_rows""",
            [run_id],
        )
        if previous is not None:
            register("run_change_rows", diff_runs(store, previous, run_id))
            con.execute(f"INSERT INTO run_changes SELECT ?, {', '.join(CHANGE_COLUMNS)} FROM run_change_rows", [run_id])
    return PortfolioRun(run_id=run_id, portfolio=portfolio.name, result=result,
                        changes=run_changes(store, run_id), previous_run_id=previous)


def diff_runs(store: Store, old_run: int, new_run: int) -> pl.DataFrame:
    """New, removed and re-listed matches and tier changes between two runs of a portfolio (CHANGE_COLUMNS)."""
    matches = store.query(
        """WITH old AS (SELECT * FROM run_matches WHERE run_id = $old),
                new AS (SELECT * FROM run_matches WHERE run_id = $new),
                kept AS (SELECT supplier_key FROM run_suppliers WHERE run_id = $new)
           SELECT n.supplier_key, 'new_match' AS change, n.entity_id, n.entity_name, n.list_name, n.program, n.band,
                  'new ' || n.band || ' (score ' || round(n.score, 1) || ') with ' || n.matched_name AS detail, n.source
           FROM new n ANTI JOIN old o ON o.supplier_key = n.supplier_key AND o.entity_id = n.entity_id
           UNION ALL
           SELECT o.supplier_key, 'removed', o.entity_id, o.entity_name, o.list_name, o.program, o.band,
                  'matched in run ' || $old || ', no longer matched', o.source
           FROM old o SEMI JOIN kept k ON k.supplier_key = o.supplier_key
           ANTI JOIN new n ON o.supplier_key = n.supplier_key AND o.entity_id = n.entity_id
           UNION ALL
           SELECT n.supplier_key, 'listing_changed', n.entity_id, n.entity_name, n.list_name, n.program, n.band,
                  CASE WHEN n.state = 'reopened' THEN 'the listing changed: a false-positive decision no longer applies'
                       ELSE 'the listing changed (status, dates, program, addresses or names)' END, n.source
           FROM new n JOIN old o ON o.supplier_key = n.supplier_key AND o.entity_id = n.entity_id
           WHERE n.evidence <> o.evidence""",
        {"old": old_run, "new": new_run},
    )
    changed = _with_causes(
        matches.with_columns(old_tier=pl.lit(None, pl.String), new_tier=pl.lit(None, pl.String)),
        snapshot_causes(store, old_run, new_run),
    )
    tiers = store.query(
        """SELECT n.supplier_key, 'tier_change' AS change, o.risk_tier AS old_tier, n.risk_tier AS new_tier
           FROM run_suppliers n JOIN run_suppliers o ON o.supplier_key = n.supplier_key
           WHERE n.run_id = $new AND o.run_id = $old AND n.risk_tier <> o.risk_tier""",
        {"old": old_run, "new": new_run},
    )
    decided = store.query(
        """SELECT DISTINCT n.supplier_key, 'analyst decision since the last run' AS cause
           FROM run_matches n JOIN run_matches o ON o.supplier_key = n.supplier_key AND o.entity_id = n.entity_id
           WHERE n.run_id = $new AND o.run_id = $old AND n.state <> o.state""",
        {"old": old_run, "new": new_run},
    )
    supplier_causes = pl.concat([changed.select("supplier_key", "cause"), decided]).group_by("supplier_key").agg(
        pl.col("cause").unique().sort().str.join("; ")
    )
    tier_changes = tiers.join(supplier_causes, on="supplier_key", how="left").select(
        "supplier_key", "change",
        *[pl.lit(None, pl.String).alias(c) for c in ("entity_id", "entity_name", "list_name", "program", "band")],
        "old_tier", "new_tier",
        detail=pl.format("tier {} → {}", "old_tier", "new_tier"),
        cause=pl.col("cause").fill_null("the rules or the thresholds changed"),
    )
    return pl.concat([changed, tier_changes], how="vertical_relaxed")


def snapshot_causes(store: Store, old_run: int, new_run: int) -> pl.DataFrame:
    """source → a readable cause: which snapshot of that list replaced which between the two runs."""
    def snapshots(run_id: int) -> dict[str, dict]:
        raw = store.scalar("SELECT snapshots FROM screening_runs WHERE run_id = ?", [run_id])
        return {snap["source"]: snap for snap in json.loads(raw or "[]")}

    old, new = snapshots(old_run), snapshots(new_run)
    causes = {
        source: f"{source} list: {snapshot_label(old.get(source), 'none')} → {snapshot_label(snap, 'none')}"
        if old.get(source, {}).get("snapshot_id") != snap.get("snapshot_id")
        else ""
        for source, snap in new.items()
    }
    return pl.DataFrame({"source": list(causes), "cause": list(causes.values())},
                        schema={"source": pl.String, "cause": pl.String})


def snapshot_label(snapshot: dict | None, missing: str) -> str:
    """'snapshot 3 (as of 2026-11-01)', or `missing` when there is no snapshot."""
    if not snapshot:
        return missing
    return f"snapshot {snapshot.get('snapshot_id')}" + (f" (as of {snapshot['as_of']})" if snapshot.get("as_of") else "")


def snapshots_line(snapshots: list[dict]) -> str:
    """'uflpa snapshot 3 (as of 2026-11-01), cbp_wro snapshot 2': the lists a run used."""
    return ", ".join(f"{snap['source']} {snapshot_label(snap, '')}" for snap in snapshots) or "none"


def _with_causes(frame: pl.DataFrame, causes: pl.DataFrame) -> pl.DataFrame:
    joined = frame.join(causes, on="source", how="left").with_columns(
        cause=pl.when(pl.col("cause").fill_null("") == "")
        .then(pl.lit("the rules, thresholds or name matching changed"))
        .otherwise(pl.col("cause"))
    )
    return joined.select(CHANGE_COLUMNS)


# Reading runs


def run_changes(store: Store, run_id: int) -> pl.DataFrame:
    """The stored changes of a run, with the supplier's name and whether each needs attention, most severe first."""
    changes = store.query(
        """SELECT c.*, s.name AS supplier_name FROM run_changes c
           JOIN screening_runs r USING (run_id)
           LEFT JOIN portfolio_suppliers s ON s.portfolio_id = r.portfolio_id AND s.supplier_key = c.supplier_key
           WHERE c.run_id = ?""",
        [run_id],
    )
    return (
        changes.with_columns(attention=needs_attention(), tier_rank=tier_rank("new_tier"))
        .sort(["change", "tier_rank", "supplier_key"], nulls_last=True)
        .drop("tier_rank")
    )


def latest_run_id(store: Store, portfolio: str) -> int | None:
    """The portfolio's newest run, None before its first."""
    portfolio_id = portfolio_record(store, portfolio)["portfolio_id"]
    return store.scalar("SELECT max(run_id) FROM screening_runs WHERE portfolio_id = ?", [portfolio_id])


def run_matches(store: Store, portfolio: str, run_id: int | None = None) -> pl.DataFrame:
    """Every candidate of a run of the portfolio (default: its latest) with its supplier, the supplier's tier in
    that run and the `state` of the decision in force now: what the analyst decides on."""
    chosen = latest_run_id(store, portfolio) if run_id is None else run_id
    return _matches_of_runs(store, [] if chosen is None else [chosen])


def _matches_of_runs(store: Store, run_ids: list[int]) -> pl.DataFrame:
    matches = store.query(
        """SELECT m.run_id, p.name AS portfolio, m.supplier_key, s.name AS supplier_name, rs.risk_tier,
                  m.entity_id, m.entity_name, m.list_name, m.program, m.matched_name, m.score, m.band, m.evidence,
                  m.snapshot_id
           FROM run_matches m JOIN screening_runs r USING (run_id) JOIN portfolios p USING (portfolio_id)
           LEFT JOIN portfolio_suppliers s ON s.portfolio_id = r.portfolio_id AND s.supplier_key = m.supplier_key
           JOIN run_suppliers rs ON rs.run_id = m.run_id AND rs.supplier_key = m.supplier_key
           WHERE list_contains(?, m.run_id)
           ORDER BY m.run_id, s.position, m.score DESC""",
        [run_ids],
    )
    decided = with_decisions(matches, latest_decisions(store))
    return decided.with_columns(state="decision_state").select(*matches.columns, "state")


def list_portfolios(store: Store) -> pl.DataFrame:
    """Per portfolio: suppliers, the last run, its flagged suppliers, matches undecided now, changes and alerts."""
    portfolios = store.query(
        """WITH last_run AS (
               SELECT portfolio_id, max(run_id) AS run_id, count(*) AS runs FROM screening_runs GROUP BY portfolio_id),
           flagged AS (
               SELECT run_id, count(*) FILTER (WHERE risk_tier IN ('critical', 'high')) AS flagged
               FROM run_suppliers GROUP BY run_id)
           SELECT p.name, p.supplier_count AS suppliers, p.source_file, p.updated_at, coalesce(l.runs, 0) AS runs,
                  r.run_id AS last_run_id, r.run_at AS last_run_at, coalesce(f.flagged, 0) AS flagged
           FROM portfolios p
           LEFT JOIN last_run l ON l.portfolio_id = p.portfolio_id
           LEFT JOIN screening_runs r ON r.run_id = l.run_id
           LEFT JOIN flagged f ON f.run_id = l.run_id
           ORDER BY p.name"""
    )
    last_runs = portfolios["last_run_id"].drop_nulls().to_list()
    undecided = (
        _matches_of_runs(store, last_runs).group_by("run_id")
        .agg(undecided_matches=pl.col("state").is_in(UNDECIDED).sum().cast(pl.Int64))
    )
    changes = store.query(
        "SELECT run_id, change, old_tier, new_tier FROM run_changes WHERE list_contains(?, run_id)", [last_runs]
    ).group_by("run_id").agg(changes=pl.len().cast(pl.Int64), new_alerts=needs_attention().sum().cast(pl.Int64))
    counts = ("undecided_matches", "changes", "new_alerts")
    return (
        portfolios.join(undecided, left_on="last_run_id", right_on="run_id", how="left")
        .join(changes, left_on="last_run_id", right_on="run_id", how="left")
        .with_columns(pl.col(counts).fill_null(0))
    )


def portfolio_runs(store: Store, portfolio: str) -> pl.DataFrame:
    """Every run of a portfolio, newest first, with its number of changes and of alerts among them."""
    runs = store.query(
        """SELECT r.run_id, r.run_at, r.trigger, c.change, c.old_tier, c.new_tier
           FROM screening_runs r LEFT JOIN run_changes c ON c.run_id = r.run_id WHERE r.portfolio_id = ?""",
        [portfolio_record(store, portfolio)["portfolio_id"]],
    )
    return (
        runs.with_columns(attention=needs_attention() & pl.col("change").is_not_null())
        .group_by("run_id", "run_at", "trigger")
        .agg(changes=pl.col("change").count(), alerts=pl.col("attention").sum())
        .sort("run_id", descending=True)
    )


def run_record(store: Store, run_id: int) -> dict[str, Any]:
    """A run: when, why, with which rules and snapshots, and the snapshots its previous run used."""
    run = store.query(
        """SELECT r.*, p.snapshots AS previous_snapshots FROM screening_runs r
           LEFT JOIN screening_runs p ON p.run_id = r.previous_run_id WHERE r.run_id = ?""",
        [run_id],
    ).row(0, named=True)
    return {**run, "snapshots": json.loads(run["snapshots"] or "[]"),
            "previous_snapshots": json.loads(run["previous_snapshots"] or "[]")}
