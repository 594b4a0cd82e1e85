"""Health checks of an installation: database, snapshot consistency and age, embedded data, rule files."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from screener.embedded import read_embedded
from screener.errors import USER_ERRORS, first_line
from screener.freshness import age_days, max_age_days, refresh_advice
from screener.rules import load_rules
from screener.store import SCHEMA_VERSION, Store

STATUSES = ("ok", "warn", "fail")


@dataclass(frozen=True)
class Finding:
    """The outcome of one check."""

    check: str
    status: str
    message: str


def run_checks(
    db_path: Path, rules_files: list[Path], max_age: int | None = None, today: dt.date | None = None
) -> list[Finding]:
    """Every check, in order; a failing check never stops the ones after it.

    A list older than `max_age` days fails; without `max_age`, one older than the configured limit
    ($SCREENER_MAX_AGE_DAYS, default 90) is a warning."""
    today = today or dt.date.today()
    stale = "fail" if max_age is not None else "warn"
    limit = max_age_days() if max_age is None else max_age
    findings = [_check_embedded(), _check_rules(rules_files)]
    if not db_path.exists():
        findings.append(Finding("database", "warn", f"{db_path} does not exist yet; the first screen creates it"))
        return findings
    try:
        with Store(db_path, read_only=True) as store:
            findings.extend(_check_store(store, limit, stale, today))
    except USER_ERRORS as error:
        findings.append(Finding("database", "fail", f"{db_path}: {first_line(error)}"))
    return findings


def _check_embedded() -> Finding:
    try:
        lists = read_embedded()
    except USER_ERRORS as error:
        return Finding("embedded data", "fail", first_line(error))
    return Finding("embedded data", "ok", f"{len(lists)} lists, checksums match the manifest")


def _check_rules(rules_files: list[Path]) -> Finding:
    try:
        ruleset = load_rules(rules_files)
    except USER_ERRORS as error:
        return Finding("rules", "fail", first_line(error))
    return Finding("rules", "ok", f"{len(ruleset.rules)} rules load (version {ruleset.version})")


def _check_store(store: Store, limit: int, stale: str, today: dt.date) -> list[Finding]:
    version = store.schema_version()
    if version != SCHEMA_VERSION:
        return [Finding("database", "fail", f"schema version {version}, this screener expects {SCHEMA_VERSION}; "
                        "open it once with `screener sources` to migrate")]
    findings = [Finding("database", "ok", f"{store.path} opens, schema version {version}")]
    current = store.current_snapshots()
    if current.is_empty():
        return [*findings, Finding("snapshots", "warn", "no list loaded yet; the first screen loads the embedded lists")]
    findings.extend(_check_counts(store))
    findings.extend(_check_age(snapshot, limit, stale, today) for snapshot in current.iter_rows(named=True))
    return findings


def _check_counts(store: Store) -> list[Finding]:
    """Every current snapshot holds exactly the entities and names it recorded, and one per source."""
    mismatched = store.query(
        """SELECT s.source, s.snapshot_id, s.row_count, s.name_count,
                  (SELECT count(*) FROM entities e WHERE e.snapshot_id = s.snapshot_id) AS entities,
                  (SELECT count(*) FROM names n WHERE n.snapshot_id = s.snapshot_id) AS names
           FROM snapshots s WHERE s.status = 'current'"""
    ).filter((pl.col("entities") != pl.col("row_count")) | (pl.col("names") != pl.col("name_count")))
    duplicates = store.query(
        "SELECT source FROM snapshots WHERE status = 'current' GROUP BY source HAVING count(*) > 1"
    )["source"].to_list()
    findings = [
        Finding("snapshots", "fail", f"{row['source']} snapshot {row['snapshot_id']} holds {row['entities']} entities "
                f"and {row['names']} names but recorded {row['row_count']} and {row['name_count']}")
        for row in mismatched.iter_rows(named=True)
    ]
    findings += [Finding("snapshots", "fail", f"{source} has more than one current snapshot") for source in duplicates]
    return findings or [Finding("snapshots", "ok", "every current snapshot is complete, one per source")]


def _check_age(snapshot: dict, limit: int, stale: str, today: dt.date) -> Finding:
    as_of = snapshot["as_of"]
    label = f"{snapshot['source']} (snapshot {snapshot['snapshot_id']}, {snapshot['origin']})"
    age = age_days(as_of, today)
    if age is None:
        return Finding("freshness", stale, f"{label} has no as-of date; {refresh_advice(snapshot['source'])}")
    if age > limit:
        return Finding("freshness", stale, f"{label} is {age} days old (as of {as_of}, limit {limit}); "
                       f"{refresh_advice(snapshot['source'])}")
    return Finding("freshness", "ok", f"{label} is {age} days old (as of {as_of})")
