"""The `screener` command: a thin shell over the library."""

from __future__ import annotations

import datetime as dt
import json
import sys
import textwrap
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import click
import polars as pl
import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from screener import __version__, settings
from screener.cli_ingest import diff_command, ingest_command
from screener.cli_options import (
    AsOfOption,
    CountryColumnOption,
    DbOption,
    MatchOption,
    NameColumnOption,
    ReviewOption,
    RulesOption,
    SheetOption,
)
from screener.cli_service import jobs_app, keys_app, serve_command
from screener.cli_workflow import decide_command, decisions_app, help_when_bare, monitor_command, portfolio_app
from screener.console import err, out
from screener.cpu import pin_to_one_core
from screener.doctor import run_checks
from screener.embedded import ensure_embedded
from screener.entity import entity_profile
from screener.errors import USER_ERRORS, first_line
from screener.freshness import ages_line, with_ages
from screener.matching import MatchConfig
from screener.paths import default_db_path
from screener.reports import report_format
from screener.reports.check_record import HASH_FIELD, check_record, record_format, write_check_record
from screener.reports.tables import location_label
from screener.result import TIERS, RunSummary, ScreenResult
from screener.screening import ScreenConfig, Screener, screen_to_report
from screener.store import Store

app = typer.Typer(
    help="Screen suppliers for forced-labour risk against the UFLPA Entity List, CBP WROs/Findings and Xinjiang sanctions.",
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    rich_markup_mode=None,  # click's plain help: typer's rich panels print a type such as <bool> beside every flag
)


USER_ERROR_EXIT = 2
BUG_EXIT = 70  # EX_SOFTWARE (sysexits.h): an internal error

TIER_STYLES = {"critical": "bold white on red", "high": "bold red", "medium": "yellow", "low": "cyan", "clear": "green"}



class ReportFormat(str, Enum):
    csv = "csv"
    json = "json"
    parquet = "parquet"
    xlsx = "xlsx"
    html = "html"


class Engine(str, Enum):
    local = "local"
    spark = "spark"


def choices(options: type[Enum]) -> str:
    """An option's metavar listing its choices: csv|json|..."""
    return "|".join(option.value for option in options)


class Stages:
    """One progress line on stderr through the stages of a run: rows screened (CSV, JSON and Parquet reports written
    as they go) with the time left, then a report written at the end (XLSX, HTML)."""

    def __init__(self, progress: Progress, label: str):
        self._progress = progress
        self._task = progress.add_task(label, total=None)

    def advance(self, done: int, total: int) -> None:
        self._progress.update(self._task, completed=done, total=total)

    def stage(self, label: str) -> None:
        """A stage whose length is unknown: the bar pulses and the clock runs until the run ends."""
        self._progress.update(self._task, visible=False)
        self._task = self._progress.add_task(label, total=None)


@contextmanager
def progress_bar(label: str) -> Iterator[Stages]:
    """A rich progress line on stderr, cleared when the run ends."""
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TextColumn("ETA"), TimeRemainingColumn(), console=err, transient=True,
    ) as progress:
        yield Stages(progress, label)


def _config(match_threshold: float | None, review_threshold: float | None, rules: list[Path] | None,
            as_of: dt.date | None = None) -> ScreenConfig:
    defaults = MatchConfig()
    match = MatchConfig(
        match_threshold=defaults.match_threshold if match_threshold is None else match_threshold,
        review_threshold=defaults.review_threshold if review_threshold is None else review_threshold,
    )
    return ScreenConfig(match=match, rules_files=tuple(rules or ()), as_of=as_of)


def _print_version(asked: bool) -> None:
    if asked:
        out.print(f"screener {__version__}", highlight=False)
        raise typer.Exit(0)


@app.callback(invoke_without_command=True)
def main_options(
    ctx: typer.Context,
    version: Annotated[bool, typer.Option(
        "--version", callback=_print_version, is_eager=True, help="Show the version and exit.")] = False,
) -> None:
    """Screen suppliers for forced-labour risk against the UFLPA Entity List, CBP WROs/Findings and Xinjiang sanctions."""
    help_when_bare(ctx)


@app.command()
def screen(
    input: Annotated[str, typer.Argument(metavar="INPUT", help="Supplier list: CSV, XLSX or Parquet (--engine spark: any path Spark reads).", show_default=False)],
    out_path: Annotated[Optional[str], typer.Option("--out", metavar="FILE", help="Write the report here.")] = None,
    format: Annotated[Optional[ReportFormat], typer.Option("--format", metavar=choices(ReportFormat), help="Report format (default: from --out).")] = None,
    name_col: NameColumnOption = None,
    country_col: CountryColumnOption = None,
    address_col: Annotated[Optional[str], typer.Option("--address-col", metavar="COLUMN", help="Column with the address.")] = None,
    product_col: Annotated[Optional[str], typer.Option("--product-col", metavar="COLUMN", help="Column with the product description.")] = None,
    hs_col: Annotated[Optional[str], typer.Option("--hs-col", metavar="COLUMN", help="Column with the HS/HTS code.")] = None,
    id_col: Annotated[Optional[str], typer.Option("--id-col", metavar="COLUMN", help="Column with the registration number (USCC).")] = None,
    party_col: Annotated[Optional[list[str]], typer.Option(
        "--party-col", metavar="[ROLE=]COLUMN", help="Shipments: a party column (COLUMN or ROLE=COLUMN), repeatable; every party is screened "
        "and the row gets its worst party's tier (default: shipper, consignee, manufacturer, ... headers found).")] = None,
    sheet: SheetOption = None,
    as_of: AsOfOption = None,
    rules: RulesOption = None,
    match_threshold: MatchOption = None,
    review_threshold: ReviewOption = None,
    engine: Annotated[Engine, typer.Option("--engine", metavar=choices(Engine), help="local: this process; spark: Apache Spark (the [spark] extra), writing --out OUT.parquet.")] = Engine.local,
    spark_master: Annotated[Optional[str], typer.Option("--spark-master", metavar="URL", help="Spark master URL (default: spark-submit's, else local[*]).")] = None,
    db: DbOption = None,
) -> None:
    """Screen a supplier file; write a report or print a summary."""
    columns = {"name": name_col, "country": country_col, "address": address_col, "product": product_col,
               "hs_code": hs_col, "uscc": id_col}
    config = _config(match_threshold, review_threshold, rules, as_of)
    if engine is Engine.spark:
        screen_on_spark(input, out_path, default_db_path(db), config, columns, party_col or (), spark_master)
        return
    source, report = Path(input), Path(out_path) if out_path else None
    chosen = report_format(report, format.value if format else None) if report else None
    with progress_bar("Screening") as stages:
        summary = screen_to_report(
            source, report, default_db_path(db), format=chosen, config=config, columns=columns,
            parties=party_col or (), sheet=sheet, progress=stages.advance, stage=stages.stage,
        )
    for repair in summary.metadata["input_repairs"]:
        err.print(f"Repaired on reading {source.name}, {repair}")
    if report is None:
        print_summary(summary)
        return
    err.print(f"Wrote {summary.rows} rows to {report} ({chosen})")


def screen_on_spark(source: str, out: str | None, db_path: Path, config: ScreenConfig, columns: dict[str, str | None],
                    parties: Sequence[str], master: str | None) -> None:
    """`screen --engine spark`: the same screening on Apache Spark, into a Parquet dataset."""
    if out is None:
        raise click.UsageError("the Spark engine writes a Parquet dataset: give --out OUT.parquet")
    try:
        from screener.spark import screen_path
    except ImportError as error:
        raise click.UsageError(f"the Spark engine needs pyspark ({error}): pip install 'xuar-screener[spark]'") from error
    tiers = screen_path(source, out, db_path, config=config, columns=columns, parties=parties, master=master)
    counts = ", ".join(f"{tier} {tiers.get(tier, 0)}" for tier in TIERS)
    err.print(f"Wrote {sum(tiers.values())} rows to {out} (parquet, Spark): {counts}", highlight=False)


@app.command()
def check(
    name: Annotated[str, typer.Argument(metavar="NAME", help="Entity name, in any script.", show_default=False)],
    country: Annotated[Optional[str], typer.Option("--country", metavar="COUNTRY", help="Country (ISO code or name).")] = None,
    address: Annotated[Optional[str], typer.Option("--address", metavar="ADDRESS", help="Address text.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the verdict as JSON.")] = False,
    record: Annotated[Optional[Path], typer.Option(
        "--record", metavar="FILE", help="Save the record of this check (lists, snapshots, thresholds, time, content hash): .pdf, .html or .json."
    )] = None,
    as_of: AsOfOption = None,
    rules: RulesOption = None,
    match_threshold: MatchOption = None,
    review_threshold: ReviewOption = None,
    db: DbOption = None,
) -> None:
    """Check one entity by name; say what was searched, and save the record with --record."""
    if record is not None:
        record_format(record)
    screener = Screener.from_db(default_db_path(db), _config(match_threshold, review_threshold, rules, as_of))
    pin_to_one_core()
    result = screener.check(name, country=country, address=address)
    if as_json:
        out.print_json(json.dumps(verdict_json(result), default=str, ensure_ascii=False))
    else:
        print_verdict(result)
        print_searched(result)
    if record is not None:
        sealed = check_record(result)
        write_check_record(sealed, record)
        err.print(f"Saved the check record to {record} ({HASH_FIELD} {sealed[HASH_FIELD]})", highlight=False)


@app.command()
def sources(db: DbOption = None) -> None:
    """List each list in force: snapshot, as-of date, counts and coverage."""
    with Store(default_db_path(db)) as store:
        ensure_embedded(store)
        snapshots = with_ages(store.current_snapshots().to_dicts())
    table = Table(title="Lists in force")
    for column in ("source", "list", "as of", "age (days)", "entities", "names", "snapshot", "origin", "coverage and licence"):
        table.add_column(column, overflow="fold")
    for snap in snapshots:
        notes = " ".join(part for part in (snap["coverage"], f"Licence: {snap['licence']}" if snap["licence"] else "") if part)
        table.add_row(snap["source"], snap["title"], str(snap["as_of"] or ""), str(snap["age_days"] or ""),
                      str(snap["row_count"]), str(snap["name_count"]), str(snap["snapshot_id"]), snap["origin"], notes)
    out.print(table)
    for snap in snapshots:
        if snap["age_warning"]:
            out.print(Text("warning:", "yellow"), snap["age_warning"], soft_wrap=True)


@app.command()
def doctor(
    max_age_days: Annotated[Optional[int], typer.Option("--max-age-days", metavar="DAYS", min=0, help="Fail when a list is older than this many days (default: warn past $SCREENER_MAX_AGE_DAYS, 90).")] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Exit 1 on warnings too.")] = False,
    rules: RulesOption = None,
    db: DbOption = None,
) -> None:
    """Check the database, the age of each list, the embedded data and the rule files."""
    findings = run_checks(default_db_path(db), list(rules or ()), max_age_days)
    marks = {"ok": Text("ok  ", "green"), "warn": Text("warn", "yellow"), "fail": Text("FAIL", "bold red")}
    for finding in findings:
        out.print(marks[finding.status], f"{finding.check}: {finding.message}", soft_wrap=True)
    failing = {"fail", "warn"} if strict else {"fail"}
    if any(finding.status in failing for finding in findings):
        raise typer.Exit(1)


def verdict_json(result: ScreenResult) -> dict[str, object]:
    """The single-entity verdict with every candidate, for `check --json`."""
    row = result.rows.drop("fired_rules").to_dicts()[0]
    row["fired_rules"] = result.rows["fired_rules"][0].to_list()
    row["matches"] = result.candidates.select(
        "entity_id", "source", pl.col("list_name").alias("list"), "matched_name", "name_kind", "score", "band",
        "program", "start_date", "source_url", "explanation",
    ).to_dicts()
    row["metadata"] = result.metadata
    return row


def print_verdict(result: ScreenResult) -> None:
    row = result.rows.row(0, named=True)
    tier = row["risk_tier"]
    out.print(Text(f" {tier.upper()} ", TIER_STYLES[tier]), f"risk score {row['risk_score']}  {row['name'] or ''}")
    for reason in row["reasons"] or ["No rule fired."]:
        out.print(f"  • {reason}")
    if result.candidates.is_empty():
        out.print("No candidate reached the review threshold.")
        print_list_ages(result)
        return
    table = Table(title="Top candidates")
    for column in ("score", "band", "entity", "list", "matched name", "explanation"):
        table.add_column(column, overflow="fold")
    for cand in result.candidates.head(5).iter_rows(named=True):
        table.add_row(f"{cand['score']:.1f}", cand["band"], cand["name"], cand["list_name"],
                      f"{cand['matched_name']} ({cand['name_kind']})", cand["explanation"])
    out.print(table)
    print_list_ages(result)


def print_searched(result: ScreenResult) -> None:
    """When, with which thresholds and against which list dates a check searched (the lists follow)."""
    metadata = result.metadata
    thresholds = metadata.get("thresholds") or {}
    when = f"lists in force on {metadata['as_of']}" if metadata.get("as_of") else "the latest snapshot of each list"
    out.print(
        f"Searched at {metadata.get('run_at')} against {when}; match threshold {thresholds.get('match')}, "
        f"review threshold {thresholds.get('review')}; rules version {metadata.get('rules_version')}. "
        "Save this record with --record check.pdf (or .html, .json).",
        soft_wrap=True, highlight=False,
    )


def print_summary(summary: RunSummary) -> None:
    table = Table(title=f"{summary.rows} suppliers screened")
    for tier in TIERS:
        table.add_column(tier, justify="right", style=TIER_STYLES[tier])
    table.add_row(*(str(summary.tiers.get(tier, 0)) for tier in TIERS))
    out.print(table)
    flagged = summary.flagged
    if flagged is None or flagged.is_empty():
        print_list_ages(summary)
        return
    flagged = flagged.with_columns(location_label(flagged).alias("location"))
    name_column = summary.metadata["columns"]["name"]
    top = Table(title="Top flagged suppliers")
    for column in ("in file", "supplier", "tier", "score", "listed entity", "first reason"):
        top.add_column(column, overflow="fold")
    for row in flagged.iter_rows(named=True):
        top.add_row(row["location"], str(row.get(name_column) or ""), row["risk_tier"], str(row["risk_score"]),
                    row["match_name"] or "", textwrap.shorten(next(iter(row["reasons"]), ""), 80))
    out.print(top)
    print_list_ages(summary)
    out.print("Write a full report with --out FILE.")


def print_list_ages(result: ScreenResult | RunSummary) -> None:
    """The lists used with their age, and a warning with the refresh command for each list past the age limit."""
    snapshots = result.metadata["snapshots"]
    out.print(f"Lists used: {ages_line(snapshots)}.", soft_wrap=True)
    if result.metadata.get("as_of_basis"):
        counts = ", ".join(f"{s['source']} {s.get('entities_in_force', 0)}" for s in snapshots)
        out.print(f"Screened against {result.metadata['as_of_basis']}: {counts} entities.", soft_wrap=True)
    for snapshot in snapshots:
        if snapshot.get("age_warning"):
            out.print(Text("warning:", "yellow"), snapshot["age_warning"], soft_wrap=True)


@app.command()
def entity(
    entity_id: Annotated[str, typer.Argument(metavar="ENTITY_ID", help="Entity id, e.g. uflpa:1a2b3c4d5e6f (match_entity_id in reports).", show_default=False)],
    as_json: Annotated[bool, typer.Option("--json", help="Print the profile as JSON.")] = False,
    db: DbOption = None,
) -> None:
    """Everything stored about one listed entity: names in every script, addresses, listing, status history, citations."""
    profile = entity_profile(default_db_path(db), entity_id)
    if as_json:
        out.print_json(json.dumps(profile.as_dict(), default=str, ensure_ascii=False))
        return
    listing = profile.listing
    out.print(Text(listing["name"], "bold"), f"({listing['entity_id']})", highlight=False)
    out.print(Text(
        f"{listing['list_name']} — {listing['program'] or 'no section given'}; listed {listing['start_date'] or 'date unknown'}"
        f"{'; ended ' + str(listing['end_date']) if listing['end_date'] else ''}; status {listing['status'] or 'not confirmed'}"
        f"{'; listed with its subsidiaries or affiliates' if listing['includes_affiliates'] else ''}."
    ), soft_wrap=True)
    names = Table(title="Names")
    for column in ("name", "kind", "script"):
        names.add_column(column, overflow="fold")
    for row in profile.names.iter_rows(named=True):
        names.add_row(Text(row["name"]), row["kind"], row["script"])
    out.print(names)
    for label, values in (("Addresses", profile.addresses), ("Sources", profile.urls)):
        if values:
            out.print(f"{label}:", highlight=False)
            for value in values:
                out.print("  •", Text(value), highlight=False, soft_wrap=True)
    if listing.get("citation"):
        out.print("Citation:", Text(listing["citation"]), highlight=False, soft_wrap=True)
    history = Table(title="Status in each stored snapshot")
    for column in ("snapshot", "as of", "snapshot state", "status", "listed", "ended", "section"):
        history.add_column(column, overflow="fold")
    for row in profile.history.iter_rows(named=True):
        history.add_row(f"#{row['snapshot_id']}", str(row["snapshot_as_of"] or ""), row["snapshot_status"],
                        row["status"] or "", str(row["start_date"] or ""), str(row["end_date"] or ""), row["program"] or "")
    out.print(history)


app.command("ingest")(ingest_command)
app.command("diff")(diff_command)
app.add_typer(portfolio_app, name="portfolio")
app.command("decide")(decide_command)
app.add_typer(decisions_app, name="decisions")
app.command("monitor")(monitor_command)
app.command("serve")(serve_command)
app.add_typer(keys_app, name="keys")
app.add_typer(jobs_app, name="jobs")


def main() -> None:
    """Entry point: run the CLI, turning every failure into a one-line error."""
    try:
        code = app(standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except (click.exceptions.Exit, typer.Exit) as done:
        sys.exit(done.exit_code)
    except (click.exceptions.Abort, typer.Abort):
        err.print("Aborted.")
        sys.exit(130)
    except (click.ClickException, typer.TyperException) as error:
        # typer raises its own copy of click's errors (a bad --as-of is its BadParameter), based on TyperException
        error.show()  # type: ignore[union-attr]
        sys.exit(getattr(error, "exit_code", 2))
    except USER_ERRORS as error:
        if settings.DEBUG.value():
            raise
        err.print(Text("error:", "bold red"), first_line(error), soft_wrap=True)
        sys.exit(USER_ERROR_EXIT)
    except Exception as error:
        if settings.DEBUG.value():
            raise
        err.print(Text("bug:", "bold red"), f"{type(error).__name__}: {first_line(error)}", soft_wrap=True)
        err.print(f"This is a bug in the screener: rerun with {settings.DEBUG.name}=1 for the traceback and report it.")
        sys.exit(BUG_EXIT)
