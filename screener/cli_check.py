"""The `screener check` command, and the verdict, thresholds and list ages it prints (shared with `screen`)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Optional

import polars as pl
import typer
from rich.table import Table
from rich.text import Text

from screener.cli_options import AsOfOption, Commands, DbOption, MatchOption, ReviewOption, RulesOption
from screener.console import err, out
from screener.cpu import pin_to_one_core
from screener.freshness import ages_line
from screener.matching import MatchConfig
from screener.paths import default_db_path
from screener.result import RunSummary, ScreenResult
from screener.screening import ScreenConfig, Screener

TIER_STYLES = {"critical": "bold white on red", "high": "bold red", "medium": "yellow", "low": "cyan", "clear": "green"}

commands = Commands()


def screen_config(match_threshold: float | None, review_threshold: float | None, rules: list[Path] | None,
                  as_of: dt.date | None = None) -> ScreenConfig:
    """The screening settings the threshold, rules and --as-of options ask for (the defaults where not given)."""
    defaults = MatchConfig()
    match = MatchConfig(
        match_threshold=defaults.match_threshold if match_threshold is None else match_threshold,
        review_threshold=defaults.review_threshold if review_threshold is None else review_threshold,
    )
    return ScreenConfig(match=match, rules_files=tuple(rules or ()), as_of=as_of)


@commands.command()
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
        from screener.reports.check_record import record_format  # the record's code loads only for --record

        record_format(record)
    screener = Screener.from_db(default_db_path(db), screen_config(match_threshold, review_threshold, rules, as_of))
    pin_to_one_core()
    result = screener.check(name, country=country, address=address)
    if as_json:
        out.print_json(json.dumps(verdict_json(result), default=str, ensure_ascii=False))
    else:
        print_verdict(result)
        print_searched(result)
    if record is not None:
        save_record(result, record)


def save_record(result: ScreenResult, record: Path) -> None:
    """Seal the check's record and write it to `record` (.pdf, .html or .json)."""
    from screener.reports.check_record import HASH_FIELD, check_record, write_check_record

    sealed = check_record(result)
    write_check_record(sealed, record)
    err.print(f"Saved the check record to {record} ({HASH_FIELD} {sealed[HASH_FIELD]})", highlight=False)


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
