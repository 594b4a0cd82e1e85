"""Frames the Streamlit pages show, built from a ScreenResult with polars (no Streamlit here)."""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote, urlparse

import polars as pl

from screener.columns import ColumnMapping
from screener.errors import UsageError
from screener.isolated import sheets_isolated
from screener.reports import write_report
from screener.reports.tables import cited_rows, input_column, location_label, tier_rank
from screener.result import TIERS, ScreenResult
from screener.schema import URL_SEPARATOR
from screener.supplier_io import EXCEL_SUFFIXES, InputFileError
from screener.text import WEB_LINK, markdown_link, markdown_literal

BadgeColour = Literal["red", "orange", "yellow", "blue", "green", "violet", "gray", "grey", "primary"]
TIER_COLOURS: dict[str, BadgeColour] = {"critical": "red", "high": "orange", "medium": "yellow", "low": "blue", "clear": "green"}
TIER_HEX = {"critical": "#c62828", "high": "#ef6c00", "medium": "#f9a825", "low": "#1565c0", "clear": "#2e7d32"}
REPORT_FORMATS = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "html": "text/html",
    "csv": "text/csv",
    "json": "application/json",
}
ROLES = ("name", "country", "address", "product", "hs_code", "uscc")
ROLE_LABELS = {
    "name": "Supplier name",
    "country": "Country",
    "address": "Address",
    "product": "Product description",
    "hs_code": "HS / HTS code",
    "uscc": "Registration number (USCC)",
}


@dataclass(frozen=True)
class ResultFilter:
    """What the user narrowed the results table to; empty selections mean everything."""

    tiers: tuple[str, ...] = ()
    lists: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    search: str = ""


def mapping_from_choices(choices: dict[str, str | None]) -> ColumnMapping:
    """A ColumnMapping from the role → column choices of the mapping form (name required)."""
    name = choices.get("name")
    if not name:
        raise UsageError("choose the column that holds the supplier name")
    chosen = [column for column in choices.values() if column]
    repeated = sorted({column for column in chosen if chosen.count(column) > 1})
    if repeated:
        raise UsageError(f"column {repeated[0]!r} is chosen for two roles; give each role its own column")
    return ColumnMapping(name=name, **{role: choices.get(role) or None for role in ROLES if role != "name"})


def matched_lists(result: ScreenResult) -> pl.DataFrame:
    """Per row, every list it has a match on (sorted), so a list filter finds each of its listings."""
    return (
        result.candidates.filter(pl.col("band") == "match")
        .group_by(pl.col("row").cast(pl.Int64))
        .agg(lists=pl.col("list_name").unique().sort())
    )


def results_table(result: ScreenResult) -> pl.DataFrame:
    """One row per supplier for the results table: most severe first, with the citation of its best match."""
    rows = cited_rows(result).join(matched_lists(result), on="row", how="left", maintain_order="left")
    name_column = input_column(result, rows, "name")
    country_column = input_column(result, rows, "country")
    return rows.sort([tier_rank(), pl.col("risk_score"), pl.col("row")], descending=[False, True, False]).select(
        "row",
        location_label(rows).alias("in_file"),
        _text_column(name_column).alias("supplier"),
        _text_column(country_column).alias("country"),
        pl.col("risk_tier").alias("tier"),
        pl.col("risk_score").alias("score"),
        pl.col("match_name").alias("matched_entity"),
        pl.col("match_list").alias("list"),
        pl.col("match_score").round(1).cast(pl.String),
        pl.col("reasons").list.first().alias("main_reason"),
        pl.col("match_program").alias("program"),
        first_url("match_url").alias("source_url"),
        pl.col("reasons").list.join(" ").alias("all_reasons"),
        pl.col("lists").fill_null(pl.lit([], pl.List(pl.String))),
        pl.col("match_entity_id"),
    )


def blank_missing(frame: pl.DataFrame) -> pl.DataFrame:
    """Text and date columns with missing values as empty cells, so a table shows no 'None'."""
    return frame.with_columns(pl.col(pl.String, pl.Date).cast(pl.String).fill_null(""))


def _text_column(column: str | None) -> pl.Expr:
    return pl.col(column).cast(pl.String) if column else pl.lit(None, pl.String)


def filter_results(table: pl.DataFrame, chosen: ResultFilter) -> pl.DataFrame:
    """The rows of the results table that pass the tier, list, country and text filters."""
    conditions = []
    if chosen.tiers:
        conditions.append(pl.col("tier").is_in(list(chosen.tiers)))
    if chosen.lists:
        conditions.append(pl.col("lists").list.set_intersection(list(chosen.lists)).list.len() > 0)
    if chosen.countries:
        conditions.append(pl.col("country").is_in(list(chosen.countries)))
    needle = chosen.search.strip()
    if needle:
        haystack = pl.concat_str(
            ["supplier", "matched_entity", "all_reasons", "country"], separator=" ", ignore_nulls=True
        )
        conditions.append(haystack.str.to_lowercase().str.contains(needle.lower(), literal=True))
    return table.filter(*conditions) if conditions else table


def tier_counts(result: ScreenResult) -> pl.DataFrame:
    """Suppliers per tier, every tier present, in severity order."""
    counts = result.rows.group_by("risk_tier").len()
    return (
        pl.DataFrame({"tier": list(TIERS)})
        .join(counts, left_on="tier", right_on="risk_tier", how="left")
        .select("tier", suppliers=pl.col("len").fill_null(0).cast(pl.Int64))
    )


def list_hits(result: ScreenResult) -> pl.DataFrame:
    """Suppliers with a match on each list, most first."""
    matches = result.candidates.filter(pl.col("band") == "match")
    return (
        matches.group_by("list_name")
        .agg(suppliers=pl.col("row").n_unique())
        .rename({"list_name": "list"})
        .sort(["suppliers", "list"], descending=[True, False])
    )


def country_counts(table: pl.DataFrame, top: int = 20) -> pl.DataFrame:
    """Suppliers per country (as written in the file), the most frequent first."""
    return (
        table.with_columns(pl.col("country").fill_null("(none)").replace("", "(none)"))
        .group_by("country")
        .len("suppliers")
        .sort(["suppliers", "country"], descending=[True, False])
        .head(top)
    )


def filter_options(table: pl.DataFrame, column: str) -> list[str]:
    """The distinct non-empty values of a results-table column (or of its lists), sorted."""
    values = table[column].explode() if isinstance(table.schema[column], pl.List) else table[column]
    return sorted(value for value in values.drop_nulls().unique().to_list() if value)


def supplier_row(result: ScreenResult, row: int) -> dict[str, Any]:
    """The verdict columns of one supplier (0-based input row), its reasons and fired rules as lists."""
    rows = cited_rows(result)
    record = rows.filter(pl.col("row") == row).row(0, named=True)
    record["fired_rules"] = list(record.get("fired_rules") or [])
    record["supplier"] = record.get(input_column(result, rows, "name") or "", None)
    return record


def supplier_candidates(result: ScreenResult, row: int) -> pl.DataFrame:
    """Every candidate of one supplier, best first, with its list, program, date, status, citation and snapshot."""
    snapshots = snapshot_lookup(result.metadata)
    return (
        result.candidates.filter(pl.col("row") == row)
        .sort("score", descending=True)
        .join(snapshots, on="source", how="left")
        .select(
            pl.col("score").round(1),
            "band",
            pl.col("name").alias("entity"),
            "matched_name",
            "name_kind",
            "name_lang",
            pl.col("list_name").alias("list"),
            "program",
            "start_date",
            "status",
            "citation",
            first_url("source_url").alias("source_url"),
            pl.col("source_url").alias("source_urls"),
            "snapshot",
            "explanation",
            "entity_id",
        )
    )


def snapshot_lookup(metadata: dict[str, Any]) -> pl.DataFrame:
    """source → readable snapshot label ("snapshot 3, as of 2025-01-15") for the lists a run used."""
    snapshots = metadata.get("snapshots") or []
    return pl.DataFrame(
        {
            "source": [snapshot["source"] for snapshot in snapshots],
            "snapshot": [
                f"snapshot {snapshot.get('snapshot_id')}"
                + (f", as of {snapshot['as_of']}" if snapshot.get("as_of") else "")
                for snapshot in snapshots
            ],
        },
        schema={"source": pl.String, "snapshot": pl.String},
    )


def citation_lines(candidates: pl.DataFrame) -> list[str]:
    """One Markdown line per matched listing: list, program, date, status, citation, link and snapshot."""
    lines = []
    for listing in candidates.filter(pl.col("band") == "match").iter_rows(named=True):
        parts = [f"**{markdown_literal(listing['list'])}**"]
        parts += [markdown_literal(text) for text in (listing["program"], listing["citation"]) if text]
        if listing["start_date"]:
            parts.append(f"listed {listing['start_date']}")
        if listing["status"]:
            parts.append(f"status {listing['status']}")
        if listing["snapshot"]:
            parts.append(markdown_literal(listing["snapshot"]))
        links = " · ".join(
            link for link in (source_links(listing["source_urls"]), f"[entity page]({entity_link(listing['entity_id'])})")
            if link
        )
        lines.append(f"{markdown_literal(listing['entity'])}: " + ", ".join(parts) + f" — {links}")
    return lines


def entity_link(entity_id: str) -> str:
    """The app address of a listed entity's page, relative to any page of the app."""
    return f"entity?id={quote(entity_id, safe=':')}"


def source_links(urls: str | None) -> str:
    """Each http(s) address of a ' | '-separated citation as a Markdown link labelled with its site."""
    links = []
    for url in (part.strip() for part in (urls or "").split(URL_SEPARATOR)):
        url = url.replace("(", "%28").replace(")", "%29")
        if re.fullmatch(WEB_LINK, url):
            links.append(markdown_link(urlparse(url).netloc.removeprefix("www."), url))
    return " · ".join(links)


def first_url(column: str) -> pl.Expr:
    """The first address of a ' | '-separated citation (for a link cell, which holds one), when it is an http(s)
    address: data:, javascript: or file: addresses are no link at all."""
    first = pl.col(column).str.split(URL_SEPARATOR).list.first().str.strip_chars()
    return pl.when(first.str.contains(WEB_LINK)).then(first)


def is_workbook(file_name: str) -> bool:
    return file_name.lower().endswith(EXCEL_SUFFIXES)


def sheet_names(content: bytes, file_name: str) -> list[str]:
    """The sheets of a workbook, read in a child process, or [] when it cannot be opened (reading it says why)."""
    try:
        return sheets_isolated(content, filename=file_name)
    except InputFileError:
        return []


def report_bytes(result: ScreenResult, report_format: str) -> bytes:
    """The report in one format, as the bytes a download serves."""
    with tempfile.TemporaryDirectory(prefix="screener-report-") as folder:
        path = Path(folder) / f"report.{report_format}"
        write_report(result, path, report_format)
        return path.read_bytes()


def report_file_name(input_name: str, report_format: str) -> str:
    """A download name derived from the uploaded file's name."""
    stem = Path(input_name or "suppliers").stem or "suppliers"
    return f"{stem}-screening.{report_format}"
