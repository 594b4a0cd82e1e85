"""Health checks of an installation: database, snapshot consistency and age, embedded data, rule files."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from screener.embedded import read_embedded
from screener.errors import first_line
from screener.rules import load_rules
from screener.store import SCHEMA_VERSION, Store
from sources.registry import SOURCES as INGESTIBLE

DEFAULT_MAX_AGE_DAYS = 90
STATUSES = ("ok", "warn", "fail")


@dataclass(frozen=True)
class Finding:
    """The outcome of one check."""

    check: str
    status: str
    message: str


def run_checks(
    db_path: Path, rules_files: list[Path], max_age_days: int = DEFAULT_MAX_AGE_DAYS, today: dt.date | None = None
) -> list[Finding]:
    """Every check, in order; a failing check never stops the ones after it."""
    today = today or dt.date.today()
    findings = [_check_embedded(), _check_rules(rules_files)]
    if not db_path.exists():
        findings.append(Finding("database", "warn", f"{db_path} does not exist yet; the first screen creates it"))
        return findings
    try:
        with Store(db_path, read_only=True) as store:
            findings.extend(_check_store(store, max_age_days, today))
    except Exception as error:
        findings.append(Finding("database", "fail", f"{db_path}: {first_line(error)}"))
    return findings


def _check_embedded() -> Finding:
    try:
        lists = read_embedded()
    except Exception as error:
        return Finding("embedded data", "fail", first_line(error))
    return Finding("embedded data", "ok", f"{len(lists)} lists, checksums match the manifest")


def _check_rules(rules_files: list[Path]) -> Finding:
    try:
        ruleset = load_rules(rules_files)
    except Exception as error:
        return Finding("rules", "fail", first_line(error))
    return Finding("rules", "ok", f"{len(ruleset.rules)} rules load (version {ruleset.version})")


def _check_store(store: Store, max_age_days: int, today: dt.date) -> list[Finding]:
    version = store.schema_version()
    if version != SCHEMA_VERSION:
        return [Finding("database", "fail", f"schema version {version}, this screener expects {SCHEMA_VERSION}; "
                        "open it once with `screener sources` to migrate")]
    findings = [Finding("database", "ok", f"{store.path} opens, schema version {version}")]
    current = store.current_snapshots()
    if current.is_empty():
        return [*findings, Finding("snapshots", "warn", "no list loaded yet; the first screen loads the embedded lists")]
    findings.extend(_check_counts(store))
    findings.extend(_check_age(snapshot, max_age_days, today) for snapshot in current.iter_rows(named=True))
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


def _check_age(snapshot: dict, max_age_days: int, today: dt.date) -> Finding:
    as_of = snapshot["as_of"]
    label = f"{snapshot['source']} (snapshot {snapshot['snapshot_id']}, {snapshot['origin']})"
    if as_of is None:
        return Finding("freshness", "warn", f"{label} has no as-of date")
    age = (today - as_of).days
    if age > max_age_days:
        return Finding("freshness", "warn", f"{label} is {age} days old (as of {as_of}, limit {max_age_days}); "
                       f"{refresh_advice(snapshot['source'])}")
    return Finding("freshness", "ok", f"{label} is {age} days old (as of {as_of})")


def refresh_advice(source: str) -> str:
    """What to run: the source's own ingest, or, for the embedded sanctions compilation, the live lists beside it."""
    if source in INGESTIBLE:
        return f"run `screener ingest {source}` to refresh it"
    return "run `screener ingest csl opensanctions` to screen against the current full lists as well"
