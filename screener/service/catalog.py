"""The listed entities as the service shows them: followthemoney-shaped records (id, caption, schema, properties,
datasets) as yente clients read them, plus the listing facts every flag cites."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from screener.freshness import age_days
from screener.schema import URL_SEPARATOR
from screener.store import Lists

SCHEMATA = {"organization": "Organization", "person": "Person", "vessel": "Vessel"}
NAME_PROPERTIES = {"primary": "name", "alias": "alias", "former": "previousName", "subsidiary": "alias"}
LISTING_FIELDS = {
    "list": "list_name",
    "list_kind": "list_kind",
    "authority": "authority",
    "program": "program",
    "status": "status",
    "listed_on": "start_date",
    "ended_on": "end_date",
    "citation": "citation",
    "source_url": "source_url",
    "snapshot_id": "snapshot_id",
}


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return value.isoformat() if isinstance(value, dt.date) else str(value)


class Catalog:
    """Every entity of the lists in force, keyed by id, ready to answer in yente's entity shape."""

    def __init__(self, lists: Lists):
        snapshots = {row["snapshot_id"]: row for row in lists.snapshots.iter_rows(named=True)}
        names = lists.names.group_by("entity_id", "kind", maintain_order=True).agg(pl.col("name").unique(maintain_order=True))
        by_entity: dict[str, dict[str, list[str]]] = {}
        for entity_id, kind, values in names.iter_rows():
            properties = by_entity.setdefault(entity_id, {})
            properties.setdefault(NAME_PROPERTIES.get(kind, "alias"), []).extend(values)
        self.entities: dict[str, dict[str, Any]] = {}
        for row in lists.entities.iter_rows(named=True):
            self.entities[row["entity_id"]] = self._entity(row, by_entity.get(row["entity_id"], {}), snapshots)
        self.sources = frozenset(entity["datasets"][0] for entity in self.entities.values())
        """The lists (their source names) the entities come from."""

    @staticmethod
    def _entity(row: dict[str, Any], names: dict[str, list[str]], snapshots: dict[int, dict[str, Any]]) -> dict[str, Any]:
        properties: dict[str, list[str]] = {key: list(values) for key, values in names.items()}
        properties["name"] = [row["name"], *(n for n in properties.get("name", []) if n != row["name"])]
        extra = {
            "country": [row["country"].lower()] if row.get("country") else [],
            "address": [part.strip() for part in (row.get("addresses") or "").split(";") if part.strip()],
            "program": [row["program"]] if row.get("program") else [],
            "sector": [row["sector"]] if row.get("sector") else [],
            "notes": [row["remarks"]] if row.get("remarks") else [],
            "sourceUrl": [url.strip() for url in (row.get("source_url") or "").split(URL_SEPARATOR) if url.strip()],
            "createdAt": [row["start_date"].isoformat()] if row.get("start_date") else [],
        }
        properties.update({key: values for key, values in extra.items() if values})
        snapshot = snapshots.get(row["snapshot_id"], {})
        return {
            "id": row["entity_id"],
            "caption": row["name"],
            "schema": SCHEMATA.get(row.get("entity_type") or "", "LegalEntity"),
            "properties": properties,
            "datasets": [row["source"]],
            "referents": [],
            "target": True,
            "first_seen": None,
            "last_seen": None,
            "last_change": None,
            "listing": {
                **{field: _text(row.get(column)) for field, column in LISTING_FIELDS.items()},
                "snapshot_id": row["snapshot_id"],
                "snapshot_as_of": _text(snapshot.get("as_of")),
                "includes_affiliates": bool(row.get("includes_affiliates")),
                "merchandise": row.get("merchandise") or None,
            },
        }

    @staticmethod
    def listing_with_age(entity: dict[str, Any], today: dt.date | None = None) -> dict[str, Any] | None:
        """The entity's listing with the age in days, today, of the snapshot it was read from."""
        listing = entity.get("listing")
        if listing is None:
            return None
        return {**listing, "snapshot_age_days": age_days(listing["snapshot_as_of"], today or dt.date.today())}

    def get(self, entity_id: str) -> dict[str, Any] | None:
        return self.entities.get(entity_id)
