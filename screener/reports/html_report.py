"""HTML report: one self-contained, printable file (inline CSS, no scripts, no external assets)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2
import polars as pl
from markupsafe import Markup, escape

from screener.reports.tables import (
    cited_rows,
    input_column,
    list_counts,
    location_label,
    rule_counts,
    run_facts,
    snapshot_labels,
    snapshots_frame,
    tier_counts,
    tier_rank,
)
from screener.result import ScreenResult
from screener.schema import URL_SEPARATOR

TEMPLATES = Path(__file__).resolve().parent / "templates"
MATCH_FIELDS = (
    "band", "score", "matched_name", "name_kind", "name", "list_name", "list_kind", "authority", "program",
    "status", "start_date", "end_date", "merchandise", "includes_affiliates", "citation", "urls",
    "snapshot", "explanation", "entity_id",
)
ENTITY_FIELDS = (
    "entity_id", "name", "list_name", "list_kind", "authority", "program", "entity_type", "country", "addresses",
    "sector", "merchandise", "status", "start_date", "end_date", "includes_affiliates", "citation", "source_url",
    "snapshot",
)
WEB_ADDRESS = re.compile(r"(https?://[^\s<>\"']+[^\s<>\"'.,;:)\]])")


def environment() -> jinja2.Environment:
    """The report templates, escaping every value, with the `linkify` filter."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined,
        trim_blocks=True, lstrip_blocks=True,
    )
    env.filters["linkify"] = linkify
    return env


def linkify(text: str | None) -> Markup:
    """Escaped text with every http(s) address in it made a link."""
    pieces = WEB_ADDRESS.split(text or "")
    return Markup("").join(
        Markup('<a href="{0}">{0}</a>').format(piece) if index % 2 else escape(piece)
        for index, piece in enumerate(pieces)
    )


def _supplier_field(result: ScreenResult, rows: pl.DataFrame, role: str, alias: str) -> pl.Expr:
    column = input_column(result, rows, role)
    return (pl.col(column) if column else pl.lit(None, pl.String)).alias(alias)


def matches_by_row(result: ScreenResult) -> pl.DataFrame:
    """Per row, its candidates (best first) with their citation, a safe link and the snapshot label."""
    candidates = result.candidates.join(snapshot_labels(result.metadata), on="source", how="left").with_columns(
        pl.col("row").cast(pl.Int64),
        urls=pl.col("source_url").str.split(URL_SEPARATOR),
        score=pl.col("score").round(1),
    )
    return (
        candidates.sort(["row", "score"], descending=[False, True])
        .group_by("row", maintain_order=True)
        .agg(pl.struct(*MATCH_FIELDS).alias("matches"))
    )


def flagged_rows(result: ScreenResult) -> list[dict[str, Any]]:
    """Every row not clear, most severe tier first then input order: its main reason in full (the legal basis,
    printed once per rule elsewhere, left out), the other fired rules by title, and its matched listings."""
    rows = cited_rows(result).filter(pl.col("risk_tier") != "clear")
    rules = result.metadata.get("rules") or {}
    titles = {rule_id: rule["title"] for rule_id, rule in rules.items()}
    flagged = (
        rows.with_columns(rank=tier_rank())
        .sort(["rank", "row"])
        .join(matches_by_row(result), on="row", how="left", maintain_order="left")
        .select(
            location_label(rows).alias("location"),
            _supplier_field(result, rows, "name", "supplier"),
            _supplier_field(result, rows, "country", "country"),
            _supplier_field(result, rows, "address", "address"),
            "risk_tier",
            "risk_score",
            pl.col("reasons").list.first().alias("main_reason"),
            pl.col("fired_rules").list.slice(1).alias("other_rules"),
            "matches",
        )
        .to_dicts()
    )
    bases = sorted({rule["basis"] for rule in rules.values() if rule.get("basis")}, key=len, reverse=True)
    for row in flagged:
        row["main_reason"] = without_bases(row["main_reason"] or "", bases)
        row["other_rules"] = [titles.get(rule_id, rule_id) for rule_id in row["other_rules"] or []]
    return flagged


def without_bases(reason: str, bases: list[str]) -> str:
    """The reason with any rule's legal-basis text taken out (the report prints each basis once)."""
    for basis in bases:
        reason = reason.replace(f" {basis}", "").replace(basis, "")
    return reason


def rule_bases(result: ScreenResult) -> list[dict[str, str]]:
    """The title and legal basis of each rule that fired in the run, most frequent first."""
    rules = result.metadata.get("rules") or {}
    fired = rule_counts(result)["rule"].to_list()
    return [{"title": rules[rule]["title"], "basis": rules[rule]["basis"]}
            for rule in fired if rule in rules and rules[rule].get("basis")]


def listed_entities(result: ScreenResult) -> list[dict[str, Any]]:
    """Each listed entity a supplier matched, once, by name: its listing, addresses, citation, links and snapshot,
    the names of it that were matched and how many suppliers matched it — the report's own entity pages."""
    matched = result.candidates.filter(pl.col("band") == "match")
    if matched.is_empty():
        return []
    return (
        matched.join(snapshot_labels(result.metadata), on="source", how="left")
        .group_by("entity_id")
        .agg(
            *(pl.col(field).first() for field in ENTITY_FIELDS if field != "entity_id"),
            matched_names=pl.concat_str("matched_name", pl.lit(" ("), "name_kind", pl.lit(")")).unique().sort(),
            suppliers=pl.col("row").n_unique(),
        )
        .with_columns(urls=pl.col("source_url").str.split(URL_SEPARATOR))
        .sort("name", "entity_id")
        .to_dicts()
    )


def clear_rows(result: ScreenResult) -> list[dict[str, Any]]:
    """The rows rated clear, in input order: where they are in the file and the supplier's name."""
    rows = cited_rows(result).filter(pl.col("risk_tier") == "clear").sort("row")
    return rows.select(location_label(rows).alias("location"), _supplier_field(result, rows, "name", "supplier")).to_dicts()


def render_html(result: ScreenResult) -> str:
    """The report as one HTML document."""
    tiers = tier_counts(result)
    largest = max(tiers["suppliers"].max() or 0, 1)
    return environment().get_template("report.html.j2").render(
        title=f"Forced-labour risk screening: {result.metadata.get('input') or 'suppliers'}",
        total=result.rows.height,
        tiers=tiers.with_columns(percent=(pl.col("suppliers") * 100 / largest).round(1)).to_dicts(),
        lists=list_counts(result).to_dicts(),
        rules=rule_counts(result).to_dicts(),
        flagged=flagged_rows(result),
        clear=clear_rows(result),
        entities=listed_entities(result),
        bases=rule_bases(result),
        snapshots=snapshots_frame(result.metadata).with_columns(urls=pl.col("url").str.split(URL_SEPARATOR)).to_dicts(),
        facts=run_facts(result.metadata, result.rows.height),
    )


def write_html(result: ScreenResult, path: Path, stage: Callable[[Path], Path]) -> None:
    """Write the HTML report."""
    stage(path).write_text(render_html(result), encoding="utf-8")
