"""Canonical columns of the entity and name frames every source produces."""

from __future__ import annotations

import hashlib

import polars as pl

from screener.errors import ScreenerError

SOURCES = ("uflpa", "cbp_wro", "sanctions", "csl", "opensanctions")
LIST_KINDS = ("legal", "research")
NAME_KINDS = ("primary", "alias", "subsidiary", "former")
STATUSES = ("active", "partially active", "modified", "inactive", "revoked")
URL_SEPARATOR = " | "  # between the addresses of a listing's source_url when it cites several

ENTITY_SCHEMA: dict[str, pl.DataType] = {
    "entity_id": pl.String(),
    "source": pl.String(),
    "list_name": pl.String(),
    "list_kind": pl.String(),
    "authority": pl.String(),
    "program": pl.String(),
    "entity_type": pl.String(),
    "name": pl.String(),
    "country": pl.String(),
    "addresses": pl.String(),
    "sector": pl.String(),
    "merchandise": pl.String(),
    "status": pl.String(),
    "start_date": pl.Date(),
    "end_date": pl.Date(),
    "citation": pl.String(),
    "remarks": pl.String(),
    "source_url": pl.String(),
    "includes_affiliates": pl.Boolean(),
}

NAME_SCHEMA: dict[str, pl.DataType] = {
    "entity_id": pl.String(),
    "name": pl.String(),
    "kind": pl.String(),
    "lang": pl.String(),
}


class SchemaError(ScreenerError):
    """A frame does not have the canonical columns."""


def entity_id(source: str, key: str) -> str:
    """Stable id of an entity from its source and a key (usually the primary name)."""
    folded = " ".join(key.casefold().split())
    return f"{source}:{hashlib.sha1(folded.encode()).hexdigest()[:12]}"


def conform(frame: pl.DataFrame, schema: dict[str, pl.DataType], what: str) -> pl.DataFrame:
    """Select and cast the canonical columns, in order; raise SchemaError naming missing ones."""
    missing = [column for column in schema if column not in frame.columns]
    if missing:
        raise SchemaError(f"{what} frame lacks columns: {', '.join(missing)}")
    return frame.select([pl.col(column).cast(dtype) for column, dtype in schema.items()])


def validate_frames(entities: pl.DataFrame, names: pl.DataFrame) -> None:
    """Check the invariants the store relies on; raise SchemaError on the first broken one."""
    if entities.is_empty():
        raise SchemaError("no entities parsed")
    duplicated = entities.filter(pl.col("entity_id").is_duplicated())["entity_id"].unique()
    if len(duplicated):
        raise SchemaError(f"duplicate entity ids: {', '.join(duplicated.head(3).to_list())}")
    blank = entities.filter(pl.col("name").fill_null("").str.strip_chars() == "")
    if len(blank):
        raise SchemaError(f"{len(blank)} entities have no name")
    orphans = names.join(entities, on="entity_id", how="anti")
    if len(orphans):
        raise SchemaError(f"{len(orphans)} names belong to no entity")
    bad_kinds = set(names["kind"].unique().to_list()) - set(NAME_KINDS)
    if bad_kinds:
        raise SchemaError(f"unknown name kinds: {', '.join(sorted(map(str, bad_kinds)))}")
