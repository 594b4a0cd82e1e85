"""Analyst decisions on matches: an append-only log, their effect on later screenings, and the audit export.

A decision is made about one supplier (its stable `supplier_key`) and one listed entity, against the
*evidence* of the listing as it stood: a fingerprint of the entity's list facts and name variants. A
false positive dismisses the match for as long as the evidence is unchanged; once the listing changes
(re-listed, new alias, new program...) the match is reopened. Nothing is ever updated or deleted: the
decision in force is the latest one for the pair, and the audit log is every decision ever recorded.
Decisions follow the supplier key, so one made in a portfolio applies wherever the same supplier is
screened. Times are UTC.
"""

from __future__ import annotations

import datetime as dt
import getpass
from pathlib import Path

import duckdb
import polars as pl
import xlsxwriter

from screener import settings
from screener.errors import ScreenerError
from screener.reports.tables import neutralise_formulas
from screener.reports.xlsx_report import WORKBOOK_OPTIONS
from screener.store import Store, transaction

DECISIONS = ("confirmed", "false_positive", "escalated")
DECISION_WORDS = {
    "confirmed": "confirmed", "confirm": "confirmed", "true positive": "confirmed", "true match": "confirmed",
    "false positive": "false_positive", "false_positive": "false_positive", "false-positive": "false_positive",
    "fp": "false_positive", "dismissed": "false_positive", "dismiss": "false_positive", "not a match": "false_positive",
    "escalated": "escalated", "escalate": "escalated",
}
STATES = ("open", "dismissed", "confirmed", "escalated", "reopened")
EVIDENCE_COLUMNS = (
    "source", "list_name", "program", "name", "country", "addresses", "status", "start_date", "end_date",
    "citation", "merchandise", "includes_affiliates",
)
AUDIT_COLUMNS = (
    "decision_id", "decided_at", "analyst", "decision", "comment", "portfolio", "supplier_key", "supplier_name",
    "entity_id", "entity_name", "list_name", "snapshot_id", "run_id", "evidence", "origin",
)
DECISION_SCHEMA = {
    "supplier_key": pl.String, "entity_id": pl.String, "decision": pl.String, "comment": pl.String,
    "analyst": pl.String, "evidence": pl.String, "portfolio": pl.String, "run_id": pl.Int64,
    "supplier_name": pl.String, "entity_name": pl.String, "list_name": pl.String, "snapshot_id": pl.Int64,
    "origin": pl.String,
}


class DecisionError(ScreenerError):
    """A decision cannot be recorded as given."""


def parse_decision(text: str) -> str:
    """The canonical decision for a word an analyst typed ('false positive', 'FP', 'confirmed', ...)."""
    word = " ".join(str(text).strip().casefold().replace("_", " ").split())
    decision = DECISION_WORDS.get(word) or DECISION_WORDS.get(word.replace(" ", "_"))
    if decision is None:
        raise DecisionError(f"unknown decision '{text}': use confirmed, false-positive or escalated")
    return decision


def default_analyst() -> str:
    """Who is deciding: $SCREENER_ANALYST, else the login name."""
    return configured_analyst() or getpass.getuser()


def configured_analyst() -> str:
    """$SCREENER_ANALYST, or '' — what a shared server's web app offers (its login is not the analyst's)."""
    return settings.ANALYST.value()


def md5_hex(texts: pl.Series) -> pl.Series:
    """The MD5 hex digest of every string, computed by DuckDB in one pass (stable across versions)."""
    con = duckdb.connect()
    try:
        con.register("texts", pl.DataFrame({"text": texts.cast(pl.String).fill_null("")}))
        return con.sql("SELECT md5(text) AS digest FROM texts").pl()["digest"]
    finally:
        con.close()


def evidence_frame(entities: pl.DataFrame, names: pl.DataFrame) -> pl.DataFrame:
    """entity_id → evidence: a fingerprint of the listing facts and every name variant of the entity."""
    variants = (
        names.select("entity_id", variant=pl.concat_str([pl.col("kind"), pl.col("name")], separator=":"))
        .unique()
        .group_by("entity_id")
        .agg(pl.col("variant").sort().str.join("|").alias("variants"))
    )
    facts = entities.select(
        "entity_id",
        facts=pl.concat_str([pl.col(c).cast(pl.String).fill_null("") for c in EVIDENCE_COLUMNS], separator="\x1f"),
    ).join(variants, on="entity_id", how="left")
    text = pl.concat_str([pl.col("facts"), pl.col("variants").fill_null("")], separator="\x1e")
    fingerprinted = facts.select("entity_id", text=text)
    return fingerprinted.select("entity_id", evidence=md5_hex(fingerprinted["text"]))


def latest_decisions(store: Store) -> pl.DataFrame:
    """The decision in force for every (supplier_key, entity_id): the latest one recorded."""
    return store.query(
        """SELECT supplier_key, entity_id, decision, comment, analyst, decided_at, evidence AS decided_evidence
           FROM decisions
           QUALIFY row_number() OVER (PARTITION BY supplier_key, entity_id ORDER BY decision_id DESC) = 1"""
    )


def with_decisions(matches: pl.DataFrame, latest: pl.DataFrame) -> pl.DataFrame:
    """Matches (supplier_key, entity_id, evidence) with the decision in force and the resulting `decision_state`.

    State: open (no decision), dismissed (false positive on unchanged evidence), reopened (false positive on
    evidence that has since changed), confirmed or escalated.
    """
    decided = latest.rename({"comment": "decision_comment", "analyst": "decided_by"})
    state = (
        pl.when(pl.col("decision").is_null()).then(pl.lit("open"))
        .when(pl.col("decision") != "false_positive").then(pl.col("decision"))
        .when(pl.col("decided_evidence") == pl.col("evidence")).then(pl.lit("dismissed"))
        .otherwise(pl.lit("reopened"))
    )
    joined = matches.join(decided, on=["supplier_key", "entity_id"], how="left")
    return joined.with_columns(decision_state=state).drop("decided_evidence")


def annotate_candidates(
    candidates: pl.DataFrame, keys: pl.DataFrame, evidence: pl.DataFrame, latest: pl.DataFrame
) -> pl.DataFrame:
    """Candidates with supplier_key (`keys` maps row → supplier_key), evidence, the decision in force and its state."""
    return with_decisions(
        candidates.join(keys, on="row", how="left").join(evidence, on="entity_id", how="left"), latest
    )


def dismissal_notes(annotated: pl.DataFrame) -> pl.DataFrame:
    """Per row, a readable note of every dismissed match and every false positive reopened by a listing change."""
    notes = annotated.filter(pl.col("decision_state").is_in(["dismissed", "reopened"])).select(
        "row",
        dismissed=(pl.col("decision_state") == "dismissed").cast(pl.Int32),
        note=pl.when(pl.col("decision_state") == "dismissed")
        .then(pl.format("Dismissed as false positive: {} ({}) by {} on {}: {}", "name", "list_name", "decided_by",
                        pl.col("decided_at").dt.date(), "decision_comment"))
        .otherwise(pl.format("Reopened: the listing of {} ({}) changed since {} marked it a false positive on {}",
                             "name", "list_name", "decided_by", pl.col("decided_at").dt.date())),
    )
    return notes.group_by("row").agg(pl.col("dismissed").sum(), pl.col("note"))


def record_decisions(store: Store, decisions: pl.DataFrame) -> list[int]:
    """Append validated decisions (DECISION_SCHEMA columns) in one transaction; return their ids."""
    frame = decisions.select([pl.col(column).cast(dtype) for column, dtype in DECISION_SCHEMA.items()])
    invalid = frame.filter(~pl.col("decision").is_in(DECISIONS))
    if invalid.height:
        raise DecisionError(f"unknown decision '{invalid['decision'][0]}': use confirmed, false-positive or escalated")
    for column, what in (("comment", "a comment"), ("analyst", "the analyst's name")):
        if frame.filter(pl.col(column).fill_null("").str.strip_chars() == "").height:
            raise DecisionError(f"every decision needs {what}; nothing was recorded")
    with transaction(store.con) as register:
        register("new_decisions", frame)
        ids = store.con.sql(
            """INSERT INTO decisions SELECT nextval('decision_ids'), supplier_key, entity_id, decision,
                       trim(comment), trim(analyst), ?, evidence, portfolio, run_id, supplier_name, entity_name,
                       list_name, snapshot_id, origin
                FROM new_decisions RETURNING decision_id""",
            params=[dt.datetime.now(dt.UTC).replace(tzinfo=None)],
        ).fetchall()
    return sorted(row[0] for row in ids)


def audit_log(store: Store, portfolio: str | None = None) -> pl.DataFrame:
    """Every decision ever recorded, oldest first, with whether it is still the one in force."""
    where = "WHERE portfolio = ?" if portfolio else ""
    return store.query(
        f"""SELECT * FROM (
                SELECT {", ".join(AUDIT_COLUMNS)},
                       decision_id = max(decision_id) OVER (PARTITION BY supplier_key, entity_id) AS in_force
                FROM decisions) {where} ORDER BY decision_id""",
        [portfolio] if portfolio else None,
    )


def decision_history(store: Store, supplier_key: str, entity_id: str) -> pl.DataFrame:
    """Every decision ever made on one supplier and listed entity, oldest first, with the one in force."""
    return store.query(
        """SELECT decision_id, decided_at, analyst, decision, comment, portfolio, run_id, origin,
                  decision_id = max(decision_id) OVER () AS in_force
           FROM decisions WHERE supplier_key = ? AND entity_id = ? ORDER BY decision_id""",
        [supplier_key, entity_id],
    )


def export_audit_log(store: Store, path: Path, portfolio: str | None = None) -> int:
    """Write the audit log to a .csv or .xlsx file; return the number of decisions written."""
    path = Path(path).expanduser()
    log = audit_log(store, portfolio)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise DecisionError(f"cannot tell the audit log format of '{path.name}': name it .csv or .xlsx")
    path.parent.mkdir(parents=True, exist_ok=True)
    staged = path.with_name(f".{path.name}.part")
    try:
        safe = neutralise_formulas(log)
        if suffix == ".csv":
            safe.write_csv(staged, include_bom=True)
        else:
            with xlsxwriter.Workbook(staged, WORKBOOK_OPTIONS) as workbook:  # comments stay text, never links
                safe.write_excel(workbook, worksheet="audit log", autofit=True)
        staged.replace(path)
    finally:
        staged.unlink(missing_ok=True)
    return log.height
