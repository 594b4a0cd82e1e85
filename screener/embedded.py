"""The embedded snapshot of the public lists (data/): reading it and loading it into a new store."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from screener import paths
from screener.errors import ScreenerError
from screener.schema import ENTITY_SCHEMA, NAME_SCHEMA, conform
from screener.store import SnapshotMeta, Store

ORIGIN = "embedded"
REBUILD_HINT = "reinstall the package or rebuild it with `python scripts/build_data.py`"


class EmbeddedDataError(ScreenerError):
    """The embedded data is missing, unreadable or does not match its manifest."""


@dataclass(frozen=True)
class EmbeddedList:
    """One embedded list: its snapshot metadata and canonical frames."""

    meta: SnapshotMeta
    entities: pl.DataFrame
    names: pl.DataFrame


def read_manifest(data_dir: Path | None = None) -> dict[str, Any]:
    """The parsed data/manifest.json."""
    path = _root(data_dir) / "manifest.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise EmbeddedDataError(f"embedded data manifest {path} is missing; {REBUILD_HINT}") from error
    except (OSError, ValueError) as error:
        raise EmbeddedDataError(f"embedded data manifest {path} is unreadable ({error}); {REBUILD_HINT}") from error


def list_meta(entry: dict[str, Any]) -> SnapshotMeta:
    """Snapshot metadata of one manifest entry."""
    return SnapshotMeta(
        source=str(entry["source"]),
        title=str(entry["title"]),
        as_of=dt.date.fromisoformat(str(entry["as_of"])),
        url=str(entry["url"]),
        sha256=str(entry["sha256"]),
        origin=ORIGIN,
        licence=str(entry.get("licence", "")),
        coverage=str(entry.get("coverage", "")),
    )


def read_embedded(data_dir: Path | None = None) -> list[EmbeddedList]:
    """Every embedded list, each file checked against its manifest checksum."""
    root = _root(data_dir)
    return [_read_list(root, entry) for entry in read_manifest(root)["lists"]]


def read_gazetteer(data_dir: Path | None = None) -> pl.DataFrame:
    """The XUAR gazetteer (all columns strings), checked against its manifest checksum."""
    root = _root(data_dir)
    files = read_manifest(root)["gazetteer"]["files"]
    for relative, digest in files.items():
        _verify(root / relative, digest)
    return pl.read_csv(root / next(iter(files)), infer_schema=False)


def ensure_embedded(store: Store, data_dir: Path | None = None) -> list[int]:
    """Load each embedded list the store lacks or holds an older embedded copy of; never replace a live one."""
    root = _root(data_dir)
    current = {row["source"]: row for row in store.current_snapshots().iter_rows(named=True)}
    due = [entry for entry in read_manifest(root)["lists"] if _needs_load(current.get(entry["source"]), list_meta(entry))]
    lists = [_read_list(root, entry) for entry in due]
    return [store.add_snapshot(item.meta, item.entities, item.names) for item in lists]


def _needs_load(snapshot: dict[str, Any] | None, meta: SnapshotMeta) -> bool:
    """True when there is no snapshot of the source, or the current one is an older or different embedded copy."""
    if snapshot is None:
        return True
    if snapshot["origin"] != ORIGIN:
        return False
    stored_as_of = snapshot["as_of"]
    if stored_as_of is None or stored_as_of < meta.as_of:
        return True
    return stored_as_of == meta.as_of and snapshot["sha256"] != meta.sha256


def _root(data_dir: Path | None) -> Path:
    """The given data folder, else the checkout's or the installed package's data/."""
    return Path(data_dir) if data_dir else paths.data_dir()


def _read_list(root: Path, entry: dict[str, Any]) -> EmbeddedList:
    files = entry["files"]
    for relative, digest in files.items():
        _verify(root / relative, digest)
    source = entry["source"]
    entities = _read_csv(root / f"lists/{source}_entities.csv", ENTITY_SCHEMA, "entities")
    names = _read_csv(root / f"lists/{source}_names.csv", NAME_SCHEMA, "names")
    return EmbeddedList(meta=list_meta(entry), entities=entities, names=names)


def _verify(path: Path, expected: str) -> None:
    """Raise a one-line error naming the file when it is missing or its sha256 differs from the manifest."""
    try:
        actual = hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError as error:
        raise EmbeddedDataError(f"embedded data file {path} is missing; {REBUILD_HINT}") from error
    if actual != expected:
        raise EmbeddedDataError(
            f"embedded data file {path} does not match its manifest checksum (modified or corrupt); {REBUILD_HINT}"
        )


def _read_csv(path: Path, schema: dict[str, pl.DataType], what: str) -> pl.DataFrame:
    """A data CSV read as strings, then cast to the canonical dtypes."""
    frame = pl.read_csv(path, infer_schema=False)
    casts = []
    for column, dtype in schema.items():
        if column not in frame.columns:
            continue
        if dtype == pl.Date():
            casts.append(pl.col(column).str.to_date("%Y-%m-%d"))
        elif dtype == pl.Boolean():
            casts.append(pl.col(column).str.to_lowercase() == "true")
    return conform(frame.with_columns(casts), schema, f"embedded {what} ({path.name})")
