"""The `screener screen` command: a supplier file screened here or on Spark, with progress, into a report or a summary."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

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

from screener.cli_check import TIER_STYLES, print_list_ages, screen_config
from screener.cli_options import (
    AsOfOption,
    Commands,
    CountryColumnOption,
    DbOption,
    MatchOption,
    NameColumnOption,
    ReviewOption,
    RulesOption,
    SheetOption,
)
from screener.console import err, out
from screener.errors import UsageError
from screener.paths import default_db_path
from screener.reports import report_format
from screener.reports.tables import location_label
from screener.result import TIERS, RunSummary
from screener.screening import ScreenConfig, screen_to_report

commands = Commands()


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


@commands.command()
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
    config = screen_config(match_threshold, review_threshold, rules, as_of)
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
        raise UsageError("the Spark engine writes a Parquet dataset: give --out OUT.parquet")
    try:
        from screener.spark import screen_path
    except ImportError as error:
        raise UsageError(f"the Spark engine needs pyspark ({error}): pip install 'xuar-screener[spark]'") from error
    tiers = screen_path(source, out, db_path, config=config, columns=columns, parties=parties, master=master)
    counts = ", ".join(f"{tier} {tiers.get(tier, 0)}" for tier in TIERS)
    err.print(f"Wrote {sum(tiers.values())} rows to {out} (parquet, Spark): {counts}", highlight=False)


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
