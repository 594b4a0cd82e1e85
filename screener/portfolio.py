"""Saved supplier portfolios, their screening runs with decisions applied, and what changed between runs."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from screener.columns import ColumnMapping
from screener.decisions import (
    annotate_candidates,
    audit_log,
    dismissal_notes,
    evidence_frame,
    latest_decisions,
    md5_hex,
)
from screener.errors import ScreenerError
from screener.result import TIERS, ScreenResult
from screener.store import Store, transaction

if TYPE_CHECKING:
    from screener.screening import Screener

CHANGE_COLUMNS = (
    "supplier_key", "change", "entity_id", "entity_name", "list_name", "program", "band", "old_tier", "new_tier",
    "detail", "cause",
)


class PortfolioError(ScreenerError):
    """A portfolio cannot be saved, found or screened as asked."""


@dataclass(frozen=True)
class Portfolio:
    """A saved supplier list: its input columns (strings), the role of each, and a stable key per supplier."""

    portfolio_id: int
    name: str
    frame: pl.DataFrame
    mapping: ColumnMapping
    keys: pl.DataFrame
    source_file: str


@dataclass(frozen=True)
class PortfolioRun:
    """One recorded screening of a portfolio and what changed since the run before it."""

    run_id: int
    portfolio: str
    result: ScreenResult
    changes: pl.DataFrame
    previous_run_id: int | None


def supplier_keys(frame: pl.DataFrame, mapping: ColumnMapping) -> pl.DataFrame:
    """row → supplier_key, stable across files: a digest of the folded name and country, numbered when repeated."""
    def folded(column: str | None) -> pl.Expr:
        if not column:
            return pl.lit("")
        return pl.col(column).fill_null("").str.strip_chars().str.to_lowercase().str.replace_all(r"\s+", " ")

    text = frame.select(text=pl.concat_str([folded(mapping.name), folded(mapping.country)], separator="\x1f"))
    digests = pl.DataFrame({"digest": md5_hex(text["text"]).str.slice(0, 16)}).with_row_index("row")
    occurrence = pl.int_range(pl.len()).over("digest")
    return digests.select(
        "row",
        supplier_key=pl.when(occurrence == 0)
        .then(pl.format("s-{}", "digest"))
        .otherwise(pl.format("s-{}-{}", "digest", occurrence + 1)),
    )


def add_portfolio(
    store: Store, name: str, frame: pl.DataFrame, mapping: ColumnMapping, source_file: str = "", replace: bool = False
) -> int:
    """Save a supplier frame as a named portfolio (or replace its suppliers); return the portfolio id."""
    name = name.strip()
    if not name:
        raise PortfolioError("a portfolio needs a name")
    if frame.is_empty():
        what = f"the supplier file {source_file}" if source_file else "the supplier list"
        raise PortfolioError(f"{what} has no rows; nothing was saved")
    existing = store.scalar("SELECT portfolio_id FROM portfolios WHERE name = ?", [name])
    if existing is not None and not replace:
        raise PortfolioError(f"a portfolio named '{name}' already exists; use --replace to replace its suppliers")
    frame = frame.select(pl.all().cast(pl.String))
    keys = supplier_keys(frame, mapping)
    suppliers = frame.with_row_index("row").join(keys, on="row").select(
        "supplier_key",
        position=pl.col("row").cast(pl.Int32),
        name=pl.col(mapping.name) if mapping.name else pl.lit(None, pl.String),
        country=pl.col(mapping.country) if mapping.country else pl.lit(None, pl.String),
        record=pl.struct(frame.columns).struct.json_encode(),
    )
    con = store.con
    with transaction(con) as register:
        portfolio_id = existing if existing is not None else store.scalar("SELECT nextval('portfolio_ids')")
        values = [source_file, json.dumps(frame.columns), json.dumps(mapping.as_dict()), frame.height, portfolio_id]
        if existing is None:
            con.execute(
                """INSERT INTO portfolios (source_file, input_columns, column_roles, supplier_count, portfolio_id,
                                           name, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, now(), now())""",
                [*values, name],
            )
        else:
            con.execute(
                """UPDATE portfolios SET source_file = ?, input_columns = ?, column_roles = ?, supplier_count = ?,
                   updated_at = now() WHERE portfolio_id = ?""",
                values,
            )
            con.execute("DELETE FROM portfolio_suppliers WHERE portfolio_id = ?", [portfolio_id])
        register("new_suppliers", suppliers)
        con.execute("INSERT INTO portfolio_suppliers SELECT ?, supplier_key, position, name, country, record "
                    "FROM new_suppliers", [portfolio_id])
    return int(portfolio_id)


def load_portfolio(store: Store, name: str) -> Portfolio:
    """A saved portfolio with its suppliers in their original order."""
    found = store.query("SELECT * FROM portfolios WHERE name = ?", [name])
    if found.is_empty():
        known = ", ".join(store.query("SELECT name FROM portfolios ORDER BY name")["name"].to_list()) or "none yet"
        raise PortfolioError(
            f"no portfolio named '{name}' (saved portfolios: {known}); add it with `screener portfolio add`"
        )
    portfolio = found.row(0, named=True)
    columns = json.loads(portfolio["input_columns"])
    stored = store.query(
        "SELECT supplier_key, record FROM portfolio_suppliers WHERE portfolio_id = ? ORDER BY position",
        [portfolio["portfolio_id"]],
    )
    frame = stored.select(
        pl.col("record").str.json_decode(pl.Struct({column: pl.String for column in columns}))
    ).unnest("record")
    keys = stored.with_row_index("row").select("row", "supplier_key")
    return Portfolio(
        portfolio_id=portfolio["portfolio_id"],
        name=portfolio["name"],
        frame=frame,
        mapping=ColumnMapping(**json.loads(portfolio["column_roles"])),
        keys=keys,
        source_file=portfolio["source_file"] or "",
    )


def portfolio_names(store: Store) -> list[str]:
    return store.query("SELECT name FROM portfolios ORDER BY name")["name"].to_list()


def list_portfolios(store: Store) -> pl.DataFrame:
    """Per portfolio: suppliers, the last run, flagged suppliers and open matches in it, and its changes."""
    return store.query(
        """WITH last_run AS (
               SELECT portfolio_id, max(run_id) AS run_id, count(*) AS runs FROM screening_runs GROUP BY portfolio_id),
           flagged AS (
               SELECT run_id, count(*) FILTER (WHERE risk_tier IN ('critical', 'high')) AS flagged
               FROM run_suppliers GROUP BY run_id),
           undecided AS (
               SELECT run_id, count(*) FILTER (WHERE state IN ('open', 'reopened')) AS undecided_matches
               FROM run_matches GROUP BY run_id),
           changed AS (SELECT run_id, count(*) AS changes FROM run_changes GROUP BY run_id)
           SELECT p.name, p.supplier_count AS suppliers, p.source_file, p.updated_at, coalesce(l.runs, 0) AS runs,
                  r.run_id AS last_run_id, r.run_at AS last_run_at, coalesce(f.flagged, 0) AS flagged,
                  coalesce(u.undecided_matches, 0) AS undecided_matches, coalesce(c.changes, 0) AS changes
           FROM portfolios p
           LEFT JOIN last_run l ON l.portfolio_id = p.portfolio_id
           LEFT JOIN screening_runs r ON r.run_id = l.run_id
           LEFT JOIN flagged f ON f.run_id = l.run_id
           LEFT JOIN undecided u ON u.run_id = l.run_id
           LEFT JOIN changed c ON c.run_id = l.run_id
           ORDER BY p.name"""
    )


def screen_with_decisions(screener: Screener, portfolio: Portfolio, latest: pl.DataFrame) -> ScreenResult:
    """Screen the portfolio, then apply the decisions in force: dismissed matches leave the tier, notes are added."""
    result = screener.screen(portfolio.frame, portfolio.mapping, input_name=portfolio.source_file or portfolio.name)
    evidence = evidence_frame(screener.lists.entities, screener.lists.names).join(
        screener.lists.entities.select("entity_id", "snapshot_id"), on="entity_id", how="left"
    )
    keys = portfolio.keys.with_columns(pl.col("row").cast(result.candidates.schema.get("row", pl.UInt32)))
    candidates = annotate_candidates(result.candidates, keys, evidence, latest)
    rows = rescore_without_dismissed(screener, portfolio, result, candidates)
    headline_state = candidates.select(
        pl.col("row").cast(rows.schema["row"]), match_entity_id="entity_id", match_state="decision_state"
    ).unique(["row", "match_entity_id"])
    notes = dismissal_notes(candidates).with_columns(pl.col("row").cast(rows.schema["row"]))
    rows = (
        rows.join(portfolio.keys.with_columns(pl.col("row").cast(rows.schema["row"])), on="row", how="left")
        .join(headline_state, on=["row", "match_entity_id"], how="left")
        .join(notes, on="row", how="left")
        .with_columns(
            dismissed_matches=pl.col("dismissed").fill_null(0),
            reasons=pl.concat_str([pl.col("reasons"), pl.col("note")], separator=" | ", ignore_nulls=True),
        )
        .drop("dismissed", "note")
    )
    counts = dict(candidates.group_by("decision_state").len().iter_rows())
    metadata = {**result.metadata, "portfolio": portfolio.name, "decision_states": counts}
    return ScreenResult(rows=rows.sort("row"), candidates=candidates, metadata=metadata)


def rescore_without_dismissed(
    screener: Screener, portfolio: Portfolio, result: ScreenResult, candidates: pl.DataFrame
) -> pl.DataFrame:
    """The result rows, with rows that have a dismissed match re-evaluated by the rules without it."""
    from screener.screening import supplier_frame

    affected = candidates.filter(pl.col("decision_state") == "dismissed")["row"].unique()
    if affected.is_empty():
        return result.rows
    suppliers = supplier_frame(portfolio.frame, portfolio.mapping).filter(pl.col("row").is_in(affected.implode()))
    kept = candidates.filter(pl.col("row").is_in(affected.implode()) & (pl.col("decision_state") != "dismissed"))
    kept = kept.select(result.candidates.columns)
    rescored = screener.score(portfolio.frame, suppliers, kept)
    rescored = rescored.filter(pl.col("row").is_in(affected.implode())).select(result.rows.columns)
    unchanged = result.rows.filter(~pl.col("row").is_in(affected.implode()))
    return pl.concat([unchanged, rescored.cast(result.rows.schema)], how="vertical").sort("row")


def record_run(store: Store, portfolio: Portfolio, result: ScreenResult, trigger: str) -> PortfolioRun:
    """Store a decided screening of the portfolio and the changes since its previous run, in one transaction."""
    con = store.con
    previous = store.scalar("SELECT max(run_id) FROM screening_runs WHERE portfolio_id = ?", [portfolio.portfolio_id])
    suppliers = result.rows.select("supplier_key", "risk_tier", pl.col("risk_score").cast(pl.Float64), "reasons")
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
        changes = diff_runs(store, previous, run_id) if previous is not None else first_run_changes(store, run_id)
        register("run_change_rows", changes)
        con.execute(f"INSERT INTO run_changes SELECT ?, {', '.join(CHANGE_COLUMNS)} FROM run_change_rows", [run_id])
    return PortfolioRun(run_id=run_id, portfolio=portfolio.name, result=result,
                        changes=run_changes(store, run_id), previous_run_id=previous)


def first_run_changes(store: Store, run_id: int) -> pl.DataFrame:
    """On a portfolio's first run every match is new."""
    frame = store.query(
        """SELECT supplier_key, 'new_match' AS change, entity_id, entity_name, list_name, program, band,
                  NULL::VARCHAR AS old_tier, NULL::VARCHAR AS new_tier, 'first screening of the portfolio' AS detail,
                  source FROM run_matches WHERE run_id = ? AND state <> 'dismissed'""",
        [run_id],
    )
    causes = snapshot_causes(store, None, run_id)
    return _with_causes(frame, causes)


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


def snapshot_causes(store: Store, old_run: int | None, new_run: int) -> pl.DataFrame:
    """source → a readable cause: which snapshot of that list replaced which between the two runs."""
    def snapshots(run_id: int | None) -> dict[str, dict]:
        if run_id is None:
            return {}
        raw = store.scalar("SELECT snapshots FROM screening_runs WHERE run_id = ?", [run_id])
        return {snap["source"]: snap for snap in json.loads(raw or "[]")}

    old, new = snapshots(old_run), snapshots(new_run)

    def label(snap: dict | None) -> str:
        if not snap:
            return "none"
        return f"snapshot {snap.get('snapshot_id')}" + (f" (as of {snap['as_of']})" if snap.get("as_of") else "")

    causes = {
        source: f"{source} list: {label(old.get(source))} → {label(snap)}"
        if old.get(source, {}).get("snapshot_id") != snap.get("snapshot_id")
        else ""
        for source, snap in new.items()
    }
    return pl.DataFrame({"source": list(causes), "cause": list(causes.values())},
                        schema={"source": pl.String, "cause": pl.String})


def _with_causes(frame: pl.DataFrame, causes: pl.DataFrame) -> pl.DataFrame:
    joined = frame.join(causes, on="source", how="left").with_columns(
        cause=pl.when(pl.col("cause").fill_null("") == "")
        .then(pl.lit("the rules, thresholds or name matching changed"))
        .otherwise(pl.col("cause"))
    )
    return joined.select(CHANGE_COLUMNS)


def run_changes(store: Store, run_id: int) -> pl.DataFrame:
    """The stored changes of a run, with the supplier's name, most severe first."""
    ranks = pl.DataFrame({"new_tier": list(TIERS), "tier_rank": list(range(len(TIERS)))})
    changes = store.query(
        """SELECT c.*, s.name AS supplier_name FROM run_changes c
           JOIN screening_runs r USING (run_id)
           LEFT JOIN portfolio_suppliers s ON s.portfolio_id = r.portfolio_id AND s.supplier_key = c.supplier_key
           WHERE c.run_id = ?""",
        [run_id],
    )
    return changes.join(ranks, on="new_tier", how="left").sort(
        ["change", "tier_rank", "supplier_key"], nulls_last=True
    ).drop("tier_rank")


def screen_portfolio(db_path: Path, name: str, screener: Screener, trigger: str = "screen") -> PortfolioRun:
    """Screen a saved portfolio against the screener's lists, apply decisions, record the run and its changes."""
    with Store(db_path) as store:
        portfolio = load_portfolio(store, name)
        result = screen_with_decisions(screener, portfolio, latest_decisions(store.con))
        run = record_run(store, portfolio, result, trigger)
        log = audit_log(store.con, portfolio.name).with_columns(pl.col("decided_at").cast(pl.String))
    metadata = {**result.metadata, "run_id": run.run_id, "decision_log": log.to_dicts()}
    return replace(run, result=replace(result, metadata=metadata))
