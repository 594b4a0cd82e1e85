"""Everything stored about one listed entity: its names in every script, addresses, listings with their sections
and dates, its status in each snapshot, and the citations — for the entity page, `screener entity` and reports."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from screener.embedded import ensure_embedded
from screener.errors import ScreenerError
from screener.schema import URL_SEPARATOR
from screener.store import Store

SCRIPTS = {"zh": "Chinese", "en": "Latin"}
KIND_ORDER = ("primary", "alias", "former", "subsidiary")
HISTORY_COLUMNS = ("snapshot_id", "snapshot_as_of", "snapshot_status", "status", "start_date", "end_date", "program")


class EntityError(ScreenerError):
    """No listed entity has the id asked for."""


@dataclass(frozen=True)
class EntityProfile:
    """One listed entity as the newest snapshot holding it lists it, with its history across snapshots."""

    listing: dict[str, Any]
    names: pl.DataFrame
    history: pl.DataFrame

    @property
    def addresses(self) -> list[str]:
        return [part.strip() for part in (self.listing.get("addresses") or "").split(";") if part.strip()]

    @property
    def urls(self) -> list[str]:
        return [url.strip() for url in (self.listing.get("source_url") or "").split(URL_SEPARATOR) if url.strip()]

    def as_dict(self) -> dict[str, Any]:
        """Plain values for JSON."""
        return {
            "listing": self.listing,
            "names": self.names.to_dicts(),
            "addresses": self.addresses,
            "urls": self.urls,
            "history": self.history.to_dicts(),
        }


def entity_profile(db_path: Path, entity_id: str) -> EntityProfile:
    """The profile of a listed entity by its id (as in `match_entity_id`); EntityError when none has it."""
    with Store(db_path) as store:
        ensure_embedded(store)
        listings, names = store.entity_history(entity_id.strip())
    if listings.is_empty():
        raise EntityError(
            f"no listed entity has the id {entity_id!r}; ids look like 'uflpa:1a2b3c4d5e6f' "
            "(see the match_entity_id column of a report or the candidates of `screener check`)"
        )
    newest = listings.row(0, named=True)
    listing = {column: value for column, value in newest.items() if not column.startswith("snapshot_")}
    listing |= {"snapshot_id": newest["snapshot_id"], "snapshot_as_of": newest["snapshot_as_of"],
                "snapshot_title": newest["snapshot_title"]}
    ordered_names = (
        names.select("name", "kind", "lang")
        .unique(maintain_order=True)
        .with_columns(script=pl.col("lang").replace_strict(SCRIPTS, default="other"))
        .sort(pl.col("kind").replace_strict({kind: rank for rank, kind in enumerate(KIND_ORDER)}, default=9))
    )
    history = listings.select(*HISTORY_COLUMNS, "snapshot_origin", "citation")
    return EntityProfile(listing=listing, names=ordered_names, history=history)
