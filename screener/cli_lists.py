"""The commands about the stored lists: `screener sources`, `screener doctor` and `screener entity`."""

from __future__ import annotations

import json
from typing import Annotated, Optional

import typer
from rich.table import Table
from rich.text import Text

from screener.cli_options import Commands, DbOption, RulesOption
from screener.console import out
from screener.doctor import run_checks
from screener.embedded import ensure_embedded
from screener.entity import entity_profile
from screener.freshness import with_ages
from screener.paths import default_db_path
from screener.store import Store

commands = Commands()


@commands.command()
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


@commands.command()
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


@commands.command()
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
