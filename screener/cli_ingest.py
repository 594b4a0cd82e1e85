"""The `screener ingest` and `screener diff` commands (registered by screener.cli)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from screener.cli_options import Commands, DbOption
from screener.console import err, out
from screener.ingest import DEFAULT_MAX_LOSS, IngestError, IngestResult, diff_snapshots, ingest_many
from screener.paths import default_db_path
from screener.store import Store
from sources.fetch_policy import DEFAULT_TIMEOUT, make_client
from sources.registry import SOURCES, get_source

client_factory = make_client



def ingest_command(
    source_names: Annotated[Optional[list[str]], typer.Argument(
        metavar="SOURCE", help=f"Sources to refresh: {', '.join(SOURCES)}.", show_default=False)] = None,
    all_sources: Annotated[bool, typer.Option("--all", help="Refresh every source.")] = False,
    force: Annotated[bool, typer.Option(
        "--force", "--allow-shrink", help="Re-download even if unchanged and accept a list that shrank.")] = False,
    url: Annotated[Optional[str], typer.Option(
        "--url", metavar="URL", help="Read the (single) source from this address or saved file instead (mirrors, proxies).")] = None,
    from_file: Annotated[Optional[Path], typer.Option(
        "--from-file", metavar="FILE", help="Ingest a downloaded copy of the (single) source, offline.", exists=True,
        dir_okay=False)] = None,
    datasets: Annotated[Optional[list[str]], typer.Option(
        "--dataset", metavar="DATASET", help="OpenSanctions dataset to read (repeatable; default: the forced-labour set).")] = None,
    max_loss: Annotated[float, typer.Option(
        "--max-loss", metavar="SHARE", min=0.0, max=1.0, help="Largest share of stored entities a new list may lose.")] = DEFAULT_MAX_LOSS,
    timeout: Annotated[float, typer.Option("--timeout", metavar="SECONDS", min=1.0, help="Seconds to wait for each download.")] = DEFAULT_TIMEOUT,
    db: DbOption = None,
) -> None:
    """Refresh public lists from their publishers into new snapshots (the previous ones stay queryable)."""
    names = _chosen_sources(source_names or [], all_sources)
    location = str(from_file.resolve()) if from_file else url
    if location and len(names) != 1:
        raise typer.BadParameter("--url and --from-file apply to one source; name exactly one")
    sources = [get_source(name, tuple(datasets or ())) for name in names]
    with Store(default_db_path(db)) as store, client_factory(timeout=timeout) as client, _progress() as progress:
        tasks = {name: progress.add_task(f"{name}: waiting", total=None) for name in names}
        results = ingest_many(
            store, sources, client, url=location, force=force, max_loss=max_loss,
            on_stage=lambda name, stage: progress.update(tasks[name], description=f"{name}: {stage}"),
        )
    _report(results)


def _chosen_sources(names: list[str], all_sources: bool) -> list[str]:
    if all_sources:
        return list(SOURCES)
    if not names:
        raise typer.BadParameter(f"name a source ({', '.join(SOURCES)}) or give --all")
    unknown = [name for name in names if name not in SOURCES]
    if unknown:
        raise typer.BadParameter(f"unknown source {', '.join(unknown)}; choose from {', '.join(SOURCES)}")
    return list(dict.fromkeys(names))


def _progress() -> Progress:
    return Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err,
                    transient=True)


def _report(results: list[IngestResult]) -> None:
    """Print the summary table; fail (non-zero) when any source failed, after keeping the good ones."""
    table = Table(title="Ingest")
    for column in ("source", "result", "snapshot", "added", "removed", "changed", "total"):
        table.add_column(column, justify="right" if column in ("added", "removed", "changed", "total") else "left")
    for result in results:
        table.add_row(result.source, result.status, str(result.snapshot_id or ""), str(result.added),
                      str(result.removed), str(result.changed), str(result.total))
    out.print(table)
    for result in results:
        if result.status != "failed" and result.message and result.status != "unchanged":
            err.print(Text("note:", "yellow"), f"{result.source}: {result.message}", soft_wrap=True)
    failed = [result for result in results if result.status == "failed"]
    if len(failed) == len(results) == 1:
        raise IngestError(f"{failed[0].source}: {failed[0].message}")
    for result in failed:
        err.print(Text("error:", "bold red"), f"{result.source}: {result.message}", soft_wrap=True)
    if failed:
        raise typer.Exit(1)


def diff_command(
    source: Annotated[str, typer.Argument(metavar="SOURCE", help=f"Source: {', '.join(SOURCES)}.", show_default=False)],
    from_id: Annotated[Optional[int], typer.Option("--from", metavar="SNAPSHOT", help="Older snapshot id (default: the one before --to).")] = None,
    to_id: Annotated[Optional[int], typer.Option("--to", metavar="SNAPSHOT", help="Newer snapshot id (default: the current one).")] = None,
    limit: Annotated[int, typer.Option("--limit", metavar="ROWS", min=1, help="Rows shown per section.")] = 50,
    db: DbOption = None,
) -> None:
    """List the entities added, removed and changed between two snapshots of a source."""
    with Store(default_db_path(db)) as store:
        older, newer, diff = diff_snapshots(store, source, from_id, to_id)
    added, removed, changed = diff.counts()
    out.print(f"{source}: snapshot {older} → {newer}: {added} added, {removed} removed, {changed} changed")
    for title, frame, columns in (
        ("Added", diff.added, ("name", "list_name", "program", "start_date")),
        ("Removed", diff.removed, ("name", "list_name", "program", "start_date")),
        ("Changed", diff.changed, ("name", "list_name", "changed_fields")),
    ):
        if frame.is_empty():
            continue
        table = Table(title=f"{title} ({frame.height})")
        for column in columns:
            table.add_column(column.replace("_", " "), overflow="fold")
        for row in frame.head(limit).iter_rows(named=True):
            table.add_row(*(str(row[column] if row[column] is not None else "") for column in columns))
        out.print(table)
        if frame.height > limit:
            out.print(f"… and {frame.height - limit} more (raise --limit)")


commands = Commands()
commands.command("ingest")(ingest_command)
commands.command("diff")(diff_command)
