"""Analysts' decisions on the matches of a portfolio's latest run: one from the CLI or the web app, or every
decision of a reviewed report, validated all or none."""

from __future__ import annotations

import polars as pl

from screener.casework.decisions import DECISION_SCHEMA, DECISION_WORDS, DecisionError, parse_decision, record_decisions
from screener.casework.portfolios import supplier_keys_named
from screener.casework.runs import run_matches
from screener.store import Store


def resolve_supplier(store: Store, portfolio: str, supplier: str) -> str:
    """The supplier_key meant by a key or by a supplier name (exact, ignoring case) in the portfolio."""
    found = supplier_keys_named(store, portfolio, supplier)
    if len(found) == 1:
        return found[0]
    if not found:
        raise DecisionError(f"no supplier '{supplier}' in portfolio '{portfolio}'; give its supplier_key "
                            "(see `screener portfolio show`)")
    raise DecisionError(f"{len(found)} suppliers in portfolio '{portfolio}' are named '{supplier}'; give the "
                        "supplier_key instead (see `screener portfolio show`)")


def prepare_decisions(
    store: Store, portfolio: str, requests: pl.DataFrame, origin: str
) -> pl.DataFrame:
    """Validate requested decisions (line, supplier_key, entity_id, decision, comment, analyst) against the
    portfolio's latest run; return rows ready for record_decisions or raise naming every bad line."""
    words = pl.col("decision").cast(pl.String).str.strip_chars().str.to_lowercase()
    words = words.str.replace_all(r"[\s_\-]+", " ")
    lookup = {word.replace("_", " ").replace("-", " "): value for word, value in DECISION_WORDS.items()}
    requests = requests.with_columns(decision=words.replace_strict(lookup, default=None, return_dtype=pl.String))
    _refuse(requests.filter(pl.col("decision").is_null()), "unknown decision",
            "use confirmed, false-positive or escalated")
    for column, what in (("comment", "no comment"), ("analyst", "no analyst name")):
        _refuse(requests.filter(pl.col(column).fill_null("").str.strip_chars() == ""), what,
                "every decision needs a comment and the analyst's name")
    matches = run_matches(store, portfolio)
    if matches.is_empty():
        raise DecisionError(f"portfolio '{portfolio}' has not been screened yet; "
                            f"run `screener portfolio screen {portfolio}`")
    joined = requests.join(matches, on=["supplier_key", "entity_id"], how="left")
    _refuse(joined.filter(pl.col("run_id").is_null()), "not a candidate in the latest screening",
            "check supplier_key and entity_id, or screen the portfolio again")
    return joined.select(
        [pl.lit(origin).alias("origin") if column == "origin" else pl.col(column) for column in DECISION_SCHEMA]
    )


def _refuse(bad: pl.DataFrame, problem: str, advice: str) -> None:
    if bad.is_empty():
        return
    lines = ", ".join(str(line) for line in bad["line"].head(5).to_list())
    more = f" and {bad.height - 5} more" if bad.height > 5 else ""
    raise DecisionError(f"{problem} on line {lines}{more}: {advice}; nothing was recorded")


def decide(
    store: Store, portfolio: str, supplier: str, entity_id: str, decision: str, comment: str,
    analyst: str, origin: str = "cli",
) -> int:
    """Record one analyst decision on a match of the portfolio's latest screening; return its id."""
    parse_decision(decision)
    request = pl.DataFrame({
        "line": [1], "supplier_key": [resolve_supplier(store, portfolio, supplier)], "entity_id": [entity_id.strip()],
        "decision": [decision], "comment": [comment], "analyst": [analyst],
    })
    return record_decisions(store, prepare_decisions(store, portfolio, request, origin))[0]


IMPORT_COLUMNS = {
    "decision": ("decision", "analyst decision", "review decision"),
    "supplier_key": ("supplier_key", "supplier key"),
    "entity_id": ("entity_id", "match_entity_id", "entity id", "match entity id"),
    "comment": ("comment", "decision_comment", "analyst comment", "review comment", "comments"),
    "analyst": ("analyst", "decided_by", "reviewer", "reviewed by"),
}


def import_decisions(
    store: Store, portfolio: str, reviewed: pl.DataFrame, analyst: str | None, origin: str
) -> list[int]:
    """Record every decision of a reviewed results file (rows with an empty decision are skipped), all or none."""
    found = {role: _find_column(reviewed, names) for role, names in IMPORT_COLUMNS.items()}
    missing = [role for role in ("decision", "supplier_key", "entity_id") if found[role] is None]
    if missing:
        raise DecisionError(f"the reviewed file lacks the column(s) {', '.join(missing)}; write the report with "
                            "`screener portfolio screen --out` and fill in its decision column")
    if found["analyst"] is None and not analyst:
        raise DecisionError("say who reviewed the file: give --analyst or an analyst column")
    def cell(role: str) -> pl.Expr:
        column = found[role]
        return (pl.col(column).cast(pl.String).str.strip_chars() if column else pl.lit(None, pl.String)).alias(role)

    requests = reviewed.with_row_index("line", offset=2).select("line", *[cell(role) for role in IMPORT_COLUMNS]).with_columns(analyst=pl.coalesce(pl.col("analyst").replace("", None), pl.lit(analyst, pl.String)))
    requests = requests.filter(pl.col("decision").fill_null("") != "")
    if requests.is_empty():
        raise DecisionError("no row of the reviewed file has a decision; nothing was recorded")
    return record_decisions(store, prepare_decisions(store, portfolio, requests, origin))


def _find_column(frame: pl.DataFrame, names: tuple[str, ...]) -> str | None:
    folded = {column.strip().casefold(): column for column in frame.columns}
    return next((folded[name] for name in names if name in folded), None)
