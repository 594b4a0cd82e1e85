"""The record of one entity check — what was searched, against which list snapshots, when and with which
thresholds, and what was found — as JSON, printable HTML and PDF, sealed with a content hash to file with a vendor."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import polars as pl

from screener.reports.json_report import MATCH_FIELDS
from screener.reports.tables import ReportError
from screener.result import ScreenResult

HASH_FIELD = "content_sha256"
RECORD_FORMATS = ("json", "html", "pdf")
SNAPSHOT_FIELDS = ("source", "title", "snapshot_id", "as_of", "age_days", "sha256", "url", "origin", "coverage")


def check_record(result: ScreenResult) -> dict[str, Any]:
    """The record of a `Screener.check` result, with its content hash."""
    row = result.rows.row(0, named=True)
    metadata = result.metadata
    record = {
        "record": "entity check",
        "checked_at": metadata.get("run_at"),
        "query": {field: row.get(field) for field in ("name", "country", "address")},
        "verdict": {
            "risk_tier": row["risk_tier"],
            "risk_score": row["risk_score"],
            "match_name": row.get("match_name"),
            "match_list": row.get("match_list"),
            "match_entity_id": row.get("match_entity_id"),
            "reasons": list(row.get("reasons") or []),
            "fired_rules": list(row.get("fired_rules") or []),
        },
        "candidates": candidate_records(result.candidates),
        "lists_searched": [
            {field: snapshot.get(field) for field in SNAPSHOT_FIELDS} for snapshot in metadata.get("snapshots") or []
        ],
        "lists_as_of": metadata.get("as_of"),
        "thresholds": metadata.get("thresholds"),
        "rules_version": metadata.get("rules_version"),
        "tool_version": metadata.get("tool_version"),
    }
    return {**record, HASH_FIELD: content_hash(record)}


def candidate_records(candidates: pl.DataFrame) -> list[dict[str, Any]]:
    """Every candidate at or above the review threshold, best first, as plain values."""
    if candidates.is_empty():
        return []
    present = {field: column for field, column in MATCH_FIELDS.items() if column in candidates.columns}
    frame = candidates.sort("score", descending=True).select(
        *(pl.col(column).alias(field) for field, column in present.items())
    )
    return json.loads(frame.with_columns(pl.col(pl.Date).cast(pl.String)).write_json())


def content_hash(record: dict[str, Any]) -> str:
    """SHA-256 of the record without its hash, as canonical JSON (keys sorted, UTF-8, no spaces)."""
    body = {key: value for key, value in record.items() if key != HASH_FIELD}
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def is_intact(record: dict[str, Any]) -> bool:
    """True when the record's content still matches its hash."""
    return record.get(HASH_FIELD) == content_hash(record)


def record_json(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, indent=1, default=str) + "\n"


def record_html(record: dict[str, Any]) -> str:
    """The record as one printable, self-contained HTML page."""
    from screener.reports.html_report import environment

    return environment().get_template("check_record.html.j2").render(record=record, hash_field=HASH_FIELD)


def record_bytes(record: dict[str, Any], chosen: str) -> bytes:
    """The record in one of RECORD_FORMATS."""
    if chosen == "pdf":
        from screener.reports.check_pdf import record_pdf

        return record_pdf(record)
    return (record_json(record) if chosen == "json" else record_html(record)).encode("utf-8")


def record_format(path: Path) -> str:
    chosen = path.suffix.lower().lstrip(".")
    if chosen not in RECORD_FORMATS:
        raise ReportError(f"cannot write a check record as '{path.name}': name it .pdf, .html or .json")
    return chosen


def write_check_record(record: dict[str, Any], path: Path) -> Path:
    """Write the record as PDF, HTML or JSON (chosen by the file's suffix)."""
    from screener.reports import Staging

    path = Path(path).expanduser()
    content = record_bytes(record, record_format(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Staging()
    try:
        staging(path).write_bytes(content)
        staging.commit()
    except BaseException:
        staging.discard()
        raise
    return path
