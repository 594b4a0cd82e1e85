"""CLI commands of the compliance workflow: portfolios, analyst decisions and monitoring."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import polars as pl
import typer
from rich.table import Table

from screener import casework
from screener.casework import CHANGE_LABELS, MonitorReport, PortfolioRun
from screener.cli_options import (
    AnalystOption,
    Commands,
    CountryColumnOption,
    DbOption,
    NameColumnOption,
    RulesOption,
    SheetOption,
    help_when_bare,
)
from screener.columns import detect_columns
from screener.console import err, out
from screener.paths import default_db_path
from screener.reports import report_format, write_report
from screener.result import TIERS
from screener.screening import ScreenConfig, Screener, tiers_summary
from screener.store import Store
from screener.supplier_io import read_suppliers

MONITOR_ATTENTION_EXIT = 3


portfolio_app = Commands(help="Saved supplier portfolios: add, list, show, screen.")
decisions_app = Commands(help="Analyst decisions: bulk import from a reviewed file, audit log.")
portfolio_app.callback(invoke_without_command=True)(help_when_bare)
decisions_app.callback(invoke_without_command=True)(help_when_bare)


def _screener(db_path: Path, rules: list[Path] | None) -> Screener:
    return Screener.from_db(db_path, ScreenConfig(rules_files=tuple(rules or ())))


@portfolio_app.command("add")
def portfolio_add(
    name: Annotated[str, typer.Argument(metavar="PORTFOLIO", help="Portfolio name.", show_default=False)],
    file: Annotated[Path, typer.Argument(metavar="FILE", help="Supplier list: CSV or XLSX.", show_default=False)],
    name_col: NameColumnOption = None,
    country_col: CountryColumnOption = None,
    sheet: SheetOption = None,
    replace: Annotated[bool, typer.Option("--replace", help="Replace the suppliers of an existing portfolio.")] = False,
    rules: RulesOption = None,
    db: DbOption = None,
) -> None:
    """Save a supplier file as a named portfolio and screen it (the baseline for monitoring)."""
    db_path = default_db_path(db)
    frame = read_suppliers(file, sheet=sheet)
    mapping = detect_columns(frame, name=name_col, country=country_col)
    screener = _screener(db_path, rules)
    with Store(db_path) as store:
        casework.add_portfolio(store, name, frame, mapping, source_file=file.name, replace=replace)
    run = casework.screen_portfolio(db_path, name, screener, trigger="add")
    out.print(f"Saved portfolio '{name}': {frame.height} suppliers from {file.name}.")
    print_run(run, changes=False)


@portfolio_app.command("list")
def portfolio_list(db: DbOption = None) -> None:
    """Every saved portfolio with its last run, flagged suppliers, undecided matches and changes."""
    with Store(default_db_path(db)) as store:
        portfolios = casework.list_portfolios(store)
    if portfolios.is_empty():
        out.print("No portfolio yet: add one with `screener portfolio add NAME FILE`.")
        return
    table = Table(title="Portfolios")
    for column in ("name", "suppliers", "last run", "run at", "critical/high", "undecided matches", "changes"):
        table.add_column(column)
    for row in portfolios.iter_rows(named=True):
        table.add_row(row["name"], str(row["suppliers"]), str(row["last_run_id"] or "never"),
                      str(row["last_run_at"] or "")[:19], str(row["flagged"]), str(row["undecided_matches"]),
                      str(row["changes"]))
    out.print(table)


@portfolio_app.command("show")
def portfolio_show(
    name: Annotated[str, typer.Argument(metavar="PORTFOLIO", help="Portfolio name.", show_default=False)],
    db: DbOption = None,
) -> None:
    """The matches of the portfolio's latest run with their decision state: the keys `screener decide` takes."""
    with Store(default_db_path(db)) as store:
        matches = casework.run_matches(store, name)
    if matches.is_empty():
        out.print(f"No match in the latest run of '{name}'.")
        return
    table = Table(title=f"Matches in the latest run of '{name}'")
    for column in ("supplier", "supplier_key", "tier", "entity_id", "listed entity", "list", "score", "band", "state"):
        table.add_column(column, overflow="fold", no_wrap=column in ("supplier_key", "entity_id"))
    for row in matches.iter_rows(named=True):
        table.add_row(row["supplier_name"] or "", row["supplier_key"], row["risk_tier"], row["entity_id"],
                      row["entity_name"] or "", row["list_name"] or "", f"{row['score']:.1f}", row["band"], row["state"])
    out.print(table)


@portfolio_app.command("screen")
def portfolio_screen(
    name: Annotated[str, typer.Argument(metavar="PORTFOLIO", help="Portfolio name.", show_default=False)],
    out_path: Annotated[Optional[Path], typer.Option("--out", metavar="FILE", help="Write the report here (.csv, .json, .xlsx, .html).")] = None,
    rules: RulesOption = None,
    db: DbOption = None,
) -> None:
    """Screen a portfolio against the lists in force, apply decisions, and show what changed since its last run."""
    db_path = default_db_path(db)
    chosen = report_format(out_path) if out_path else None
    run = casework.screen_portfolio(db_path, name, _screener(db_path, rules))
    print_run(run, changes=True)
    if out_path is None:
        return
    write_report(run.result, out_path, chosen)
    audit_path = out_path.with_name(f"{out_path.stem}.decisions.{'xlsx' if chosen == 'xlsx' else 'csv'}")
    with Store(db_path) as store:
        casework.export_audit_log(store, audit_path, name)
    err.print(f"Wrote {run.result.rows.height} rows to {out_path} and the decision audit log to {audit_path.name}")


def decide_command(
    portfolio: Annotated[str, typer.Argument(metavar="PORTFOLIO", help="Portfolio name.", show_default=False)],
    supplier: Annotated[str, typer.Argument(metavar="SUPPLIER", help="supplier_key or exact supplier name.", show_default=False)],
    entity_id: Annotated[str, typer.Argument(metavar="ENTITY_ID", help="entity_id of the match (see `portfolio show`).", show_default=False)],
    decision: Annotated[str, typer.Option("--decision", "-d", metavar="DECISION", help="confirmed, false-positive or escalated.")],
    comment: Annotated[str, typer.Option("--comment", "-c", metavar="TEXT", help="Why: kept in the audit log.")],
    analyst: AnalystOption = None,
    db: DbOption = None,
) -> None:
    """Record a decision on a match: confirmed, false positive or escalated, with a comment."""
    with Store(default_db_path(db)) as store:
        decision_id = casework.decide(store, portfolio, supplier, entity_id, decision, comment,
                                      analyst or casework.default_analyst())
    out.print(f"Recorded decision #{decision_id}: {casework.parse_decision(decision)} on {entity_id} "
              f"for {supplier} in '{portfolio}'. It applies from the next screening.")


@decisions_app.command("import")
def decisions_import(
    portfolio: Annotated[str, typer.Argument(metavar="PORTFOLIO", help="Portfolio name.", show_default=False)],
    file: Annotated[Path, typer.Argument(metavar="FILE", help="Reviewed report (CSV/XLSX) with a decision column.", show_default=False)],
    analyst: AnalystOption = None,
    sheet: SheetOption = None,
    db: DbOption = None,
) -> None:
    """Import every decision of a reviewed results file, all or none after validation."""
    reviewed = read_suppliers(file, sheet=sheet)
    with Store(default_db_path(db)) as store:
        ids = casework.import_decisions(store, portfolio, reviewed, analyst, origin=f"import:{file.name}")
    out.print(f"Recorded {len(ids)} decisions from {file.name} (#{ids[0]}–#{ids[-1]}).")


@decisions_app.command("export")
def decisions_export(
    file: Annotated[Path, typer.Option("--out", metavar="FILE", help="Audit log file: .csv or .xlsx.", show_default=False)],
    portfolio: Annotated[Optional[str], typer.Option("--portfolio", metavar="PORTFOLIO", help="Only decisions made in this portfolio.")] = None,
    db: DbOption = None,
) -> None:
    """Export every decision ever recorded (the audit log) to CSV or XLSX."""
    with Store(default_db_path(db)) as store:
        written = casework.export_audit_log(store, file, portfolio)
    out.print(f"Wrote {written} decisions to {file}.")


def monitor_command(
    out_paths: Annotated[
        Optional[list[Path]], typer.Option("--out", metavar="FILE", help="Write the changes to .json, .csv or .html; repeatable.")
    ] = None,
    rules: RulesOption = None,
    db: DbOption = None,
) -> None:
    """Re-screen every portfolio against the newest lists and report what changed; exit 3 when it needs attention."""
    db_path = default_db_path(db)
    report = casework.run_monitor(db_path, _screener(db_path, rules))
    print_monitor(report)
    for path in out_paths or ():
        casework.write_digest(report, path)
        err.print(f"Wrote {path}")
    if report.attention:
        raise typer.Exit(MONITOR_ATTENTION_EXIT)


commands = Commands()
commands.add_typer(portfolio_app, name="portfolio")
commands.command("decide")(decide_command)
commands.add_typer(decisions_app, name="decisions")
commands.command("monitor")(monitor_command)


def print_run(run: PortfolioRun, changes: bool) -> None:
    counts = tiers_summary(run.result.rows, TIERS)
    states = run.result.metadata.get("decision_states", {})
    out.print(f"Run #{run.run_id} of '{run.portfolio}': " + ", ".join(f"{counts[t]} {t}" for t in TIERS)
              + f"; matches: {states.get('open', 0) + states.get('reopened', 0)} undecided, "
              f"{states.get('dismissed', 0)} dismissed, {states.get('confirmed', 0)} confirmed, "
              f"{states.get('escalated', 0)} escalated.", highlight=False)
    if changes and run.previous_run_id is None:
        out.print(f"First screening of '{run.portfolio}': the baseline that later runs are compared with.")
    elif changes:
        print_changes(run.changes.with_columns(pl.lit(run.portfolio).alias("portfolio")),
                      f"Changes since run #{run.previous_run_id}")


def print_changes(changes: pl.DataFrame, title: str) -> None:
    if changes.is_empty():
        out.print(f"{title}: nothing changed.")
        return
    table = Table(title=title)
    for column in ("portfolio", "supplier", "change", "listed entity", "list", "detail", "cause"):
        table.add_column(column, overflow="fold")
    for row in changes.iter_rows(named=True):
        table.add_row(row["portfolio"], row["supplier_name"] or row["supplier_key"], CHANGE_LABELS[row["change"]],
                      row["entity_name"] or "", row["list_name"] or "", row["detail"] or "", row["cause"] or "")
    out.print(table)


def print_monitor(report: MonitorReport) -> None:
    for run in report.runs:
        out.print(f"{run['portfolio']}: run #{run['run_id']}, {run['suppliers']} suppliers, "
                  f"{run['flagged']} critical/high, {run['changes']} change(s) since run #{run['previous_run_id']}.")
    print_changes(report.changes, f"{report.attention} change(s) need attention")
